package rightsize

import (
	"cmp"
	"slices"
	"time"
)

// InTimeOrder returns s with its samples in time order, samples of equal
// time keeping their order; s itself when they already are.
func (s Series) InTimeOrder() Series {
	if slices.IsSortedFunc(s.Times, time.Time.Compare) {
		return s
	}
	idx := make([]int, len(s.Times))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return s.Times[a].Compare(s.Times[b]) })
	out := s
	out.Times, out.Values = make([]time.Time, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		out.Times[i], out.Values[i] = s.Times[j], s.Values[j]
	}
	return out
}

// CompareSeries orders series as the stores return them: by service,
// resource, task and instance.
func CompareSeries(a, b Series) int {
	return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Resource, b.Resource),
		cmp.Compare(a.Task, b.Task), cmp.Compare(a.Instance, b.Instance))
}

// SeriesBuilder gathers samples, in any order, into series: one per
// (task, service, instance, resource). The zero value is ready to use.
type SeriesBuilder struct {
	idx map[[4]string]int
	out []Series
}

// Add adds s to its series.
func (b *SeriesBuilder) Add(s Sample) {
	k := [4]string{s.Task, s.Service, s.Instance, s.Resource}
	i, ok := b.idx[k]
	if !ok {
		if b.idx == nil {
			b.idx = make(map[[4]string]int)
		}
		i = len(b.out)
		b.idx[k] = i
		b.out = append(b.out, Series{Task: s.Task, Service: s.Service, Instance: s.Instance, Resource: s.Resource})
	}
	b.out[i].Times = append(b.out[i].Times, s.Time)
	b.out[i].Values = append(b.out[i].Values, s.Value)
}

// Series returns the series gathered, ordered by CompareSeries, each in
// time order (see InTimeOrder).
func (b *SeriesBuilder) Series() []Series {
	for i := range b.out {
		b.out[i] = b.out[i].InTimeOrder()
	}
	slices.SortFunc(b.out, CompareSeries)
	return b.out
}
