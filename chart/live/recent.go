package live

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rightsize/rightsize"
)

// recent holds what the sink has seen: per service and resource, the last
// samples in a ring of fixed size, so memory stays bounded however long
// the program runs (services beyond a maximum are counted, not kept).
type recent struct {
	mu       sync.Mutex
	keep     int
	max      int
	services map[string]*seen
	samples  int64
	batches  int64
	ignored  int64 // samples of services beyond max
}

type seen struct {
	last      time.Time // time of its latest sample
	resources map[string]*ring
}

// ring is the last samples of one resource, oldest first from head.
type ring struct {
	t    []int64 // Unix milliseconds
	v    []float64
	head int
}

func (r *ring) add(t int64, v float64, keep int) {
	if len(r.t) < keep {
		r.t, r.v = append(r.t, t), append(r.v, v)
		return
	}
	r.t[r.head], r.v[r.head] = t, v
	r.head = (r.head + 1) % keep
}

// points returns the samples in time order, at most n of the latest.
func (r *ring) points(n int) [][2]float64 {
	out := make([][2]float64, 0, len(r.t))
	for i := range r.t {
		j := (r.head + i) % len(r.t)
		out = append(out, [2]float64{float64(r.t[j]), r.v[j]})
	}
	// Batches of different partitions interleave; keep time order.
	slices.SortStableFunc(out, func(a, b [2]float64) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// last returns the latest sample.
func (r *ring) last() (int64, float64) {
	bt, bv := r.t[0], r.v[0]
	for i, t := range r.t {
		if t >= bt {
			bt, bv = t, r.v[i]
		}
	}
	return bt, bv
}

func newRecent(keep, max int) *recent {
	return &recent{keep: keep, max: max, services: map[string]*seen{}}
}

func (r *recent) add(samples []rightsize.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches++
	for _, s := range samples {
		sv := r.services[s.Service]
		if sv == nil {
			if len(r.services) >= r.max {
				r.ignored++
				continue
			}
			sv = &seen{resources: map[string]*ring{}}
			r.services[s.Service] = sv
		}
		rg := sv.resources[s.Resource]
		if rg == nil {
			rg = &ring{}
			sv.resources[s.Resource] = rg
		}
		rg.add(s.Time.UnixMilli(), s.Value, r.keep)
		if s.Time.After(sv.last) {
			sv.last = s.Time
		}
		r.samples++
	}
}

// names returns the services seen.
func (r *recent) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.services))
	for n := range r.services {
		out = append(out, n)
	}
	return out
}

// liveResource is what the page shows of one resource from the sink.
type liveResource struct {
	Resource string
	At       time.Time
	Current  float64
	Recent   [][2]float64 // [Unix ms, value]
}

// service returns what was seen of one service, resources sorted by
// name, at most n recent points each; ok is false for a service not
// seen.
func (r *recent) service(name string, n int) (last time.Time, res []liveResource, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sv := r.services[name]
	if sv == nil {
		return time.Time{}, nil, false
	}
	for rn, rg := range sv.resources {
		t, v := rg.last()
		res = append(res, liveResource{Resource: rn, At: time.UnixMilli(t), Current: v, Recent: rg.points(n)})
	}
	slices.SortFunc(res, func(a, b liveResource) int { return strings.Compare(a.Resource, b.Resource) })
	return sv.last, res, true
}

func (r *recent) counts() (services int, samples, batches, ignored int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.services), r.samples, r.batches, r.ignored
}
