package wire

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t1 := time.Date(2026, 11, 24, 12, 0, 0, 123456789, time.UTC)
	t2 := t1.Add(time.Second)
	in := []rightsize.Sample{
		{Task: "img-1", Service: "resize", Instance: "n1", Resource: "cpu", Value: 0.52, Time: t1},
		{Task: "img-1", Service: "resize", Instance: "n1", Resource: "memory", Value: 104857600, Time: t1},
		{Service: "encode", Resource: "cpu", Value: 1.5, Time: t1},
		{Task: "img-1", Service: "resize", Instance: "n1", Resource: "cpu", Value: 0.48, Time: t2},
	}
	recs, err := Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3 (one per service per tick)", len(recs))
	}
	if string(recs[0].Key) != "resize" || string(recs[1].Key) != "encode" {
		t.Errorf("keys %q %q", recs[0].Key, recs[1].Key)
	}
	if !strings.Contains(string(recs[1].Value), `"v":1`) || strings.Contains(string(recs[1].Value), "task") {
		t.Errorf("record %s", recs[1].Value)
	}
	var out []rightsize.Sample
	for _, r := range recs {
		if out, err = Decode(out, r); err != nil {
			t.Fatal(err)
		}
	}
	if len(out) != len(in) {
		t.Fatalf("decoded %d samples, want %d", len(out), len(in))
	}
	// Decode orders a record's resources by name; compare as sets.
	want := map[rightsize.Sample]bool{}
	for _, s := range in {
		want[s] = true
	}
	for _, s := range out {
		s.Time = s.Time.UTC()
		found := false
		for w := range want {
			if w.Task == s.Task && w.Service == s.Service && w.Instance == s.Instance && w.Resource == s.Resource && w.Value == s.Value && w.Time.Equal(s.Time) {
				found = true
				delete(want, w)
				break
			}
		}
		if !found {
			t.Errorf("unexpected %+v", s)
		}
	}
	if len(want) != 0 {
		t.Errorf("missing %v", want)
	}
}

func TestEncodeRejectsInvalid(t *testing.T) {
	now := time.Now()
	_, err := Encode([]rightsize.Sample{{Service: "a", Resource: "cpu", Value: math.NaN(), Time: now}})
	if !errors.Is(err, rightsize.ErrInvalidSample) || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("NaN: %v", err)
	}
	_, err = Encode([]rightsize.Sample{{Service: "a", Resource: "cpu", Value: 1, Time: now}, {Service: "a", Resource: "cpu", Value: 2, Time: now}})
	if err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate: %v", err)
	}
}

func TestDecodeLegacy(t *testing.T) {
	ts := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	out, err := Decode(nil, Record{Key: []byte("img42 resize CPU"), Value: []byte("37.5"), Timestamp: ts})
	if err != nil {
		t.Fatal(err)
	}
	want := rightsize.Sample{Task: "img42", Service: "resize", Resource: rightsize.CPUPercent, Value: 37.5, Time: ts}
	if len(out) != 1 || out[0] != want {
		t.Fatalf("got %+v want %+v", out, want)
	}
	out, err = Decode(nil, Record{Key: []byte("img42 resize RAM"), Value: []byte(" 61.2\n"), Timestamp: ts})
	if err != nil || out[0].Resource != rightsize.MemoryPercent {
		t.Fatalf("RAM: %+v %v", out, err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	ts := time.Now()
	ct := []Header{{Key: HeaderContentType, Value: []byte(ContentType)}}
	cases := []struct {
		name string
		r    Record
		kind Kind
		says string
	}{
		{"truncated json", Record{Value: []byte(`{"v":1,"service":"a"`), Headers: ct}, KindSyntax, "unexpected end"},
		{"no version", Record{Value: []byte(`{"service":"a","time":"2026-01-01T00:00:00Z","values":{"cpu":1}}`)}, KindSyntax, `"v"`},
		{"future version", Record{Value: []byte(`{"v":9,"service":"a","time":"2026-01-01T00:00:00Z","values":{"cpu":1}}`)}, KindVersion, "version 9"},
		{"no time", Record{Value: []byte(`{"v":1,"service":"a","values":{"cpu":1}}`)}, KindSyntax, "time"},
		{"no values", Record{Value: []byte(`{"v":1,"service":"a","time":"2026-01-01T00:00:00Z"}`)}, KindSyntax, "values"},
		{"negative", Record{Value: []byte(`{"v":1,"service":"a","time":"2026-01-01T00:00:00Z","values":{"cpu":-1}}`)}, KindInvalid, "negative"},
		{"no service", Record{Value: []byte(`{"v":1,"time":"2026-01-01T00:00:00Z","values":{"cpu":1}}`)}, KindInvalid, "Service"},
		{"bad resource", Record{Value: []byte(`{"v":1,"service":"a","time":"2026-01-01T00:00:00Z","values":{"CPU":1}}`)}, KindInvalid, "CPU"},
		{"string value", Record{Value: []byte(`{"v":1,"service":"a","time":"2026-01-01T00:00:00Z","values":{"cpu":"1"}}`)}, KindSyntax, "string"},
		{"other content type", Record{Value: []byte(`{}`), Headers: []Header{{Key: "Content-Type", Value: []byte("text/plain")}}}, KindContentType, "text/plain"},
		{"legacy nan", Record{Key: []byte("i s CPU"), Value: []byte("NaN"), Timestamp: ts}, KindLegacy, "not a number"},
		{"legacy text", Record{Key: []byte("i s CPU"), Value: []byte("high"), Timestamp: ts}, KindLegacy, "not a number"},
		{"legacy key", Record{Key: []byte("i s CPU extra"), Value: []byte("1"), Timestamp: ts}, KindLegacy, "image_ID"},
		{"garbage", Record{Key: []byte("x"), Value: []byte("\x00\x01")}, KindUnrecognized, "neither"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := Decode([]rightsize.Sample{{Service: "kept"}}, c.r)
			var de *DecodeError
			if !errors.As(err, &de) || de.Kind != c.kind || !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want kind %s", err, c.kind)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Errorf("%q does not say %q", err, c.says)
			}
			if len(out) != 1 || out[0].Service != "kept" {
				t.Errorf("dst changed on error: %+v", out)
			}
		})
	}
}
