package rightsize

import (
	"errors"
	"time"
)

// Filter selects stored samples. The zero value of each field matches
// everything, except Services, which must name at least one service.
type Filter struct {
	// Services to read. Required.
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
	return nil
}

// Summary aggregates the values of one resource of one service.
type Summary struct {
	Service  string
	Resource string
	Count    int64
	Min      float64
	Max      float64
	Mean     float64
	// StdDev is the sample standard deviation (n-1 in the denominator); 0
	// when Count < 2.
	StdDev float64
	// First and Last are the times of the earliest and latest sample.
	First, Last time.Time
}
