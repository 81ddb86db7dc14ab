package usage

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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
	halfLives     []time.Duration // nil: 3 and 7 horizons
	calHalfLife   time.Duration   // 0: 7 horizons
	minCPU, minMB float64
	fallback      float64
	restartAfter  int
}

// Budget sets the risk budget of a resource: the share of samples
// allowed above the request, in (0, 1). Defaults: cpu 0.01 (1 % of
// samples, about a quarter of an hour a day, may compete for spare CPU),
// memory 0.001 (memory cannot be throttled: 0.1 %, about a minute and a
// half a day), any other resource 0.01.
func Budget(resource string, share float64) CalibratedOption {
	return calOption(func(c *calConfig) { c.budgets[resource] = share })
}

// ParseBudgets parses risk budgets as command lines take them,
// resource=share separated by commas ("cpu=0.01,memory=0.001"), into
// Budget options; "" gives none. It returns an error naming the part
// that is not resource=share with a share in (0, 1).
func ParseBudgets(s string) ([]CalibratedOption, error) {
	var out []CalibratedOption
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		name, share, ok := strings.Cut(strings.TrimSpace(part), "=")
		v, err := strconv.ParseFloat(share, 64)
		if !ok || err != nil || !(v > 0 && v < 1) || rightsize.ValidResourceName(name) != nil {
			return nil, fmt.Errorf("usage: budget %q: want resource=share with a share in (0, 1), such as cpu=0.01", part)
		}
		out = append(out, Budget(name, v))
	}
	return out, nil
}

// Horizon sets how long a recommendation is expected to stay in place:
// the length of the periods over which the method backtests itself.
// Default 24h.
func Horizon(d time.Duration) CalibratedOption {
	return calOption(func(c *calConfig) { c.horizon = d })
}

// HalfLives sets the half-lives of the candidate histories the method
// chooses between. Default 3 and 7 horizons (half a week and a week with
// the default horizon).
func HalfLives(d ...time.Duration) CalibratedOption {
	return calOption(func(c *calConfig) { c.halfLives = append([]time.Duration{}, d...) })
}

// CalibrationHalfLife sets how fast the method forgets its own past
// scores. Default 7 × the horizon.
func CalibrationHalfLife(d time.Duration) CalibratedOption {
	return calOption(func(c *calConfig) { c.calHalfLife = d })
}

// Minimum sets the smallest request. Default 0.001 cores and 1 MiB, the
// smallest quantities the Kubernetes rendering shows (1m, 1Mi): the
// request is what the history says, not a floor (VPA's 25m and 250 MiB
// are [VPAMinimum]).
func Minimum(cpu, memory float64) CalibratedOption {
	return calOption(func(c *calConfig) { c.minCPU, c.minMB = cpu, memory })
}

// FallbackMargin sets the margin over the largest value seen that the
// method recommends until it has a full period of history. Default 0.15.
func FallbackMargin(fraction float64) CalibratedOption {
	return calOption(func(c *calConfig) { c.fallback = fraction })
}

// RestartAfter sets how many periods a fall in usage must last before
// the method forgets the history before it: a run of at least n periods
// whose own quantile at 1 − budget stayed below half of the level, and
// more than twice as long
// as any such run the service recovered from. Default 7; 0 never
// restarts.
func RestartAfter(n int) CalibratedOption {
	return calOption(func(c *calConfig) { c.restartAfter = n })
}

// margins are the factors the self-backtest may put on a candidate's
// quantile; beyond the last, the last.
var margins = [...]float64{1, 1.02, 1.05, 1.1, 1.15, 1.2, 1.3, 1.4, 1.5, 1.75, 2, 2.5, 3, 4, 6, 10}

const (
	nMargins = len(margins)
	// minRecord is how many backtested periods a candidate needs before
	// its margin and its slack are trusted.
	minRecord = 3
	// oomMinBump and oomRatio are VPA's OOM bump.
	oomMinBump = 100 * MiB
	oomRatio   = 1.2
)

// CalibratedMethod is the default method: the quantile of the recent
// history that leaves the risk budget's share of samples above it,
// corrected by the method's backtest of itself on the service's own
// history. See the package documentation for the algorithm.
type CalibratedMethod struct {
	c calConfig
}

// Calibrated returns the default method. It returns an error for a
// budget outside (0, 1), a horizon or half-life that is not positive, a
// negative minimum, margin or restart count.
func Calibrated(opts ...CalibratedOption) (*CalibratedMethod, error) {
	c := calConfig{budgets: map[string]float64{rightsize.CPU: 0.01, rightsize.Memory: 0.001}, budget: 0.01,
		horizon: 24 * time.Hour, minCPU: 0.001, minMB: MiB, fallback: 0.15, restartAfter: 7}
	for _, o := range opts {
		o.applyCalibrated(&c)
	}
	if c.horizon <= 0 {
		return nil, fmt.Errorf("usage: calibrated: horizon %v is not positive", c.horizon)
	}
	if c.halfLives == nil {
		c.halfLives = []time.Duration{3 * c.horizon, 7 * c.horizon}
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
	case len(c.halfLives) == 0:
		return nil, fmt.Errorf("usage: calibrated: no half-lives")
	case slices.ContainsFunc(c.halfLives, func(d time.Duration) bool { return d <= 0 }) || c.calHalfLife <= 0:
		return nil, fmt.Errorf("usage: calibrated: half-lives %v and calibration half-life %v must be positive", c.halfLives, c.calHalfLife)
	case c.minCPU < 0 || c.minMB < 0 || math.IsNaN(c.minCPU) || math.IsNaN(c.minMB):
		return nil, fmt.Errorf("usage: calibrated: minimums must not be negative")
	case c.fallback < 0 || math.IsNaN(c.fallback):
		return nil, fmt.Errorf("usage: calibrated: fallback margin %v is negative", c.fallback)
	case c.restartAfter < 0:
		return nil, fmt.Errorf("usage: calibrated: restart after %d periods is negative", c.restartAfter)
	}
	slices.Sort(c.halfLives)
	return &CalibratedMethod{c: c}, nil
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
	s := &calState{m: m, budget: m.BudgetOf(resource), min: m.minimum(resource), memory: resource == rightsize.Memory}
	s.floor = math.Max(s.min, 1e-12)
	s.cands = make([]*candidate, len(m.c.halfLives))
	s.fresh()
	return s
}

// calState is one resource's history. Periods of one horizon follow each
// other from the first sample; empty ones (an outage) are skipped.
type calState struct {
	m             *CalibratedMethod
	budget, min   float64
	floor         float64 // min, or a tiny positive value to divide by
	memory        bool
	cands         []*candidate
	ev            evidenceTracker
	hi            float64 // the largest value since the history (re)started
	start, end    time.Time
	opened        bool            // a period with bases is under way (false during the first)
	base          float64         // the followed candidate's quantile at the current period's start
	peak          float64         // the current period's largest value
	ring          []*periodValues // the last periods' values, the current one last
	run, dip      int             // the current run of low periods; the longest run recovered from
	runBase       float64         // the quantile the current run started with
	oomUse        float64
	oomAt, lastAt time.Time
}

// candidate is one history (a decaying histogram of one half-life) and
// its backtest: at each period's start its quantile is noted, and every
// sample of the period is scored against it.
type candidate struct {
	h   *histogram
	rec []*periodRecord // oldest first, the current period last
}

// periodRecord is one period of a candidate's backtest. A sample v
// needs margin index j: the smallest with v <= margins[j]·base (nMargins
// when none is enough); n[j] and v[j] sum the weights and weighted values
// of the samples needing j.
type periodRecord struct {
	start time.Time
	base  float64
	n, v  [nMargins + 1]float64
	total float64
}

// periodValues is one period's samples as histogram buckets (the
// candidates' bucketing), kept for a restart.
type periodValues struct {
	start time.Time
	peak  float64
	lo    int
	w     []float64
}

func (p *periodValues) add(b int, w float64) {
	switch {
	case len(p.w) == 0:
		p.lo, p.w = b, []float64{w}
		return
	case b < p.lo:
		p.w = append(make([]float64, p.lo-b), p.w...)
		p.lo = b
	case b >= p.lo+len(p.w):
		p.w = append(p.w, make([]float64, b-p.lo-len(p.w)+1)...)
	}
	p.w[b-p.lo] += w
}

// fresh starts the candidates' histories and backtests anew.
func (s *calState) fresh() {
	for i, hl := range s.m.c.halfLives {
		s.cands[i] = &candidate{h: newHistogram(1e18, 1e-6, 1.01, hl)}
	}
}

func (s *calState) Add(t time.Time, v, w float64) {
	if !(w > 0) || math.IsNaN(v) || v < 0 {
		return
	}
	if s.start.IsZero() {
		s.start, s.end = t, t.Add(s.m.c.horizon)
		s.ring = append(s.ring, &periodValues{start: t})
	}
	if !t.Before(s.end) {
		s.roll(t)
	}
	b := s.cands[0].h.bucket(v)
	if s.opened {
		for _, c := range s.cands {
			r := c.rec[len(c.rec)-1]
			j := need(v, r.base)
			r.n[j] += w
			r.v[j] += w * v
			r.total += w
		}
	}
	for _, c := range s.cands {
		c.h.addBucket(b, w, t)
	}
	s.ring[len(s.ring)-1].add(b, w)
	s.peak = math.Max(s.peak, v)
	s.ring[len(s.ring)-1].peak = s.peak
	s.hi = math.Max(s.hi, v)
	s.ev.add(t, w)
	s.lastAt = t
}

// need returns the index of the smallest margin that covers v above base.
func need(v, base float64) int {
	if v <= base {
		return 0
	}
	r := v / base
	for j := 1; j < nMargins; j++ {
		if r <= margins[j] {
			return j
		}
	}
	return nMargins
}

// roll closes the current period at the first sample t at or after its
// end and opens the one t falls in.
func (s *calState) roll(t time.Time) {
	h := s.m.c.horizon
	if s.opened {
		// A low period: its own quantile at 1 − budget (what the budget
		// would have asked for it alone) stayed below half of the
		// quantile the run of low periods started with.
		if s.run == 0 {
			s.runBase = s.base
		}
		if s.periodQuantile(s.ring[len(s.ring)-1], 1-s.budget) <= s.runBase/2 {
			s.run++
		} else {
			s.dip = max(s.dip, s.run)
			s.run = 0
		}
		if n := s.m.c.restartAfter; n > 0 && s.run >= n && s.run > 2*s.dip {
			s.restart(min(s.run, len(s.ring)))
		}
	}
	s.start = s.end.Add(t.Sub(s.end).Truncate(h))
	s.end = s.start.Add(h)
	s.opened = true
	q := 1 - s.budget
	for _, c := range s.cands {
		c.rec = append(c.rec, &periodRecord{start: s.start, base: math.Max(s.quantile(c, q), s.floor)})
		c.prune(s.start, s.m.c.calHalfLife)
	}
	c := s.cands[s.choose().cand]
	s.base = c.rec[len(c.rec)-1].base
	s.peak = 0
	s.ring = append(s.ring, &periodValues{start: s.start})
	if keep := max(s.m.c.restartAfter, 1); len(s.ring) > keep+1 {
		s.ring = slices.Delete(s.ring, 0, len(s.ring)-keep-1)
	}
}

// periodQuantile returns the quantile p of one period's values (the end
// of the bucket it falls in).
func (s *calState) periodQuantile(pv *periodValues, p float64) float64 {
	total := 0.0
	for _, w := range pv.w {
		total += w
	}
	sum := 0.0
	for i, w := range pv.w {
		sum += w
		if w > 0 && sum >= p*total*(1-1e-12) {
			return math.Min(s.cands[0].h.start(pv.lo+i+1), pv.peak)
		}
	}
	return pv.peak
}

// quantile returns candidate c's quantile p: the end of the histogram
// bucket it falls in (at most 1 % above it), and never above the largest
// value in the history.
func (s *calState) quantile(c *candidate, p float64) float64 {
	return math.Min(c.h.percentile(p), s.hi)
}

// restart forgets everything before the last n closed periods.
func (s *calState) restart(n int) {
	keep := s.ring[len(s.ring)-n:] // every period in the ring is closed here
	s.fresh()
	s.hi = 0
	for _, p := range keep {
		at := p.start.Add(s.m.c.horizon / 2)
		for i, w := range p.w {
			if w > 0 {
				for _, c := range s.cands {
					c.h.addBucket(p.lo+i, w, at)
				}
			}
		}
		s.hi = math.Max(s.hi, p.peak)
	}
	s.ring = slices.Clone(keep)
	s.run, s.dip = 0, 0
}

// prune drops the records that weigh almost nothing now.
func (c *candidate) prune(now time.Time, hl time.Duration) {
	i := 0
	for i < len(c.rec)-1 && now.Sub(c.rec[i].start) > 30*hl {
		i++
	}
	c.rec = c.rec[i:]
}

// choice is the candidate the method follows and its margin.
type choice struct {
	cand, margin int
	exceeded     float64 // the record's share of samples above base × margin
	scored       int     // periods backtested
}

// calibrate returns candidate c's margin index: the smallest whose share
// of samples above, over the record with its single worst period left
// out (one change of level, which the quantile then follows, must not
// set the margin for weeks), is within the budget; the share above with
// every period counted; and the share left unused. Periods weigh
// 2^(−age/calibration half-life).
func (s *calState) calibrate(c *candidate) (margin int, exceeded, slack float64) {
	hl := float64(s.m.c.calHalfLife)
	w := make([]float64, len(c.rec))
	var total float64
	for p, r := range c.rec {
		w[p] = math.Exp2(-float64(s.lastAt.Sub(r.start)) / hl)
		total += w[p] * r.total
	}
	if total <= 0 {
		return 0, 0, math.NaN()
	}
	above := make([]float64, len(c.rec)) // weighted samples above margin i, per period
	for i := range nMargins {
		var a, worst, worstN float64
		for p, r := range c.rec {
			if i == 0 {
				for j := 1; j <= nMargins; j++ {
					above[p] += r.n[j]
				}
			} else {
				above[p] -= r.n[i]
			}
			x := w[p] * above[p]
			a += x
			if x > worst {
				worst, worstN = x, w[p]*r.total
			}
		}
		margin, exceeded = i, a/total
		if a-worst <= s.budget*(total-worstN) {
			break
		}
	}
	var unused, reserved float64
	g := margins[margin]
	for p, r := range c.rec {
		for j := 0; j <= margin; j++ {
			unused += w[p] * (g*r.base*r.n[j] - r.v[j])
		}
		reserved += w[p] * g * r.base * r.total
	}
	return margin, exceeded, unused / reserved
}

// choose returns the candidate to follow: once every candidate has a
// record of minRecord periods, the one whose calibrated level left the
// least unused (the longer history on a tie); before, the longest
// history, without a margin.
func (s *calState) choose() choice {
	best := choice{cand: len(s.cands) - 1}
	bestSlack := math.Inf(1)
	for i, c := range s.cands {
		scored := 0
		for _, r := range c.rec {
			if r.total > 0 {
				scored++
			}
		}
		if scored < minRecord {
			return choice{cand: len(s.cands) - 1, scored: scored}
		}
		m, ex, sl := s.calibrate(c)
		if !(sl > bestSlack) {
			best, bestSlack = choice{cand: i, margin: m, exceeded: ex, scored: scored}, sl
		}
	}
	return best
}

// AddOOM records an OOM kill at t: the memory in use then is the peak
// of the current period (of the one before, if the current has none
// yet). For a calibration half-life after it, the memory request is at
// least VPA's bump of it, max(in use + 100 MiB, in use × 1.2).
func (s *calState) AddOOM(t time.Time) {
	if !s.memory || len(s.ring) == 0 {
		return
	}
	use := s.peak
	if use <= 0 && len(s.ring) > 1 {
		use = s.ring[len(s.ring)-2].peak
	}
	if use > 0 {
		s.oomUse, s.oomAt = use, t
	}
}

func (s *calState) Estimate(time.Time) Estimate {
	e := Estimate{Evidence: s.ev.evidence()}
	if s.ev.n == 0 {
		return e
	}
	e.Evidence.Budget = s.budget
	if !s.opened {
		// Not a full period yet: the largest value seen, with a margin.
		r := math.Max(s.hi*(1+s.m.c.fallback), s.min)
		e.Request, e.Limit, e.Lower, e.Upper = r, r, math.Min(math.Max(s.hi, s.min), r), 2*r
		e.Evidence.note("not yet calibrated: less than one " + spanText(s.m.c.horizon) + " period of history")
		return e.withOOM(s)
	}
	ch := s.choose()
	c, g := s.cands[ch.cand], margins[ch.margin]
	level := func(share float64) float64 { return math.Max(s.quantile(c, 1-share)*g, s.min) }
	e.Request = level(s.budget)
	e.Limit = math.Max(level(s.budget/10), e.Request)
	e.Lower = math.Min(level(math.Min(10*s.budget, 0.5)), e.Request)
	e.Upper = e.Limit * math.Min(2, 1+1/math.Max(float64(ch.scored), 1))
	e.Evidence.Exceeded = ch.exceeded
	if ch.scored < minRecord {
		e.Evidence.note("calibrating: " + itoa(int64(ch.scored)) + " of " + itoa(minRecord) + " periods backtested")
	}
	return e.withOOM(s)
}

// withOOM applies a recent OOM kill's bump.
func (e Estimate) withOOM(s *calState) Estimate {
	if s.oomUse <= 0 || s.lastAt.Sub(s.oomAt) > s.m.c.calHalfLife {
		return e
	}
	bump := math.Max(s.oomUse+oomMinBump, s.oomUse*oomRatio)
	e.Request = math.Max(e.Request, bump)
	e.Limit = math.Max(e.Limit, e.Request)
	e.Upper = math.Max(e.Upper, e.Limit)
	return e
}
