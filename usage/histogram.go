package usage

import (
	"math"
	"time"
)

// histogram is a decaying histogram with exponentially growing buckets, in
// the manner of the Kubernetes VPA recommender: bucket 0 covers [0, first),
// bucket i >= 1 starts at first·(ratio^i − 1)/(ratio − 1), and the last
// bucket is open above. A sample's weight is multiplied by
// 2^((t − ref)/halfLife), so a sample loses half its importance with each
// half-life; only relative weights matter, so ref moves forward (and every
// weight is scaled down) whenever the exponent grows large. A halfLife of 0
// means no decay.
type histogram struct {
	first, ratio float64
	logRatio     float64
	w            []float64
	total        float64
	lo, hi       int // first and last non-empty bucket; lo > hi when empty
	halfLife     time.Duration
	ref          time.Time
}

// histEpsilon is the weight below which a bucket counts as empty (VPA's
// 0.001 × its minimal sample weight of 0.1), relative to a fresh sample of
// weight 1.
const histEpsilon = 1e-4

// maxDecayExponent bounds the decay exponent before the reference time is
// moved (VPA's value).
const maxDecayExponent = 100

// newHistogram returns an empty histogram whose buckets reach max.
func newHistogram(max, first, ratio float64, halfLife time.Duration) *histogram {
	n := int(math.Ceil(math.Log(max*(ratio-1)/first+1)/math.Log(ratio))) + 1
	return &histogram{first: first, ratio: ratio, logRatio: math.Log(ratio), w: make([]float64, n),
		lo: n, hi: -1, halfLife: halfLife}
}

func (h *histogram) bucket(v float64) int {
	if v < h.first {
		return 0
	}
	b := int(math.Log(v*(h.ratio-1)/h.first+1) / h.logRatio)
	return min(b, len(h.w)-1)
}

// start returns where bucket i begins.
func (h *histogram) start(i int) float64 {
	if i == 0 {
		return 0
	}
	return h.first * (math.Pow(h.ratio, float64(i)) - 1) / (h.ratio - 1)
}

func (h *histogram) decay(t time.Time) float64 {
	if h.halfLife <= 0 {
		return 1
	}
	if h.ref.IsZero() {
		h.ref = t.Truncate(h.halfLife)
	}
	e := float64(t.Sub(h.ref)) / float64(h.halfLife)
	if e > maxDecayExponent {
		h.shift(t)
		e = float64(t.Sub(h.ref)) / float64(h.halfLife)
	}
	return math.Exp2(e)
}

// shift moves the reference time to t (a whole number of half-lives
// later), scaling the weights so that percentiles do not change.
func (h *histogram) shift(t time.Time) {
	ref := t.Truncate(h.halfLife)
	k := math.Round(float64(ref.Sub(h.ref)) / float64(h.halfLife))
	f := math.Exp2(-k)
	for i := max(h.lo, 0); i <= h.hi; i++ {
		h.w[i] *= f
	}
	h.total *= f
	h.ref = ref
	h.trim()
}

// eps is the emptiness threshold in the current weight scale: a sample of
// weight 1 at the reference time weighs 1.
func (h *histogram) trim() {
	for h.lo <= h.hi && h.w[h.lo] < histEpsilon {
		h.lo++
	}
	for h.hi >= h.lo && h.w[h.hi] < histEpsilon {
		h.hi--
	}
	if h.lo > h.hi {
		h.lo, h.hi = len(h.w), -1
	}
}

// add adds value with weight w (before decay) at time t.
func (h *histogram) add(value, w float64, t time.Time) {
	if !(w > 0) || math.IsNaN(value) {
		return
	}
	w *= h.decay(t)
	b := h.bucket(value)
	h.w[b] += w
	h.total += w
	if h.w[b] >= histEpsilon {
		h.lo, h.hi = min(h.lo, b), max(h.hi, b)
	}
}

// addBucket adds weight w (before decay) at time t to bucket b.
func (h *histogram) addBucket(b int, w float64, t time.Time) {
	if !(w > 0) {
		return
	}
	w *= h.decay(t)
	h.w[b] += w
	h.total += w
	if h.w[b] >= histEpsilon {
		h.lo, h.hi = min(h.lo, b), max(h.hi, b)
	}
}

// sub removes what add(value, w, t) added, never leaving a bucket
// negative.
func (h *histogram) sub(value, w float64, t time.Time) {
	if !(w > 0) {
		return
	}
	w *= h.decay(t)
	b := h.bucket(value)
	if w > h.w[b]-histEpsilon {
		w = h.w[b]
	}
	h.w[b] -= w
	h.total -= w
	h.trim()
}

func (h *histogram) empty() bool { return h.lo > h.hi }

// percentile returns the end of the bucket in which the cumulative weight
// first reaches p of the total (the start of the last, open bucket if it
// is there), as VPA does; 0 when empty.
func (h *histogram) percentile(p float64) float64 {
	if h.empty() {
		return 0
	}
	threshold := p * h.total
	sum := 0.0
	b := h.lo
	for ; b < h.hi; b++ {
		sum += h.w[b]
		if sum >= threshold {
			break
		}
	}
	if b < len(h.w)-1 {
		return h.start(b + 1)
	}
	return h.start(b)
}
