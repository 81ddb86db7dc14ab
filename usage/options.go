package usage

import (
	"errors"
	"fmt"
	"time"

	"github.com/rightsize/rightsize"
)

// Option narrows what Expected and Recommend look at, or (for Recommend)
// says how to recommend.
type Option interface{ apply(*query) }

type optionFunc func(*query)

func (f optionFunc) apply(q *query) { f(q) }

type query struct {
	f      rightsize.Filter
	method Method
	err    error
}

func newQuery(service string, opts []Option) (query, error) {
	q := query{f: rightsize.Filter{Services: []string{service}}}
	for _, o := range opts {
		o.apply(&q)
	}
	if q.err != nil {
		return q, q.err
	}
	if err := q.f.Validate(); err != nil {
		return q, fmt.Errorf("usage: %w", err)
	}
	return q, nil
}

// ForTask keeps only samples of task. Default: every task.
func ForTask(task string) Option { return optionFunc(func(q *query) { q.f.Task = task }) }

// ForInstance keeps only samples of instance (a host, pod or container).
// Default: every instance.
func ForInstance(instance string) Option {
	return optionFunc(func(q *query) { q.f.Instance = instance })
}

// ForResources keeps only the named resources. Default: every resource
// for Expected; cpu and memory for Recommend.
func ForResources(resources ...string) Option {
	return optionFunc(func(q *query) { q.f.Resources = append(q.f.Resources, resources...) })
}

// WithGroup adds services applied together with the one asked about (the
// seed's get_data_by_service_group): Expected then summarises each
// service of the group, and Recommend recommends for the group as one
// (their samples pooled). Default: the service alone.
func WithGroup(services ...string) Option {
	return optionFunc(func(q *query) { q.f.Services = append(q.f.Services, services...) })
}

// Between keeps only samples with from <= time < to; a zero bound is
// open. Default: all history.
func Between(from, to time.Time) Option {
	return optionFunc(func(q *query) { q.f.From, q.f.To = from, to })
}

// Since keeps only samples of the last d before now.
func Since(d time.Duration) Option {
	return optionFunc(func(q *query) { q.f.From, q.f.To = time.Now().Add(-d), time.Time{} })
}

// Daily keeps only samples whose time of day, in loc (nil: UTC), is in
// [from, to) — the seed's "the next x hours", asked of every day of the
// history; to before from wraps past midnight. Default: the whole day.
func Daily(from, to time.Duration, loc *time.Location) Option {
	return optionFunc(func(q *query) { q.f.Daily = &rightsize.TimeOfDay{From: from, To: to, Location: loc} })
}

// UsingMethod makes Recommend use m. Default: the calibrated method with
// its defaults ([Calibrated]).
func UsingMethod(m Method) Option {
	return optionFunc(func(q *query) {
		if m == nil {
			q.err = errors.New("usage: nil method")
		}
		q.method = m
	})
}
