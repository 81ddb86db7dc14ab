// Package usage turns stored samples into what a scheduler needs to know:
// how much of each resource a service is expected to use.
//
// [Expected] answers for one service with count, min, mean, max, standard
// deviation and the first and last sample time of every resource it
// reported, optionally narrowed to a task, an instance, some resources or
// a time window. Where the store can aggregate in SQL it does; otherwise
// the values are streamed and summarised here with gonum/stat — the
// answers are the same.
//
// The package-level functions use a default estimator opened lazily from
// RIGHTSIZE_DATABASE_URL (a postgres:// URL or sqlite:PATH; the embedded
// file sqlite:rightsize.db when unset), so a scheduler needs no set-up:
//
//	u, err := usage.Expected(ctx, "resize")
package usage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/rightsize/rightsize"
	"gonum.org/v1/gonum/stat"
)

// Reader is what the estimator needs from a store: the samples matching a
// filter, streamed in any order. store.Postgres and store.SQLite satisfy
// it.
type Reader interface {
	Scan(ctx context.Context, f rightsize.Filter, fn func(rightsize.Sample) error) error
}

// Summarizer is an optional capability of a Reader: aggregates computed
// where the data lives. The estimator uses it when the Reader has it.
type Summarizer interface {
	Summarize(ctx context.Context, f rightsize.Filter) ([]rightsize.Summary, error)
}

// UsageEstimator says what a service is expected to use.
//
// Expected returns the summary of every resource of service matching the
// options, or an error matching ErrNoData when nothing matches.
type UsageEstimator interface {
	Expected(ctx context.Context, service string, opts ...Option) (Usage, error)
}

// ErrNoData is matched by the error Expected returns when no sample of the
// service matches.
var ErrNoData = errors.New("usage: no data")

// Usage is what a service used, per resource.
type Usage struct {
	Service string
	// Resources holds one summary per resource, sorted by resource name.
	Resources []rightsize.Summary
}

// Resource returns the summary of the named resource.
func (u Usage) Resource(name string) (rightsize.Summary, bool) {
	i := sort.Search(len(u.Resources), func(i int) bool { return u.Resources[i].Resource >= name })
	if i < len(u.Resources) && u.Resources[i].Resource == name {
		return u.Resources[i], true
	}
	return rightsize.Summary{}, false
}

type query struct {
	f rightsize.Filter
}

// Option narrows what Expected looks at.
type Option func(*query)

// ForTask keeps only samples of task.
func ForTask(task string) Option { return func(q *query) { q.f.Task = task } }

// ForInstance keeps only samples of instance (a host, pod or container).
func ForInstance(instance string) Option { return func(q *query) { q.f.Instance = instance } }

// ForResources keeps only the named resources.
func ForResources(resources ...string) Option {
	return func(q *query) { q.f.Resources = append(q.f.Resources, resources...) }
}

// Between keeps only samples with from <= time < to; a zero bound is open.
func Between(from, to time.Time) Option { return func(q *query) { q.f.From, q.f.To = from, to } }

// Since keeps only samples of the last d before now.
func Since(d time.Duration) Option {
	return func(q *query) { q.f.From, q.f.To = time.Now().Add(-d), time.Time{} }
}

// Estimator computes expected usage from a Reader.
type Estimator struct {
	r Reader
}

var _ UsageEstimator = (*Estimator)(nil)

// New returns an estimator reading from r.
func New(r Reader) (*Estimator, error) {
	if r == nil {
		return nil, errors.New("usage: nil reader")
	}
	return &Estimator{r: r}, nil
}

// Expected summarises each resource of service.
func (e *Estimator) Expected(ctx context.Context, service string, opts ...Option) (Usage, error) {
	q := query{f: rightsize.Filter{Services: []string{service}}}
	for _, o := range opts {
		o(&q)
	}
	if err := q.f.Validate(); err != nil {
		return Usage{}, fmt.Errorf("usage: %w", err)
	}
	var sums []rightsize.Summary
	var err error
	if s, ok := e.r.(Summarizer); ok {
		sums, err = s.Summarize(ctx, q.f)
	} else {
		sums, err = summarize(ctx, e.r, q.f)
	}
	if err != nil {
		return Usage{}, fmt.Errorf("usage: %s: %w", service, err)
	}
	if len(sums) == 0 {
		return Usage{}, fmt.Errorf("%w for service %q", ErrNoData, service)
	}
	sort.Slice(sums, func(i, j int) bool { return sums[i].Resource < sums[j].Resource })
	return Usage{Service: service, Resources: sums}, nil
}

// summarize streams the samples and computes the summaries here, for
// readers that cannot aggregate.
func summarize(ctx context.Context, r Reader, f rightsize.Filter) ([]rightsize.Summary, error) {
	type acc struct {
		values      []float64
		first, last time.Time
	}
	byKey := map[[2]string]*acc{}
	err := r.Scan(ctx, f, func(s rightsize.Sample) error {
		k := [2]string{s.Service, s.Resource}
		a := byKey[k]
		if a == nil {
			a = &acc{first: s.Time, last: s.Time}
			byKey[k] = a
		}
		a.values = append(a.values, s.Value)
		if s.Time.Before(a.first) {
			a.first = s.Time
		}
		if s.Time.After(a.last) {
			a.last = s.Time
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]rightsize.Summary, 0, len(byKey))
	for k, a := range byKey {
		mean, sd := stat.MeanStdDev(a.values, nil)
		if len(a.values) < 2 {
			sd = 0
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range a.values {
			lo, hi = min(lo, v), max(hi, v)
		}
		out = append(out, rightsize.Summary{Service: k[0], Resource: k[1], Count: int64(len(a.values)),
			Min: lo, Max: hi, Mean: mean, StdDev: sd, First: a.first, Last: a.last})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Resource < out[j].Resource
	})
	return out, nil
}
