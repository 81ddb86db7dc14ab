package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/rightsize/rightsize"
)

// deliver writes batch to the sinks, retrying until it succeeds, ctx ends
// or a rebalance waits for it. A batch it gives up on is rewound: its
// partitions are read again from the batch's first offsets.
func (c *Consumer) deliver(ctx context.Context, batch rightsize.Batch) {
	backoff := 100 * time.Millisecond
	for {
		err := c.write(ctx, batch)
		if err == nil {
			break
		}
		if ctx.Err() == nil && c.store != nil {
			// The store may have refused ranges it is past or that do
			// not start where it stands (another member of the group
			// wrote them meanwhile). Re-read from where it stands.
			if adjusted, changed := c.reconcile(ctx, batch); changed {
				batch = adjusted
				continue
			}
		}
		if ctx.Err() != nil || c.blocked.Load() {
			c.rewind(batch)
			return
		}
		c.logOnce("sink:"+err.Error(), "writing batch; retrying", "samples", len(batch.Samples), "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	c.batches.Add(1)
	c.samples.Add(int64(len(batch.Samples)))
	commit := map[string]map[int32]kgo.EpochOffset{}
	c.mu.Lock()
	for _, r := range batch.Ranges {
		if c.done[r.Topic] == nil {
			c.done[r.Topic] = map[int32]int64{}
		}
		c.done[r.Topic][r.Partition] = r.To
		if commit[r.Topic] == nil {
			commit[r.Topic] = map[int32]kgo.EpochOffset{}
		}
		commit[r.Topic][r.Partition] = kgo.EpochOffset{Epoch: -1, Offset: r.To}
	}
	c.mu.Unlock()
	c.client.CommitOffsets(ctx, commit, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			c.logOnce("commit:"+err.Error(), "committing offsets to the group", "err", err)
		}
	})
}

// write gives batch to the offset store, then to the other sinks. With a
// store, the other sinks are best effort: their errors are logged, not
// retried (the store has the batch, and retrying it would not reach them).
func (c *Consumer) write(ctx context.Context, batch rightsize.Batch) error {
	if c.store != nil {
		if err := c.store.Write(ctx, batch); err != nil {
			return err
		}
		for _, s := range c.others {
			if err := s.Write(ctx, batch); err != nil {
				c.logOnce("best-effort:"+err.Error(), "a sink failed; the store has the batch", "err", err)
			}
		}
		return nil
	}
	for _, s := range c.others {
		if err := s.Write(ctx, batch); err != nil {
			return err
		}
	}
	return nil
}

// reconcile compares batch with the offsets the store holds. Ranges the
// store is already past are dropped; ranges that do not start where the
// store stands are dropped and their partitions re-read from the store's
// offset. changed is false when the store agrees with every range (so the
// error was something else: the database is down, say).
func (c *Consumer) reconcile(ctx context.Context, batch rightsize.Batch) (rightsize.Batch, bool) {
	stored := map[string]map[int32]int64{}
	for _, r := range batch.Ranges {
		if _, ok := stored[r.Topic]; ok {
			continue
		}
		offs, err := c.store.Offsets(ctx, r.Topic, r.TopicID)
		if err != nil {
			return batch, false
		}
		stored[r.Topic] = offs
	}
	var out rightsize.Batch
	seek := map[string]map[int32]kgo.EpochOffset{}
	changed := false
	_ = batch.Parts(func(r rightsize.OffsetRange, samples []rightsize.Sample) error {
		off, ok := stored[r.Topic][r.Partition]
		switch {
		case !ok || off == r.From:
			out.Ranges = append(out.Ranges, r)
			out.Samples = append(out.Samples, samples...)
			return nil
		case off < r.To:
			if seek[r.Topic] == nil {
				seek[r.Topic] = map[int32]kgo.EpochOffset{}
			}
			seek[r.Topic][r.Partition] = kgo.EpochOffset{Epoch: -1, Offset: off}
			c.cfg.logger.Info("re-reading a partition from the store's offset", "range", r.String(), "stored", off)
		}
		changed = true
		return nil
	})
	if len(seek) > 0 {
		c.client.SetOffsets(seek)
	}
	return out, changed
}

// rewind makes the batch's partitions be read again from its first offsets.
func (c *Consumer) rewind(batch rightsize.Batch) {
	seek := map[string]map[int32]kgo.EpochOffset{}
	for _, r := range batch.Ranges {
		if seek[r.Topic] == nil {
			seek[r.Topic] = map[int32]kgo.EpochOffset{}
		}
		seek[r.Topic][r.Partition] = kgo.EpochOffset{Epoch: -1, Offset: r.From}
	}
	c.client.SetOffsets(seek)
}
