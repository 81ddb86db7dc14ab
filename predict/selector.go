package predict

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Selector is the default model: per series, it provisions at a level
// chosen among a family of candidate levels by their cost over the
// series' own recent past, scored out of sample, and forecasts with the
// point candidate that has erred least — the way Google's Autopilot
// chooses among its recommenders per job.
//
// The candidate levels (about 400 for a 1h horizon):
//
//   - the maximum over a recent window (a quarter, half, one, 2, 3, 6, 12
//     and 24 horizons, up to a week) times a margin (1, 1.05, 1.1, 1.2,
//     1.3, 1.5 or 2), capped or not at the week's peak — usage rarely
//     goes beyond what it has reached, and a saturated service cannot;
//   - the same window's maximum plus 0.1, 0.25, 0.5 or 1 times its range
//     (max − min), and its mean plus 1 to 4 standard deviations, times 1,
//     1.3 or 2, capped: tight when usage is steady, wide when it jumps;
//   - a quantile (0.5, 0.9, 0.99) of the last 3 and 24 horizons and of the
//     last week, times a margin;
//   - Holt-Winters' mean or peak over the horizon (see HoltWinters) times
//     a margin, capped or not, and the maximum of the same span a season
//     ago times a margin.
//
// Windows end at the series' latest sample, so an outage does not empty
// them. The point candidates are the last value, the mean over the last
// quarter, one, 3 and 24 horizons, the median of the quantile windows,
// Holt-Winters' mean and the mean of the same span a season ago.
//
// Scoring: the model cuts the series into periods of one horizon from its
// first sample. At the start of each it notes what every candidate would
// have said, from the samples before; as the period's samples come it
// tallies, per candidate, the samples above its level, the level held and
// the level left unused, and the absolute error of every point
// candidate. Tallies decay with a half-life of WithMemory (default 7
// days). A level candidate's cost is its slack (unused / held) plus w
// times the share of its samples above the level beyond the quantile's
// budget (1 − WithQuantile: 2 % by default), w being WithUnderCost's
// price (5 by default, 10 for memory): being short beyond the budget is
// priced five (ten) times as high as waste.
//
// Choosing the single cheapest candidate each period follows noise: the
// leader changes with every burst. The level is instead the (upper)
// median of the levels of the 30 cheapest candidates, which keeps the
// choice where many candidates agree.
//
// With no period scored yet (the first horizon of a series), the level is
// the largest value seen in the last week plus WithMargin (default 15 %)
// and the point the mean of the last horizon; the note says so.
type Selector struct{ *models }

// NewSelector returns the selector. It reads WithHorizon, WithQuantile,
// WithMemory, WithUnderCost, WithSeason, WithMargin, WithWorkers and
// WithProgress; it returns an error for a value out of range.
func NewSelector(opts ...Option) (*Selector, error) {
	m, err := newModels("selector", opts, newSelState)
	if err != nil {
		return nil, err
	}
	return &Selector{m}, nil
}

// selPlan is the candidates of a configuration.
type selPlan struct {
	maxWins []time.Duration // ascending
	qWins   []time.Duration // ascending
	qs      []float64
	meanWin []time.Duration
	keep    time.Duration
	nBase   int
	// base indices
	peak, q0, hwMean, hwPeak, yMax, yMean, last, mean0 int
	min0, sd0, wmean0                                  int
	cands                                              []candidate
	points                                             []int // base indices
}

// candidate is the level (base + k·spread) × mult, capped or not at the
// week's peak; spread < 0 for none.
type candidate struct {
	base, spread int
	k, mult      float64
	capped       bool
}

var spreadMargins = []float64{1, 1.3, 2}

var margins = []float64{1, 1.05, 1.1, 1.2, 1.3, 1.5, 2}

const week = 7 * 24 * time.Hour

func newPlan(c *config) *selPlan {
	h := c.horizon
	p := &selPlan{qs: []float64{0.5, 0.9, 0.99}}
	add := func(list []time.Duration, d time.Duration) []time.Duration {
		if d < time.Minute || d > week {
			return list
		}
		for _, x := range list {
			if x == d {
				return list
			}
		}
		return append(list, d)
	}
	for _, f := range []float64{0.25, 0.5, 1, 2, 3, 6, 12, 24} {
		p.maxWins = add(p.maxWins, time.Duration(f*float64(h)))
	}
	for _, f := range []float64{3, 24} {
		p.qWins = add(p.qWins, time.Duration(f*float64(h)))
	}
	p.qWins = add(p.qWins, week)
	for _, f := range []float64{0.25, 1, 3, 24} {
		p.meanWin = add(p.meanWin, time.Duration(f*float64(h)))
	}
	p.keep = max(week, c.season+h, 24*h)
	// Base layout.
	n := len(p.maxWins)
	p.peak = n
	n++
	p.q0 = n
	n += len(p.qWins) * len(p.qs)
	p.hwMean, p.hwPeak, p.yMax, p.yMean, p.last = n, n+1, n+2, n+3, n+4
	n += 5
	p.mean0 = n
	n += len(p.meanWin)
	p.min0, p.sd0, p.wmean0 = n, n+len(p.maxWins), n+2*len(p.maxWins)
	n += 3 * len(p.maxWins)
	p.nBase = n
	for i := range p.maxWins {
		for _, m := range margins {
			p.cands = append(p.cands, candidate{i, -1, 0, m, false}, candidate{i, -1, 0, m, true})
		}
		for _, m := range spreadMargins {
			for _, k := range []float64{0.1, 0.25, 0.5, 1} {
				p.cands = append(p.cands, candidate{i, p.min0 + i, k, m, true})
			}
			for _, k := range []float64{1, 2, 3, 4} {
				p.cands = append(p.cands, candidate{p.wmean0 + i, p.sd0 + i, k, m, true})
			}
		}
	}
	for i := range p.qWins {
		for j := range p.qs {
			for _, m := range margins {
				p.cands = append(p.cands, candidate{p.q0 + i*len(p.qs) + j, -1, 0, m, false})
			}
		}
	}
	for _, b := range []int{p.hwMean, p.hwPeak} {
		for _, m := range margins {
			p.cands = append(p.cands, candidate{b, -1, 0, m, false}, candidate{b, -1, 0, m, true})
		}
	}
	for _, m := range margins {
		p.cands = append(p.cands, candidate{p.yMax, -1, 0, m, false})
	}
	p.points = append(p.points, p.last)
	for i := range p.meanWin {
		p.points = append(p.points, p.mean0+i)
	}
	for i := range p.qWins {
		p.points = append(p.points, p.q0+i*len(p.qs))
	}
	p.points = append(p.points, p.hwMean, p.yMean)
	return p
}

func (p *selPlan) baseName(b int) string {
	switch {
	case b < len(p.maxWins):
		return "max " + durText(p.maxWins[b])
	case b == p.peak:
		return "week's peak"
	case b >= p.q0 && b < p.q0+len(p.qWins)*len(p.qs):
		i, j := (b-p.q0)/len(p.qs), (b-p.q0)%len(p.qs)
		if p.qs[j] == 0.5 {
			return "median " + durText(p.qWins[i])
		}
		return fmt.Sprintf("p%g %s", 100*p.qs[j], durText(p.qWins[i]))
	case b == p.hwMean:
		return "holt-winters"
	case b == p.hwPeak:
		return "holt-winters peak"
	case b == p.yMax:
		return "max a season ago"
	case b == p.yMean:
		return "mean a season ago"
	case b == p.last:
		return "last value"
	case b >= p.wmean0:
		return "mean " + durText(p.maxWins[b-p.wmean0])
	case b >= p.sd0:
		return "sd " + durText(p.maxWins[b-p.sd0])
	case b >= p.min0:
		return "range " + durText(p.maxWins[b-p.min0])
	case b >= p.mean0:
		return "mean " + durText(p.meanWin[b-p.mean0])
	}
	return "?"
}

func (p *selPlan) candName(c candidate) string {
	var b strings.Builder
	if c.spread >= 0 {
		fmt.Fprintf(&b, "%s + %g × %s", p.baseName(c.base), c.k, p.baseName(c.spread))
		if c.mult != 1 {
			s := "(" + b.String() + ")"
			b.Reset()
			b.WriteString(s)
		}
	} else {
		b.WriteString(p.baseName(c.base))
	}
	if c.mult != 1 {
		fmt.Fprintf(&b, " × %g", c.mult)
	}
	if c.capped {
		b.WriteString(", capped at the week's peak")
	}
	return b.String()
}

func durText(d time.Duration) string {
	switch {
	case d == week:
		return "week"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// selState is the selector's state for one series.
type selState struct {
	c    *config
	plan *selPlan
	Rec  *recent `json:"recent"`
	HW   *hw     `json:"hw"`
	// End is the end of the current scoring period (Unix ns; 0 before
	// the first sample); Lv and Pt what the candidates said at its start
	// (nil in the first period).
	End int64  `json:"end"`
	Lv  floats `json:"levels"`
	Pt  floats `json:"points"`
	// Tallies per level candidate (decayed): samples above, samples,
	// level unused, level held; per point candidate: absolute error and
	// samples.
	Above, N, Unused, Held floats
	AbsErr, PN             floats
	// Resource names the series' resource: it sets the price of
	// under-provisioning, w.
	Resource string `json:"resource"`
	w        float64
	wins     []*window
}

// ensemble is how many of the candidates of least cost the selector's
// level is the median of.
const ensemble = 30

func newSelState(c *config, resource string) state {
	p := newPlan(c)
	s := &selState{c: c, plan: p, Rec: newRecent(p.keep), HW: newHW(c), Resource: resource, w: c.underCostOf(resource)}
	n := len(p.cands)
	s.Above, s.N, s.Unused, s.Held = make(floats, n), make(floats, n), make(floats, n), make(floats, n)
	s.AbsErr, s.PN = make(floats, len(p.points)), make(floats, len(p.points))
	s.follow()
	return s
}

func (s *selState) follow() {
	s.wins = s.wins[:0]
	s.Rec.wins = nil
	for _, d := range s.plan.qWins {
		w := &window{Span: int64(d)}
		s.Rec.follow(w)
		s.wins = append(s.wins, w)
	}
}

func (s *selState) restore(c *config) {
	s.c, s.plan, s.w = c, newPlan(c), c.underCostOf(s.Resource)
	s.Rec.restore()
	s.follow()
}

func (s *selState) observe(t time.Time, v float64) {
	ns := t.UnixNano()
	h := int64(s.c.horizon)
	switch {
	case s.End == 0:
		s.End = ns + h
	case ns >= s.End:
		k := (ns-s.End)/h + 1
		s.decay(math.Exp2(-float64(k) * float64(h) / float64(s.c.memory)))
		s.End += k * h
		s.Lv, s.Pt = s.candidates(time.Unix(0, s.End-h), s.Lv, s.Pt)
	}
	if s.Lv != nil {
		for i, l := range s.Lv {
			if math.IsNaN(l) {
				continue
			}
			s.N[i]++
			s.Held[i] += l
			if v > l {
				s.Above[i]++
			} else {
				s.Unused[i] += l - v
			}
		}
		for i, p := range s.Pt {
			if !math.IsNaN(p) {
				s.AbsErr[i] += math.Abs(v - p)
				s.PN[i]++
			}
		}
	}
	s.Rec.add(ns, v)
	s.HW.observe(ns, v)
}

func (s *selState) decay(f float64) {
	for _, a := range []floats{s.Above, s.N, s.Unused, s.Held, s.AbsErr, s.PN} {
		for i := range a {
			a[i] *= f
		}
	}
}

// bases computes every base at from; NaN where there is none.
func (s *selState) bases(from time.Time) []float64 {
	p := s.plan
	b := make([]float64, p.nBase)
	for i := range b {
		b[i] = math.NaN()
	}
	r := s.Rec
	n := len(r.T)
	if r.len() == 0 {
		return b
	}
	latest := r.T[n-1]
	// One pass back in time gives every window's maximum and the mean
	// windows' sums.
	wi, mi := 0, 0
	hi, lo, sum, sq := 0.0, math.Inf(1), 0.0, 0.0
	cnt := 0
	closeWin := func(wi int) {
		b[wi] = hi
		b[p.min0+wi] = hi - lo // the range
		m := sum / float64(cnt)
		b[p.wmean0+wi] = m
		b[p.sd0+wi] = math.Sqrt(math.Max(sq/float64(cnt)-m*m, 0))
	}
	span := int64(max(p.maxWins[len(p.maxWins)-1], p.meanWin[len(p.meanWin)-1]))
	for i := n - 1; i >= r.off; i-- {
		age := latest - r.T[i]
		if age >= span {
			break
		}
		for wi < len(p.maxWins) && age >= int64(p.maxWins[wi]) {
			closeWin(wi)
			wi++
		}
		for mi < len(p.meanWin) && age >= int64(p.meanWin[mi]) {
			b[p.mean0+mi] = sum / float64(cnt)
			mi++
		}
		v := r.V[i]
		if v > hi {
			hi = v
		}
		if v < lo {
			lo = v
		}
		sum += v
		sq += v * v
		cnt++
	}
	for ; wi < len(p.maxWins); wi++ {
		closeWin(wi)
	}
	for ; mi < len(p.meanWin); mi++ {
		b[p.mean0+mi] = sum / float64(cnt)
	}
	// The longest quantile window is the week: its largest value is the
	// week's peak.
	b[p.peak] = math.Max(hi, s.wins[len(s.wins)-1].quantile(1))
	for i, w := range s.wins {
		for j, q := range p.qs {
			b[p.q0+i*len(p.qs)+j] = w.quantile(q)
		}
	}
	if m, pk, ok := s.HW.forecast(from, s.c.horizon); ok {
		b[p.hwMean], b[p.hwPeak] = m, pk
	}
	a := from.Add(-s.c.season).UnixNano()
	if ago := r.between(a, a+int64(s.c.horizon)); len(ago) > 0 {
		b[p.yMax], b[p.yMean] = maxOf(ago), meanOf(ago)
	}
	b[p.last] = r.V[n-1]
	return b
}

// candidates returns every level and point candidate's value at from, in
// lv and pt (reused when long enough).
func (s *selState) candidates(from time.Time, lv, pt floats) (floats, floats) {
	b := s.bases(from)
	p := s.plan
	if cap(lv) < len(p.cands) {
		lv = make(floats, len(p.cands))
	}
	lv = lv[:len(p.cands)]
	peak := b[p.peak]
	for i, c := range p.cands {
		l := b[c.base]
		if c.spread >= 0 {
			l += c.k * b[c.spread]
		}
		l *= c.mult
		if c.capped {
			l = math.Min(l, peak)
		}
		lv[i] = l
	}
	if cap(pt) < len(p.points) {
		pt = make(floats, len(p.points))
	}
	pt = pt[:len(p.points)]
	for i, k := range p.points {
		pt[i] = b[k]
	}
	return lv, pt
}

// cost is candidate i's cost: slack plus the price of the samples above
// its level beyond the budget; +Inf when it has no record.
func (s *selState) cost(i int) float64 {
	above, n, unused, held := s.Above[i], s.N[i], s.Unused[i], s.Held[i]
	if n < 1e-9 {
		return math.Inf(1)
	}
	slack := 0.0
	if held > 0 {
		slack = unused / held
	}
	over := math.Max(0, above/n-(1-s.c.quantile))
	return slack + s.w*over
}

// best returns the candidate of least cost; -1 when none has a record.
func (s *selState) best(lv floats) int {
	best, bestCost := -1, math.Inf(1)
	for i := range lv {
		if math.IsNaN(lv[i]) {
			continue
		}
		if c := s.cost(i); c < bestCost {
			best, bestCost = i, c
		}
	}
	return best
}

// medianOfBest returns the (upper) median of the levels of the ensemble
// candidates of least cost (ties broken by their order in the plan).
func (s *selState) medianOfBest(lv floats) float64 {
	type scored struct {
		i    int
		cost float64
	}
	all := make([]scored, 0, len(lv))
	for i, l := range lv {
		if !math.IsNaN(l) {
			if c := s.cost(i); !math.IsInf(c, 1) {
				all = append(all, scored{i, c})
			}
		}
	}
	slices.SortFunc(all, func(a, b scored) int {
		if c := cmp.Compare(a.cost, b.cost); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	top := make([]float64, 0, ensemble)
	for _, x := range all[:min(ensemble, len(all))] {
		top = append(top, lv[x.i])
	}
	slices.Sort(top)
	return top[len(top)/2]
}

func (s *selState) forecast(from time.Time) forecast {
	lv, pt := s.candidates(from, nil, nil)
	best := s.best(lv)
	upper := math.NaN()
	if best >= 0 {
		upper = s.medianOfBest(lv)
	}
	bp, bestErr := -1, math.Inf(1)
	for i := range pt {
		if math.IsNaN(pt[i]) || s.PN[i] < 1e-9 {
			continue
		}
		if e := s.AbsErr[i] / s.PN[i]; e < bestErr {
			bp, bestErr = i, e
		}
	}
	var f forecast
	if bp >= 0 {
		f.point = pt[bp]
	} else {
		f.point = meanOf(s.Rec.V[s.Rec.since(s.c.horizon):])
	}
	if best >= 0 {
		f.upper = upper
		f.method = fmt.Sprintf("median of the %d cheapest levels, the cheapest %s", ensemble, s.plan.candName(s.plan.cands[best]))
	} else {
		f.upper = maxOf(s.Rec.V[s.Rec.off:]) * (1 + s.c.margin)
		f.method = fmt.Sprintf("largest value seen + %g%%", 100*s.c.margin)
		f.note = "less than one horizon scored: the largest value seen plus the margin"
	}
	if bp >= 0 {
		f.method += "; point: " + s.plan.baseName(s.plan.points[bp])
	}
	return f
}
