package usage

import (
	"math"
	"time"
)

// Evidence is what a figure rests on: how many samples, over how long,
// and how much confidence that gives.
type Evidence struct {
	// Samples is the number of samples used.
	Samples int64 `json:"samples"`
	// First and Last are the times of the first and last sample used.
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// Span is Last − First.
	Span time.Duration `json:"span"`
	// Confidence is the VPA recommender's measure of history:
	// min(Span/24h, Samples/1440). A service sampled once a minute for N
	// days has confidence N; below 1 the history is short, and the
	// bounds of a recommendation widen.
	Confidence float64 `json:"confidence"`
	// Note says, in words, when the history is too short to trust (less
	// than a day, or fewer than 100 samples, or too little for the method
	// to have backtested itself); empty otherwise.
	Note string `json:"note,omitempty"`
	// Budget is the share of samples a method with a risk budget allows
	// above the request ([Budget]); 0 for the others.
	Budget float64 `json:"budget,omitempty"`
	// Exceeded is, for a method that backtests itself, the share of the
	// history's samples that were above the levels it would have held
	// (each period's, with the margin it chose now): what the budget is
	// checked against.
	Exceeded float64 `json:"exceeded,omitempty"`
}

func newEvidence(n int64, first, last time.Time) Evidence {
	e := Evidence{Samples: n, First: first, Last: last}
	if n == 0 {
		e.Note = "no samples"
		return e
	}
	e.Span = last.Sub(first)
	e.Confidence = confidence(e.Span, n)
	switch {
	case e.Span < 24*time.Hour && n < 100:
		e.Note = "short history: " + spanText(e.Span) + " and " + itoa(n) + " samples"
	case e.Span < 24*time.Hour:
		e.Note = "short history: " + spanText(e.Span)
	case n < 100:
		e.Note = "few samples: " + itoa(n)
	}
	return e
}

// note adds a sentence to the note.
func (e *Evidence) note(s string) {
	if e.Note != "" {
		e.Note += "; "
	}
	e.Note += s
}

// confidence is VPA's: days of history, or days' worth of per-minute
// samples, whichever is less.
func confidence(span time.Duration, n int64) float64 {
	return math.Min(span.Hours()/24, float64(n)/(60*24))
}

// Aggregate is what the estimation steps read: a resource's history as a
// distribution (decayed, for the VPA baseline) and the evidence behind it.
type Aggregate interface {
	// Percentile returns the value at fraction p in (0, 1] of the
	// distribution.
	Percentile(p float64) float64
	// Evidence says how much history there is.
	Evidence() Evidence
	// OOM reports the memory in use when the service was last killed for
	// lack of memory within the history the aggregate keeps; ok is false
	// when it was not.
	OOM() (inUse float64, ok bool)
}

// A Step computes one figure (a request, a bound) from an aggregate.
// Steps compose, each wrapping the one before, as the VPA recommender's
// estimators do: percentile → margin → OOM bump → confidence → minimum.
type Step interface {
	Estimate(a Aggregate) float64
}

// StepFunc adapts a function to a Step.
type StepFunc func(a Aggregate) float64

// Estimate calls f(a).
func (f StepFunc) Estimate(a Aggregate) float64 { return f(a) }

// PercentileStep estimates the value at fraction p of the
// distribution.
func PercentileStep(p float64) Step {
	return StepFunc(func(a Aggregate) float64 { return a.Percentile(p) })
}

// WithMargin adds fraction of the base estimate: 0.15 makes 1.15×.
func WithMargin(fraction float64, base Step) Step {
	return StepFunc(func(a Aggregate) float64 { return base.Estimate(a) * (1 + fraction) })
}

// WithOOMBump raises the base estimate, when the aggregate saw an OOM
// kill, to at least max(inUse + minBump, inUse × ratio), where inUse is
// the memory in use at the kill.
func WithOOMBump(minBump, ratio float64, base Step) Step {
	return StepFunc(func(a Aggregate) float64 {
		v := base.Estimate(a)
		if inUse, ok := a.OOM(); ok {
			v = math.Max(v, math.Max(inUse+minBump, inUse*ratio))
		}
		return v
	})
}

// WithConfidenceMultiplier scales the base estimate by
// (1 + multiplier/confidence)^exponent, confidence being the aggregate's
// Evidence().Confidence: VPA widens its upper bound with (1, 1) — ×2 with
// a day of history, ×1.14 with a week, unbounded with none — and its lower
// bound with (0.001, −2).
func WithConfidenceMultiplier(multiplier, exponent float64, base Step) Step {
	return StepFunc(func(a Aggregate) float64 {
		c := a.Evidence().Confidence
		return base.Estimate(a) * math.Pow(1+multiplier/c, exponent)
	})
}

// WithMinimum returns at least min.
func WithMinimum(min float64, base Step) Step {
	return StepFunc(func(a Aggregate) float64 { return math.Max(base.Estimate(a), min) })
}

// WithMaximum returns at most max.
func WithMaximum(max float64, base Step) Step {
	return StepFunc(func(a Aggregate) float64 { return math.Min(base.Estimate(a), max) })
}
