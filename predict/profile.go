package predict

// This file holds what the task-profile models share: what a task's
// services used (TaskRun, read from a store by ReadTaskRuns), what a model
// predicts for each (ServiceProfile), and the TaskProfiler interface.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/rightsize/rightsize"
)

// Resources a task's exit record may carry beside the sampled series:
// what the kernel accounted for the whole life of a service's process
// (wait4's rusage), which no sampling interval can miss. The example
// image pipeline publishes them when each service's process exits.
const (
	// PeakMemory is the high-water mark of the process's resident set,
	// in bytes (ru_maxrss; the name of cgroup v2's file of the same
	// meaning).
	PeakMemory = "memory.peak"
	// MeanCPU is the process's user and system CPU time over its wall
	// time, in cores.
	MeanCPU = "cpu.mean"
)

// TaskRun is one task as it ran: its record and what each of its services
// used.
type TaskRun struct {
	Task rightsize.Task
	// Services holds one ServiceRun per service of Task.Services that has
	// samples, in the task's order.
	Services []ServiceRun
}

// ServiceRun is what one service used for one task.
type ServiceRun struct {
	Service string
	// Position is the index of the service in Task.Services.
	Position int
	// PeakMemory is the highest of the service's memory and memory.peak
	// samples, in bytes; NaN when it has neither.
	PeakMemory float64
	// CPU is the service's mean CPU, in cores: its cpu.mean sample if it
	// has one, else the mean of its cpu samples; NaN when it has neither.
	CPU float64
	// Duration is the time from the service's first sample to its last,
	// in seconds, any resource counted.
	Duration float64
	// Offset is the time from the task's start to the service's first
	// sample, in seconds.
	Offset float64
	// Series holds the service's memory and cpu series for this task,
	// for the models that learn from the time since the task's start.
	Series []rightsize.Series
}

// Target returns the observed value of one of the profile's targets:
// rightsize.Memory (peak memory), rightsize.CPU (mean CPU) or
// ProfileDuration.
func (r ServiceRun) Target(target string) float64 {
	switch target {
	case rightsize.Memory:
		return r.PeakMemory
	case rightsize.CPU:
		return r.CPU
	case ProfileDuration:
		return r.Duration
	}
	return math.NaN()
}

// ProfileDuration names a service's duration among a profile's targets
// (beside rightsize.Memory for peak memory and rightsize.CPU for mean
// CPU).
const ProfileDuration = "duration"

// ProfileTargets are the targets a task profile predicts, in the order
// tables show them.
var ProfileTargets = []string{rightsize.Memory, rightsize.CPU, ProfileDuration}

// ServiceProfile is what a model predicts one service of a task will use.
type ServiceProfile struct {
	Service  string
	Position int
	// Memory is the peak memory, in bytes.
	Memory ProfileLevel
	// CPU is the mean CPU, in cores.
	CPU ProfileLevel
	// Duration is the time the service runs, in seconds.
	Duration ProfileLevel
}

// Level returns the prediction of one of ProfileTargets.
func (p ServiceProfile) Level(target string) ProfileLevel {
	switch target {
	case rightsize.Memory:
		return p.Memory
	case rightsize.CPU:
		return p.CPU
	case ProfileDuration:
		return p.Duration
	}
	return ProfileLevel{math.NaN(), math.NaN()}
}

// ProfileLevel is a predicted value: Point is the best guess (a request),
// Upper the level to provision at so that the value stays below it with
// the model's stated probability (a limit). Upper >= Point. Models without
// a notion of uncertainty set Upper to Point.
type ProfileLevel struct {
	Point, Upper float64
}

// TaskProfiler predicts what each service of a task will use before the
// task runs, from the task's record alone (its parameters and its ordered
// services).
//
// Fit replaces whatever the model learned before with what it learns from
// runs; it returns ErrNoHistory when runs hold no measured service. Profile
// returns one ServiceProfile per service of t.Services, in order; it
// returns an error matching ErrNotFitted before Fit, and one matching
// ErrUnknownSeries when a service of t was in no run. Both are
// deterministic: the same runs give the same model, the same task the
// same profile. Predictions are finite and not negative.
type TaskProfiler interface {
	Fit(ctx context.Context, runs []TaskRun) error
	Profile(ctx context.Context, t rightsize.Task) ([]ServiceProfile, error)
}

// ProfileService returns the profile of one service of t; it returns an
// error if the service is not among t.Services.
func ProfileService(ctx context.Context, p TaskProfiler, t rightsize.Task, service string) (ServiceProfile, error) {
	if !slices.Contains(t.Services, service) {
		return ServiceProfile{}, fmt.Errorf("predict: service %q is not among task %s's services %v", service, t.ID, t.Services)
	}
	all, err := p.Profile(ctx, t)
	if err != nil {
		return ServiceProfile{}, err
	}
	for _, sp := range all {
		if sp.Service == service {
			return sp, nil
		}
	}
	return ServiceProfile{}, fmt.Errorf("%w: %s", ErrUnknownSeries, service)
}

// ProfileReader is what ReadTaskRuns needs of a store (store.SQLite and
// store.Postgres have it): summaries pushed down to the store, and the raw
// series of one task at a time.
type ProfileReader interface {
	Aggregate(ctx context.Context, a rightsize.Aggregation) ([]rightsize.Summary, error)
	ReadSeries(ctx context.Context, f rightsize.Filter, fn func(rightsize.Series) error) error
}

// ErrTaskRecord is matched by the error ReadTaskRuns returns for a task
// record it cannot use (no ID).
var ErrTaskRecord = errors.New("predict: unusable task record")

// ReadTaskRuns reads from r what each service of each task used: per task
// one Aggregate (its services, its ID) and one ReadSeries of its memory
// and cpu samples. The caller chooses the tasks (from the store's Tasks:
// a time window, the tasks of a service, the last thousand). Tasks still
// running (no End) are left out, and so are services without samples; a
// task none of whose services has samples gives no TaskRun. A service
// listed twice in one task is measured as one (its samples share a
// series) and counted at its first place. Runs come in the order of
// tasks.
func ReadTaskRuns(ctx context.Context, r ProfileReader, tasks []rightsize.Task) ([]TaskRun, error) {
	var out []TaskRun
	for _, t := range tasks {
		if t.ID == "" {
			return nil, fmt.Errorf("%w: a task has no ID", ErrTaskRecord)
		}
		if t.End.IsZero() || len(t.Services) == 0 {
			continue
		}
		run, err := readTaskRun(ctx, r, t)
		if err != nil {
			return nil, fmt.Errorf("predict: task %s: %w", t.ID, err)
		}
		if len(run.Services) > 0 {
			out = append(out, run)
		}
	}
	return out, nil
}

func readTaskRun(ctx context.Context, r ProfileReader, t rightsize.Task) (TaskRun, error) {
	services := profileUnique(t.Services)
	sums, err := r.Aggregate(ctx, rightsize.Aggregation{Filter: rightsize.Filter{Services: services, Task: t.ID}})
	if err != nil {
		return TaskRun{}, err
	}
	type acc struct {
		run          ServiceRun
		seen         bool
		first, last  float64 // seconds since the task's start
		mem, peak    float64
		cpu, cpuMean float64
	}
	accs := make(map[string]*acc, len(services))
	for i, s := range t.Services {
		if accs[s] == nil {
			accs[s] = &acc{run: ServiceRun{Service: s, Position: i}, mem: math.NaN(), peak: math.NaN(), cpu: math.NaN(), cpuMean: math.NaN()}
		}
	}
	for _, s := range sums {
		a := accs[s.Service]
		if a == nil || s.Count == 0 {
			continue
		}
		first, last := s.First.Sub(t.Start).Seconds(), s.Last.Sub(t.Start).Seconds()
		if !a.seen || first < a.first {
			a.first = first
		}
		if !a.seen || last > a.last {
			a.last = last
		}
		a.seen = true
		switch s.Resource {
		case rightsize.Memory:
			a.mem = s.Max
		case PeakMemory:
			a.peak = s.Max
		case rightsize.CPU:
			a.cpu = s.Mean
		case MeanCPU:
			a.cpuMean = s.Mean
		}
	}
	series := map[string][]rightsize.Series{}
	err = r.ReadSeries(ctx, rightsize.Filter{Services: services, Task: t.ID, Resources: []string{rightsize.Memory, rightsize.CPU}},
		func(s rightsize.Series) error {
			series[s.Service] = append(series[s.Service], s)
			return nil
		})
	if err != nil {
		return TaskRun{}, err
	}
	run := TaskRun{Task: t}
	for i, s := range t.Services {
		a := accs[s]
		if !a.seen || a.run.Position != i {
			continue // no samples, or the service's second place in the order
		}
		sr := a.run
		sr.PeakMemory = profileMax(a.mem, a.peak)
		sr.CPU = a.cpuMean
		if math.IsNaN(sr.CPU) {
			sr.CPU = a.cpu
		}
		sr.Offset, sr.Duration = a.first, a.last-a.first
		sr.Series = series[s]
		run.Services = append(run.Services, sr)
	}
	return run, nil
}

// profileMax is the larger of a and b, ignoring a NaN (NaN if both are).
func profileMax(a, b float64) float64 {
	switch {
	case math.IsNaN(a):
		return b
	case math.IsNaN(b):
		return a
	}
	return math.Max(a, b)
}

func profileUnique(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// profileUsable reports whether v is a value a model can learn from.
func profileUsable(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 }
