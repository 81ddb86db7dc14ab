package predict

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// LinearTrend is the seed's model: value = a + b·t by ordinary least
// squares over the whole history of a series (the line gonum's
// stat.LinearRegression fits, kept as running co-moments so that it
// learns in one pass). The point forecast is the line's mean over the
// horizon, floored at zero; the seed had no notion of uncertainty, so the
// upper level is the point. A series of one sample, or of samples all at
// one time, predicts their mean. It is the baseline every model must
// beat: usage is rarely a straight line in time.
type LinearTrend struct{ *models }

// NewLinearTrend returns the seed's linear regression on time. It reads
// WithHorizon, WithWorkers and WithProgress.
func NewLinearTrend(opts ...Option) (*LinearTrend, error) {
	m, err := newModels("linear-trend", opts, func(c *config, _ string) state { return &lineState{c: c} })
	if err != nil {
		return nil, err
	}
	return &LinearTrend{m}, nil
}

type lineState struct {
	c *config
	// Origin is the first sample's time (Unix ns); X in seconds since.
	Origin int64   `json:"origin"`
	N      float64 `json:"n"`
	MX     float64 `json:"mx"`
	MY     float64 `json:"my"`
	SXX    float64 `json:"sxx"`
	SXY    float64 `json:"sxy"`
}

func (s *lineState) restore(c *config) { s.c = c }

func (s *lineState) observe(t time.Time, v float64) {
	if s.N == 0 {
		s.Origin = t.UnixNano()
	}
	x := float64(t.UnixNano()-s.Origin) / 1e9
	s.N++
	dx := x - s.MX
	s.MX += dx / s.N
	s.MY += (v - s.MY) / s.N
	s.SXX += dx * (x - s.MX)
	s.SXY += dx * (v - s.MY)
}

// line returns the intercept and slope, as stat.LinearRegression would.
func (s *lineState) line() (a, b float64) {
	if s.SXX <= 0 {
		return s.MY, 0
	}
	b = s.SXY / s.SXX
	return s.MY - b*s.MX, b
}

func (s *lineState) forecast(from time.Time) forecast {
	a, b := s.line()
	mid := float64(from.Add(s.c.horizon/2).UnixNano()-s.Origin) / 1e9
	p := math.Max(0, a+b*mid)
	return forecast{point: p, upper: p, method: fmt.Sprintf("%.4g + %.4g·t", a, b)}
}

// LastValue forecasts the last value: point and upper level alike.
type LastValue struct{ *models }

// NewLastValue returns the last-value baseline. It reads WithHorizon,
// WithWorkers and WithProgress.
func NewLastValue(opts ...Option) (*LastValue, error) {
	m, err := newModels("last-value", opts, func(*config, string) state { return &lastState{} })
	if err != nil {
		return nil, err
	}
	return &LastValue{m}, nil
}

type lastState struct {
	V float64 `json:"v"`
}

func (s *lastState) observe(_ time.Time, v float64) { s.V = v }
func (s *lastState) forecast(time.Time) forecast {
	return forecast{point: s.V, upper: s.V, method: "last value"}
}

// SameTimeYesterday forecasts the horizon from the same span one season
// (WithSeason, default 24h) earlier: the point is its mean, the upper
// level its maximum. Without samples then (too little history, or an
// outage a season ago) it uses the last horizon of samples instead, and
// says so.
type SameTimeYesterday struct{ *models }

// NewSameTimeYesterday returns the same-time-yesterday baseline. It reads
// WithHorizon, WithSeason, WithWorkers and WithProgress.
func NewSameTimeYesterday(opts ...Option) (*SameTimeYesterday, error) {
	m, err := newModels("same-time-yesterday", opts, func(c *config, _ string) state {
		return &agoState{c: c, Rec: newRecent(c.season + c.horizon)}
	})
	if err != nil {
		return nil, err
	}
	return &SameTimeYesterday{m}, nil
}

type agoState struct {
	c   *config
	Rec *recent `json:"recent"`
}

func (s *agoState) restore(c *config)              { s.c = c; s.Rec.restore() }
func (s *agoState) observe(t time.Time, v float64) { s.Rec.add(t.UnixNano(), v) }
func (s *agoState) forecast(from time.Time) forecast {
	a := from.Add(-s.c.season).UnixNano()
	if ago := s.Rec.between(a, a+int64(s.c.horizon)); len(ago) > 0 {
		return forecast{point: meanOf(ago), upper: maxOf(ago), method: "same time " + durText(s.c.season) + " ago"}
	}
	last := s.Rec.V[s.Rec.since(s.c.horizon):]
	return forecast{point: meanOf(last), upper: maxOf(last), method: "last " + durText(s.c.horizon),
		note: "no samples " + durText(s.c.season) + " before the horizon: the last horizon's instead"}
}

// WindowMax provisions at the maximum of the last window (WithWindow,
// default the horizon) times 1 + WithMargin (default 0.15): "the previous
// hour's max × 1.15" for a 1h horizon. The window is the one before the
// latest sample, so after an outage it is the last one measured. The
// point forecast is the window's mean.
type WindowMax struct{ *models }

// NewWindowMax returns the window-max baseline. It reads WithHorizon,
// WithWindow, WithMargin, WithWorkers and WithProgress.
func NewWindowMax(opts ...Option) (*WindowMax, error) {
	m, err := newModels("window-max", opts, func(c *config, _ string) state {
		return &winMaxState{c: c, Rec: newRecent(c.window)}
	})
	if err != nil {
		return nil, err
	}
	m.name = fmt.Sprintf("max %s × %g", durText(m.cfg.window), 1+m.cfg.margin)
	return &WindowMax{m}, nil
}

type winMaxState struct {
	c   *config
	Rec *recent `json:"recent"`
}

func (s *winMaxState) restore(c *config)              { s.c = c; s.Rec.restore() }
func (s *winMaxState) observe(t time.Time, v float64) { s.Rec.add(t.UnixNano(), v) }
func (s *winMaxState) forecast(time.Time) forecast {
	w := s.Rec.V[s.Rec.since(s.c.window):]
	return forecast{point: meanOf(w), upper: maxOf(w) * (1 + s.c.margin),
		method: fmt.Sprintf("max %s × %g", durText(s.c.window), 1+s.c.margin)}
}

// DecayingPercentile is VPA's way, scale-free: a histogram of the
// series' values in buckets 5 % wide (on a log scale; zeros apart), each
// sample's weight halving every WithHalfLife (default 24h). The upper
// level is its WithPercentile (default 0.9) times 1 + WithMargin
// (default 0.15), the point its median; a percentile is read at its
// bucket's upper end, as VPA reads them.
type DecayingPercentile struct{ *models }

// NewDecayingPercentile returns the VPA-style baseline. It reads
// WithHorizon, WithPercentile, WithHalfLife, WithMargin, WithWorkers and
// WithProgress.
func NewDecayingPercentile(opts ...Option) (*DecayingPercentile, error) {
	m, err := newModels("decaying-percentile", opts, func(c *config, _ string) state { return &pctState{c: c} })
	if err != nil {
		return nil, err
	}
	m.name = fmt.Sprintf("p%g decaying %s × %g", 100*m.cfg.percentile, durText(m.cfg.halfLife), 1+m.cfg.margin)
	return &DecayingPercentile{m}, nil
}

const bucketGrowth = 1.05

type pctState struct {
	c *config
	// Ref is the decay's reference time (Unix ns); Zero the weight of
	// zeros; B and W the non-zero buckets (index of log_1.05 v, sorted)
	// and their weights.
	Ref  int64   `json:"ref"`
	Zero float64 `json:"zero"`
	B    nanos   `json:"b"`
	W    floats  `json:"w"`
}

func (s *pctState) restore(c *config) { s.c = c }

func (s *pctState) observe(t time.Time, v float64) {
	ns := t.UnixNano()
	if s.Ref == 0 {
		s.Ref = ns
	}
	e := float64(ns-s.Ref) / float64(s.c.halfLife)
	if e > 50 {
		f := math.Exp2(-e)
		s.Zero *= f
		for i := range s.W {
			s.W[i] *= f
		}
		s.Ref, e = ns, 0
	}
	w := math.Exp2(e)
	if v <= 0 {
		s.Zero += w
		return
	}
	b := int64(math.Floor(math.Log(v) / math.Log(bucketGrowth)))
	i, ok := slices.BinarySearch(s.B, b)
	if !ok {
		s.B = slices.Insert(s.B, i, b)
		s.W = slices.Insert(s.W, i, 0)
	}
	s.W[i] += w
}

// percentile returns the value below which a share p of the weight lies,
// at its bucket's upper end.
func (s *pctState) percentile(p float64) float64 {
	total := s.Zero
	for _, w := range s.W {
		total += w
	}
	if total == 0 {
		return 0
	}
	target := p * total
	cum := s.Zero
	if cum >= target {
		return 0
	}
	for i, w := range s.W {
		cum += w
		if cum >= target*(1-1e-12) {
			return math.Pow(bucketGrowth, float64(s.B[i]+1))
		}
	}
	return math.Pow(bucketGrowth, float64(s.B[len(s.B)-1]+1))
}

func (s *pctState) forecast(time.Time) forecast {
	return forecast{point: s.percentile(0.5), upper: s.percentile(s.c.percentile) * (1 + s.c.margin),
		method: fmt.Sprintf("p%g × %g", 100*s.c.percentile, 1+s.c.margin)}
}

// HoltWinters forecasts with additive Holt-Winters exponential smoothing:
// a level, a damped trend and a seasonal cycle (WithSeason, default 24h)
// over the means of hourly bins (of the horizon, for horizons under an
// hour), its smoothing parameters fitted by gonum's Nelder-Mead on the
// last 14 seasons, refitted once a season. The point forecast is the
// model's mean over the horizon. The upper level is conformal: the point
// plus the quantile (WithQuantile, with the finite-sample correction) of
// the model's own errors over the last WithMemory (default 7 days) —
// each sample's distance from the point forecast made at the start of its
// horizon-long period.
//
// Before a season and a bin of history it forecasts the mean of the last
// horizon; before its first period is scored its upper level is the
// largest value seen plus WithMargin. Both say so.
type HoltWinters struct{ *models }

// NewHoltWinters returns the Holt-Winters model. It reads WithHorizon,
// WithSeason, WithQuantile, WithMemory, WithMargin, WithWorkers and
// WithProgress.
func NewHoltWinters(opts ...Option) (*HoltWinters, error) {
	m, err := newModels("holt-winters", opts, newHWState)
	if err != nil {
		return nil, err
	}
	return &HoltWinters{m}, nil
}

type hwState struct {
	c   *config
	HW  *hw     `json:"hw"`
	Rec *recent `json:"recent"` // the last horizon, for the fallback
	Err *recent `json:"errors"` // errors of the last WithMemory
	End int64   `json:"end"`
	P   float64 `json:"p"` // the point forecast made at the start of the period
	Has bool    `json:"has"`
	Max float64 `json:"max"`
	win *window
}

func newHWState(c *config, _ string) state {
	s := &hwState{c: c, HW: newHW(c), Rec: newRecent(c.horizon), Err: newRecent(c.memory)}
	s.restore(c)
	return s
}

func (s *hwState) restore(c *config) {
	s.c = c
	s.Rec.restore()
	s.Err.restore()
	s.Err.wins = nil
	s.win = &window{Span: int64(c.memory)}
	s.Err.follow(s.win)
}

func (s *hwState) point(from time.Time) (float64, string, string) {
	if m, _, ok := s.HW.forecast(from, s.c.horizon); ok {
		return m, "holt-winters", ""
	}
	return meanOf(s.Rec.V[s.Rec.since(s.c.horizon):]), "mean " + durText(s.c.horizon),
		"less than a season of history: no seasonality yet, the mean of the last horizon"
}

func (s *hwState) observe(t time.Time, v float64) {
	ns := t.UnixNano()
	h := int64(s.c.horizon)
	switch {
	case s.End == 0:
		s.End = ns + h
	case ns >= s.End:
		s.End += ((ns-s.End)/h + 1) * h
		s.P, _, _ = s.point(time.Unix(0, s.End-h))
		s.Has = true
	}
	if s.Has {
		s.Err.add(ns, v-s.P)
	}
	s.Max = math.Max(s.Max, v)
	s.Rec.add(ns, v)
	s.HW.observe(ns, v)
}

func (s *hwState) forecast(from time.Time) forecast {
	p, method, note := s.point(from)
	n := len(s.win.vals)
	if n == 0 {
		return forecast{point: p, upper: math.Max(p, s.Max*(1+s.c.margin)), method: method,
			note: "no period scored yet: the upper level is the largest value seen plus the margin"}
	}
	q := math.Min(1, math.Ceil(float64(n+1)*s.c.quantile)/float64(n))
	e := s.win.quantile(q)
	return forecast{point: p, upper: p + math.Max(e, 0), method: method + fmt.Sprintf(" + p%g of its errors", 100*s.c.quantile), note: note}
}
