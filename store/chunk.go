package store

import (
	"math"
	"slices"

	"github.com/rightsize/rightsize/sketch"
)

// chunk is what one Write (or one compaction) stores of one series over
// one bucket of time: the bucket's rollup and its raw values in time
// order. A (series, bucket) may have several chunks until they are
// compacted into one; their contents add up.
type chunk struct {
	series int64
	bucket int64 // start of the bucket, Unix microseconds
	seq    int64 // order of writing within the bucket
	count  int64
	sum    float64
	m2     float64 // Σ (v − mean)², the mean of this chunk
	min    float64
	max    float64
	first  int64 // time of the earliest value, Unix microseconds
	last   int64
	sketch []byte    // encoded sketch.Sketch of the values
	times  []int64   // Unix microseconds, ascending (nil when not read)
	vals   []float64 // vals[i] was measured at times[i]
}

// floorDiv returns ⌊a / b⌋ for b > 0, also for negative a.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// bucketOf returns the start of the bucket of width w (microseconds)
// holding time t (Unix microseconds): buckets are aligned to the Unix
// epoch.
func bucketOf(t, w int64) int64 { return floorDiv(t, w) * w }

// buildChunks turns rows, sorted by series then time, into one chunk per
// (series, bucket of width w): stats, sketch and values.
func buildChunks(rows []row, w int64) []chunk {
	var out []chunk
	sk := sketch.New()
	for i := 0; i < len(rows); {
		s, b := rows[i].series, bucketOf(rows[i].time/1000, w)
		j := i + 1
		for j < len(rows) && rows[j].series == s && bucketOf(rows[j].time/1000, w) == b {
			j++
		}
		c := chunk{series: s, bucket: b, times: make([]int64, j-i), vals: make([]float64, j-i)}
		for k, r := range rows[i:j] {
			c.times[k], c.vals[k] = r.time/1000, r.value
		}
		c.fill(sk)
		out = append(out, c)
		i = j
	}
	return out
}

// fill computes c's stats and sketch from its values, which are sorted.
// sk is scratch space.
func (c *chunk) fill(sk *sketch.Sketch) {
	n := len(c.vals)
	c.count = int64(n)
	c.first, c.last = c.times[0], c.times[n-1]
	c.min, c.max = math.Inf(1), math.Inf(-1)
	c.sum = 0
	sk.Reset()
	for _, v := range c.vals {
		c.sum += v
		c.min, c.max = min(c.min, v), max(c.max, v)
		sk.Add(v)
	}
	// Compensated two-pass sum of squared deviations.
	mean := c.sum / float64(n)
	var ss, comp float64
	for _, v := range c.vals {
		d := v - mean
		ss += d * d
		comp += d
	}
	c.m2 = max(ss-comp*comp/float64(n), 0)
	if math.IsNaN(c.m2) { // a sum that overflowed
		c.m2 = math.Inf(1)
	}
	c.sketch, _ = sk.AppendBinary(c.sketch[:0])
}

// mergeChunks returns one chunk holding the values of cs, chunks of one
// (series, bucket) with their values: merged by time, the earlier chunk
// first among equal times.
func mergeChunks(cs []chunk, sk *sketch.Sketch) chunk {
	n := 0
	for _, c := range cs {
		n += len(c.vals)
	}
	m := chunk{series: cs[0].series, bucket: cs[0].bucket, times: make([]int64, 0, n), vals: make([]float64, 0, n)}
	type pair struct {
		t int64
		v float64
	}
	ps := make([]pair, 0, n)
	for _, c := range cs {
		for i := range c.vals {
			ps = append(ps, pair{c.times[i], c.vals[i]})
		}
	}
	slices.SortStableFunc(ps, func(a, b pair) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return 0
	})
	for _, p := range ps {
		m.times, m.vals = append(m.times, p.t), append(m.vals, p.v)
	}
	m.fill(sk)
	return m
}

// acc accumulates a summary from chunks' stats and from single values.
type acc struct {
	n           int64
	sum         float64
	mean, m2    float64
	min, max    float64
	first, last int64
	sk          *sketch.Sketch
}

func newAcc() *acc {
	return &acc{min: math.Inf(1), max: math.Inf(-1), first: math.MaxInt64, last: math.MinInt64, sk: sketch.New()}
}

// addStats merges a chunk's stats and sketch (Chan et al.'s pairwise
// update of the mean and the sum of squared deviations).
func (a *acc) addStats(c *chunk) error {
	if c.count == 0 {
		return nil
	}
	if err := a.sk.MergeBinary(c.sketch); err != nil {
		return err
	}
	nb := float64(c.count)
	mb := c.sum / nb
	if a.n == 0 {
		a.mean, a.m2 = mb, c.m2
	} else {
		na := float64(a.n)
		d := mb - a.mean
		n := na + nb
		a.mean += d * nb / n
		a.m2 += c.m2 + d*d*na*nb/n
	}
	a.n += c.count
	a.sum += c.sum
	a.min, a.max = min(a.min, c.min), max(a.max, c.max)
	a.first, a.last = min(a.first, c.first), max(a.last, c.last)
	return nil
}

// addValue adds one value measured at t (Welford's update).
func (a *acc) addValue(t int64, v float64) {
	a.n++
	d := v - a.mean
	a.mean += d / float64(a.n)
	a.m2 += d * (v - a.mean)
	a.sum += v
	a.min, a.max = min(a.min, v), max(a.max, v)
	a.first, a.last = min(a.first, t), max(a.last, t)
	a.sk.Add(v)
}

func (a *acc) stdDev() float64 {
	if a.n < 2 || !(a.m2 > 0) {
		return 0
	}
	return math.Sqrt(a.m2 / float64(a.n-1))
}
