package producer_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
)

// Example publishes what a sampler measures, every 100 ms for half a
// second, then flushes.
func Example() {
	ctx := context.Background()
	b, err := broker.Start()
	if err != nil {
		panic(err)
	}
	defer b.Close()
	pub, err := producer.Connect(ctx, b.Addrs())
	if err != nil {
		panic(err)
	}
	queue := 0
	depth := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
		queue++
		return []rightsize.Sample{{Service: "worker", Resource: "queue.depth", Value: float64(queue), Time: time.Now()}}, nil
	})
	rctx, stop := context.WithTimeout(ctx, 450*time.Millisecond)
	defer stop()
	producer.Run(rctx, pub, []sample.Sampler{depth}, producer.WithInterval(100*time.Millisecond))
	if err := pub.Close(ctx); err != nil {
		panic(err)
	}
	st := pub.Stats()
	fmt.Println(st.Acked == st.Published, st.Dropped, st.Failed)
	// Output: true 0 0
}
