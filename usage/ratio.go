package usage

import "math"

// ratioHist is a histogram of ratios (value / base) on a log scale, with
// a bucket of its own for zero: what the calibrated method learns its
// margin from. Bucket i ≥ 1 covers [ratioMin·g^(i−1), ratioMin·g^i); the
// last is open above.
type ratioHist struct {
	w     []float64
	total float64
	sumW2 float64 // Σ w², for the effective sample size
}

const (
	ratioMin    = 1e-4
	ratioGrowth = 1.01
	ratioMax    = 1e4
)

var (
	ratioLogG    = math.Log(ratioGrowth)
	ratioBuckets = int(math.Ceil(math.Log(ratioMax/ratioMin)/ratioLogG)) + 2
)

func newRatioHist() *ratioHist { return &ratioHist{w: make([]float64, ratioBuckets)} }

func ratioBucket(r float64) int {
	if r <= 0 {
		return 0
	}
	if r < ratioMin {
		return 1
	}
	return min(1+int(math.Log(r/ratioMin)/ratioLogG), ratioBuckets-1)
}

// ratioUpper returns the upper edge of bucket i (0 for the zero bucket).
func ratioUpper(i int) float64 {
	if i == 0 {
		return 0
	}
	return ratioMin * math.Exp(float64(i)*ratioLogG)
}

func (h *ratioHist) add(r, w float64) {
	h.w[ratioBucket(r)] += w
	h.total += w
	h.sumW2 += w * w
}

func (h *ratioHist) scale(f float64) {
	for i := range h.w {
		h.w[i] *= f
	}
	h.total *= f
	h.sumW2 *= f * f
}

// effective returns the effective number of samples, (Σw)²/Σw².
func (h *ratioHist) effective() float64 {
	if h.sumW2 == 0 {
		return 0
	}
	return h.total * h.total / h.sumW2
}

// quantile returns the upper edge of the bucket where the cumulative
// weight reaches p of the total: a ratio at or above that share of the
// values.
func (h *ratioHist) quantile(p float64) float64 {
	if h.total <= 0 {
		return 0
	}
	threshold := p * h.total
	sum := 0.0
	last := 0
	for i, w := range h.w {
		if w == 0 {
			continue
		}
		last = i
		sum += w
		if sum >= threshold*(1-1e-12) {
			return ratioUpper(i)
		}
	}
	return ratioUpper(last)
}

// unused returns Σ w·(r − ratio)⁺ over the buckets (each bucket's ratio
// taken at its upper edge), and Σ w: with weights that carry the base,
// the unused share of a level r × base.
func (h *ratioHist) unused(r float64) (unused, total float64) {
	for i, w := range h.w {
		if w == 0 {
			continue
		}
		if u := ratioUpper(i); u < r {
			unused += w * (r - u)
		}
		total += w
	}
	return unused, total
}
