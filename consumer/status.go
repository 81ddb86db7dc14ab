package consumer

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Status is what a consumer did over an interval, for the one-line
// status a long-running program prints: rates, lag, records not stored
// and the store's write latency.
type Status struct {
	Interval      time.Duration
	RecordsPerSec float64
	SamplesPerSec float64
	// Lag is the records not yet delivered (-1: unknown, Lag failed).
	Lag int64
	// NotStored counts, since the start, the records that will never be
	// stored, by reason; DeadLettered of them reached the dead-letter
	// topic.
	NotStored    map[Reason]int64
	DeadLettered int64
	// WriteLatency is the mean time a batch write took over the
	// interval (0 with no write).
	WriteLatency time.Duration
	// Stalled and LastError say whether a batch keeps failing.
	Stalled   time.Duration
	LastError string
}

// StatusOf compares two readings of Stats taken elapsed apart.
func StatusOf(prev, cur Stats, elapsed time.Duration, lag int64) Status {
	s := Status{Interval: elapsed, Lag: lag, NotStored: cur.Malformed, DeadLettered: cur.DeadLettered,
		Stalled: cur.Stalled, LastError: cur.LastError}
	if sec := elapsed.Seconds(); sec > 0 {
		s.RecordsPerSec = float64(cur.Records-prev.Records) / sec
		s.SamplesPerSec = float64(cur.Samples-prev.Samples) / sec
	}
	if n := cur.Batches - prev.Batches; n > 0 {
		s.WriteLatency = (cur.WriteTime - prev.WriteTime) / time.Duration(n)
	}
	return s
}

// String is the status as one line:
//
//	1234 records/s, 5678 samples/s, lag 12, write 3.1ms; not stored: invalid=2 syntax=1 (3 dead-lettered)
func (s Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.0f records/s, %.0f samples/s, lag ", s.RecordsPerSec, s.SamplesPerSec)
	if s.Lag < 0 {
		b.WriteString("?")
	} else {
		fmt.Fprint(&b, s.Lag)
	}
	if s.WriteLatency > 0 {
		fmt.Fprintf(&b, ", write %v", s.WriteLatency.Round(100*time.Microsecond))
	}
	var total int64
	for _, n := range s.NotStored {
		total += n
	}
	if total > 0 {
		b.WriteString("; not stored:")
		for _, r := range slices.Sorted(maps.Keys(s.NotStored)) {
			fmt.Fprintf(&b, " %s=%d", r, s.NotStored[r])
		}
		fmt.Fprintf(&b, " (%d dead-lettered)", s.DeadLettered)
	}
	if s.Stalled > 0 {
		fmt.Fprintf(&b, "; STALLED %v: %s", s.Stalled.Round(time.Second), s.LastError)
	}
	return b.String()
}

// Watch calls fn with the consumer's Status every interval until ctx
// ends: what a long-running program prints as its status line. Lag is -1
// when it could not be read within the interval.
func (c *Consumer) Watch(ctx context.Context, every time.Duration, fn func(Status)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	prev, at := c.Stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		lctx, cancel := context.WithTimeout(ctx, every)
		lag, err := c.Lag(lctx)
		cancel()
		if err != nil {
			lag = -1
		}
		cur, now := c.Stats(), time.Now()
		fn(StatusOf(prev, cur, now.Sub(at), lag))
		prev, at = cur, now
	}
}
