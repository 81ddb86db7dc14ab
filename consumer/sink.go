package consumer

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/rightsize/rightsize"
)

// Sink receives batches of samples.
//
// Write is called from one goroutine at a time; a batch holds the records
// of one partition, and a partition's batches come in the order of their
// records (batches of different partitions interleave). It is never
// called after the consumer's Close or once Run has returned. Write must
// not keep the batch's slices after it returns.
//
// Beside an OffsetStore a sink is best effort: it gets the batches the
// store has taken, from a queue of its own, and an error is logged and
// counted, not retried. Without an OffsetStore an error makes the
// consumer retry the batch (every sink sees it again, so a sink must be
// idempotent); an error matching rightsize.ErrPermanent says the batch's
// records can never be taken, and they go to the dead-letter topic.
type Sink interface {
	Write(ctx context.Context, b rightsize.Batch) error
}

// SinkFunc adapts a function to the Sink interface.
type SinkFunc func(ctx context.Context, b rightsize.Batch) error

// Write calls f(ctx, b).
func (f SinkFunc) Write(ctx context.Context, b rightsize.Batch) error { return f(ctx, b) }

// OffsetStore is a Sink that stores the offsets of the batches it writes,
// in the same transaction as their samples, and skips a batch whose ranges
// it has already stored.
//
// Offsets returns, per partition of the topic with that name and ID (see
// rightsize.OffsetRange.TopicID), the next offset to read: the To of the
// last range written. A partition never written is absent, and so are the
// offsets of an earlier topic of the same name.
type OffsetStore interface {
	Sink
	Offsets(ctx context.Context, topic, topicID string) (map[int32]int64, error)
}

// asyncSink feeds a best-effort sink from a bounded queue of its own, so
// that a slow or failing sink can neither slow nor stop the store: when
// its queue is full, batches for it are dropped and counted.
type asyncSink struct {
	c       *Consumer
	sink    Sink
	queue   chan rightsize.Batch
	done    chan struct{}
	dropped atomic.Int64
	failed  atomic.Int64
}

// asyncQueue is how many batches a best-effort sink may fall behind.
const asyncQueue = 16

func newAsyncSink(c *Consumer, s Sink) *asyncSink {
	return &asyncSink{c: c, sink: s, queue: make(chan rightsize.Batch, asyncQueue), done: make(chan struct{})}
}

func (a *asyncSink) start() {
	go func() {
		defer close(a.done)
		for b := range a.queue {
			if err := a.sink.Write(a.c.runCtx, b); err != nil {
				a.failed.Add(1)
				a.c.logOnce(fmt.Sprintf("best-effort %T: %v", a.sink, err), "a best-effort sink failed; the store has the batch", "sink", fmt.Sprintf("%T", a.sink), "err", err)
			}
		}
	}()
}

// offer queues a copy of b (the worker reuses its slices) or, when the
// queue is full, drops it.
func (a *asyncSink) offer(b rightsize.Batch) {
	cp := rightsize.Batch{Samples: slices.Clone(b.Samples), Ranges: slices.Clone(b.Ranges)}
	select {
	case a.queue <- cp:
	default:
		a.dropped.Add(1)
		a.c.logOnce(fmt.Sprintf("best-effort-full %T", a.sink), "a best-effort sink is falling behind; dropping batches for it", "sink", fmt.Sprintf("%T", a.sink))
	}
}

// stop waits for the sink to take what is queued. Offers after stop
// panic: call it once no worker runs.
func (a *asyncSink) stop() {
	close(a.queue)
	<-a.done
}
