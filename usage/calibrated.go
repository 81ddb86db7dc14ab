package usage

import (
	"fmt"
	"math"
	"time"

	"github.com/rightsize/rightsize"
)

// CalibratedOption configures the default method. Each option states its
// default.
type CalibratedOption interface{ applyCalibrated(*calConfig) }

type calOption func(*calConfig)

func (f calOption) applyCalibrated(c *calConfig) { f(c) }

type calConfig struct {
	budgets       map[string]float64
	budget        float64
	horizon       time.Duration
	calHalfLife   time.Duration
	minCPU, minMB float64
	fallback      float64
}

// Budget sets the risk budget of a resource: the share of samples
// allowed above the request, in (0, 1). Defaults: cpu 0.02 (2 % of
// samples may be throttled), memory 0.002 (memory cannot be throttled:
// 0.2 %), any other resource 0.01.
func Budget(resource string, share float64) CalibratedOption {
	return calOption(func(c *calConfig) { c.budgets[resource] = share })
}

// Horizon sets how long a recommendation is expected to stay in place:
// the length of the periods over which the method scores itself. Default
// 24h.
func Horizon(d time.Duration) CalibratedOption {
	return calOption(func(c *calConfig) { c.horizon = d })
}

// CalibrationHalfLife sets how fast the method forgets its own past
// scores. Default 7 × the horizon.
func CalibrationHalfLife(d time.Duration) CalibratedOption {
	return calOption(func(c *calConfig) { c.calHalfLife = d })
}

// Minimum sets the smallest request. Default 0.025 cores and 250 MiB,
// as VPA.
func Minimum(cpu, memory float64) CalibratedOption {
	return calOption(func(c *calConfig) { c.minCPU, c.minMB = cpu, memory })
}

// FallbackMargin sets the margin over the largest value seen that the
// method recommends until it has a full period to score itself on.
// Default 0.15.
func FallbackMargin(fraction float64) CalibratedOption {
	return calOption(func(c *calConfig) { c.fallback = fraction })
}

// CalibratedMethod is the default method: a level that meets a stated
// risk budget on the service's own history. See the package
// documentation for the algorithm.
type CalibratedMethod struct {
	c          calConfig
	halfLives  []time.Duration
	quantiles  []float64
	candidates int
}

// Calibrated returns the default method. It returns an error for a
// budget outside (0, 1), a horizon or half-life that is not positive, or
// a negative minimum or margin.
func Calibrated(opts ...CalibratedOption) (*CalibratedMethod, error) {
	c := calConfig{budgets: map[string]float64{rightsize.CPU: 0.02, rightsize.Memory: 0.002}, budget: 0.01,
		horizon: 24 * time.Hour, minCPU: 0.025, minMB: 250 * MiB, fallback: 0.15}
	for _, o := range opts {
		o.applyCalibrated(&c)
	}
	if c.calHalfLife == 0 {
		c.calHalfLife = 7 * c.horizon
	}
	for r, b := range c.budgets {
		if !(b > 0 && b < 1) {
			return nil, fmt.Errorf("usage: calibrated: budget %v of %s is not in (0, 1)", b, r)
		}
	}
	switch {
	case c.horizon <= 0 || c.calHalfLife <= 0:
		return nil, fmt.Errorf("usage: calibrated: horizon %v and calibration half-life %v must be positive", c.horizon, c.calHalfLife)
	case c.minCPU < 0 || c.minMB < 0 || math.IsNaN(c.minCPU) || math.IsNaN(c.minMB):
		return nil, fmt.Errorf("usage: calibrated: minimums must not be negative")
	case c.fallback < 0 || math.IsNaN(c.fallback):
		return nil, fmt.Errorf("usage: calibrated: fallback margin %v is negative", c.fallback)
	}
	m := &CalibratedMethod{c: c,
		halfLives: []time.Duration{c.horizon / 4, c.horizon, 7 * c.horizon},
		quantiles: []float64{0.99, 1}}
	m.candidates = len(m.halfLives) * len(m.quantiles)
	return m, nil
}

// Name returns "calibrated".
func (m *CalibratedMethod) Name() string { return "calibrated" }

// BudgetOf returns the risk budget of resource.
func (m *CalibratedMethod) BudgetOf(resource string) float64 {
	if b, ok := m.c.budgets[resource]; ok {
		return b
	}
	return m.c.budget
}

func (m *CalibratedMethod) minimum(resource string) float64 {
	switch resource {
	case rightsize.CPU:
		return m.c.minCPU
	case rightsize.Memory:
		return m.c.minMB
	}
	return 0
}

// Start returns an empty state for resource.
func (m *CalibratedMethod) Start(resource string) State {
	s := &calState{m: m, budget: m.BudgetOf(resource), min: m.minimum(resource)}
	s.floor = s.min
	if s.floor == 0 {
		s.floor = 1e-9
	}
	for _, hl := range m.halfLives {
		s.hists = append(s.hists, newHistogram(1e15, 1e-3, 1.02, hl))
	}
	s.under = make([]*ratioHist, m.candidates)
	s.slack = make([]*ratioHist, m.candidates)
	for i := range s.under {
		s.under[i], s.slack[i] = newRatioHist(), newRatioHist()
	}
	return s
}

type calState struct {
	m           *CalibratedMethod
	budget, min float64
	floor       float64
	hists       []*histogram // one per half-life
	ev          evidenceTracker
	hi          float64
	periodEnd   time.Time
	bases       []float64 // each candidate's level at the start of the current period; nil before the first
	under       []*ratioHist
	slack       []*ratioHist
	calRef      time.Time
	periods     int
	// levels holds what each candidate, calibrated, said at the start of
	// the current period (0: it could not say yet); oos its out-of-sample
	// score since: samples above, samples, unused and reserved, decayed
	// as the calibration is.
	levels []float64
	oos    []oosScore
}

type oosScore struct{ above, n, unused, total float64 }

func (o *oosScore) scale(f float64) {
	o.above *= f
	o.n *= f
	o.unused *= f
	o.total *= f
}

// candidate c is half-life c / len(quantiles), quantile c % len(quantiles).
func (s *calState) base(c int) float64 {
	q := len(s.m.quantiles)
	return math.Max(s.hists[c/q].percentile(s.m.quantiles[c%q]), s.floor)
}

func (s *calState) Add(t time.Time, v, w float64) {
	if !(w > 0) || math.IsNaN(v) || v < 0 {
		return
	}
	if s.periodEnd.IsZero() {
		s.periodEnd = t.Add(s.m.c.horizon)
		s.calRef = t
	}
	if !t.Before(s.periodEnd) {
		// A new period: what each candidate would have said at its start.
		s.periodEnd = s.periodEnd.Add(t.Sub(s.periodEnd).Truncate(s.m.c.horizon) + s.m.c.horizon)
		if s.bases == nil {
			s.bases = make([]float64, s.m.candidates)
			s.levels = make([]float64, s.m.candidates)
			s.oos = make([]oosScore, s.m.candidates)
		}
		for c := range s.bases {
			s.bases[c] = s.base(c)
			s.levels[c] = 0
			if s.under[c].total > 0 {
				s.levels[c] = s.bases[c] * s.ratioAt(c, s.budget)
			}
		}
		s.periods++
	}
	if s.bases != nil {
		e := float64(t.Sub(s.calRef)) / float64(s.m.c.calHalfLife)
		if e > 50 {
			for c := range s.under {
				s.under[c].scale(math.Exp2(-e))
				s.slack[c].scale(math.Exp2(-e))
				s.oos[c].scale(math.Exp2(-e))
			}
			s.calRef, e = t, 0
		}
		dw := w * math.Exp2(e)
		for c, b := range s.bases {
			s.under[c].add(v/b, dw)
			s.slack[c].add(v/b, dw*b)
			if l := s.levels[c]; l > 0 {
				o := &s.oos[c]
				o.n += dw
				o.total += dw * l
				if v > l {
					o.above += dw
				} else {
					o.unused += dw * (l - v)
				}
			}
		}
	}
	for _, h := range s.hists {
		h.add(v, w, t)
	}
	s.ev.add(t, w)
	s.hi = math.Max(s.hi, v)
}

// ratioAt returns the margin candidate c needs for a share of at most
// budget of its past samples above base × margin, with the finite-sample
// correction of split conformal prediction.
func (s *calState) ratioAt(c int, budget float64) float64 {
	h := s.under[c]
	n := h.effective()
	if n == 0 {
		return 0
	}
	// Few periods scored say little about the next: the budget is
	// spent gradually, fully after a week of periods.
	budget *= math.Min(1, float64(s.periods)/7)
	return h.quantile(math.Min(1, (1-budget)*(1+1/n)))
}

// choose returns the candidate to follow and its margin: among those
// whose out-of-sample share above their level has stayed within the
// budget, the one that left the least unused; if none has, the one that
// came closest; before any out-of-sample record, the one with the least
// unused in sample.
func (s *calState) choose() (int, float64) {
	best, bestCost := -1, math.Inf(1)
	var bestOver float64 = math.Inf(1)
	for c, o := range s.oos {
		if o.n == 0 || o.total == 0 {
			continue
		}
		over := math.Max(o.above/o.n-s.budget, 0)
		cost := o.unused / o.total
		if over < bestOver || (over == bestOver && cost < bestCost) {
			best, bestCost, bestOver = c, cost, over
		}
	}
	if best >= 0 {
		return best, s.ratioAt(best, s.budget)
	}
	best, bestSlack, bestRatio := 0, math.Inf(1), 0.0
	for c := range s.under {
		r := s.ratioAt(c, s.budget)
		if r == 0 {
			return c, 0
		}
		un, tot := s.slack[c].unused(r)
		if sl := un / (r * tot); sl < bestSlack {
			best, bestSlack, bestRatio = c, sl, r
		}
	}
	return best, bestRatio
}

func (s *calState) Estimate(time.Time) Estimate {
	e := Estimate{Evidence: s.ev.evidence()}
	if s.ev.n == 0 {
		return e
	}
	if s.bases == nil || s.under[0].total == 0 {
		// Not a full period yet: the largest value seen, with a margin.
		r := math.Max(s.hi*(1+s.m.c.fallback), s.min)
		e.Request, e.Limit, e.Lower, e.Upper = r, r, math.Max(s.hi, s.min), r*2
		if e.Evidence.Note == "" {
			e.Evidence.Note = "not yet calibrated: less than one " + spanText(s.m.c.horizon) + " period scored"
		}
		return e
	}
	best, bestRatio := s.choose()
	b := s.base(best)
	e.Request = math.Max(b*bestRatio, s.min)
	e.Limit = math.Max(b*s.ratioAt(best, s.budget/10), e.Request)
	e.Lower = math.Min(math.Max(b*s.ratioAt(best, math.Min(10*s.budget, 0.5)), s.min), e.Request)
	e.Upper = math.Max(e.Limit*math.Min(2, 1+1/math.Max(float64(s.periods), 1e-9)), e.Request)
	return e
}
