package sketch

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"
)

// BenchmarkAccuracyChoice measures what the relative accuracy costs: for
// an hour of 10 s readings (360 values) of a busy CPU (lognormal around
// half a core) and of a working set (2 GB ± 5 %), the encoded size
// (bytes), the time to add a value (ns/op) and to decode and merge one
// encoded hour (ns/merge), at 0.5 %, 1 % and 2 %.
func BenchmarkAccuracyChoice(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 2))
	kinds := map[string]func() float64{
		"cpu":    func() float64 { return 0.5 * math.Exp(0.8*rng.NormFloat64()) },
		"memory": func() float64 { return 2e9 * (1 + 0.05*rng.NormFloat64()) },
	}
	for _, alpha := range []float64{0.005, 0.01, 0.02} {
		for _, kind := range []string{"cpu", "memory"} {
			b.Run(fmt.Sprintf("alpha=%v/%s", alpha, kind), func(b *testing.B) {
				m, err := mapping.NewLogarithmicMapping(alpha)
				if err != nil {
					b.Fatal(err)
				}
				gen := kinds[kind]
				vals := make([]float64, 360)
				for i := range vals {
					vals[i] = gen()
				}
				hour := ddsketch.NewDDSketch(m, store.NewDenseStore(), store.NewDenseStore())
				for _, v := range vals {
					hour.Add(v)
				}
				var enc []byte
				hour.Encode(&enc, true)
				acc := ddsketch.NewDDSketch(m, store.NewDenseStore(), store.NewDenseStore())
				start := b.Elapsed()
				for i := 0; i < 1000; i++ {
					if err := acc.DecodeAndMergeWith(enc); err != nil {
						b.Fatal(err)
					}
				}
				merge := (b.Elapsed() - start) / 1000
				s := ddsketch.NewDDSketch(m, store.NewDenseStore(), store.NewDenseStore())
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					s.Add(vals[i%360])
				}
				b.ReportMetric(float64(len(enc)), "bytes")
				b.ReportMetric(float64(merge.Nanoseconds()), "ns/merge")
			})
		}
	}
}
