package usage

import (
	"math"
	"strconv"
	"time"
)

// A Method turns a resource's history into a recommendation. [VPA] is
// the Kubernetes VPA recommender's method, the baseline; [Calibrated] is
// the default; [KRRSimple] and [SeedMax] are the other baselines the
// backtest compares.
//
// Start returns an empty State for one resource of one service (its name
// says which: "memory" is aggregated as memory, anything else as CPU).
type Method interface {
	Name() string
	Start(resource string) State
}

// State accumulates one resource's history and estimates from it.
//
// Add adds a value measured at t with a weight (the number of samples it
// stands for: 1 for a raw sample, a sketch bin's count for a rollup).
// Values must come in time order (equal times allowed). Estimate may be
// called at any point, as often as needed; it does not change the state.
type State interface {
	Add(t time.Time, value, weight float64)
	Estimate(now time.Time) Estimate
}

// OOMRecorder is implemented by the states of methods that react to OOM
// kills: AddOOM records that the service was killed for lack of memory
// at t. Recommend feeds it the service's oom.kills samples.
type OOMRecorder interface {
	AddOOM(t time.Time)
}

// Estimate is a method's answer for one resource.
type Estimate struct {
	// Request is what to request (VPA's target).
	Request float64
	// Limit is what to limit the resource at.
	Limit float64
	// Lower and Upper bound the range in which a current request is
	// acceptable: below Lower the service is starved, above Upper it
	// wastes.
	Lower, Upper float64
	// Evidence is the history the estimate rests on.
	Evidence Evidence
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func spanText(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64) + " days"
	case d >= time.Hour:
		return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " h"
	default:
		return d.Round(time.Second).String()
	}
}

// finite replaces an infinite or NaN bound by what callers can encode:
// +Inf stays (JSON writers render it as null), NaN becomes 0.
func finite(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// evidenceTracker counts the samples a state was given.
type evidenceTracker struct {
	n           float64
	first, last time.Time
}

func (e *evidenceTracker) add(t time.Time, w float64) {
	if e.n == 0 {
		e.first = t
	}
	e.last = t
	e.n += w
}

func (e *evidenceTracker) evidence() Evidence {
	return newEvidence(int64(math.Round(e.n)), e.first, e.last)
}
