package consumer

import (
	"context"

	"github.com/rightsize/rightsize"
)

// Sink receives batches of samples.
//
// Write is called from one goroutine at a time, with batches in the order
// their records were read; it is never called after the consumer's Close.
// An error makes the consumer retry the same batch later (a sink that is
// not the OffsetStore sees retried batches again, so it must be
// idempotent). Write must not keep the batch's slices after it returns.
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
