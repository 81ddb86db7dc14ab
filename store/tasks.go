package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/rightsize/rightsize"
)

var (
	// ErrNotFound is matched by the error Task returns when no task has
	// the ID asked for.
	ErrNotFound = errors.New("store: not found")

	// ErrInvalidTask is matched by the error WriteTask returns for a task
	// that fails rightsize.Task.Validate; it matches
	// rightsize.ErrPermanent too.
	ErrInvalidTask = errors.New("store: invalid task")
)

// TaskQuery selects tasks for Tasks. The zero value selects every task.
type TaskQuery struct {
	// Service, if set, keeps the tasks whose services include it.
	Service string
	// From and To, if set, keep the tasks that ran at some time in
	// [From, To): started before To, and not ended before From (a task
	// still running has not ended).
	From, To time.Time
	// Limit, if positive, returns at most that many tasks.
	Limit int
}

// SeriesInfo describes one stored series: its labels, how many samples
// it holds and the times of the first and the last.
type SeriesInfo struct {
	Task, Service, Instance, Resource string
	Count                             int64
	First, Last                       time.Time
}

func checkTask(t rightsize.Task) error {
	if err := t.Validate(); err != nil {
		return rightsize.Permanent(fmt.Errorf("%w: %w", ErrInvalidTask, err))
	}
	return nil
}

// normalTask returns t as a store gives it back: times truncated to the
// microsecond in UTC, no nil map or slice.
func normalTask(t rightsize.Task) rightsize.Task {
	t.Start = t.Start.Truncate(time.Microsecond).UTC()
	if !t.End.IsZero() {
		t.End = t.End.Truncate(time.Microsecond).UTC()
	}
	if t.Params == nil {
		t.Params = map[string]string{}
	}
	if t.Services == nil {
		t.Services = []string{}
	}
	return t
}
