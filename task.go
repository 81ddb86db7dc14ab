package rightsize

import (
	"fmt"
	"strconv"
	"time"
)

// Task is a unit of work (the seed's image_ID) as whoever starts it
// records it, once: its ID, its parameters, the ordered list of services
// applied to it, and when it ran. Samples refer to it by ID (Sample.Task).
type Task struct {
	ID string
	// Params describe the work: an image's width, height and bytes, say.
	// Numeric parameters are written as numbers ("1920") so that models
	// can learn from them (see Float).
	Params map[string]string
	// Services are the services applied to the task, in order.
	Services []string
	// Start and End are when the task began and ended; End is zero while
	// it runs.
	Start, End time.Time
}

// Float returns the parameter name as a number; ok is false when it is
// absent or not a number.
func (t Task) Float(name string) (v float64, ok bool) {
	s, ok := t.Params[name]
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// Validate reports the first problem with t: an ID, services and
// parameter names that are valid labels (as Sample.Validate requires of
// names), a start time within the stored range, an end not before it.
func (t Task) Validate() error {
	if t.ID == "" {
		return fmt.Errorf("invalid task: ID is empty")
	}
	if err := validLabel(t.ID); err != "" {
		return fmt.Errorf("invalid task: ID %q %s", t.ID, err)
	}
	for i, s := range t.Services {
		if s == "" {
			return fmt.Errorf("invalid task %s: service %d is empty", t.ID, i)
		}
		if err := validLabel(s); err != "" {
			return fmt.Errorf("invalid task %s: service %q %s", t.ID, s, err)
		}
	}
	for k, v := range t.Params {
		if k == "" {
			return fmt.Errorf("invalid task %s: a parameter has no name", t.ID)
		}
		if err := validLabel(k); err != "" {
			return fmt.Errorf("invalid task %s: parameter name %q %s", t.ID, k, err)
		}
		if err := validLabel(v); err != "" {
			return fmt.Errorf("invalid task %s: parameter %s %s", t.ID, k, err)
		}
	}
	switch {
	case t.Start.IsZero():
		return fmt.Errorf("invalid task %s: no start time", t.ID)
	case t.Start.Before(earliest) || t.Start.After(latest):
		return fmt.Errorf("invalid task %s: start %s is outside the years 1678 to 2262", t.ID, t.Start.Format(time.RFC3339))
	case !t.End.IsZero() && (t.End.Before(t.Start) || t.End.After(latest)):
		return fmt.Errorf("invalid task %s: end %s is before its start or after 2262", t.ID, t.End.Format(time.RFC3339))
	}
	return nil
}
