package chart

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rightsize/rightsize"
)

// Reader is what Gather needs from a store: summaries per time bucket and
// the raw series. store.Postgres and store.SQLite satisfy it.
type Reader interface {
	Aggregate(ctx context.Context, a rightsize.Aggregation) ([]rightsize.Summary, error)
	ReadSeries(ctx context.Context, f rightsize.Filter, fn func(rightsize.Series) error) error
}

// GatherOption changes what Gather reads.
type GatherOption interface{ apply(*gatherConfig) }

type gatherFunc func(*gatherConfig)

func (f gatherFunc) apply(c *gatherConfig) { f(c) }

type gatherConfig struct {
	step      time.Duration
	buckets   int
	maxPoints int64
}

// WithStep sets the width of the band's buckets. Default: chosen from the
// history's span and number of samples, so that there are at most
// WithBuckets buckets of about five samples or more each.
func WithStep(d time.Duration) GatherOption {
	return gatherFunc(func(c *gatherConfig) { c.step = d })
}

// WithBuckets sets how many buckets the default step aims at across the
// span of history. Default 120.
func WithBuckets(n int) GatherOption {
	return gatherFunc(func(c *gatherConfig) { c.buckets = n })
}

// WithMaxPoints sets how many raw samples a panel may draw as its usage
// line; above that it draws the bucket means. Default 5000.
func WithMaxPoints(n int64) GatherOption {
	return gatherFunc(func(c *gatherConfig) { c.maxPoints = n })
}

// Gather reads what the charts of the samples f matches show: one Panel
// per service and resource, ordered by service then resource, each with
// its expected band (P50 to P95 per bucket, from the store's Aggregate
// with a Step) and its usage. Request, Limit and Forecast are left for
// the caller to fill in (from a recommendation, a predictor). Nothing
// matching is an empty slice, not an error.
//
// Every panel of one call shares one step and one time range, so that
// charts of one service line up.
func Gather(ctx context.Context, r Reader, f rightsize.Filter, opts ...GatherOption) ([]Panel, error) {
	c := gatherConfig{buckets: 120, maxPoints: 5000}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.step < 0 || c.buckets <= 0 || c.maxPoints < 0 {
		return nil, errors.New("chart: gather: step, buckets and max points must not be negative")
	}
	whole, err := r.Aggregate(ctx, rightsize.Aggregation{Filter: f})
	if err != nil {
		return nil, fmt.Errorf("chart: gather: %w", err)
	}
	if len(whole) == 0 {
		return []Panel{}, nil
	}
	step := c.step
	if step == 0 {
		step = chooseStep(whole, c.buckets)
	}
	panels := make([]Panel, len(whole))
	index := map[[2]string]int{}
	raw := rightsize.Filter(f)
	raw.Resources = nil
	for i, s := range whole {
		panels[i] = Panel{Service: s.Service, Resource: s.Resource, Step: step}
		index[[2]string{s.Service, s.Resource}] = i
		if s.Count <= c.maxPoints {
			raw.Resources = append(raw.Resources, s.Resource)
		}
	}
	buckets, err := r.Aggregate(ctx, rightsize.Aggregation{Filter: f, Step: step})
	if err != nil {
		return nil, fmt.Errorf("chart: gather: %w", err)
	}
	means := map[int]*rightsize.Series{}
	for _, b := range buckets {
		i, ok := index[[2]string{b.Service, b.Resource}]
		if !ok {
			continue
		}
		panels[i].Band = append(panels[i].Band, b)
		if whole[i].Count > c.maxPoints {
			m := means[i]
			if m == nil {
				m = &rightsize.Series{Service: b.Service, Resource: b.Resource}
				means[i] = m
			}
			m.Times = append(m.Times, b.Start.Add(step/2))
			m.Values = append(m.Values, b.Mean)
		}
	}
	for i, m := range means {
		panels[i].Usage, panels[i].UsageIsMean = []rightsize.Series{*m}, true
	}
	if len(raw.Resources) > 0 {
		err := r.ReadSeries(ctx, raw, func(s rightsize.Series) error {
			i, ok := index[[2]string{s.Service, s.Resource}]
			if !ok || whole[i].Count > c.maxPoints {
				return nil
			}
			s.Times, s.Values = append([]time.Time(nil), s.Times...), append([]float64(nil), s.Values...)
			panels[i].Usage = append(panels[i].Usage, s)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("chart: gather: %w", err)
		}
	}
	return panels, nil
}

// niceSteps are the bucket widths chooseStep picks from.
var niceSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// chooseStep picks the smallest nice width that makes at most buckets
// buckets over the span of history and holds, on average, five samples
// or more per bucket (so that P50 and P95 differ where the values do).
func chooseStep(whole []rightsize.Summary, buckets int) time.Duration {
	first, last := whole[0].First, whole[0].Last
	var most int64
	for _, s := range whole {
		if s.First.Before(first) {
			first = s.First
		}
		if s.Last.After(last) {
			last = s.Last
		}
		most = max(most, s.Count)
	}
	span := last.Sub(first)
	want := span / time.Duration(buckets)
	if most > 0 {
		want = max(want, time.Duration(math.Ceil(5*float64(span)/float64(most))))
	}
	for _, s := range niceSteps {
		if s >= want {
			return s
		}
	}
	days := (want + 24*time.Hour - 1) / (24 * time.Hour)
	return days * 24 * time.Hour
}
