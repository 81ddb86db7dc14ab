package rightsize

import (
	"errors"
	"fmt"
	"time"
)

// Filter selects stored samples. The zero value of each field matches
// everything, except Services, which must name at least one service.
type Filter struct {
	// Services to read: one service, or a group of services applied
	// together (the seed's get_data_by_service_group). Required.
	Services []string
	// Task, if set, keeps only samples of that task.
	Task string
	// Instance, if set, keeps only samples of that instance.
	Instance string
	// Resources, if set, keeps only these resources.
	Resources []string
	// From and To bound the sample times to [From, To). A zero bound is
	// open.
	From, To time.Time
	// Daily, if set, keeps only samples whose time of day falls in a
	// daily window (the seed's "the next x hours", asked of every day of
	// the history).
	Daily *TimeOfDay
}

// TimeOfDay is a window of every day: the samples whose time of day, in
// Location, is in [From, To). A window with To before From wraps past
// midnight (22:00 to 02:00). From and To are offsets from midnight, in
// [0, 24h]; To == From is refused (use no window instead).
type TimeOfDay struct {
	From, To time.Duration
	// Location is the time zone the window is in; nil means UTC.
	Location *time.Location
}

// Contains reports whether t's time of day is in the window.
func (w TimeOfDay) Contains(t time.Time) bool {
	loc := w.Location
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	y, m, d := t.Date()
	since := t.Sub(time.Date(y, m, d, 0, 0, 0, 0, loc))
	if w.From < w.To {
		return w.From <= since && since < w.To
	}
	return since >= w.From || since < w.To
}

// Validate reports whether the window can be used.
func (w TimeOfDay) Validate() error {
	switch {
	case w.From < 0 || w.From > 24*time.Hour || w.To < 0 || w.To > 24*time.Hour:
		return fmt.Errorf("time of day window %v to %v: both ends must be within 0 to 24h", w.From, w.To)
	case w.From == w.To:
		return fmt.Errorf("time of day window %v to %v is empty", w.From, w.To)
	}
	return nil
}

// Validate reports whether the filter can be run.
func (f Filter) Validate() error {
	if len(f.Services) == 0 {
		return errors.New("filter: no service given")
	}
	for _, s := range f.Services {
		if s == "" {
			return errors.New("filter: empty service name")
		}
	}
	for _, r := range f.Resources {
		if err := ValidResourceName(r); err != nil {
			return errors.New("filter: " + err.Error())
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return errors.New("filter: From is not before To")
	}
	if f.Daily != nil {
		if err := f.Daily.Validate(); err != nil {
			return errors.New("filter: " + err.Error())
		}
	}
	return nil
}

// Summary aggregates the values of one resource of one service (and,
// where the Aggregation asked, of one task, one instance or one time
// bucket).
type Summary struct {
	Service  string
	Resource string
	// Task and Instance are set when the Aggregation grouped by them.
	Task, Instance string
	// Start is the start of the summary's time bucket when the
	// Aggregation had a Step; zero otherwise.
	Start time.Time
	Count int64
	Min   float64
	Max   float64
	Mean  float64
	// StdDev is the sample standard deviation (n-1 in the denominator); 0
	// when Count < 2.
	StdDev float64
	// P50, P90, P95 and P99 are percentiles of the values. A store
	// computes them from mergeable sketches, within the relative error it
	// documents; they are 0 where the summary was made without them.
	P50, P90, P95, P99 float64
	// Quantiles holds any other quantiles asked for, in the order asked.
	Quantiles []Quantile
	// First and Last are the times of the earliest and latest sample.
	First, Last time.Time
}

// Quantile is the value at quantile Q (in [0, 1]) of a set of values.
type Quantile struct {
	Q     float64
	Value float64
}

// Series is the samples of one series — one (task, service, instance,
// resource) — in column form, in time order: what the read path returns
// to training and charts. Times[i] is when Values[i] was measured.
type Series struct {
	Task, Service, Instance, Resource string
	Times                             []time.Time
	Values                            []float64
}

// Len returns the number of samples.
func (s Series) Len() int { return len(s.Values) }

// Aggregation asks a store for summaries: of the samples a Filter
// matches, per service and resource (and, if asked, per task or
// instance), over the whole filter or per time bucket.
type Aggregation struct {
	Filter
	// Quantiles are quantiles in (0, 1] computed beside P50, P90, P95
	// and P99, returned in Summary.Quantiles in this order.
	Quantiles []float64
	// Step, if positive, makes one summary per bucket of Step (buckets
	// aligned to the Unix epoch, so an hour's bucket starts on the hour
	// in UTC); Summary.Start says which. Zero: one summary for the
	// whole filter.
	Step time.Duration
	// ByTask and ByInstance split the summaries further by task and by
	// instance (Summary.Task, Summary.Instance); by default the samples
	// of every task and instance of a service are summarised together.
	ByTask, ByInstance bool
}

// Validate reports whether the aggregation can be run.
func (a Aggregation) Validate() error {
	if err := a.Filter.Validate(); err != nil {
		return err
	}
	for _, q := range a.Quantiles {
		if !(q > 0 && q <= 1) {
			return fmt.Errorf("aggregation: quantile %v is not in (0, 1]", q)
		}
	}
	if a.Step < 0 {
		return fmt.Errorf("aggregation: step %v is negative", a.Step)
	}
	return nil
}

// Distribution is a mergeable summary of a set of values — a sketch —
// that answers quantiles within the relative error its maker documents.
type Distribution interface {
	// Quantile returns the value at quantile q, in [0, 1].
	Quantile(q float64) float64
	// Bins calls fn for each non-empty bin, in increasing order of
	// value: a value representing the bin and how many values it holds.
	Bins(fn func(value, count float64))
}

// Rollup summarises one series over one bucket of time, [Start,
// Start+Width): what a store keeps beside the raw samples so that reads
// never rescan history. Rollups of one series merge: counts, sums and
// sketches add, minima and maxima combine.
type Rollup struct {
	Task, Service, Instance, Resource string
	Start                             time.Time
	Width                             time.Duration
	Count                             int64
	Sum, SumSquares                   float64
	Min, Max                          float64
	// First and Last are the times of the bucket's earliest and latest
	// sample.
	First, Last time.Time
	// Sketch holds the distribution of the bucket's values.
	Sketch Distribution
}
