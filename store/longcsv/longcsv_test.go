package longcsv_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/store/longcsv"
)

const good = `task_id,service,resource,value,timestamp
img-1,resize,cpu,0.5,2025-03-01T12:00:00Z
img-1,resize,memory,1048576,2025-03-01T12:00:00.000123+01:00
,api ✓,CPU,12.5,2025-03-01 12:00:01+00
"x, ""quoted""",api ✓,cpu,0,1740830402.25
`

func read(t *testing.T, in string) ([]rightsize.Sample, error) {
	t.Helper()
	r, err := longcsv.NewReader(strings.NewReader(in))
	if err != nil {
		return nil, err
	}
	var out []rightsize.Sample
	for r.Next() {
		out = append(out, r.Sample())
	}
	return out, r.Err()
}

func TestReader(t *testing.T) {
	got, err := read(t, good)
	if err != nil {
		t.Fatal(err)
	}
	want := []rightsize.Sample{
		{Task: "img-1", Service: "resize", Resource: "cpu", Value: 0.5, Time: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)},
		{Task: "img-1", Service: "resize", Resource: "memory", Value: 1 << 20, Time: time.Date(2025, 3, 1, 11, 0, 0, 123000, time.UTC)},
		{Service: "api ✓", Resource: "cpu.percent", Value: 12.5, Time: time.Date(2025, 3, 1, 12, 0, 1, 0, time.UTC)},
		{Task: `x, "quoted"`, Service: "api ✓", Resource: "cpu", Value: 0, Time: time.Date(2025, 3, 1, 12, 0, 2, 250e6, time.UTC)},
	}
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("sample %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// Columns in another order, with instance, and gzip.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte("timestamp,value,resource,service,task_id,instance\n2025-03-01T12:00:00Z,1,cpu,a,,node-1\n"))
	zw.Close()
	r, err := longcsv.NewReader(&zb)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Next() || r.Sample().Instance != "node-1" || r.Sample().Service != "a" || r.Sample().Value != 1 {
		t.Errorf("gzip with instance: %+v, %v", r.Sample(), r.Err())
	}
}

func TestMalformed(t *testing.T) {
	for _, tc := range []struct {
		in   string
		line int
		say  string
	}{
		{"task_id,service,resource,value,timestamp\na,b,cpu,1,2025-03-01T12:00:00Z\na,b,cpu,x,2025-03-01T12:00:00Z\n", 3, `value "x"`},
		{"task_id,service,resource,value,timestamp\na,b,cpu,1,yesterday\n", 2, `timestamp "yesterday"`},
		{"task_id,service,resource,value,timestamp\na,b,cpu,-1,2025-03-01T12:00:00Z\n", 2, "negative"},
		{"task_id,service,resource,value,timestamp\na,,cpu,1,2025-03-01T12:00:00Z\n", 2, "Service is empty"},
		{"task_id,service,resource,value,timestamp\na,b,Bad Name,1,2025-03-01T12:00:00Z\n", 2, "resource name"},
		{"task_id,service,resource,value,timestamp\na,b,cpu,1\n", 2, "4 fields"},
		{"task_id,service,resource,value,timestamp\na,b,cpu,NaN,2025-03-01T12:00:00Z\n", 2, "NaN"},
		{"task_id,service,resource,value,timestamp\n\"a,b,cpu,1,2025-03-01T12:00:00Z\n", 2, "quote"},
		{"task_id,service,value,timestamp\n", 1, `no "resource"`},
		{"task_id,service,resource,value,timestamp,colour\n", 1, `unknown column "colour"`},
		{"", 0, "empty"},
	} {
		_, err := read(t, tc.in)
		var le *longcsv.LineError
		switch {
		case err == nil:
			t.Errorf("%q: no error", tc.in)
		case tc.line > 0 && (!errors.As(err, &le) || le.Line != tc.line || !errors.Is(err, longcsv.ErrMalformed)):
			t.Errorf("%q: %v, want a *LineError at line %d", tc.in, err, tc.line)
		case !strings.Contains(err.Error(), tc.say):
			t.Errorf("%q: %q does not say %q", tc.in, err, tc.say)
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	in := []rightsize.Sample{
		{Task: "t,1", Service: `"s"`, Instance: "i", Resource: "cpu", Value: math.MaxFloat64, Time: time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC)},
		{Service: "日本", Resource: "memory", Value: 5e-324, Time: time.Date(2262, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600))},
	}
	var b bytes.Buffer
	w := longcsv.NewWriter(&b, true)
	for _, s := range in {
		if err := w.Write(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := read(t, b.String())
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i].Time = in[i].Time.UTC()
		if got[i] != in[i] {
			t.Errorf("%d: %+v, want %+v", i, got[i], in[i])
		}
	}
	var empty bytes.Buffer
	w = longcsv.NewWriter(&empty, false)
	w.Flush()
	if empty.String() != "task_id,service,resource,value,timestamp\n" {
		t.Errorf("an empty dump is %q, want the header alone", empty.String())
	}
}

func TestReadSeries(t *testing.T) {
	in := "task_id,service,resource,value,timestamp\n" +
		"t,b,cpu,3,2025-03-01T12:00:03Z\n" +
		"t,a,cpu,1,2025-03-01T12:00:01Z\n" +
		"t,b,cpu,1,2025-03-01T12:00:01Z\n" +
		"t,b,cpu,2,2025-03-01T12:00:01Z\n"
	ss, err := longcsv.ReadSeries(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].Service != "a" || ss[1].Service != "b" {
		t.Fatalf("series %+v", ss)
	}
	if v := ss[1].Values; len(v) != 3 || v[0] != 1 || v[1] != 2 || v[2] != 3 {
		t.Errorf("b's values %v, want [1 2 3] (time order, ties as read)", v)
	}
	if _, err := longcsv.ReadSeries(strings.NewReader(in + "t,b,cpu,?,2025-03-01T12:00:01Z\n")); err == nil || !strings.Contains(err.Error(), "line 6") {
		t.Errorf("ReadSeries with a bad line 6: %v", err)
	}
}

func TestImport(t *testing.T) {
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "i.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var b strings.Builder
	b.WriteString("task_id,service,resource,value,timestamp\n")
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 25 {
		b.WriteString("t,svc,cpu," + strconv.Itoa(i) + "," + t0.Add(time.Duration(i)*time.Minute).Format(time.RFC3339) + "\n")
		if i == 17 {
			b.WriteString("t,svc,cpu,broken,2025-03-01T00:00:00Z\n") // line 20
		}
	}
	count := func() int {
		n := 0
		s.Scan(ctx, rightsize.Filter{Services: []string{"svc"}}, func(rightsize.Sample) error { n++; return nil })
		return n
	}
	r, _ := longcsv.NewReader(strings.NewReader(b.String()))
	res, err := longcsv.Import(ctx, s, r, longcsv.ImportOptions{BatchSize: 10})
	var le *longcsv.LineError
	if !errors.As(err, &le) || le.Line != 20 {
		t.Fatalf("Import = %v, want a *LineError at line 20", err)
	}
	if res.Rows != 10 || count() != 10 {
		t.Errorf("imported %d rows (%d stored), want the first batch of 10 alone", res.Rows, count())
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	var progress []int64
	r, _ = longcsv.NewReader(strings.NewReader(b.String()))
	res, err = longcsv.Import(ctx, s, r, longcsv.ImportOptions{BatchSize: 10, SkipBad: true, Progress: func(p longcsv.Result) { progress = append(progress, p.Rows) }})
	if err != nil || res.Rows != 25 || res.Skipped != 1 || res.Batches != 3 || count() != 25 {
		t.Errorf("Import with SkipBad = %+v, %v; %d stored", res, err, count())
	}
	if len(progress) != 3 || progress[2] != 25 {
		t.Errorf("progress %v", progress)
	}
	if !strings.Contains(r.LastSkipped().Error(), "line 20") {
		t.Errorf("last skipped: %v", r.LastSkipped())
	}
}
