package consumer

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// Stats counts what the consumer has done since New, and says whether it
// is storing.
type Stats struct {
	Records      int64            // records read
	Samples      int64            // samples delivered to the sinks
	Batches      int64            // batches delivered
	Malformed    map[Reason]int64 // records not stored, by reason
	DeadLettered int64            // of those, copied to the dead-letter topic
	// WriteTime is the time spent writing batches, failed attempts
	// included: ΔWriteTime/ΔBatches is the store's write latency.
	WriteTime time.Duration
	// Stalled is how long the oldest batch still failing has been
	// failing (0: every write in hand succeeds); LastError is the error
	// it last met.
	Stalled   time.Duration
	LastError string
	// BestEffortDropped counts batches a best-effort sink missed because
	// it fell behind; BestEffortFailed those it failed to take.
	BestEffortDropped, BestEffortFailed int64
}

// Stats returns the consumer's counters.
func (c *Consumer) Stats() Stats {
	s := Stats{Records: c.records.Load(), Samples: c.samples.Load(), Batches: c.batches.Load(),
		DeadLettered: c.deadLettered.Load(), Malformed: map[Reason]int64{},
		WriteTime: time.Duration(c.writeNanos.Load())}
	c.malformed.Range(func(k, v any) bool {
		s.Malformed[k.(Reason)] = v.(*atomic.Int64).Load()
		return true
	})
	s.Stalled, s.LastError = c.health.state()
	for _, a := range c.bestEffort {
		s.BestEffortDropped += a.dropped.Load()
		s.BestEffortFailed += a.failed.Load()
	}
	return s
}

// health tracks the partitions whose batch in hand keeps failing.
type health struct {
	mu      sync.Mutex
	since   map[topicPartition]time.Time
	lastErr string
}

func (h *health) failing(tp topicPartition, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.since == nil {
		h.since = map[topicPartition]time.Time{}
	}
	if _, ok := h.since[tp]; !ok {
		h.since[tp] = time.Now()
	}
	h.lastErr = err.Error()
}

func (h *health) ok(tp topicPartition) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.since, tp)
	if len(h.since) == 0 {
		h.lastErr = ""
	}
}

// state returns how long the oldest failure has lasted and its error.
func (h *health) state() (time.Duration, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var oldest time.Time
	for _, t := range h.since {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 0, ""
	}
	return time.Since(oldest), h.lastErr
}

// stalledFor returns an error matching ErrStalled when a batch has been
// failing for longer than max (0: never).
func (h *health) stalledFor(max time.Duration) error {
	if max <= 0 {
		return nil
	}
	if d, msg := h.state(); d > max {
		return fmt.Errorf("%w: a batch has failed to be stored for %v (longer than %v): %s", ErrStalled, d.Round(time.Second), max, msg)
	}
	return nil
}

// Lag returns how many records of the consumer's topics have not been
// delivered to its sinks yet: the sum over partitions of the end offset
// minus the offset delivered (or, for a partition this consumer has not
// delivered, the offset the store or the group holds).
func (c *Consumer) Lag(ctx context.Context) (int64, error) {
	ends, err := c.admin.ListEndOffsets(ctx, c.cfg.topics...)
	if err != nil {
		return 0, fmt.Errorf("consumer: lag: %w", err)
	}
	committed, err := c.admin.FetchOffsetsForTopics(ctx, c.cfg.group, c.cfg.topics...)
	if err != nil {
		return 0, fmt.Errorf("consumer: lag: %w", err)
	}
	stored := map[string]map[int32]int64{}
	if c.store != nil {
		ids, err := c.topicIDs(ctx, c.cfg.topics)
		if err != nil {
			return 0, fmt.Errorf("consumer: lag: %w", err)
		}
		for _, t := range c.cfg.topics {
			if stored[t], err = c.store.Offsets(ctx, t, ids[t]); err != nil {
				return 0, fmt.Errorf("consumer: lag: %w", err)
			}
		}
	}
	c.mu.Lock()
	done := map[string]map[int32]int64{}
	for t, m := range c.done {
		done[t] = maps.Clone(m)
	}
	c.mu.Unlock()
	var lag int64
	var lerr error
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			lerr = fmt.Errorf("consumer: lag: %s/%d: %w", o.Topic, o.Partition, o.Err)
			return
		}
		at, ok := done[o.Topic][o.Partition]
		if !ok {
			at, ok = stored[o.Topic][o.Partition]
		}
		if !ok {
			if co, found := committed.Lookup(o.Topic, o.Partition); found && co.Err == nil && co.At >= 0 {
				at = co.At
			}
		}
		lag += max(0, o.Offset-at)
	})
	return lag, lerr
}

// WaitCaughtUp waits until the consumer has delivered to its sinks every
// record its topics held when the call began, or later ones too (it
// returns once Lag is 0), or until ctx ends, with an error that says how
// far behind the consumer still was. Run must be running meanwhile.
func (c *Consumer) WaitCaughtUp(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		lag, err := c.Lag(ctx)
		if err == nil && lag == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("consumer: not caught up: %w", err)
			}
			return fmt.Errorf("consumer: not caught up: %d records not delivered yet: %w", lag, ctx.Err())
		case <-tick.C:
		}
	}
}
