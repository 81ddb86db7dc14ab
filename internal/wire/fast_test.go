package wire

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
)

// sameDecode decodes r with Decode (encoding/json, the reference) and
// with a Decoder, and reports any difference.
func sameDecode(t testing.TB, d *Decoder, r Record) []rightsize.Sample {
	t.Helper()
	want, werr := Decode(nil, r)
	got, gerr := d.Decode(nil, r)
	if werr != nil && len(want) != 0 || gerr != nil && len(got) != 0 {
		t.Fatalf("record %q: samples returned with an error", r.Value)
	}
	for _, s := range got {
		if err := s.Validate(); err != nil {
			t.Fatalf("record %q: decoded an invalid sample %+v: %v", r.Value, s, err)
		}
	}
	if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("record %q: Decode error %v, Decoder error %v", r.Value, werr, gerr)
	}
	if len(got) != len(want) {
		t.Fatalf("record %q: Decode %d samples, Decoder %d", r.Value, len(want), len(got))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("record %q: sample %d: Decode %+v, Decoder %+v", r.Value, i, want[i], got[i])
		}
	}
	return got
}

var header = []Header{{Key: HeaderContentType, Value: []byte(ContentType)}}

func TestDecoderAgreesWithDecode(t *testing.T) {
	var d Decoder
	for _, v := range []string{
		`{"v":1,"task":"img-42","service":"resize","instance":"node-1","time":"2026-11-24T12:00:00.123456Z","values":{"cpu":0.52,"memory":104857600}}`,
		`{"v":1,"service":"resize","time":"2026-11-24T12:00:00Z","values":{"cpu":0}}`,
		` { "values" : { "memory" : 1e3 , "cpu" : -0 } , "time" : "2026-11-24T12:00:00+02:00" , "service" : "a" , "v" : 1 } `,
		// Each of these takes the slow way (or fails): the answers must still agree.
		`{"v":1,"service":"caf\u00e9","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{"v":1,"service":"café","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{"v":1,"Service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{"v":1,"service":"a","extra":[1,{"x":null}],"time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{"v":1,"service":"a","service":"b","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{"v":1,"service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":1,"cpu":2}}`,
		`{"v":1,"service":"a","task":null,"time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{"v":2,"service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{"v":1.0,"service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{"v":1,"service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":1e400}}`,
		`{"v":1,"service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":-1}}`,
		`{"v":1,"service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":01}}`,
		`{"v":1,"service":"a","time":"2026-11-24T12:00:00Z","values":{}}`,
		`{"v":1,"service":"a","time":"0001-01-01T00:00:01Z","values":{"cpu":1}}`,
		`{"v":1,"service":"a","time":"9999-12-31T23:59:59Z","values":{"cpu":1}}`,
		`{"v":1,"service":"a","time":"2026-11-24 12:00:00","values":{"cpu":1}}`,
		`{"v":1,"service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":1}} x`,
		`{"v":1,"service":"a","time":"2026-11-24T12:00:00Z","values":{"CPU":1}}`,
		`{"v":1,"service":"","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`,
		`{}`, `{`, `{"v":1`,
	} {
		sameDecode(t, &d, Record{Value: []byte(v), Headers: header})
		sameDecode(t, &d, Record{Value: []byte(v)})
	}
}

func TestDecoderInternsNames(t *testing.T) {
	var d Decoder
	rec, err := Encode([]rightsize.Sample{{Service: "resize", Resource: "cpu", Value: 1, Time: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	a := sameDecode(t, &d, rec[0])
	b := sameDecode(t, &d, rec[0])
	if allocs := testing.AllocsPerRun(100, func() { a, _ = d.Decode(a[:0], rec[0]) }); allocs > 0 {
		t.Errorf("decoding a record of known names allocates %.0f times", allocs)
	}
	_ = b
}

// FuzzDecode feeds arbitrary rightsize records to both decoders: neither
// may panic, they must agree, and what they accept must encode and decode
// back to the same samples.
func FuzzDecode(f *testing.F) {
	recs, err := Encode([]rightsize.Sample{
		{Task: "img-42", Service: "resize", Instance: "node-1", Resource: "cpu", Value: 0.52, Time: time.Date(2026, 11, 24, 12, 0, 0, 123456789, time.UTC)},
		{Task: "img-42", Service: "resize", Instance: "node-1", Resource: "memory", Value: 104857600, Time: time.Date(2026, 11, 24, 12, 0, 0, 123456789, time.UTC)},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(recs[0].Value, true)
	f.Add([]byte(`{"v":1,"service":"a","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`), false)
	f.Add([]byte(`{"v":1,"service":"caf\u00e9","x":[1,null],"time":"2026-11-24T12:00:00+02:00","values":{"cpu":1e3}}`), true)
	var d Decoder
	f.Fuzz(func(t *testing.T, value []byte, withHeader bool) {
		r := Record{Key: []byte("k"), Value: value}
		if withHeader {
			r.Headers = header
		}
		roundTrip(t, sameDecode(t, &d, r))
	})
}

// FuzzDecodeLegacy does the same with records in the seed's format: a
// key "<image_ID> <service> <RESOURCE>", the value as text, and the
// record's timestamp (in milliseconds, as Kafka carries it).
func FuzzDecodeLegacy(f *testing.F) {
	f.Add([]byte("img7 resize CPU"), []byte("37.5"), int64(1764000000000))
	f.Add([]byte("img7 resize RAM"), []byte(" 61.25 "), int64(253402300799000))
	f.Add([]byte("img\xff\xfe resize DISK"), []byte("12"), int64(1764000000000))
	f.Add([]byte("a b queue.depth"), []byte("1e308"), int64(-62135596800000))
	var d Decoder
	f.Fuzz(func(t *testing.T, key, value []byte, ms int64) {
		r := Record{Key: key, Value: value}
		if ms != 0 {
			r.Timestamp = time.UnixMilli(ms)
		}
		roundTrip(t, sameDecode(t, &d, r))
	})
}

// roundTrip checks that decoded samples encode and decode back to
// themselves.
func roundTrip(t *testing.T, got []rightsize.Sample) {
	t.Helper()
	if len(got) == 0 {
		return
	}
	again, err := Encode(got)
	if err != nil {
		t.Fatalf("decoded samples do not encode: %v (%+v)", err, got)
	}
	var back []rightsize.Sample
	for _, r := range again {
		if back, err = Decode(back, r); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	}
	if len(back) != len(got) {
		t.Fatalf("round trip: %d samples, then %d", len(got), len(back))
	}
	for i := range got {
		g, b := got[i], back[i]
		if g.Task != b.Task || g.Service != b.Service || g.Instance != b.Instance || g.Resource != b.Resource ||
			g.Value != b.Value || !g.Time.Equal(b.Time) {
			t.Fatalf("round trip: %+v became %+v", g, b)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	var samples []rightsize.Sample
	now := time.Date(2026, 11, 24, 12, 0, 0, 123456789, time.UTC)
	for i, r := range []string{"cpu", "memory", "disk.read", "disk.write", "threads"} {
		samples = append(samples, rightsize.Sample{Task: "img-42", Service: "resize", Instance: "node-1", Resource: r, Value: float64(i) * 1.25e6, Time: now})
	}
	recs, err := Encode(samples)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func([]rightsize.Sample, Record) ([]rightsize.Sample, error)
	}{{"encoding-json", Decode}, {"decoder", new(Decoder).Decode}} {
		b.Run(c.name, func(b *testing.B) {
			var dst []rightsize.Sample
			b.SetBytes(int64(len(recs[0].Value)))
			for b.Loop() {
				if dst, err = c.fn(dst[:0], recs[0]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(samples)), "ns/sample")
		})
	}
}

func ExampleDecoder() {
	var d Decoder
	r := Record{Value: []byte(`{"v":1,"service":"resize","time":"2026-11-24T12:00:00Z","values":{"cpu":0.5,"memory":268435456}}`)}
	samples, err := d.Decode(nil, r)
	if err != nil {
		panic(err)
	}
	for _, s := range samples {
		fmt.Println(s.Service, s.Resource, s.Value)
	}
	// Output:
	// resize cpu 0.5
	// resize memory 2.68435456e+08
}

func TestUnwrapKafkaTime(t *testing.T) {
	for _, ms := range []int64{253402300799000, 10413792000000, -62135596799000, -11644473600001, 1764000000000, 0, -1} {
		wrapped := time.Unix(0, ms*1e6) // what franz-go computes
		got := UnwrapKafkaTime(wrapped)
		if !got.Equal(time.UnixMilli(ms)) {
			t.Errorf("%d ms: franz-go's %s unwrapped to %s, want %s", ms, wrapped.UTC(), got.UTC(), time.UnixMilli(ms).UTC())
		}
	}
}
