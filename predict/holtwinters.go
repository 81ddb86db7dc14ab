package predict

import (
	"math"
	"time"

	"gonum.org/v1/gonum/optimize"
)

// hw is additive Holt-Winters exponential smoothing with a damped trend
// over the means of fixed bins of time (an hour for horizons of an hour
// or more; the horizon for shorter ones, at most season/24), bins
// aligned to the Unix epoch so that a daily season's slots are the
// hours of the UTC day. Bins without samples (an outage) are skipped:
// the level follows the damped trend through them and their seasonal
// slots are left as they were.
//
// The smoothing parameters are fitted with gonum's Nelder-Mead to
// minimise the squared one-bin-ahead errors over the last histSeasons
// seasons of bin means, when the first full season is in and then from
// time to time; the state is then the filter run over that history with the
// parameters found. Refits come one, two, three... seasons apart, then
// every seventh season. Before one season and one bin of history, the model
// is not ready and forecasts the mean of the last bins.
type hw struct {
	Bin   int64   `json:"bin"` // nanoseconds
	S     int     `json:"slots"`
	Alpha float64 `json:"alpha"`
	Beta  float64 `json:"beta"`
	Gamma float64 `json:"gamma"`
	Phi   float64 `json:"phi"`
	Ready bool    `json:"ready"`
	Level float64 `json:"level"`
	Trend float64 `json:"trend"`
	Sea   floats  `json:"season"`
	// Cur is the open bin, Sum and Cnt what it holds so far; Folded the
	// last bin folded into the state.
	Cur    int64   `json:"cur"`
	Sum    float64 `json:"sum"`
	Cnt    float64 `json:"cnt"`
	Folded int64   `json:"folded"`
	// HB and HV are the closed bins kept for refits: index and mean.
	HB nanos  `json:"hb"`
	HV floats `json:"hv"`
	// NextFit is the bin at which to refit; Fits the refits so far.
	NextFit int64 `json:"next_fit"`
	Fits    int   `json:"fits"`
}

const histSeasons = 14

func newHW(c *config) *hw {
	bin := min(c.horizon, c.season/24, time.Hour)
	bin = max(bin, time.Minute)
	s := int(math.Round(float64(c.season) / float64(bin)))
	return &hw{Bin: int64(bin), S: max(s, 2), Alpha: 0.3, Beta: 0.05, Gamma: 0.2, Phi: 0.9, Cur: math.MinInt64}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (h *hw) slot(b int64) int {
	s := int(b % int64(h.S))
	if s < 0 {
		s += h.S
	}
	return s
}

func (h *hw) observe(t int64, v float64) {
	b := floorDiv(t, h.Bin)
	if h.Cnt > 0 && b != h.Cur {
		h.close(h.Cur, h.Sum/h.Cnt)
		h.Sum, h.Cnt = 0, 0
	}
	h.Cur = b
	h.Sum += v
	h.Cnt++
}

func (h *hw) close(b int64, y float64) {
	h.HB = append(h.HB, b)
	h.HV = append(h.HV, y)
	if keep := (histSeasons + 1) * h.S; len(h.HB) > 2*keep {
		h.HB = append(nanos(nil), h.HB[len(h.HB)-keep:]...)
		h.HV = append(floats(nil), h.HV[len(h.HV)-keep:]...)
	}
	switch {
	case !h.Ready:
		if b-h.HB[0] >= int64(h.S) {
			h.refit()
		}
	default:
		h.Level, h.Trend = h.fold(h.Level, h.Trend, h.Sea, h.Folded, b, y, h.Alpha, h.Beta, h.Gamma, h.Phi)
		h.Folded = b
		if b >= h.NextFit {
			h.refit()
		}
	}
}

// fold advances a state from bin from to bin b, through the bins between
// without samples, and updates it with y, the mean of bin b. It changes
// sea's slot of b and returns the new level and trend.
func (h *hw) fold(level, trend float64, sea []float64, from, b int64, y, alpha, beta, gamma, phi float64) (float64, float64) {
	gap := b - from - 1
	if gap > int64(10*h.S) {
		// Long outage: the damped trend has died out.
		level += trend * phi * (1 - math.Pow(phi, float64(gap))) / (1 - phi)
		trend = 0
	} else {
		for range gap {
			level += phi * trend
			trend *= phi
		}
	}
	k := h.slot(b)
	s := sea[k]
	prev := level
	level = alpha*(y-s) + (1-alpha)*(level+phi*trend)
	trend = beta*(level-prev) + (1-beta)*phi*trend
	sea[k] = gamma*(y-level) + (1-gamma)*s
	return level, trend
}

// run initialises a state on the first season of the kept history and
// filters the rest with the given parameters. It returns the state, the
// last bin folded and the sum of squared one-bin-ahead errors.
func (h *hw) run(alpha, beta, gamma, phi float64, sea []float64) (level, trend float64, last int64, sse float64) {
	b0 := h.HB[0]
	n := 0
	for i, b := range h.HB {
		if b-b0 >= int64(h.S) {
			break
		}
		level += h.HV[i]
		n = i + 1
	}
	level /= float64(n)
	for i := range sea {
		sea[i] = 0
	}
	for i := range n {
		sea[h.slot(h.HB[i])] = h.HV[i] - level
	}
	last = h.HB[n-1]
	for i := n; i < len(h.HB); i++ {
		b, y := h.HB[i], h.HV[i]
		f := h.at(level, trend, sea, last, b, phi)
		sse += (y - f) * (y - f)
		level, trend = h.fold(level, trend, sea, last, b, y, alpha, beta, gamma, phi)
		last = b
	}
	return level, trend, last, sse
}

// at forecasts bin b from a state folded up to bin from.
func (h *hw) at(level, trend float64, sea []float64, from, b int64, phi float64) float64 {
	var damp float64
	switch k := b - from; {
	case k == 1:
		damp = phi
	case phi < 1:
		damp = phi * (1 - math.Pow(phi, float64(k))) / (1 - phi)
	default:
		damp = float64(k)
	}
	return level + damp*trend + sea[h.slot(b)]
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
func logit(p float64) float64    { return math.Log(p / (1 - p)) }

// params maps an unconstrained point to smoothing parameters.
func params(x []float64) (alpha, beta, gamma, phi float64) {
	return logistic(x[0]), logistic(x[1]), logistic(x[2]), 0.8 + 0.18*logistic(x[3])
}

func (h *hw) refit() {
	if len(h.HB) == 0 || h.HB[len(h.HB)-1]-h.HB[0] < int64(h.S) {
		return
	}
	if keep := (histSeasons + 1) * h.S; len(h.HB) > keep {
		h.HB = append(nanos(nil), h.HB[len(h.HB)-keep:]...)
		h.HV = append(floats(nil), h.HV[len(h.HV)-keep:]...)
	}
	sea := make([]float64, h.S)
	scale := 0.0
	for _, y := range h.HV {
		scale += y * y
	}
	scale = max(scale/float64(len(h.HV)), 1e-300)
	x0 := []float64{logit(clamp01(h.Alpha)), logit(clamp01(h.Beta)), logit(clamp01(h.Gamma)), logit(clamp01((h.Phi - 0.8) / 0.18))}
	prob := optimize.Problem{Func: func(x []float64) float64 {
		a, b, g, p := params(x)
		_, _, _, sse := h.run(a, b, g, p, sea)
		if !finite(sse) {
			return math.MaxFloat64
		}
		return sse / scale
	}}
	res, err := optimize.Minimize(prob, x0, &optimize.Settings{FuncEvaluations: 150,
		Converger: &optimize.FunctionConverge{Absolute: 1e-9, Relative: 1e-6, Iterations: 20}}, &optimize.NelderMead{})
	if err == nil && res != nil && finite(res.F) {
		h.Alpha, h.Beta, h.Gamma, h.Phi = params(res.X)
	}
	if h.Sea == nil {
		h.Sea = make(floats, h.S)
	}
	h.Level, h.Trend, h.Folded, _ = h.run(h.Alpha, h.Beta, h.Gamma, h.Phi, h.Sea)
	h.Ready = true
	h.Fits++
	h.NextFit = h.Folded + int64(min(h.Fits, 7)*h.S)
}

func clamp01(p float64) float64 { return math.Min(math.Max(p, 1e-4), 1-1e-4) }

// forecast returns the mean and the largest of the bin forecasts over
// [from, from+d), weighting bins by how much of the span they cover; ok
// is false before the model is ready.
func (h *hw) forecast(from time.Time, d time.Duration) (mean, peak float64, ok bool) {
	if !h.Ready {
		return 0, 0, false
	}
	level, trend, folded := h.Level, h.Trend, h.Folded
	sea := h.Sea
	if h.Cnt > 0 && h.Cur > h.Folded {
		// Fold the open bin into a copy of the state.
		sea = append([]float64(nil), sea...)
		level, trend = h.fold(level, trend, sea, folded, h.Cur, h.Sum/h.Cnt, h.Alpha, h.Beta, h.Gamma, h.Phi)
		folded = h.Cur
	}
	a, e := from.UnixNano(), from.UnixNano()+int64(d)
	var sum, w float64
	peak = math.Inf(-1)
	for b := floorDiv(a, h.Bin); b*h.Bin < e; b++ {
		lo, hi := max(a, b*h.Bin), min(e, (b+1)*h.Bin)
		var f float64
		if b <= folded {
			f = h.Sum / math.Max(h.Cnt, 1) // the open bin itself
		} else {
			f = h.at(level, trend, sea, folded, b, h.Phi)
		}
		f = math.Max(f, 0)
		sum += f * float64(hi-lo)
		w += float64(hi - lo)
		peak = math.Max(peak, f)
	}
	if w == 0 {
		return 0, 0, false
	}
	return sum / w, peak, true
}
