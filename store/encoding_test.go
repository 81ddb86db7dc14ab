package store

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// BenchmarkSQLiteValues compares the two ways SQLite could keep a chunk's
// values: the JSON array of [time, value] pairs it keeps (which the
// metrics view can read with json_each, from any SQLite client) and a
// BLOB of 8-byte times and values (which no SQL can unpack). An hour of
// 10 s readings (360 values); bytes is per sample.
func BenchmarkSQLiteValues(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	times, vals := make([]int64, 360), make([]float64, 360)
	for i := range times {
		times[i] = 1_740_787_203_000_000 + int64(i)*10_000_000
		vals[i] = math.Round(2e9 + 1e8*rng.NormFloat64())
		if i%2 == 0 {
			vals[i] = 0.25 + rng.ExpFloat64()
		}
	}
	b.Run("json/encode", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = appendPairs(buf[:0], times, vals)
		}
		b.ReportMetric(float64(len(buf))/360, "bytes")
	})
	enc := string(appendPairs(nil, times, vals))
	b.Run("json/decode", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := parsePairs(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	blob := make([]byte, 0, 16*360)
	b.Run("blob/encode", func(b *testing.B) {
		for b.Loop() {
			blob = blob[:0]
			for i, t := range times {
				blob = binary.LittleEndian.AppendUint64(blob, uint64(t))
				blob = binary.LittleEndian.AppendUint64(blob, math.Float64bits(vals[i]))
			}
		}
		b.ReportMetric(float64(len(blob))/360, "bytes")
	})
	b.Run("blob/decode", func(b *testing.B) {
		for b.Loop() {
			t, v := make([]int64, 360), make([]float64, 360)
			for i := range t {
				t[i] = int64(binary.LittleEndian.Uint64(blob[16*i:]))
				v[i] = math.Float64frombits(binary.LittleEndian.Uint64(blob[16*i+8:]))
			}
		}
	})
}

// TestPairsRoundTrip: what appendPairs writes, parsePairs reads back
// exactly, extreme values included; anything else is refused.
func TestPairsRoundTrip(t *testing.T) {
	times := []int64{-9_223_372_036_854_775, 0, 1, 9_223_372_036_854_775}
	vals := []float64{0, 5e-324, math.MaxFloat64, 0.1}
	gt, gv, err := parsePairs(string(appendPairs(nil, times, vals)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range times {
		if gt[i] != times[i] || gv[i] != vals[i] {
			t.Errorf("%d: %d %g, want %d %g", i, gt[i], gv[i], times[i], vals[i])
		}
	}
	for _, bad := range []string{"", "[", "[[1,2]", "[[1,x]]", "[[1]]", "[[a,1]]", "[[1,2][3,4]]"} {
		if _, _, err := parsePairs(bad); err == nil {
			t.Errorf("parsePairs(%q) accepted", bad)
		}
	}
	if gt, _, err := parsePairs("[]"); err != nil || len(gt) != 0 {
		t.Errorf("parsePairs([]) = %v, %v", gt, err)
	}
}
