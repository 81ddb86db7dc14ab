package predict

import (
	"math"
	"slices"
	"sort"
	"time"
)

// recent holds a series' samples of the last Keep nanoseconds before its
// latest one, in time order. Elements are numbered from the first ever
// added (Base is the number of the first held), so that windows can
// follow it.
type recent struct {
	Keep int64     `json:"keep"`
	Base int64     `json:"base"`
	T    nanos     `json:"t"`
	V    floats    `json:"v"`
	off  int       // T[off:] are live; T[:off] wait to be dropped
	wins []*window // sorted windows that follow this buffer
}

func newRecent(keep time.Duration) *recent { return &recent{Keep: int64(keep)} }

// add appends a sample (times must not decrease) and drops what is older
// than Keep before it.
func (r *recent) add(t int64, v float64) {
	r.T = append(r.T, t)
	r.V = append(r.V, v)
	for _, w := range r.wins {
		w.add(r, v)
	}
	for r.off < len(r.T) && r.T[r.off] <= t-r.Keep {
		r.off++
	}
	if r.off > 1024 && r.off > len(r.T)/2 {
		for _, w := range r.wins {
			w.Head -= int64(r.off)
		}
		r.Base += int64(r.off)
		r.T = slices.Clone(r.T[r.off:])
		r.V = slices.Clone(r.V[r.off:])
		r.off = 0
	}
}

// restore drops what add would have dropped after a decode.
func (r *recent) restore() {
	if n := len(r.T); n > 0 {
		for r.off < n && r.T[r.off] <= r.T[n-1]-r.Keep {
			r.off++
		}
	}
}

func (r *recent) len() int { return len(r.T) - r.off }

// since returns the index of the first sample later than d before the
// latest one: the window (latest − d, latest].
func (r *recent) since(d time.Duration) int {
	n := len(r.T)
	if n == r.off {
		return n
	}
	cut := r.T[n-1] - int64(d)
	return r.off + sort.Search(n-r.off, func(i int) bool { return r.T[r.off+i] > cut })
}

// between returns the values with times in [a, b).
func (r *recent) between(a, b int64) []float64 {
	i := r.off + sort.Search(len(r.T)-r.off, func(i int) bool { return r.T[r.off+i] >= a })
	j := r.off + sort.Search(len(r.T)-r.off, func(i int) bool { return r.T[r.off+i] >= b })
	return r.V[i:j]
}

// follow makes w track the last w.Span of r, filling it from what r
// holds.
func (r *recent) follow(w *window) {
	w.vals = w.vals[:0]
	w.Head = int64(r.since(time.Duration(w.Span)))
	w.vals = append(w.vals, r.V[w.Head:]...)
	slices.Sort(w.vals)
	r.wins = append(r.wins, w)
}

// window keeps the values of the last Span nanoseconds of a recent
// buffer sorted, for quantiles.
type window struct {
	Span int64
	// Head is the index, in the buffer's slice, of the oldest value held.
	Head int64
	vals []float64
}

func (w *window) add(r *recent, v float64) {
	i, _ := slices.BinarySearch(w.vals, v)
	w.vals = slices.Insert(w.vals, i, v)
	t := r.T[len(r.T)-1]
	for w.Head < int64(len(r.T)) && r.T[w.Head] <= t-w.Span {
		old := r.V[w.Head]
		if j, ok := slices.BinarySearch(w.vals, old); ok {
			w.vals = slices.Delete(w.vals, j, j+1)
		}
		w.Head++
	}
}

// quantile returns the quantile q of the window's values, interpolating
// linearly between order statistics; 0 when empty.
func (w *window) quantile(q float64) float64 { return quantileSorted(w.vals, q) }

func quantileSorted(s []float64, q float64) float64 {
	n := len(s)
	if n == 0 {
		return 0
	}
	pos := q * float64(n-1)
	i := int(pos)
	if i >= n-1 {
		return s[n-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = math.Max(m, x)
	}
	return m
}

func meanOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
