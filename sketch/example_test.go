package sketch_test

import (
	"fmt"

	"github.com/rightsize/rightsize/sketch"
)

// Two hours of readings summarised apart, merged, and asked for the
// median and the 95th and 99th percentiles (exactly 0.5 and 1.0 here;
// the sketch answers within 1 %): mostly idle, sometimes busy.
func Example() {
	first, second := sketch.New(), sketch.New()
	for i := range 1000 {
		v := 0.0
		if i%10 == 0 {
			v = 0.5 + float64(i%7)/10
		}
		first.Add(v)
		second.Add(v / 2)
	}
	first.Merge(second)
	enc, _ := first.MarshalBinary()
	s, _ := sketch.Decode(enc)
	fmt.Printf("n=%v median=%v p95=%.3f p99=%.3f max=%v\n", s.Count(), s.Quantile(0.5), s.Quantile(0.95), s.Quantile(0.99), s.Quantile(1))
	// Output:
	// n=2000 median=0 p95=0.502 p99=1.010 max=1.1
}
