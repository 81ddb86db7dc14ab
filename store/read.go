package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
)

// chunkReader is what the read path needs of a backend; the rest of the
// read path (aggregates, rollups, streaming) is shared by both stores.
type chunkReader interface {
	// matchSeries returns the stored series whose labels match f, sorted
	// by sortSeries.
	matchSeries(ctx context.Context, f rightsize.Filter) ([]seriesRow, error)
	// bucketWidth is the width of the store's buckets, in microseconds.
	bucketWidth() int64
	// statsRows reads the chunks of the series ids with a bucket in
	// [lo, hi), without their values, ordered by the series' index in
	// ids, then bucket, then seq. Each chunk's series is that index.
	statsRows(ctx context.Context, ids []int64, lo, hi int64) (chunkRows, error)
	// aggregateRows reads in one query the chunks, with a bucket in
	// [lo, hi), of the series whose labels match f, in no particular order
	// (an aggregate needs none, and PostgreSQL answers a third faster
	// without sorting). Each chunk's series is its series id, and has its
	// stats and sketch, and its values too if its bucket is before edgeLo
	// or after edgeHi (the edges of a window).
	aggregateRows(ctx context.Context, f rightsize.Filter, lo, hi, edgeLo, edgeHi int64) (labeledRows, error)
	// valuesAt reads the chunks of the buckets (ids[i], buckets[i]), with
	// their values and without their sketches, ordered by i, then seq.
	// Each chunk's series is i.
	valuesAt(ctx context.Context, ids, buckets []int64) (chunkRows, error)
	// valuesRows reads the chunks of the series ids with a bucket in
	// [lo, hi), with their values and without their sketches, ordered by
	// o1 of their series, then bucket, then o2 of their series, then seq.
	// Each chunk's series is the index of its series in ids.
	valuesRows(ctx context.Context, ids []int64, o1, o2 []int32, lo, hi int64) (chunkRows, error)
}

// chunkRows is a cursor over chunks. Every Chunk is a new value the
// caller may keep.
type chunkRows interface {
	Next() bool
	Chunk() *chunk
	Err() error
	Close()
}

// labeledRows is a cursor over chunks that also gives the labels of each
// chunk's series.
type labeledRows interface {
	chunkRows
	Labels() seriesKey
}

func idsOf(series []seriesRow) []int64 {
	ids := make([]int64, len(series))
	for i, s := range series {
		ids[i] = s.id
	}
	return ids
}

// groupKey identifies one summary of an aggregation.
type groupKey struct {
	service, resource, task, instance string
	start                             int64
}

func aggregate(ctx context.Context, r chunkReader, a rightsize.Aggregation) ([]rightsize.Summary, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	out := []rightsize.Summary{}
	w := newWindow(a.Filter, a.Step)
	width := r.bucketWidth()
	accs := make(map[groupKey]*acc)
	var series []seriesRow
	get := func(i int, t int64) *acc {
		k := series[i].key
		g := groupKey{service: k.service, resource: k.resource}
		if a.ByTask {
			g.task = k.task
		}
		if a.ByInstance {
			g.instance = k.instance
		}
		if w.step > 0 {
			g.start = bucketOf(t, w.step)
		}
		x := accs[g]
		if x == nil {
			x = newAcc()
			accs[g] = x
		}
		return x
	}
	lo, hi := w.bucketRange(width)
	var pIDs, pBuckets []int64 // buckets to read raw
	var pSeries []int
	partial := make(map[bucketKey]bool)
	rows, err := r.aggregateRows(ctx, a.Filter, lo, hi, w.from, w.to-width)
	if err != nil {
		return nil, err
	}
	index := make(map[int64]int)
	for rows.Next() {
		c := rows.Chunk()
		i, ok := index[c.series]
		if !ok {
			i = len(series)
			index[c.series] = i
			series = append(series, seriesRow{id: c.series, key: rows.Labels()})
		}
		switch w.class(c.bucket, width) {
		case bucketWhole:
			if err := get(i, c.bucket).addStats(c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("series %d, bucket %s: %w", c.series, time.UnixMicro(c.bucket).UTC(), err)
			}
		case bucketPartial:
			if c.times != nil { // an edge of the window: its values came along
				for j, t := range c.times {
					if w.keep(t) {
						get(i, t).addValue(t, c.vals[j])
					}
				}
				continue
			}
			if k := (bucketKey{c.series, c.bucket}); !partial[k] {
				partial[k] = true
				pIDs, pBuckets, pSeries = append(pIDs, c.series), append(pBuckets, c.bucket), append(pSeries, i)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(pIDs) > 0 {
		rows, err := r.valuesAt(ctx, pIDs, pBuckets)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			c := rows.Chunk()
			i := pSeries[c.series]
			for j, t := range c.times {
				if w.keep(t) {
					get(i, t).addValue(t, c.vals[j])
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	keys := make([]groupKey, 0, len(accs))
	for k := range accs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b groupKey) int {
		return cmp.Or(strings.Compare(a.service, b.service), strings.Compare(a.resource, b.resource),
			strings.Compare(a.task, b.task), strings.Compare(a.instance, b.instance), cmp.Compare(a.start, b.start))
	})
	for _, k := range keys {
		x := accs[k]
		if x.n == 0 {
			continue
		}
		s := rightsize.Summary{
			Service: k.service, Resource: k.resource, Task: k.task, Instance: k.instance,
			Count: x.n, Min: x.min, Max: x.max, Mean: x.sum / float64(x.n), StdDev: x.stdDev(),
			P50: x.sk.Quantile(0.5), P90: x.sk.Quantile(0.9), P95: x.sk.Quantile(0.95), P99: x.sk.Quantile(0.99),
			First: time.UnixMicro(x.first).UTC(), Last: time.UnixMicro(x.last).UTC(),
		}
		if w.step > 0 {
			s.Start = time.UnixMicro(k.start).UTC()
		}
		for _, q := range a.Quantiles {
			s.Quantiles = append(s.Quantiles, rightsize.Quantile{Q: q, Value: x.sk.Quantile(q)})
		}
		out = append(out, s)
	}
	return out, nil
}

// rollups calls fn with the rollups of each series f matches, series by
// series, buckets in time order.
func rollups(ctx context.Context, r chunkReader, f rightsize.Filter, fn func(rightsize.Rollup) error) error {
	wrap := func(err error) error { return fmt.Errorf("store: rollups: %w", err) }
	if err := f.Validate(); err != nil {
		return wrap(err)
	}
	series, err := r.matchSeries(ctx, f)
	if err != nil {
		return wrap(err)
	}
	w := newWindow(f, 0)
	width := r.bucketWidth()
	lo, hi := w.bucketRange(width)
	type bucket struct {
		start int64
		class int
		acc   *acc
	}
	for _, s := range series {
		var buckets []bucket
		var partial []int64
		rows, err := r.statsRows(ctx, []int64{s.id}, lo, hi)
		if err != nil {
			return wrap(err)
		}
		for rows.Next() {
			c := rows.Chunk()
			cl := w.class(c.bucket, width)
			if cl == bucketOut {
				continue
			}
			if n := len(buckets); n == 0 || buckets[n-1].start != c.bucket {
				buckets = append(buckets, bucket{start: c.bucket, class: cl, acc: newAcc()})
				if cl == bucketPartial {
					partial = append(partial, c.bucket)
				}
			}
			if cl == bucketWhole {
				if err := buckets[len(buckets)-1].acc.addStats(c); err != nil {
					rows.Close()
					return wrap(fmt.Errorf("series %d, bucket %s: %w", s.id, time.UnixMicro(c.bucket).UTC(), err))
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return wrap(err)
		}
		if len(partial) > 0 {
			ids := make([]int64, len(partial))
			for i := range ids {
				ids[i] = s.id
			}
			rows, err := r.valuesAt(ctx, ids, partial)
			if err != nil {
				return wrap(err)
			}
			j := 0
			for rows.Next() {
				c := rows.Chunk()
				for buckets[j].start != c.bucket {
					j++
				}
				for k, t := range c.times {
					if w.keep(t) {
						buckets[j].acc.addValue(t, c.vals[k])
					}
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return wrap(err)
			}
		}
		for _, b := range buckets {
			x := b.acc
			if x.n == 0 {
				continue
			}
			err := fn(rightsize.Rollup{
				Task: s.key.task, Service: s.key.service, Instance: s.key.instance, Resource: s.key.resource,
				Start: time.UnixMicro(b.start).UTC(), Width: time.Duration(width) * time.Microsecond,
				Count: x.n, Sum: x.sum, SumSquares: x.m2 + x.sum*x.sum/float64(x.n),
				Min: x.min, Max: x.max,
				First: time.UnixMicro(x.first).UTC(), Last: time.UnixMicro(x.last).UTC(),
				Sketch: x.sk,
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// unitValue is one value of a unit of a sampleIter.
type unitValue struct {
	t int64
	v float64
	i int32 // index of the series
}

// sampleIter reads the values of chunk rows ordered by (o1 of their
// series, bucket, ...), one unit — the chunks of one o1 and one bucket —
// at a time, each unit sorted by time (stably, so ties keep the rows'
// order). It holds one unit in memory, never more.
type sampleIter struct {
	rows  chunkRows
	o1    []int32
	w     window
	width int64
	ahead *chunk
	unit  []unitValue
	pos   int
	err   error
	done  bool
}

func (it *sampleIter) next() (unitValue, bool) {
	for it.pos >= len(it.unit) {
		if it.done || !it.load() {
			return unitValue{}, false
		}
	}
	v := it.unit[it.pos]
	it.pos++
	return v, true
}

// load reads the next unit; false at the end or on error.
func (it *sampleIter) load() bool {
	it.unit, it.pos = it.unit[:0], 0
	first := it.ahead
	it.ahead = nil
	if first == nil {
		if !it.rows.Next() {
			it.finish()
			return false
		}
		first = it.rows.Chunk()
	}
	key, bucket := it.o1[first.series], first.bucket
	c := first
	sorted := true
	for {
		switch it.w.class(c.bucket, it.width) {
		case bucketWhole:
			for j, t := range c.times {
				it.unit = append(it.unit, unitValue{t, c.vals[j], int32(c.series)})
			}
		case bucketPartial:
			for j, t := range c.times {
				if it.w.keep(t) {
					it.unit = append(it.unit, unitValue{t, c.vals[j], int32(c.series)})
				}
			}
		}
		if c != first {
			sorted = false
		}
		if !it.rows.Next() {
			it.finish()
			break
		}
		c = it.rows.Chunk()
		if it.o1[c.series] != key || c.bucket != bucket {
			it.ahead = c
			break
		}
	}
	if !sorted && !slices.IsSortedFunc(it.unit, byTime) {
		slices.SortStableFunc(it.unit, byTime)
	}
	return true
}

func byTime(a, b unitValue) int { return cmp.Compare(a.t, b.t) }

func (it *sampleIter) finish() {
	if !it.done {
		it.done = true
		it.err = it.rows.Err()
		it.rows.Close()
	}
}

func (it *sampleIter) close() {
	it.done = true
	if it.rows != nil {
		it.rows.Close()
	}
}

// Rows is a pull iterator over stored samples, in the spirit of pgx's
// CopyFromSource: Next advances, Sample returns the current sample, Err
// says why Next returned false, Close ends the read early (and is safe to
// call more than once, and after Next returned false). It holds one
// stored bucket of one series in memory at a time. A Rows is not safe for
// concurrent use.
//
//	rows, err := st.Stream(ctx, f)
//	if err != nil { ... }
//	defer rows.Close()
//	for rows.Next() {
//		s := rows.Sample()
//		...
//	}
//	if err := rows.Err(); err != nil { ... }
type Rows struct {
	it     *sampleIter
	series []seriesRow
	cur    rightsize.Sample
	err    error
}

// Next advances to the next sample and reports whether there is one.
func (r *Rows) Next() bool {
	if r.it == nil {
		return false
	}
	v, ok := r.it.next()
	if !ok {
		if r.it.err != nil {
			r.err = fmt.Errorf("store: stream: %w", r.it.err)
		}
		r.it = nil
		return false
	}
	k := r.series[v.i].key
	r.cur = rightsize.Sample{Task: k.task, Service: k.service, Instance: k.instance, Resource: k.resource, Value: v.v, Time: time.UnixMicro(v.t).UTC()}
	return true
}

// Sample returns the current sample.
func (r *Rows) Sample() rightsize.Sample { return r.cur }

// Err returns the error that ended the iteration, if any.
func (r *Rows) Err() error { return r.err }

// Close ends the iteration and frees its connection. It always returns
// nil.
func (r *Rows) Close() error {
	if r.it != nil {
		r.it.close()
		r.it = nil
	}
	return nil
}

// seriesOrder returns o1 (each series' own index) and o2 (zero) for
// series-by-series reads, and grp and rank for reads by (service,
// resource) in time order.
func seriesOrder(series []seriesRow, byGroup bool) (o1, o2 []int32) {
	_, groups, ranks := seriesArrays(series)
	if byGroup {
		return groups, ranks
	}
	return ranks, make([]int32, len(series))
}

// openIter starts a read of the values of f's series, in the order
// seriesOrder gives.
func openIter(ctx context.Context, r chunkReader, f rightsize.Filter, byGroup bool) (*sampleIter, []seriesRow, error) {
	if err := f.Validate(); err != nil {
		return nil, nil, err
	}
	series, err := r.matchSeries(ctx, f)
	if err != nil {
		return nil, nil, err
	}
	it, err := iterOver(ctx, r, newWindow(f, 0), series, byGroup)
	return it, series, err
}

// iterOver starts a read of the values of series in w, in the order
// seriesOrder gives.
func iterOver(ctx context.Context, r chunkReader, w window, series []seriesRow, byGroup bool) (*sampleIter, error) {
	if len(series) == 0 {
		return &sampleIter{done: true}, nil
	}
	o1, o2 := seriesOrder(series, byGroup)
	width := r.bucketWidth()
	lo, hi := w.bucketRange(width)
	rows, err := r.valuesRows(ctx, idsOf(series), o1, o2, lo, hi)
	if err != nil {
		return nil, err
	}
	return &sampleIter{rows: rows, o1: o1, w: w, width: width}, nil
}

func stream(ctx context.Context, r chunkReader, f rightsize.Filter) (*Rows, error) {
	it, series, err := openIter(ctx, r, f, false)
	if err != nil {
		return nil, fmt.Errorf("store: stream: %w", err)
	}
	return &Rows{it: it, series: series}, nil
}

// scan reads one (service, resource) group after another, each in one
// query, so that the database orders the chunks of one group at a time.
func scan(ctx context.Context, r chunkReader, f rightsize.Filter, fn func(rightsize.Sample) error) error {
	if err := f.Validate(); err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	series, err := r.matchSeries(ctx, f)
	if err != nil {
		return fmt.Errorf("store: scan: %w", err)
	}
	w := newWindow(f, 0)
	for i := 0; i < len(series); {
		j := i + 1
		for j < len(series) && series[j].key.service == series[i].key.service && series[j].key.resource == series[i].key.resource {
			j++
		}
		group := series[i:j]
		i = j
		it, err := iterOver(ctx, r, w, group, true)
		if err != nil {
			return fmt.Errorf("store: scan: %w", err)
		}
		for {
			v, ok := it.next()
			if !ok {
				break
			}
			k := group[v.i].key
			if err := fn(rightsize.Sample{Task: k.task, Service: k.service, Instance: k.instance, Resource: k.resource, Value: v.v, Time: time.UnixMicro(v.t).UTC()}); err != nil {
				it.close()
				return err
			}
		}
		if it.err != nil {
			return fmt.Errorf("store: scan: %w", it.err)
		}
	}
	return nil
}

func readSeries(ctx context.Context, r chunkReader, f rightsize.Filter, fn func(rightsize.Series) error) error {
	it, series, err := openIter(ctx, r, f, false)
	if err != nil {
		return fmt.Errorf("store: read series: %w", err)
	}
	defer it.close()
	cur := int32(-1)
	var s rightsize.Series
	flush := func() error {
		if cur < 0 || len(s.Values) == 0 {
			return nil
		}
		return fn(s)
	}
	for {
		v, ok := it.next()
		if !ok {
			break
		}
		if v.i != cur {
			if err := flush(); err != nil {
				return err
			}
			k := series[v.i].key
			cur = v.i
			s = rightsize.Series{Task: k.task, Service: k.service, Instance: k.instance, Resource: k.resource}
		}
		s.Times = append(s.Times, time.UnixMicro(v.t).UTC())
		s.Values = append(s.Values, v.v)
	}
	if it.err != nil {
		return fmt.Errorf("store: read series: %w", it.err)
	}
	return flush()
}

// summarize is Summarize: an aggregation with the defaults.
func summarize(ctx context.Context, r chunkReader, f rightsize.Filter) ([]rightsize.Summary, error) {
	out, err := aggregate(ctx, r, rightsize.Aggregation{Filter: f})
	if err != nil {
		return nil, fmt.Errorf("store: summarize: %w", err)
	}
	return out, nil
}
