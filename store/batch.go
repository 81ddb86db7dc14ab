package store

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/clip"
)

// partition names one Kafka partition of one incarnation of its topic
// (see rightsize.OffsetRange.TopicID).
type partition struct {
	topic     string
	topicID   string
	partition int32
}

// seriesKey identifies a series: every label of a sample except its value
// and time.
type seriesKey struct {
	task, service, instance, resource string
}

func keyOf(s rightsize.Sample) seriesKey {
	return seriesKey{s.Task, s.Service, s.Instance, s.Resource}
}

func compareKeys(a, b seriesKey) int {
	return cmp.Or(
		cmp.Compare(a.service, b.service),
		cmp.Compare(a.resource, b.resource),
		cmp.Compare(a.task, b.task),
		cmp.Compare(a.instance, b.instance),
	)
}

// Times are kept as Unix nanoseconds, truncated to microseconds; these are
// the bounds of what fits.
var (
	minTime = rightsize.EarliestTime()
	maxTime = rightsize.LatestTime()
)

// unixMicroNano truncates t to microseconds (toward the past) and returns it
// as Unix nanoseconds.
func unixMicroNano(t time.Time) int64 {
	return t.Truncate(time.Microsecond).UnixNano()
}

// clampTime brings a filter bound within the times that can be stored.
func clampTime(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime
	}
	return t
}

// checkBatch validates a batch before any database work.
func checkBatch(b rightsize.Batch) error {
	var v rightsize.Validator // Validate's rule, names checked once per run
	for i, s := range b.Samples {
		if err := v.Validate(s); err != nil {
			return fmt.Errorf("%w: sample %d of %d (service %q, resource %q): %w", ErrInvalidBatch, i, len(b.Samples), clip.String(s.Service, 40), clip.String(s.Resource, 40), err)
		}
	}
	if len(b.Ranges) == 0 {
		return nil
	}
	total := 0
	ids := make(map[partition]string, len(b.Ranges))
	for _, r := range b.Ranges {
		k := partition{topic: r.Topic, partition: r.Partition}
		if id, ok := ids[k]; ok && id != r.TopicID {
			return fmt.Errorf("%w: range %s has topic ID %q, an earlier range of the partition %q", ErrInvalidBatch, r, r.TopicID, id)
		}
		ids[k] = r.TopicID
		switch {
		case r.Topic == "":
			return fmt.Errorf("%w: range %s has no topic", ErrInvalidBatch, r)
		case r.Partition < 0:
			return fmt.Errorf("%w: range %s has a negative partition", ErrInvalidBatch, r)
		case r.From < 0 || r.To < r.From:
			return fmt.Errorf("%w: range %s is not a run of offsets", ErrInvalidBatch, r)
		case r.Samples < 0:
			return fmt.Errorf("%w: range %s claims %d samples", ErrInvalidBatch, r, r.Samples)
		}
		total += r.Samples
	}
	if total != len(b.Samples) {
		return fmt.Errorf("%w: its ranges claim %d samples, it holds %d", ErrInvalidBatch, total, len(b.Samples))
	}
	return nil
}

// partitionsOf returns the distinct partitions of b's ranges, sorted (the
// order in which their offsets are locked).
func partitionsOf(b rightsize.Batch) []partition {
	ps := make([]partition, 0, len(b.Ranges))
	for _, r := range b.Ranges {
		ps = append(ps, partition{r.Topic, r.TopicID, r.Partition})
	}
	slices.SortFunc(ps, func(a, b partition) int {
		return cmp.Or(cmp.Compare(a.topic, b.topic), cmp.Compare(a.partition, b.partition))
	})
	return slices.Compact(ps)
}

// plan is what a batch changes, given the offsets stored.
type plan struct {
	samples []rightsize.Sample  // samples of the ranges to apply
	next    map[partition]int64 // new next offsets, by partition
}

// planBatch decides, range by range, which of b's samples to write, fencing
// on the stored next offsets (a partition absent from stored has none). It
// returns an *OffsetConflictError if any range conflicts. b must have passed
// checkBatch.
func planBatch(b rightsize.Batch, stored map[partition]int64) (plan, error) {
	if len(b.Ranges) == 0 {
		return plan{samples: b.Samples}, nil
	}
	p := plan{next: make(map[partition]int64)}
	var conflicts []OffsetConflict
	var spans [][]rightsize.Sample
	applied := 0
	err := b.Parts(func(r rightsize.OffsetRange, samples []rightsize.Sample) error {
		k := partition{r.Topic, r.TopicID, r.Partition}
		cur, ok := p.next[k]
		if !ok {
			cur, ok = stored[k]
		}
		switch {
		case ok && cur >= r.To:
			// Already stored: a redelivery.
		case !ok || cur == r.From:
			p.next[k] = r.To
			applied += len(samples)
			spans = append(spans, samples)
		default:
			conflicts = append(conflicts, OffsetConflict{Range: r, Stored: cur})
		}
		return nil
	})
	if err != nil {
		return plan{}, fmt.Errorf("%w: %w", ErrInvalidBatch, err)
	}
	if len(conflicts) > 0 {
		offsets := make(map[string]map[int32]int64)
		for k, v := range stored {
			if offsets[k.topic] == nil {
				offsets[k.topic] = make(map[int32]int64)
			}
			offsets[k.topic][k.partition] = v
		}
		return plan{}, &OffsetConflictError{Conflicts: conflicts, Offsets: offsets}
	}
	if applied == len(b.Samples) {
		p.samples = b.Samples // no copy when every range applies
	} else {
		p.samples = slices.Concat(spans...)
	}
	return p, nil
}

// row is one sample ready to be written: its series id, time (Unix
// nanoseconds, truncated to microseconds) and value.
type row struct {
	series int64
	time   int64
	value  float64
}

// distinctSeries returns the distinct series of samples and, for each
// sample, the index of its series in keys.
//
// A record's samples come together, one per resource of one service: the
// last few series seen are compared first, and the map (hashing four
// strings) is asked only when none matches.
func distinctSeries(samples []rightsize.Sample) (keys []seriesKey, idx []int32) {
	seen := make(map[seriesKey]int32)
	idx = make([]int32, len(samples))
	const recent = 8
	var last [recent]int32 // indexes into keys of the series seen last
	n := 0
	for i, s := range samples {
		k := keyOf(s)
		j := int32(-1)
		for _, c := range last[:min(n, recent)] {
			if keys[c] == k {
				j = c
				break
			}
		}
		if j < 0 {
			var ok bool
			if j, ok = seen[k]; !ok {
				j = int32(len(keys))
				seen[k] = j
				keys = append(keys, k)
			}
			last[n%recent] = j
			n++
		}
		idx[i] = j
	}
	return keys, idx
}

// makeRows returns samples as rows, sample i of series ids[idx[i]], sorted
// by series id, then time: the order in which they are written, so that a
// series' samples sit together on disk. Rows are bucketed by series (the
// batch has few series) and only a series whose samples arrived out of
// time order is sorted.
func makeRows(samples []rightsize.Sample, idx []int32, ids []int64) []row {
	k := len(ids)
	byID := make([]int32, k) // series, in id order
	for i := range byID {
		byID[i] = int32(i)
	}
	slices.SortFunc(byID, func(a, b int32) int { return cmp.Compare(ids[a], ids[b]) })
	rank := make([]int, k)
	for r, i := range byID {
		rank[i] = r
	}
	start := make([]int, k+1) // rows of the series of rank r: [start[r], start[r+1])
	for _, i := range idx {
		start[rank[i]+1]++
	}
	for r := range k {
		start[r+1] += start[r]
	}
	next := slices.Clone(start[:k])
	rows := make([]row, len(samples))
	for i, s := range samples {
		r := rank[idx[i]]
		rows[next[r]] = row{ids[idx[i]], unixMicroNano(s.Time), s.Value}
		next[r]++
	}
	byTime := func(a, b row) int { return cmp.Compare(a.time, b.time) }
	for r := range k {
		if g := rows[start[r]:start[r+1]]; !slices.IsSortedFunc(g, byTime) {
			slices.SortStableFunc(g, byTime)
		}
	}
	return rows
}
