// Package storetest is the conformance suite of store.Store: every store
// must pass it, so that code written against one behaves the same on the
// other.
//
// A store's own tests call Run with a function that opens a new, empty
// store:
//
//	func TestSQLite(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := store.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "test.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
)

// Run runs the conformance suite as subtests of t. open must return a new,
// empty store with the default bucket width (one hour) each time it is
// called; Run closes it at the end of the subtest.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Redelivery", testRedelivery},
		{"OffsetConflict", testOffsetConflict},
		{"Offsets", testOffsets},
		{"TopicRecreated", testTopicRecreated},
		{"NoRanges", testNoRanges},
		{"InvalidBatch", testInvalidBatch},
		{"Summarize", testSummarize},
		{"Filter", testFilter},
		{"InvalidFilter", testInvalidFilter},
		{"ScanStops", testScanStops},
		{"Services", testServices},
		{"Concurrent", testConcurrent},
		{"Close", testClose},
		{"Empty", testEmpty},
		{"Aggregate", testAggregate},
		{"AggregateGroups", testAggregateGroups},
		{"Rollups", testRollups},
		{"ReadSeries", testReadSeries},
		{"Stream", testStream},
		{"Compaction", testCompaction},
		{"ConcurrentCompaction", testConcurrentCompaction},
		{"Names", testNames},
		{"ExtremeValues", testExtremeValues},
		{"Tasks", testTasks},
		{"Catalog", testCatalog},
		{"DropBefore", testDropBefore},
		{"Reset", testReset},
		{"Permanent", testPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

const topic = "resources"

// base is a time with nanoseconds, which the stores truncate to
// microseconds.
var base = time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)

func at(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }

func sample(service, resource string, value float64, t time.Time) rightsize.Sample {
	return rightsize.Sample{Service: service, Resource: resource, Value: value, Time: t}
}

// batch returns a batch of one range of partition part starting at from,
// one record per sample.
func batch(part int32, from int64, samples ...rightsize.Sample) rightsize.Batch {
	return rightsize.Batch{
		Samples: samples,
		Ranges:  []rightsize.OffsetRange{{Topic: topic, Partition: part, From: from, To: from + int64(len(samples)), Samples: len(samples)}},
	}
}

// join concatenates batches into one.
func join(bs ...rightsize.Batch) rightsize.Batch {
	var out rightsize.Batch
	for _, b := range bs {
		out.Samples = append(out.Samples, b.Samples...)
		out.Ranges = append(out.Ranges, b.Ranges...)
	}
	return out
}

func write(t *testing.T, s store.Store, b rightsize.Batch) {
	t.Helper()
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func scan(t *testing.T, s store.Store, f rightsize.Filter) []rightsize.Sample {
	t.Helper()
	var out []rightsize.Sample
	err := s.Scan(t.Context(), f, func(smp rightsize.Sample) error {
		out = append(out, smp)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%+v): %v", f, err)
	}
	return out
}

func all(services ...string) rightsize.Filter { return rightsize.Filter{Services: services} }

func offsets(t *testing.T, s store.Store, topic string) map[int32]int64 {
	t.Helper()
	o, err := s.Offsets(t.Context(), topic, "")
	if err != nil {
		t.Fatalf("Offsets(%q): %v", topic, err)
	}
	return o
}

func wantOffsets(t *testing.T, s store.Store, topic string, want map[int32]int64) {
	t.Helper()
	got := offsets(t, s, topic)
	if len(got) != len(want) {
		t.Fatalf("Offsets(%q) = %v, want %v", topic, got, want)
	}
	for p, o := range want {
		if got[p] != o {
			t.Fatalf("Offsets(%q) = %v, want %v", topic, got, want)
		}
	}
}

func wantCount(t *testing.T, s store.Store, f rightsize.Filter, want int) {
	t.Helper()
	if got := len(scan(t, s, f)); got != want {
		t.Fatalf("Scan(%+v) returned %d samples, want %d", f, got, want)
	}
}

// stored returns what a store gives back for smp: its time truncated to
// the microsecond, in UTC.
func stored(smp rightsize.Sample) rightsize.Sample {
	smp.Time = smp.Time.Truncate(time.Microsecond).UTC()
	return smp
}

// compareSamples orders samples as Scan returns them.
func compareSamples(a, b rightsize.Sample) int {
	return cmp.Or(
		strings.Compare(a.Service, b.Service),
		strings.Compare(a.Resource, b.Resource),
		a.Time.Compare(b.Time),
		strings.Compare(a.Task, b.Task),
		strings.Compare(a.Instance, b.Instance),
	)
}

func equalSamples(a, b rightsize.Sample) bool {
	return a.Task == b.Task && a.Service == b.Service && a.Instance == b.Instance &&
		a.Resource == b.Resource && a.Value == b.Value && a.Time.Equal(b.Time)
}

// wantSamples checks that got holds exactly want (as stored), in Scan's
// order, with UTC times.
func wantSamples(t *testing.T, got, want []rightsize.Sample) {
	t.Helper()
	exp := make([]rightsize.Sample, len(want))
	for i, smp := range want {
		exp[i] = stored(smp)
	}
	slices.SortStableFunc(exp, compareSamples)
	if len(got) != len(exp) {
		t.Fatalf("got %d samples, want %d", len(got), len(exp))
	}
	for i := range got {
		if !equalSamples(got[i], exp[i]) {
			t.Fatalf("sample %d:\n got %+v\nwant %+v", i, got[i], exp[i])
		}
		if got[i].Time.Location() != time.UTC {
			t.Fatalf("sample %d: time %v is not in UTC", i, got[i].Time)
		}
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	east := time.FixedZone("UTC+5", 5*3600)
	in := []rightsize.Sample{
		{Task: "img-0001", Service: "resize", Instance: "node-a", Resource: rightsize.CPU, Value: 0.25, Time: at(0)},
		{Task: "img-0001", Service: "resize", Instance: "node-a", Resource: rightsize.Memory, Value: 2.5e8, Time: at(0)},
		{Task: "img-0001", Service: "resize", Instance: "node-b", Resource: rightsize.CPU, Value: 1.5, Time: at(0)},
		{Task: "img-0002", Service: "resize", Instance: "node-a", Resource: rightsize.CPU, Value: 0, Time: at(1)},
		{Service: "resize", Resource: rightsize.CPU, Value: 3, Time: at(2).In(east)},
		{Service: "api gateway ✓", Instance: "pod/api-7d9f", Resource: "nvidia.com/gpu", Value: 1, Time: at(3)},
		{Service: "api gateway ✓", Resource: rightsize.DiskRead, Value: math.MaxFloat64, Time: at(4)},
		{Service: "api gateway ✓", Resource: rightsize.DiskWrite, Value: 5e-324, Time: at(5)},
		{Service: "legacy", Resource: rightsize.CPUPercent, Value: 12.5, Time: time.Date(1969, 12, 31, 23, 59, 59, 999999500, time.UTC)},
		{Service: "legacy", Resource: rightsize.CPUPercent, Value: 13.5, Time: time.Date(2200, 1, 2, 3, 4, 5, 6789, time.UTC)},
	}
	write(t, s, batch(0, 0, in...))
	got := scan(t, s, all("resize", "api gateway ✓", "legacy"))
	wantSamples(t, got, in)
	// The truncation is to the microsecond, toward the past.
	for _, smp := range got {
		if smp.Time.Nanosecond()%1000 != 0 {
			t.Errorf("time %v keeps nanoseconds", smp.Time)
		}
	}
	wantOffsets(t, s, topic, map[int32]int64{0: int64(len(in))})
}

func testRedelivery(t *testing.T, s store.Store) {
	first := batch(0, 0, sample("a", "cpu", 1, at(0)), sample("a", "cpu", 2, at(1)), sample("a", "cpu", 3, at(2)))
	write(t, s, first)
	write(t, s, first) // delivered again: skipped
	wantCount(t, s, all("a"), 3)
	wantOffsets(t, s, topic, map[int32]int64{0: 3})

	second := batch(0, 3, sample("a", "cpu", 4, at(3)), sample("a", "cpu", 5, at(4)))
	write(t, s, second)
	write(t, s, first)
	write(t, s, join(first, second))
	wantCount(t, s, all("a"), 5)
	wantOffsets(t, s, topic, map[int32]int64{0: 5})

	// A batch half old, half new: only the new half is written.
	third := batch(0, 5, sample("a", "cpu", 6, at(5)))
	write(t, s, join(second, third))
	got := scan(t, s, all("a"))
	if len(got) != 6 || got[5].Value != 6 {
		t.Fatalf("after a half-redelivered batch: %d samples, want 6 ending with value 6: %+v", len(got), got)
	}
	wantOffsets(t, s, topic, map[int32]int64{0: 6})
}

func testOffsetConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	write(t, s, batch(0, 0, sample("a", "cpu", 1, at(0)), sample("a", "cpu", 2, at(1)), sample("a", "cpu", 3, at(2))))
	write(t, s, batch(3, 0)) // stored: partition 3 at 0 (an empty range)

	for _, tc := range []struct {
		name string
		b    rightsize.Batch
		bad  rightsize.OffsetRange
	}{
		{
			name: "overlap",
			b:    batch(0, 2, sample("a", "cpu", 9, at(9)), sample("a", "cpu", 9, at(10))),
			bad:  rightsize.OffsetRange{Topic: topic, Partition: 0, From: 2, To: 4, Samples: 2},
		},
		{
			name: "gap",
			b:    batch(0, 5, sample("a", "cpu", 9, at(9))),
			bad:  rightsize.OffsetRange{Topic: topic, Partition: 0, From: 5, To: 6, Samples: 1},
		},
		{
			// A good range of another partition does not get written either.
			name: "good and bad",
			b:    join(batch(1, 0, sample("b", "cpu", 9, at(9))), batch(0, 1, sample("a", "cpu", 9, at(9)), sample("a", "cpu", 9, at(10)), sample("a", "cpu", 9, at(11)))),
			bad:  rightsize.OffsetRange{Topic: topic, Partition: 0, From: 1, To: 4, Samples: 3},
		},
	} {
		err := s.Write(ctx, tc.b)
		if !errors.Is(err, store.ErrOffsetConflict) {
			t.Fatalf("%s: Write = %v, want an error matching ErrOffsetConflict", tc.name, err)
		}
		var oc *store.OffsetConflictError
		if !errors.As(err, &oc) {
			t.Fatalf("%s: Write = %T, want *OffsetConflictError", tc.name, err)
		}
		if len(oc.Conflicts) != 1 || oc.Conflicts[0].Range != tc.bad || oc.Conflicts[0].Stored != 3 {
			t.Errorf("%s: conflicts %+v, want range %v with stored offset 3", tc.name, oc.Conflicts, tc.bad)
		}
		if got := oc.Offsets[topic][0]; got != 3 {
			t.Errorf("%s: error's offsets %v, want partition 0 at 3", tc.name, oc.Offsets)
		}
		if _, ok := oc.Offsets[topic][1]; ok {
			t.Errorf("%s: error's offsets %v: partition 1 has none stored", tc.name, oc.Offsets)
		}
		if err.Error() == "" || !strings.Contains(err.Error(), tc.bad.String()) {
			t.Errorf("%s: message %q does not name the range %s", tc.name, err, tc.bad)
		}
		wantCount(t, s, all("a", "b"), 3)
		wantOffsets(t, s, topic, map[int32]int64{0: 3, 3: 0})
	}
	// Two conflicts are both reported.
	err := s.Write(ctx, join(batch(0, 4, sample("a", "cpu", 9, at(9))), batch(3, 1, sample("a", "cpu", 9, at(9)))))
	var oc *store.OffsetConflictError
	if !errors.As(err, &oc) || len(oc.Conflicts) != 2 {
		t.Fatalf("two conflicting ranges: Write = %v, want an *OffsetConflictError with 2 conflicts", err)
	}
	// The consumer, having sought back, goes on.
	write(t, s, batch(0, 3, sample("a", "cpu", 4, at(3))))
	wantCount(t, s, all("a"), 4)
	wantOffsets(t, s, topic, map[int32]int64{0: 4, 3: 0})
}

func testOffsets(t *testing.T, s store.Store) {
	wantOffsets(t, s, topic, map[int32]int64{})

	// Several ranges of one partition in one batch, the second without
	// samples (records that carried none still advance the offset).
	b := rightsize.Batch{
		Samples: []rightsize.Sample{sample("a", "cpu", 1, at(0)), sample("a", "cpu", 2, at(1)), sample("a", "cpu", 3, at(2))},
		Ranges: []rightsize.OffsetRange{
			{Topic: topic, Partition: 0, From: 100, To: 102, Samples: 2},
			{Topic: topic, Partition: 0, From: 102, To: 110, Samples: 0},
			{Topic: "other", Partition: 0, From: 7, To: 8, Samples: 1},
		},
	}
	write(t, s, b)
	wantCount(t, s, all("a"), 3)
	wantOffsets(t, s, topic, map[int32]int64{0: 110})
	wantOffsets(t, s, "other", map[int32]int64{0: 8})
	wantOffsets(t, s, "unknown", map[int32]int64{})

	// Partitions are independent.
	write(t, s, batch(5, 0, sample("a", "cpu", 4, at(3))))
	write(t, s, batch(0, 110, sample("a", "cpu", 5, at(4))))
	wantOffsets(t, s, topic, map[int32]int64{0: 111, 5: 1})
	wantCount(t, s, all("a"), 5)
}

// testTopicRecreated: offsets stored for a topic do not apply to a new
// topic of the same name (another ID): it is read from its start.
func testTopicRecreated(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := rightsize.Batch{
		Samples: []rightsize.Sample{sample("a", "cpu", 1, at(0))},
		Ranges:  []rightsize.OffsetRange{{Topic: topic, TopicID: "0a", Partition: 0, From: 0, To: 50, Samples: 1}},
	}
	write(t, s, old)
	got, err := s.Offsets(ctx, topic, "0a")
	if err != nil || got[0] != 50 {
		t.Fatalf("Offsets of the first topic = %v, %v", got, err)
	}
	if got, err := s.Offsets(ctx, topic, "0b"); err != nil || len(got) != 0 {
		t.Fatalf("Offsets of the new topic = %v, %v; want none", got, err)
	}
	// The new topic starts at 0, below the old topic's offset: no conflict,
	// no redelivery skipped.
	fresh := rightsize.Batch{
		Samples: []rightsize.Sample{sample("a", "cpu", 2, at(1))},
		Ranges:  []rightsize.OffsetRange{{Topic: topic, TopicID: "0b", Partition: 0, From: 0, To: 3, Samples: 1}},
	}
	write(t, s, fresh)
	wantCount(t, s, all("a"), 2)
	if got, err := s.Offsets(ctx, topic, "0b"); err != nil || got[0] != 3 {
		t.Fatalf("Offsets of the new topic = %v, %v; want 3", got, err)
	}
	// Fencing applies within the new topic.
	write(t, s, fresh)
	wantCount(t, s, all("a"), 2)
	// Ranges of one partition must agree on the topic's ID.
	mixed := rightsize.Batch{Ranges: []rightsize.OffsetRange{
		{Topic: topic, TopicID: "0b", Partition: 0, From: 3, To: 4},
		{Topic: topic, TopicID: "0c", Partition: 0, From: 4, To: 5},
	}}
	if err := s.Write(ctx, mixed); !errors.Is(err, store.ErrInvalidBatch) {
		t.Errorf("ranges of one partition with two topic IDs: %v", err)
	}
}

func testNoRanges(t *testing.T, s store.Store) {
	b := rightsize.Batch{Samples: []rightsize.Sample{sample("a", "cpu", 1, at(0)), sample("a", "memory", 2, at(0))}}
	write(t, s, b)
	wantCount(t, s, all("a"), 2)
	// Without ranges there is no fencing: a second write stores them again.
	write(t, s, b)
	wantCount(t, s, all("a"), 4)
	wantOffsets(t, s, topic, map[int32]int64{})
	write(t, s, rightsize.Batch{}) // nothing at all
}

func testInvalidBatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	good := sample("a", "cpu", 1, at(0))
	nan := sample("a", "cpu", math.NaN(), at(1))
	err := s.Write(ctx, batch(0, 0, good, nan))
	if !errors.Is(err, store.ErrInvalidBatch) || !errors.Is(err, rightsize.ErrInvalidSample) {
		t.Fatalf("Write(NaN sample) = %v, want an error matching ErrInvalidBatch and rightsize.ErrInvalidSample", err)
	}
	if !strings.Contains(err.Error(), "sample 1") {
		t.Errorf("Write(NaN sample) = %q, does not name sample 1", err)
	}
	for _, tc := range []struct {
		name string
		b    rightsize.Batch
	}{
		{"samples without range", rightsize.Batch{
			Samples: []rightsize.Sample{good, good},
			Ranges:  []rightsize.OffsetRange{{Topic: topic, From: 0, To: 1, Samples: 1}},
		}},
		{"range claims too many", rightsize.Batch{
			Samples: []rightsize.Sample{good},
			Ranges:  []rightsize.OffsetRange{{Topic: topic, From: 0, To: 2, Samples: 2}},
		}},
		{"backwards range", rightsize.Batch{
			Samples: []rightsize.Sample{good},
			Ranges:  []rightsize.OffsetRange{{Topic: topic, From: 5, To: 4, Samples: 1}},
		}},
		{"negative offset", rightsize.Batch{
			Samples: []rightsize.Sample{good},
			Ranges:  []rightsize.OffsetRange{{Topic: topic, From: -1, To: 0, Samples: 1}},
		}},
		{"no topic", rightsize.Batch{
			Samples: []rightsize.Sample{good},
			Ranges:  []rightsize.OffsetRange{{From: 0, To: 1, Samples: 1}},
		}},
		{"year 3000", batch(0, 0, sample("a", "cpu", 1, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)))},
	} {
		if err := s.Write(ctx, tc.b); !errors.Is(err, store.ErrInvalidBatch) {
			t.Errorf("%s: Write = %v, want an error matching ErrInvalidBatch", tc.name, err)
		}
	}
	wantCount(t, s, all("a"), 0)
	wantOffsets(t, s, topic, map[int32]int64{})
}

// randomSamples returns n samples per series of a few services, with
// seeded values shaped like real ones: CPU in cores, memory in bytes
// around a large mean (hard for a naive variance), a constant thread
// count, and a resource sampled once.
func randomSamples(seed uint64, n int) []rightsize.Sample {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []rightsize.Sample
	for _, svc := range []string{"resize", "api", "thumbnail"} {
		for _, task := range []string{"", "img-1", "img-2"} {
			for _, inst := range []string{"node-a", "node-b"} {
				for i := range n {
					t := at(i).Add(time.Duration(rng.IntN(1e9)))
					out = append(out,
						rightsize.Sample{Task: task, Service: svc, Instance: inst, Resource: rightsize.CPU, Value: 4 * rng.Float64(), Time: t},
						rightsize.Sample{Task: task, Service: svc, Instance: inst, Resource: rightsize.Memory, Value: math.Round(6e9 + 5e6*rng.NormFloat64()), Time: t},
						rightsize.Sample{Task: task, Service: svc, Instance: inst, Resource: rightsize.Threads, Value: 12, Time: t},
					)
				}
			}
		}
		out = append(out, rightsize.Sample{Service: svc, Resource: rightsize.OOMKills, Value: 1, Time: at(n / 2)})
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// writeInBatches writes samples in batches of size records of partition 0,
// one record per sample.
func writeInBatches(t *testing.T, s store.Store, samples []rightsize.Sample, size int) {
	t.Helper()
	for i := 0; i < len(samples); i += size {
		end := min(i+size, len(samples))
		write(t, s, batch(0, int64(i), samples[i:end]...))
	}
}

func testSummarize(t *testing.T, s store.Store) {
	writeInBatches(t, s, randomSamples(1, 200), 1000)
	for _, f := range []rightsize.Filter{
		all("resize", "api", "thumbnail"),
		all("api"),
		{Services: []string{"resize", "thumbnail"}, Task: "img-1"},
		{Services: []string{"resize"}, Instance: "node-b", Resources: []string{rightsize.Memory, rightsize.OOMKills}},
		{Services: []string{"thumbnail", "api"}, From: at(50), To: at(150)},
		{Services: []string{"api"}, From: at(199)},
		{Services: []string{"nobody"}},
	} {
		got, err := s.Summarize(t.Context(), f)
		if err != nil {
			t.Fatalf("Summarize(%+v): %v", f, err)
		}
		want := summarize(scan(t, s, f))
		if len(got) != len(want) {
			t.Fatalf("Summarize(%+v) returned %d summaries, want %d:\n got %+v\nwant %+v", f, len(got), len(want), got, want)
		}
		for i := range want {
			if err := compareSummaries(got[i], want[i]); err != nil {
				t.Errorf("Summarize(%+v)[%d] %s/%s: %v\n got %+v\nwant %+v", f, i, want[i].Service, want[i].Resource, err, got[i], want[i])
			}
		}
	}
}

// summarize computes the summaries of samples in Scan's order with gonum.
func summarize(samples []rightsize.Sample) []rightsize.Summary {
	var out []rightsize.Summary
	for i := 0; i < len(samples); {
		j := i
		var values []float64
		sum := rightsize.Summary{Service: samples[i].Service, Resource: samples[i].Resource, First: samples[i].Time, Last: samples[i].Time}
		for ; j < len(samples) && samples[j].Service == sum.Service && samples[j].Resource == sum.Resource; j++ {
			values = append(values, samples[j].Value)
			if samples[j].Time.Before(sum.First) {
				sum.First = samples[j].Time
			}
			if samples[j].Time.After(sum.Last) {
				sum.Last = samples[j].Time
			}
		}
		sum.Count = int64(len(values))
		sum.Min, sum.Max = floats.Min(values), floats.Max(values)
		sum.Mean = stat.Mean(values, nil)
		if len(values) > 1 {
			sum.StdDev = stat.StdDev(values, nil)
		}
		out = append(out, sum)
		i = j
	}
	return out
}

// near reports whether a and b agree within 1e-9 relative to the larger
// of them and scale.
func near(a, b, scale float64) bool {
	return math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b), scale)
}

func compareSummaries(got, want rightsize.Summary) error {
	switch {
	case got.Service != want.Service || got.Resource != want.Resource:
		return errors.New("different series or order")
	case got.Count != want.Count:
		return fmt.Errorf("count %d, want %d", got.Count, want.Count)
	case got.Min != want.Min || got.Max != want.Max:
		return fmt.Errorf("min/max %g/%g, want %g/%g", got.Min, got.Max, want.Min, want.Max)
	case !near(got.Mean, want.Mean, 0):
		return fmt.Errorf("mean %.17g, want %.17g", got.Mean, want.Mean)
	case !near(got.StdDev, want.StdDev, 1e-6*math.Abs(want.Mean)):
		return fmt.Errorf("stddev %.17g, want %.17g", got.StdDev, want.StdDev)
	case !got.First.Equal(want.First) || !got.Last.Equal(want.Last):
		return fmt.Errorf("first/last %v/%v, want %v/%v", got.First, got.Last, want.First, want.Last)
	case got.First.Location() != time.UTC || got.Last.Location() != time.UTC:
		return errors.New("first/last not in UTC")
	}
	return nil
}

func testFilter(t *testing.T, s store.Store) {
	var in []rightsize.Sample
	for _, svc := range []string{"a", "b", "c"} {
		for _, task := range []string{"", "t1", "t2"} {
			for _, inst := range []string{"", "i1", "i2"} {
				for _, res := range []string{rightsize.CPU, rightsize.Memory} {
					for i := range 5 {
						in = append(in, rightsize.Sample{Task: task, Service: svc, Instance: inst, Resource: res, Value: float64(i), Time: at(i)})
					}
				}
			}
		}
	}
	write(t, s, batch(0, 0, in...))
	for _, f := range []rightsize.Filter{
		all("a"),
		all("c", "a"),
		all("a", "b", "c", "d"),
		all("d"),
		{Services: []string{"a", "b"}, Task: "t1"},
		{Services: []string{"b"}, Instance: "i2"},
		{Services: []string{"a"}, Resources: []string{rightsize.Memory}},
		{Services: []string{"a"}, Resources: []string{rightsize.Memory, rightsize.CPU, rightsize.Threads}},
		{Services: []string{"c"}, From: at(1), To: at(3)},
		{Services: []string{"c"}, From: at(3)},
		{Services: []string{"c"}, To: at(1)},
		{Services: []string{"c"}, From: at(1).Add(time.Nanosecond), To: at(2).Add(time.Microsecond)}, // bounds truncated too
		{Services: []string{"a", "c"}, Task: "t2", Instance: "i1", Resources: []string{rightsize.CPU}, From: at(2), To: at(4)},
	} {
		var want []rightsize.Sample
		for _, smp := range in {
			if matches(f, stored(smp)) {
				want = append(want, smp)
			}
		}
		t.Run(fmt.Sprintf("%+v", f), func(t *testing.T) {
			wantSamples(t, scan(t, s, f), want)
		})
	}
}

func matches(f rightsize.Filter, smp rightsize.Sample) bool {
	tr := func(t time.Time) time.Time { return t.Truncate(time.Microsecond) }
	return slices.Contains(f.Services, smp.Service) &&
		(f.Task == "" || f.Task == smp.Task) &&
		(f.Instance == "" || f.Instance == smp.Instance) &&
		(len(f.Resources) == 0 || slices.Contains(f.Resources, smp.Resource)) &&
		(f.From.IsZero() || !smp.Time.Before(tr(f.From))) &&
		(f.To.IsZero() || smp.Time.Before(tr(f.To)))
}

func testInvalidFilter(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, f := range []rightsize.Filter{
		{},
		{Services: []string{""}},
		{Services: []string{"a"}, Resources: []string{"CPU"}},
		{Services: []string{"a"}, From: at(2), To: at(1)},
	} {
		if err := s.Scan(ctx, f, func(rightsize.Sample) error { return nil }); err == nil {
			t.Errorf("Scan(%+v) = nil, want an error", f)
		}
		if _, err := s.Summarize(ctx, f); err == nil {
			t.Errorf("Summarize(%+v) = nil, want an error", f)
		}
	}
}

func testScanStops(t *testing.T, s store.Store) {
	writeInBatches(t, s, randomSamples(2, 100), 5000)
	stop := errors.New("enough")
	calls := 0
	err := s.Scan(t.Context(), all("api", "resize"), func(rightsize.Sample) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Fatalf("Scan = %v, want the callback's error unchanged", err)
	}
	if calls != 3 {
		t.Fatalf("callback called %d times after returning an error at 3", calls)
	}
	// The store is still usable.
	wantCount(t, s, all("thumbnail"), 3*2*3*100+1)
}

func testServices(t *testing.T, s store.Store) {
	got, err := s.Services(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("Services of an empty store = %v, %v; want none", got, err)
	}
	write(t, s, batch(0, 0,
		sample("thumbnail", "cpu", 1, at(0)),
		sample("api", "cpu", 1, at(0)),
		sample("api", "memory", 1, at(0)),
		rightsize.Sample{Task: "img-1", Service: "Resize", Resource: "cpu", Time: at(0)},
		sample("resize", "cpu", 1, at(1)),
	))
	got, err = s.Services(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Resize", "api", "resize", "thumbnail"}; !slices.Equal(got, want) {
		t.Fatalf("Services = %q, want %q", got, want)
	}
}

// testConcurrent writes two partitions from two goroutines, sharing series
// (so that both may create the same one at once), while a third reads.
func testConcurrent(t *testing.T, s store.Store) {
	const batches, size = 10, 40
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for part := range int32(2) {
		wg.Go(func() {
			for i := range batches {
				samples := make([]rightsize.Sample, size)
				for j := range samples {
					samples[j] = rightsize.Sample{
						Task: fmt.Sprintf("task-%d", j%4), Service: fmt.Sprintf("svc-%d", i%3), Instance: "node",
						Resource: rightsize.CPU, Value: float64(part), Time: at(i*size + j),
					}
				}
				if err := s.Write(ctx, batch(part, int64(i*size), samples...)); err != nil {
					errs <- fmt.Errorf("partition %d, batch %d: %w", part, i, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.Summarize(ctx, all("svc-0", "svc-1", "svc-2")); err != nil {
				errs <- fmt.Errorf("reading while writing: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	wantCount(t, s, all("svc-0", "svc-1", "svc-2"), 2*batches*size)
	wantOffsets(t, s, topic, map[int32]int64{0: batches * size, 1: batches * size})
}

func testClose(t *testing.T, s store.Store) {
	ctx := t.Context()
	write(t, s, batch(0, 0, sample("a", "cpu", 1, at(0))))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Write(ctx, batch(0, 1, sample("a", "cpu", 1, at(1)))); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := s.Scan(ctx, all("a"), func(rightsize.Sample) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Scan after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Summarize(ctx, all("a")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Summarize after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Offsets(ctx, topic, ""); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Offsets after Close = %v, want ErrClosed", err)
	}
	if _, err := s.Services(ctx); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Services after Close = %v, want ErrClosed", err)
	}
}
