package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/producer"
)

// workload is the samples every round uses: services × ticks records of
// cpu and memory.
type workload struct {
	services, ticks int
	base            time.Time
}

func newWorkload(services, ticks int) workload {
	return workload{services, ticks, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}
}

func (w workload) samples() int { return 2 * w.services * w.ticks }

func (w workload) each(fn func(svc int, s rightsize.Sample)) {
	names := make([]string, w.services)
	for s := range names {
		names[s] = fmt.Sprintf("svc-%03d", s)
	}
	for tick := range w.ticks {
		at := w.base.Add(time.Duration(tick) * time.Second)
		for s, name := range names {
			fn(s, rightsize.Sample{Service: name, Resource: "cpu", Value: float64((tick*7+s)%1000) / 1000, Time: at})
			fn(s, rightsize.Sample{Service: name, Resource: "memory", Value: float64(tick*1000 + s), Time: at})
		}
	}
}

// publish sends the workload to the brokers, one record per service
// tick, and waits until it is acknowledged.
func (w workload) publish(ctx context.Context, addrs []string) error {
	pub, err := producer.Connect(ctx, addrs, producer.WithMaxBuffered(w.services*w.ticks+1))
	if err != nil {
		return err
	}
	defer pub.Close(ctx)
	batch := make([]rightsize.Sample, 0, 2*w.services)
	tick := 0
	var perr error
	w.each(func(_ int, s rightsize.Sample) {
		if perr != nil {
			return
		}
		batch = append(batch, s)
		if len(batch) == cap(batch) {
			perr = pub.Publish(ctx, batch...)
			batch = batch[:0]
			tick++
		}
	})
	if perr != nil {
		return perr
	}
	if err := pub.Flush(ctx); err != nil {
		return err
	}
	if st := pub.Stats(); st.Acked != int64(w.services*w.ticks) {
		return fmt.Errorf("published %d records, %d acknowledged", w.services*w.ticks, st.Acked)
	}
	return nil
}
