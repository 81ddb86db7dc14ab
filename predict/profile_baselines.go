package predict

import (
	"context"
	"fmt"
	"math"

	"github.com/rightsize/rightsize"
	"gonum.org/v1/gonum/stat"
)

// This file holds the task-profile baselines every model must beat: the
// seed's regression on time and the service's historical max.

// TimeTrendProfiler is the seed's model: per service and resource, an
// ordinary least-squares line (gonum's stat.LinearRegression) through
// every sample's value against the seconds since its task started, all
// training tasks pooled. The seed's predictive_scaling.py regressed usage
// on time; its later version took the seconds since the task's start as
// the input, which is what is reproduced here. Like the seed, it knows
// nothing of a task's parameters.
//
// To profile a service it evaluates the lines over the window in which
// the service ran on average in training (its mean offset from the task's
// start, for its mean duration): peak memory is the memory line's highest
// value in that window, mean CPU the cpu line at its middle, duration the
// mean duration. It has no upper level (Upper = Point), negative values
// are clamped to zero. A service whose runs carry no series gets a flat
// line at the mean of its peaks (memory) or means (cpu).
type TimeTrendProfiler struct {
	services map[string]timeTrend
}

type timeTrend struct {
	Memory, CPU      profileLine
	Offset, Duration float64
}

// profileLine is value = A + B·t.
type profileLine struct{ A, B float64 }

func (l profileLine) at(t float64) float64 { return l.A + l.B*t }

var _ TaskProfiler = (*TimeTrendProfiler)(nil)

// NewTimeTrendProfiler returns an unfitted TimeTrendProfiler.
func NewTimeTrendProfiler() *TimeTrendProfiler { return &TimeTrendProfiler{} }

// Fit fits the lines of every service in runs.
func (m *TimeTrendProfiler) Fit(ctx context.Context, runs []TaskRun) error {
	type pts struct {
		xs, ys             []float64
		targets            []float64
		offsets, durations []float64
	}
	type acc struct{ mem, cpu pts }
	accs := map[string]*acc{}
	var order []string
	for _, r := range runs {
		for _, s := range r.Services {
			a := accs[s.Service]
			if a == nil {
				a = &acc{}
				accs[s.Service] = a
				order = append(order, s.Service)
			}
			if profileUsable(s.Offset) && profileUsable(s.Duration) {
				a.mem.offsets = append(a.mem.offsets, s.Offset)
				a.mem.durations = append(a.mem.durations, s.Duration)
			}
			if profileUsable(s.PeakMemory) {
				a.mem.targets = append(a.mem.targets, s.PeakMemory)
			}
			if profileUsable(s.CPU) {
				a.cpu.targets = append(a.cpu.targets, s.CPU)
			}
			for _, ser := range s.Series {
				p := &a.mem
				switch ser.Resource {
				case rightsize.Memory:
				case rightsize.CPU:
					p = &a.cpu
				default:
					continue
				}
				for i, t := range ser.Times {
					if v := ser.Values[i]; profileUsable(v) {
						p.xs = append(p.xs, t.Sub(r.Task.Start).Seconds())
						p.ys = append(p.ys, v)
					}
				}
			}
		}
	}
	if len(accs) == 0 {
		return ErrNoHistory
	}
	fit := func(p pts) profileLine {
		if profileDistinct(p.xs) {
			a, b := stat.LinearRegression(p.xs, p.ys, nil, false)
			return profileLine{a, b}
		}
		if len(p.ys) > 0 {
			return profileLine{A: stat.Mean(p.ys, nil)}
		}
		if len(p.targets) > 0 {
			return profileLine{A: stat.Mean(p.targets, nil)}
		}
		return profileLine{}
	}
	services := make(map[string]timeTrend, len(accs))
	for _, name := range order {
		if err := ctx.Err(); err != nil {
			return err
		}
		a := accs[name]
		tt := timeTrend{Memory: fit(a.mem), CPU: fit(a.cpu)}
		if len(a.mem.offsets) > 0 {
			tt.Offset, tt.Duration = stat.Mean(a.mem.offsets, nil), stat.Mean(a.mem.durations, nil)
		}
		services[name] = tt
	}
	m.services = services
	return nil
}

func profileDistinct(xs []float64) bool {
	for _, x := range xs {
		if x != xs[0] {
			return true
		}
	}
	return false
}

// Profile evaluates the lines of each service of t over its mean window.
func (m *TimeTrendProfiler) Profile(ctx context.Context, t rightsize.Task) ([]ServiceProfile, error) {
	if m.services == nil {
		return nil, ErrNotFitted
	}
	out := make([]ServiceProfile, 0, len(t.Services))
	for i, s := range t.Services {
		tt, ok := m.services[s]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnknownSeries, s)
		}
		mem := profileFinite(math.Max(tt.Memory.at(tt.Offset), tt.Memory.at(tt.Offset+tt.Duration)))
		cpu := profileFinite(tt.CPU.at(tt.Offset + tt.Duration/2))
		dur := profileFinite(tt.Duration)
		out = append(out, ServiceProfile{Service: s, Position: i,
			Memory: ProfileLevel{mem, mem}, CPU: ProfileLevel{cpu, cpu}, Duration: ProfileLevel{dur, dur}})
	}
	return out, nil
}

// MaxProfiler predicts for each service the highest value of each target
// it reached in any training run: a level that is rarely exceeded and
// usually wasteful, whatever the task. Upper = Point; a target never
// measured (no cpu samples, say) is 0.
type MaxProfiler struct {
	services map[string][3]float64 // by ProfileTargets
}

var _ TaskProfiler = (*MaxProfiler)(nil)

// NewMaxProfiler returns an unfitted MaxProfiler.
func NewMaxProfiler() *MaxProfiler { return &MaxProfiler{} }

// Fit records the maxima of every service in runs.
func (m *MaxProfiler) Fit(ctx context.Context, runs []TaskRun) error {
	services := map[string][3]float64{}
	for _, r := range runs {
		for _, s := range r.Services {
			mx := services[s.Service]
			for i, target := range ProfileTargets {
				if v := s.Target(target); profileUsable(v) {
					mx[i] = math.Max(mx[i], v)
				}
			}
			services[s.Service] = mx
		}
	}
	if len(services) == 0 {
		return ErrNoHistory
	}
	m.services = services
	return ctx.Err()
}

// Profile returns the maxima of each service of t.
func (m *MaxProfiler) Profile(ctx context.Context, t rightsize.Task) ([]ServiceProfile, error) {
	if m.services == nil {
		return nil, ErrNotFitted
	}
	out := make([]ServiceProfile, 0, len(t.Services))
	for i, s := range t.Services {
		mx, ok := m.services[s]
		if !ok {
			return nil, fmt.Errorf("%w: %s", ErrUnknownSeries, s)
		}
		out = append(out, ServiceProfile{Service: s, Position: i,
			Memory: ProfileLevel{mx[0], mx[0]}, CPU: ProfileLevel{mx[1], mx[1]}, Duration: ProfileLevel{mx[2], mx[2]}})
	}
	return out, nil
}

// profileFinite clamps v to a finite value that is not negative.
func profileFinite(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return math.Min(v, math.MaxFloat64)
}
