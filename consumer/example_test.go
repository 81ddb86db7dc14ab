package consumer_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/producer"
)

// Example consumes the samples a producer published and hands them to a
// sink of one's own (a store would be given the same way, and would then
// hold the offsets too).
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
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	pub.Publish(ctx,
		rightsize.Sample{Service: "resize", Resource: rightsize.CPU, Value: 0.5, Time: at},
		rightsize.Sample{Service: "resize", Resource: rightsize.Memory, Value: 1 << 28, Time: at})
	pub.Close(ctx)

	var mu sync.Mutex
	got := 0
	sink := consumer.SinkFunc(func(_ context.Context, b rightsize.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range b.Samples {
			fmt.Println(s.Service, s.Resource, s.Value)
			got++
		}
		return nil
	})
	c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{sink})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- c.Run(rctx) }()
	if err := c.WaitCaughtUp(ctx); err != nil {
		panic(err)
	}
	stop()
	<-done
	// Output:
	// resize cpu 0.5
	// resize memory 2.68435456e+08
}
