package storetest

import (
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
	_ "time/tzdata" // the Daily tests need real time zones

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/sketch"
	"github.com/rightsize/rightsize/store"
)

// day0 is the start of the multi-day data: not on a bucket boundary.
var day0 = time.Date(2025, 3, 7, 21, 17, 3, 250_000_000, time.UTC)

// history returns samples of a few series over three days, every 97 s
// with jitter, some mostly zero, written in batches of batch samples (so
// that buckets get several chunks and compaction runs).
func history(seed uint64) []rightsize.Sample {
	rng := rand.New(rand.NewPCG(seed, 7))
	var out []rightsize.Sample
	n := 3 * 24 * 3600 / 97
	for i := range n {
		t := day0.Add(time.Duration(i)*97*time.Second + time.Duration(rng.IntN(5e8)))
		for _, svc := range []string{"resize", "api"} {
			for _, task := range []string{"", "img-1"} {
				busy := 0.0
				if rng.IntN(10) == 0 {
					busy = rng.ExpFloat64()
				}
				out = append(out,
					rightsize.Sample{Task: task, Service: svc, Instance: "node-a", Resource: rightsize.CPU, Value: busy, Time: t},
					rightsize.Sample{Task: task, Service: svc, Instance: "node-b", Resource: rightsize.Memory, Value: math.Round(6e9 + 5e6*rng.NormFloat64()), Time: t},
				)
			}
		}
	}
	return out
}

func writeHistory(t *testing.T, s store.Store, samples []rightsize.Sample, batch int) {
	t.Helper()
	writeInBatches(t, s, samples, batch)
}

// exact computes what Aggregate should return from raw samples with
// gonum: count, min, max, mean, stddev, first, last, and exact quantiles.
type exact struct {
	key    string
	values []float64
	first  time.Time
	last   time.Time
}

func (e *exact) add(smp rightsize.Sample) {
	if len(e.values) == 0 || smp.Time.Before(e.first) {
		e.first = smp.Time
	}
	if len(e.values) == 0 || smp.Time.After(e.last) {
		e.last = smp.Time
	}
	e.values = append(e.values, smp.Value)
}

func (e *exact) quantile(q float64) float64 {
	v := slices.Clone(e.values)
	slices.Sort(v)
	return stat.Quantile(q, stat.Empirical, v, nil)
}

// nearQuantile reports whether got is within the sketch's relative error
// of the exact quantile (zeros exact).
func nearQuantile(got, want float64) bool {
	if want == 0 {
		return got == 0
	}
	return math.Abs(got-want) <= sketch.RelativeAccuracy*math.Abs(want)*(1+1e-9)
}

func checkSummary(got rightsize.Summary, want *exact, qs []float64) error {
	v := want.values
	switch {
	case got.Count != int64(len(v)):
		return fmt.Errorf("count %d, want %d", got.Count, len(v))
	case got.Min != floats.Min(v) || got.Max != floats.Max(v):
		return fmt.Errorf("min/max %g/%g, want %g/%g", got.Min, got.Max, floats.Min(v), floats.Max(v))
	case !near(got.Mean, stat.Mean(v, nil), 0):
		return fmt.Errorf("mean %.17g, want %.17g", got.Mean, stat.Mean(v, nil))
	case !got.First.Equal(want.first) || !got.Last.Equal(want.last):
		return fmt.Errorf("first/last %v/%v, want %v/%v", got.First, got.Last, want.first, want.last)
	}
	if len(v) > 1 {
		if sd := stat.StdDev(v, nil); !near(got.StdDev, sd, 1e-6*math.Abs(stat.Mean(v, nil))) {
			return fmt.Errorf("stddev %.17g, want %.17g", got.StdDev, sd)
		}
	} else if got.StdDev != 0 {
		return fmt.Errorf("stddev %g of one value", got.StdDev)
	}
	for _, p := range []struct {
		q   float64
		got float64
	}{{0.5, got.P50}, {0.9, got.P90}, {0.95, got.P95}, {0.99, got.P99}} {
		if w := want.quantile(p.q); !nearQuantile(p.got, w) {
			return fmt.Errorf("percentile %v = %g, exact %g: beyond %v relative", p.q*100, p.got, w, sketch.RelativeAccuracy)
		}
	}
	if len(got.Quantiles) != len(qs) {
		return fmt.Errorf("%d quantiles, asked for %d", len(got.Quantiles), len(qs))
	}
	for i, q := range qs {
		if got.Quantiles[i].Q != q || !nearQuantile(got.Quantiles[i].Value, want.quantile(q)) {
			return fmt.Errorf("quantile %v = %+v, exact %g", q, got.Quantiles[i], want.quantile(q))
		}
	}
	return nil
}

// keep reports whether smp (as stored) passes f's window, Daily included.
func keep(f rightsize.Filter, smp rightsize.Sample) bool {
	return matches(f, smp) && (f.Daily == nil || f.Daily.Contains(smp.Time))
}

// expected groups what a store holds (read back with Scan, which the
// other tests check against what was written) as Aggregate should.
func expected(t *testing.T, s store.Store, a rightsize.Aggregation) ([]string, map[string]*exact) {
	t.Helper()
	f := a.Filter
	f.From, f.To, f.Daily = time.Time{}, time.Time{}, nil
	groups := map[string]*exact{}
	var keys []string
	for _, smp := range scan(t, s, f) {
		if !keep(a.Filter, smp) {
			continue
		}
		k := []string{smp.Service, smp.Resource, "", "", ""}
		if a.ByTask {
			k[2] = smp.Task
		}
		if a.ByInstance {
			k[3] = smp.Instance
		}
		if a.Step > 0 {
			k[4] = smp.Time.Truncate(a.Step).Format(time.RFC3339Nano)
		}
		key := strings.Join(k, "\x00")
		if groups[key] == nil {
			groups[key] = &exact{key: key}
			keys = append(keys, key)
		}
		groups[key].add(smp)
	}
	slices.Sort(keys)
	return keys, groups
}

func aggregateKey(s rightsize.Summary, a rightsize.Aggregation) string {
	start := ""
	if a.Step > 0 {
		start = s.Start.Format(time.RFC3339Nano)
	}
	return strings.Join([]string{s.Service, s.Resource, s.Task, s.Instance, start}, "\x00")
}

func checkAggregate(t *testing.T, s store.Store, a rightsize.Aggregation) {
	t.Helper()
	got, err := s.Aggregate(t.Context(), a)
	if err != nil {
		t.Fatalf("Aggregate(%+v): %v", a, err)
	}
	keys, want := expected(t, s, a)
	if len(got) != len(keys) {
		t.Fatalf("Aggregate(%+v): %d summaries, want %d", a, len(got), len(keys))
	}
	for i, k := range keys {
		if g := aggregateKey(got[i], a); g != k {
			t.Fatalf("Aggregate(%+v)[%d] is %q, want %q (order: service, resource, task, instance, start)", a, i, g, k)
		}
		if err := checkSummary(got[i], want[k], a.Quantiles); err != nil {
			t.Errorf("Aggregate(%+v)[%d] %q: %v", a, i, strings.ReplaceAll(k, "\x00", "/"), err)
		}
		if got[i].First.Location() != time.UTC || (a.Step > 0 && got[i].Start.Location() != time.UTC) {
			t.Errorf("Aggregate[%d]: times not in UTC", i)
		}
	}
}

var (
	kolkata = time.FixedZone("IST", 5*3600+1800)
	newYork = mustLoad("America/New_York")
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// windows are the filters the read tests try on history: whole history,
// aligned and unaligned windows, daily windows in several zones.
func windows() []rightsize.Filter {
	both := []string{"resize", "api"}
	h := day0.Truncate(time.Hour)
	return []rightsize.Filter{
		{Services: both},
		{Services: []string{"api"}},
		{Services: both, Resources: []string{rightsize.CPU}},
		{Services: both, Task: "img-1"},
		{Services: []string{"resize"}, Instance: "node-b"},
		{Services: both, From: h.Add(5 * time.Hour), To: h.Add(29 * time.Hour)},                                                  // aligned
		{Services: both, From: day0.Add(5*time.Hour + 17*time.Minute), To: day0.Add(29*time.Hour + 3*time.Second)},               // unaligned
		{Services: []string{"api"}, From: day0.Add(30 * time.Hour).Add(time.Nanosecond), To: day0.Add(31 * time.Hour)},           // inside one bucket
		{Services: both, From: day0.Add(40 * time.Hour)},                                                                         // open end
		{Services: both, To: day0.Add(3 * time.Hour)},                                                                            // open start
		{Services: both, Daily: &rightsize.TimeOfDay{From: 9 * time.Hour, To: 17 * time.Hour}},                                   // aligned, UTC
		{Services: both, Daily: &rightsize.TimeOfDay{From: 22 * time.Hour, To: 2 * time.Hour, Location: newYork}},                // wraps midnight
		{Services: both, Daily: &rightsize.TimeOfDay{From: 9 * time.Hour, To: 11*time.Hour + 30*time.Minute, Location: kolkata}}, // half-hour zone
		{Services: both, Daily: &rightsize.TimeOfDay{From: 0, To: 90 * time.Minute}, From: day0.Add(20 * time.Hour), To: day0.Add(50*time.Hour + time.Minute)},
	}
}

func testAggregate(t *testing.T, s store.Store) {
	writeHistory(t, s, history(1), 700)
	for _, f := range windows() {
		checkAggregate(t, s, rightsize.Aggregation{Filter: f, Quantiles: []float64{0.25, 0.75, 0.999, 1}})
	}
	// Summarize is Aggregate with the filter alone, percentiles included.
	f := windows()[6]
	sum, err := s.Summarize(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	agg, err := s.Aggregate(t.Context(), rightsize.Aggregation{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(sum, agg, func(a, b rightsize.Summary) bool { return fmt.Sprint(a) == fmt.Sprint(b) }) {
		t.Errorf("Summarize and Aggregate differ:\n%+v\n%+v", sum, agg)
	}
	if len(sum) == 0 || sum[0].P99 == 0 {
		t.Errorf("Summarize has no percentiles: %+v", sum)
	}
	for _, a := range []rightsize.Aggregation{
		{Filter: rightsize.Filter{Services: []string{"a"}}, Quantiles: []float64{0}},
		{Filter: rightsize.Filter{Services: []string{"a"}}, Quantiles: []float64{1.5}},
		{Filter: rightsize.Filter{Services: []string{"a"}}, Step: -time.Hour},
		{Filter: rightsize.Filter{Services: []string{"a"}, Daily: &rightsize.TimeOfDay{From: time.Hour, To: time.Hour}}},
		{},
	} {
		if _, err := s.Aggregate(t.Context(), a); err == nil {
			t.Errorf("Aggregate(%+v) = nil error", a)
		}
	}
}

func testAggregateGroups(t *testing.T, s store.Store) {
	writeHistory(t, s, history(2), 5000)
	ws := windows()
	for _, a := range []rightsize.Aggregation{
		{Filter: ws[0], ByTask: true},
		{Filter: ws[0], ByInstance: true},
		{Filter: ws[0], ByTask: true, ByInstance: true, Quantiles: []float64{0.5}},
		{Filter: ws[0], Step: 6 * time.Hour},                // a multiple of the bucket: rollups
		{Filter: ws[6], Step: 24 * time.Hour, ByTask: true}, // unaligned window
		{Filter: ws[1], Step: 20 * time.Minute},             // finer than the bucket: raw values
		{Filter: ws[1], Step: 90 * time.Minute},             // not a multiple of it
		{Filter: ws[12], Step: time.Hour},                   // daily window in +05:30
	} {
		checkAggregate(t, s, a)
	}
}

func testRollups(t *testing.T, s store.Store) {
	writeHistory(t, s, history(3), 900)
	for _, f := range windows() {
		var got []rightsize.Rollup
		err := s.Rollups(t.Context(), f, func(r rightsize.Rollup) error {
			got = append(got, r)
			return nil
		})
		if err != nil {
			t.Fatalf("Rollups(%+v): %v", f, err)
		}
		// What the raw rows give, bucket by bucket, series by series.
		type key struct {
			series string
			start  time.Time
		}
		want := map[key]*exact{}
		var order []key
		for _, smp := range scanSeriesOrder(t, s, f) {
			k := key{strings.Join([]string{smp.Service, smp.Resource, smp.Task, smp.Instance}, "/"), smp.Time.Truncate(time.Hour)}
			if want[k] == nil {
				want[k] = &exact{}
				order = append(order, k)
			}
			want[k].add(smp)
		}
		if len(got) != len(order) {
			t.Fatalf("Rollups(%+v): %d rollups, want %d", f, len(got), len(order))
		}
		for i, r := range got {
			k := order[i]
			if gk := (key{strings.Join([]string{r.Service, r.Resource, r.Task, r.Instance}, "/"), r.Start}); gk != k {
				t.Fatalf("Rollups(%+v)[%d] is %v, want %v", f, i, gk, k)
			}
			w := want[k]
			var sum, ss float64
			for _, v := range w.values {
				sum += v
				ss += v * v
			}
			switch {
			case r.Width != time.Hour:
				t.Errorf("rollup %v: width %v, want the default hour", k, r.Width)
			case r.Count != int64(len(w.values)) || r.Min != floats.Min(w.values) || r.Max != floats.Max(w.values):
				t.Errorf("rollup %v: count/min/max %d/%g/%g, want %d/%g/%g", k, r.Count, r.Min, r.Max, len(w.values), floats.Min(w.values), floats.Max(w.values))
			case !near(r.Sum, sum, 0) || !near(r.SumSquares, ss, 0):
				t.Errorf("rollup %v: sum %g, sum of squares %g; want %g, %g", k, r.Sum, r.SumSquares, sum, ss)
			case !r.First.Equal(w.first) || !r.Last.Equal(w.last):
				t.Errorf("rollup %v: first/last %v/%v, want %v/%v", k, r.First, r.Last, w.first, w.last)
			case r.Sketch == nil:
				t.Errorf("rollup %v: no sketch", k)
			}
			for _, q := range []float64{0, 0.5, 0.9, 0.99, 1} {
				if got, exact := r.Sketch.Quantile(q), w.quantile(q); !nearQuantile(got, exact) {
					t.Errorf("rollup %v: q%v = %g, exact %g", k, q, got, exact)
				}
			}
		}
	}
	stop := errors.New("enough")
	if err := s.Rollups(t.Context(), windows()[0], func(rightsize.Rollup) error { return stop }); err != stop {
		t.Errorf("Rollups returned %v, want the callback's error unchanged", err)
	}
}

// scanSeriesOrder returns what f selects (Daily included) in the read
// path's order: series by series (service, resource, task, instance),
// each in time order.
func scanSeriesOrder(t *testing.T, s store.Store, f rightsize.Filter) []rightsize.Sample {
	t.Helper()
	g := f
	g.Daily = nil
	var out []rightsize.Sample
	for _, smp := range scan(t, s, g) {
		if keep(f, smp) {
			out = append(out, smp)
		}
	}
	slices.SortStableFunc(out, func(a, b rightsize.Sample) int {
		if c := strings.Compare(a.Service, b.Service); c != 0 {
			return c
		}
		if c := strings.Compare(a.Resource, b.Resource); c != 0 {
			return c
		}
		if c := strings.Compare(a.Task, b.Task); c != 0 {
			return c
		}
		if c := strings.Compare(a.Instance, b.Instance); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	return out
}

func testReadSeries(t *testing.T, s store.Store) {
	writeHistory(t, s, history(4), 3000)
	for _, f := range windows() {
		want := scanSeriesOrder(t, s, f)
		var got []rightsize.Sample
		series := 0
		err := s.ReadSeries(t.Context(), f, func(sr rightsize.Series) error {
			series++
			if sr.Len() == 0 || len(sr.Times) != len(sr.Values) {
				return fmt.Errorf("series %+v has %d times, %d values", sr, len(sr.Times), len(sr.Values))
			}
			if !slices.IsSortedFunc(sr.Times, time.Time.Compare) {
				return fmt.Errorf("series %s/%s is not in time order", sr.Service, sr.Resource)
			}
			for i := range sr.Values {
				got = append(got, rightsize.Sample{Task: sr.Task, Service: sr.Service, Instance: sr.Instance, Resource: sr.Resource, Value: sr.Values[i], Time: sr.Times[i]})
			}
			return nil
		})
		if err != nil {
			t.Fatalf("ReadSeries(%+v): %v", f, err)
		}
		wantSamplesInOrder(t, got, want)
		if f.From.IsZero() && f.Daily == nil && series == 0 {
			t.Errorf("ReadSeries(%+v) read no series", f)
		}
	}
	stop := errors.New("enough")
	if err := s.ReadSeries(t.Context(), windows()[0], func(rightsize.Series) error { return stop }); err != stop {
		t.Errorf("ReadSeries returned %v, want the callback's error unchanged", err)
	}
}

func wantSamplesInOrder(t *testing.T, got, want []rightsize.Sample) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d samples, want %d", len(got), len(want))
	}
	for i := range got {
		if !equalSamples(got[i], want[i]) || got[i].Time.Location() != time.UTC {
			t.Fatalf("sample %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func testStream(t *testing.T, s store.Store) {
	writeHistory(t, s, history(5), 2000)
	for _, f := range windows()[:8] {
		rows, err := s.Stream(t.Context(), f)
		if err != nil {
			t.Fatalf("Stream(%+v): %v", f, err)
		}
		var got []rightsize.Sample
		for rows.Next() {
			got = append(got, rows.Sample())
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("Stream(%+v): %v", f, err)
		}
		rows.Close()
		wantSamplesInOrder(t, got, scanSeriesOrder(t, s, f))
	}
	// Closed early, then again; the store goes on.
	rows, err := s.Stream(t.Context(), windows()[0])
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if !rows.Next() {
			t.Fatal("Stream ended early")
		}
	}
	rows.Close()
	rows.Close()
	if rows.Next() {
		t.Error("Next after Close returned true")
	}
	if _, err := s.Stream(t.Context(), rightsize.Filter{}); err == nil {
		t.Error("Stream with no service: no error")
	}
	wantCount(t, s, all("api"), len(history(5))/2)
}

// answers is everything the read path says about history, as text.
func answers(t *testing.T, s store.Store) string {
	t.Helper()
	var b strings.Builder
	for _, f := range windows() {
		sums, err := s.Aggregate(t.Context(), rightsize.Aggregation{Filter: f, Quantiles: []float64{0.1, 0.999}, ByTask: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range sums {
			// Float sums may round differently once chunks are merged.
			fmt.Fprintf(&b, "%s %s %s %d %g %g %.9g %.9g %g %g %g %g %v %v %v\n", x.Service, x.Resource, x.Task, x.Count, x.Min, x.Max, x.Mean, x.StdDev, x.P50, x.P90, x.P95, x.P99, x.Quantiles, x.First, x.Last)
		}
		err = s.Rollups(t.Context(), f, func(r rightsize.Rollup) error {
			fmt.Fprintf(&b, "%s %s %v %d %.9g %g %g %g\n", r.Service, r.Resource, r.Start, r.Count, r.Sum, r.Min, r.Max, r.Sketch.Quantile(0.9))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.ReadSeries(t.Context(), f, func(sr rightsize.Series) error {
			fmt.Fprintf(&b, "%s %v %v\n", sr.Service, sr.Times, sr.Values)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// testCompaction writes history in tiny batches (many chunks per bucket),
// then the same history into a second series in one batch, and checks
// that compaction changes no answer.
func testCompaction(t *testing.T, s store.Store) {
	h := history(6)
	writeHistory(t, s, h, 37)
	before := answers(t, s)
	n, err := s.Compact(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	after := answers(t, s)
	if before != after {
		t.Errorf("answers changed by compaction (%d buckets merged)", n)
	}
	if n2, err := s.Compact(t.Context()); err != nil || n2 != 0 {
		t.Errorf("a second Compact merged %d buckets (%v), want 0", n2, err)
	}
	t.Logf("Compact merged %d buckets after the writes' own compaction", n)
	wantCount(t, s, all("resize", "api"), len(h))
}

func testEmpty(t *testing.T, s store.Store) {
	ctx := t.Context()
	f := all("nobody")
	sums, err := s.Aggregate(ctx, rightsize.Aggregation{Filter: f})
	if err != nil || sums == nil || len(sums) != 0 {
		t.Errorf("Aggregate on an empty store = %v, %v; want an empty slice", sums, err)
	}
	called := false
	if err := s.Rollups(ctx, f, func(rightsize.Rollup) error { called = true; return nil }); err != nil || called {
		t.Errorf("Rollups on an empty store: %v, called %v", err, called)
	}
	if err := s.ReadSeries(ctx, f, func(rightsize.Series) error { called = true; return nil }); err != nil || called {
		t.Errorf("ReadSeries on an empty store: %v, called %v", err, called)
	}
	rows, err := s.Stream(ctx, f)
	if err != nil || rows.Next() || rows.Err() != nil {
		t.Errorf("Stream on an empty store: %v", err)
	}
	if c, err := s.Catalog(ctx); err != nil || len(c) != 0 {
		t.Errorf("Catalog of an empty store = %v, %v", c, err)
	}
	if ts, err := s.Tasks(ctx, store.TaskQuery{}); err != nil || ts == nil || len(ts) != 0 {
		t.Errorf("Tasks of an empty store = %v, %v; want an empty slice", ts, err)
	}
	// Data, but none in the window.
	write(t, s, batch(0, 0, sample("a", "cpu", 1, at(0))))
	sums, err = s.Aggregate(ctx, rightsize.Aggregation{Filter: rightsize.Filter{Services: []string{"a"}, From: at(10)}})
	if err != nil || len(sums) != 0 {
		t.Errorf("Aggregate outside the data = %v, %v", sums, err)
	}
	if n, err := s.DropBefore(ctx, at(-3600)); err != nil || n != 0 {
		t.Errorf("DropBefore before the data = %d, %v", n, err)
	}
}

// hostile are service names a store must keep as they are.
var hostile = []string{`'; DROP TABLE metrics; --`, `"quoted" 'single'`, `back\slash`, "日本語 サービス", "emoji 🚀", `%_*?`, strings.Repeat("x", rightsize.MaxNameLen)}

func testNames(t *testing.T, s store.Store) {
	var in []rightsize.Sample
	for i, name := range hostile {
		in = append(in, rightsize.Sample{Task: name, Service: name, Instance: name, Resource: "nvidia.com/gpu", Value: float64(i), Time: at(i)})
	}
	write(t, s, batch(0, 0, in...))
	got := scan(t, s, all(hostile...))
	wantSamples(t, got, in)
	for i, name := range hostile {
		sums, err := s.Aggregate(t.Context(), rightsize.Aggregation{Filter: rightsize.Filter{Services: []string{name}, Task: name, Instance: name}, ByTask: true, ByInstance: true})
		if err != nil || len(sums) != 1 || sums[0].Service != name || sums[0].Task != name || sums[0].Instance != name || sums[0].Max != float64(i) {
			t.Errorf("Aggregate of %q = %+v, %v", name, sums, err)
		}
	}
	svcs, err := s.Services(t.Context())
	if err != nil || len(svcs) != len(hostile) {
		t.Errorf("Services = %q, %v", svcs, err)
	}
	// Control characters are refused before they reach the database.
	for _, bad := range []string{"two\nlines", "tab\there", "nul\x00"} {
		err := s.Write(t.Context(), batch(0, int64(len(in)), sample(bad, "cpu", 1, at(0))))
		if !errors.Is(err, store.ErrInvalidBatch) || !errors.Is(err, rightsize.ErrPermanent) {
			t.Errorf("service %q: Write = %v, want ErrInvalidBatch and ErrPermanent", bad, err)
		}
	}
	wantCount(t, s, all(hostile...), len(in))
}

func testExtremeValues(t *testing.T, s store.Store) {
	vals := []float64{0, 5e-324, 1e-300, 2.5e-10, 1, 1e300, math.MaxFloat64 / 4}
	var in []rightsize.Sample
	for i, v := range vals {
		in = append(in, sample("x", "cpu", v, at(i*600)))
	}
	write(t, s, batch(0, 0, in...))
	sums, err := s.Aggregate(t.Context(), rightsize.Aggregation{Filter: all("x"), Quantiles: []float64{0.01, 1}})
	if err != nil || len(sums) != 1 {
		t.Fatalf("Aggregate = %+v, %v", sums, err)
	}
	x := sums[0]
	if x.Min != 0 || x.Max != math.MaxFloat64/4 || x.Count != int64(len(vals)) || x.Quantiles[0].Value != 0 || x.Quantiles[1].Value != math.MaxFloat64/4 {
		t.Errorf("extremes: %+v", x)
	}
	if !nearQuantile(x.P50, 2.5e-10) { // the 4th of 7
		t.Errorf("median %g, want 2.5e-10", x.P50)
	}
	wantSamples(t, scan(t, s, all("x")), in)
}

func testTasks(t *testing.T, s store.Store) {
	ctx := t.Context()
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 123456789, kolkata)
	tasks := []rightsize.Task{
		{ID: "img-1", Params: map[string]string{"width": "1920", "height": "1080", "bytes": "2500000"}, Services: []string{"resize", "thumbnail", "resize"}, Start: t0},
		{ID: "img-2 ✓ '; DROP TABLE metrics; --", Params: map[string]string{"note": `"quoted"`}, Services: []string{"thumbnail"}, Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour)},
		{ID: "img-3", Start: t0.Add(-time.Hour), End: t0.Add(-30 * time.Minute)},
	}
	for _, tk := range tasks {
		if err := s.WriteTask(ctx, tk); err != nil {
			t.Fatalf("WriteTask(%+v): %v", tk, err)
		}
	}
	norm := func(tk rightsize.Task) rightsize.Task {
		tk.Start = tk.Start.Truncate(time.Microsecond).UTC()
		if !tk.End.IsZero() {
			tk.End = tk.End.Truncate(time.Microsecond).UTC()
		}
		if tk.Params == nil {
			tk.Params = map[string]string{}
		}
		if tk.Services == nil {
			tk.Services = []string{}
		}
		return tk
	}
	same := func(a, b rightsize.Task) bool { return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b) }
	for _, tk := range tasks {
		got, err := s.Task(ctx, tk.ID)
		if err != nil || !same(got, norm(tk)) {
			t.Errorf("Task(%q) = %+v, %v; want %+v", tk.ID, got, err, norm(tk))
		}
		if got.Start.Location() != time.UTC {
			t.Errorf("Task(%q): start not in UTC", tk.ID)
		}
	}
	if v, ok := tasks[0].Float("width"); !ok || v != 1920 {
		t.Errorf("Float(width) = %v, %v", v, ok)
	}
	// The end recorded later replaces the task.
	tasks[0].End = t0.Add(3 * time.Hour)
	if err := s.WriteTask(ctx, tasks[0]); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Task(ctx, "img-1"); !same(got, norm(tasks[0])) {
		t.Errorf("after recording the end: %+v", got)
	}
	if _, err := s.Task(ctx, "img-9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Task of an unknown ID = %v, want ErrNotFound", err)
	}
	ids := func(q store.TaskQuery) []string {
		ts, err := s.Tasks(ctx, q)
		if err != nil {
			t.Fatalf("Tasks(%+v): %v", q, err)
		}
		var out []string
		for _, tk := range ts {
			out = append(out, tk.ID)
		}
		return out
	}
	for _, tc := range []struct {
		q    store.TaskQuery
		want []string
	}{
		{store.TaskQuery{}, []string{"img-3", "img-1", tasks[1].ID}},
		{store.TaskQuery{Service: "thumbnail"}, []string{"img-1", tasks[1].ID}},
		{store.TaskQuery{Service: "resize"}, []string{"img-1"}},
		{store.TaskQuery{Service: "nobody"}, nil},
		{store.TaskQuery{From: t0.Add(150 * time.Minute)}, []string{"img-1"}},
		{store.TaskQuery{To: t0}, []string{"img-3"}},
		{store.TaskQuery{From: t0.Add(-45 * time.Minute), To: t0.Add(time.Minute)}, []string{"img-3", "img-1"}},
		{store.TaskQuery{Limit: 2}, []string{"img-3", "img-1"}},
	} {
		if got := ids(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("Tasks(%+v) = %q, want %q", tc.q, got, tc.want)
		}
	}
	for _, bad := range []rightsize.Task{
		{Start: t0},
		{ID: "x"},
		{ID: "line\nbreak", Start: t0},
		{ID: "x", Start: t0, End: t0.Add(-time.Second)},
		{ID: "x", Start: t0, Services: []string{""}},
	} {
		err := s.WriteTask(ctx, bad)
		if !errors.Is(err, store.ErrInvalidTask) || !errors.Is(err, rightsize.ErrPermanent) {
			t.Errorf("WriteTask(%+v) = %v, want ErrInvalidTask and ErrPermanent", bad, err)
		}
	}
	if got := ids(store.TaskQuery{}); len(got) != 3 {
		t.Errorf("invalid tasks were stored: %q", got)
	}
}

func testCatalog(t *testing.T, s store.Store) {
	h := history(7)
	writeHistory(t, s, h, 4000)
	got, err := s.Catalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*exact{}
	for _, smp := range scan(t, s, all("resize", "api")) {
		k := strings.Join([]string{smp.Service, smp.Resource, smp.Task, smp.Instance}, "/")
		if byKey[k] == nil {
			byKey[k] = &exact{}
		}
		byKey[k].add(smp)
	}
	if len(got) != len(byKey) {
		t.Fatalf("Catalog: %d series, want %d", len(got), len(byKey))
	}
	for i, si := range got {
		k := strings.Join([]string{si.Service, si.Resource, si.Task, si.Instance}, "/")
		w := byKey[k]
		if w == nil || si.Count != int64(len(w.values)) || !si.First.Equal(w.first) || !si.Last.Equal(w.last) {
			t.Errorf("Catalog[%d] = %+v, want %d samples from %v to %v", i, si, len(w.values), w.first, w.last)
		}
		if i > 0 && (got[i-1].Service > si.Service || got[i-1].Service == si.Service && got[i-1].Resource > si.Resource) {
			t.Errorf("Catalog is not ordered by service, resource")
		}
	}
}

func testDropBefore(t *testing.T, s store.Store) {
	h := history(8)
	writeHistory(t, s, h, 5000)
	cut := day0.Add(30 * time.Hour).Truncate(time.Hour)
	n, err := s.DropBefore(t.Context(), cut.Add(20*time.Minute)) // the bucket holding the cut stays whole
	if err != nil {
		t.Fatal(err)
	}
	var keepN int
	for _, smp := range h {
		if !stored(smp).Time.Before(cut) {
			keepN++
		}
	}
	if n != int64(len(h)-keepN) {
		t.Errorf("DropBefore deleted %d samples, want %d", n, len(h)-keepN)
	}
	got := scan(t, s, all("resize", "api"))
	if len(got) != keepN {
		t.Fatalf("%d samples left, want %d", len(got), keepN)
	}
	for _, smp := range got {
		if smp.Time.Before(cut) {
			t.Fatalf("sample at %v survived DropBefore(%v)", smp.Time, cut)
		}
	}
	sums, err := s.Aggregate(t.Context(), rightsize.Aggregation{Filter: all("api")})
	if err != nil || len(sums) == 0 || sums[0].First.Before(cut) {
		t.Errorf("Aggregate after DropBefore = %+v, %v", sums, err)
	}
}

func testReset(t *testing.T, s store.Store) {
	write(t, s, batch(0, 0, sample("a", "cpu", 1, at(0)), sample("b", "cpu", 2, at(1))))
	if err := s.WriteTask(t.Context(), rightsize.Task{ID: "t", Start: at(0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantCount(t, s, all("a", "b"), 0)
	wantOffsets(t, s, topic, map[int32]int64{})
	if svcs, err := s.Services(t.Context()); err != nil || len(svcs) != 0 {
		t.Errorf("Services after Reset = %q, %v", svcs, err)
	}
	if ts, err := s.Tasks(t.Context(), store.TaskQuery{}); err != nil || len(ts) != 0 {
		t.Errorf("Tasks after Reset = %v, %v", ts, err)
	}
	// The store is usable again, from offset 0.
	write(t, s, batch(0, 0, sample("a", "cpu", 3, at(2))))
	wantCount(t, s, all("a"), 1)
}

func testPermanent(t *testing.T, s store.Store) {
	err := s.Write(t.Context(), batch(0, 0, sample("a", "cpu", -1, at(0))))
	if !rightsize.IsPermanent(err) || !errors.Is(err, store.ErrInvalidBatch) {
		t.Errorf("Write of a negative value = %v, want a permanent ErrInvalidBatch", err)
	}
	bad := rightsize.Batch{Samples: []rightsize.Sample{sample("a", "cpu", 1, at(0))}, Ranges: []rightsize.OffsetRange{{Topic: topic, From: 0, To: 1, Samples: 2}}}
	if err := s.Write(t.Context(), bad); !rightsize.IsPermanent(err) {
		t.Errorf("Write of an inconsistent batch = %v, want a permanent error", err)
	}
	// An offset conflict is not permanent: the consumer seeks and goes on.
	write(t, s, batch(0, 0, sample("a", "cpu", 1, at(0))))
	if err := s.Write(t.Context(), batch(0, 5, sample("a", "cpu", 1, at(1)))); rightsize.IsPermanent(err) || !errors.Is(err, store.ErrOffsetConflict) {
		t.Errorf("offset conflict = %v: want ErrOffsetConflict, not permanent", err)
	}
}

// testConcurrentCompaction has three writers, each on a partition of its
// own, write small batches into the same two series and the same hours
// (so that the open bucket reaches its compaction threshold in each of
// them at once) while a fourth goroutine compacts everything again and
// again: nothing is lost, nothing doubled.
func testConcurrentCompaction(t *testing.T, s store.Store) {
	const writers, batches, size = 3, 40, 6
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg, compactor sync.WaitGroup
	errs := make(chan error, writers+1)
	var want float64
	for w := range writers {
		for i := range batches {
			for j := range size {
				want += float64(w*1000 + i*10 + j)
			}
		}
	}
	for w := range writers {
		wg.Go(func() {
			for i := range batches {
				var samples []rightsize.Sample
				for j := range size {
					// Two hours, interleaved: both buckets stay open.
					tm := t0.Add(time.Duration((i*size+j)%120)*time.Minute + time.Duration(w)*time.Second)
					res := []string{rightsize.CPU, rightsize.Memory}[j%2]
					samples = append(samples, rightsize.Sample{Service: "shared", Resource: res, Value: float64(w*1000 + i*10 + j), Time: tm})
				}
				if err := s.Write(ctx, batch(int32(w), int64(i*size), samples...)); err != nil {
					errs <- fmt.Errorf("writer %d, batch %d: %w", w, i, err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	compactor.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := s.Compact(ctx); err != nil {
				errs <- fmt.Errorf("compacting while writing: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(done)
	compactor.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if _, err := s.Compact(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := scan(t, s, all("shared"))
	if len(got) != writers*batches*size {
		t.Fatalf("%d samples stored, want %d", len(got), writers*batches*size)
	}
	var sum float64
	for _, smp := range got {
		sum += smp.Value
	}
	sums, err := s.Aggregate(t.Context(), rightsize.Aggregation{Filter: all("shared")})
	if err != nil {
		t.Fatal(err)
	}
	var aggSum float64
	for _, x := range sums {
		aggSum += x.Mean * float64(x.Count)
	}
	if sum != want || math.Abs(aggSum-want) > 1e-9*want {
		t.Errorf("values sum to %g (Aggregate: %g), want %g", sum, aggSum, want)
	}
	if n, err := s.Compact(t.Context()); err != nil || n != 0 {
		t.Errorf("Compact after Compact merged %d buckets (%v)", n, err)
	}
}
