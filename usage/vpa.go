package usage

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/rightsize/rightsize"
)

// MiB is 2^20 bytes.
const MiB = 1 << 20

// VPAOption configures the VPA baseline. Each option's default is the
// Kubernetes VPA recommender's.
type VPAOption interface{ applyVPA(*vpaConfig) }

type vpaOption func(*vpaConfig)

func (f vpaOption) applyVPA(c *vpaConfig) { f(c) }

type vpaConfig struct {
	targetCPU, lowerCPU, upperCPU       float64
	targetMemory, lowerMemory, upperMem float64
	halfLife                            time.Duration
	growth                              float64
	firstCPU, firstMemory               float64
	interval                            time.Duration
	intervals                           int
	margin                              float64
	oomMinBump, oomRatio                float64
	minCPU, minMemory                   float64
	upperMult, upperExp                 float64
	lowerMult, lowerExp                 float64
}

// VPACPUPercentiles sets the percentiles of the CPU samples behind the
// target, the lower and the upper bound. Default 0.9, 0.5, 0.95.
func VPACPUPercentiles(target, lower, upper float64) VPAOption {
	return vpaOption(func(c *vpaConfig) { c.targetCPU, c.lowerCPU, c.upperCPU = target, lower, upper })
}

// VPAMemoryPercentiles sets the percentiles of the memory peaks behind
// the target, the lower and the upper bound. Default 0.9, 0.5, 0.95.
func VPAMemoryPercentiles(target, lower, upper float64) VPAOption {
	return vpaOption(func(c *vpaConfig) { c.targetMemory, c.lowerMemory, c.upperMem = target, lower, upper })
}

// VPAHalfLife sets the half-life of the decaying histograms. Default 24h.
func VPAHalfLife(d time.Duration) VPAOption { return vpaOption(func(c *vpaConfig) { c.halfLife = d }) }

// VPABuckets sets the histograms' bucket growth (default 0.05: each
// bucket 5 % wider than the one before) and first bucket sizes (default
// 0.01 cores for CPU, 1e7 bytes for memory; other resources use the CPU
// histogram).
func VPABuckets(growth, firstCPU, firstMemory float64) VPAOption {
	return vpaOption(func(c *vpaConfig) { c.growth, c.firstCPU, c.firstMemory = growth, firstCPU, firstMemory })
}

// VPAMemoryIntervals sets the memory aggregation: one peak per interval
// (default 24h), over the last n intervals (default 8).
func VPAMemoryIntervals(interval time.Duration, n int) VPAOption {
	return vpaOption(func(c *vpaConfig) { c.interval, c.intervals = interval, n })
}

// VPAMargin sets the safety margin added to every estimate. Default 0.15.
func VPAMargin(fraction float64) VPAOption {
	return vpaOption(func(c *vpaConfig) { c.margin = fraction })
}

// VPAOOMBump sets the memory bump after an OOM kill: at least
// max(in use + minBump, in use × ratio). Default 100 MiB and 1.2.
func VPAOOMBump(minBump, ratio float64) VPAOption {
	return vpaOption(func(c *vpaConfig) { c.oomMinBump, c.oomRatio = minBump, ratio })
}

// VPAMinimum sets the smallest recommendation. Default 0.025 cores (25m)
// and 250 MiB.
func VPAMinimum(cpu, memory float64) VPAOption {
	return vpaOption(func(c *vpaConfig) { c.minCPU, c.minMemory = cpu, memory })
}

// VPAConfidence sets the confidence multipliers of the bounds: the upper
// bound is scaled by (1 + upperMult/confidence)^upperExp, the lower by
// (1 + lowerMult/confidence)^lowerExp. Default (1, 1) and (0.001, −2).
func VPAConfidence(upperMult, upperExp, lowerMult, lowerExp float64) VPAOption {
	return vpaOption(func(c *vpaConfig) {
		c.upperMult, c.upperExp, c.lowerMult, c.lowerExp = upperMult, upperExp, lowerMult, lowerExp
	})
}

// VPAMethod is the Kubernetes VPA recommender's method, as its defaults
// read:
//
//   - CPU: every sample goes into a decaying histogram (exponential
//     buckets 5 % apart, the first 0.01 cores wide; half-life 24 h; all
//     samples weigh the same, as VPA's do when the request is below 0.1
//     core — here no request is known); the target is its 90th
//     percentile, the lower bound the 50th, the upper the 95th;
//   - memory: the peak of each 24 h interval (intervals from the first
//     sample) goes into a decaying histogram (first bucket 1e7 bytes),
//     the last 8 intervals kept; percentiles as for CPU; an OOM kill
//     raises the target to max(in use + 100 MiB, in use × 1.2);
//   - a percentile is the end of its bucket (VPA rounds up within 5 %);
//   - every figure gets a 15 % margin; the upper bound is scaled by
//     (1 + 1/confidence) and the lower by (1 + 0.001/confidence)^−2;
//     confidence = min(days of history, samples / 1440);
//   - at least 25m CPU and 250 MiB memory.
//
// VPA recommends no limit (it keeps the pod's limit/request ratio); the
// Limit here is the upper bound.
type VPAMethod struct {
	c                    vpaConfig
	target, lower, upper [2]Step // [cpu, memory]
}

// VPA returns the VPA baseline with its defaults changed by opts. It
// returns an error for a percentile outside (0, 1], a negative margin or
// minimum, a growth not above 0, or a non-positive interval or half-life.
func VPA(opts ...VPAOption) (*VPAMethod, error) {
	c := vpaConfig{
		targetCPU: 0.9, lowerCPU: 0.5, upperCPU: 0.95,
		targetMemory: 0.9, lowerMemory: 0.5, upperMem: 0.95,
		halfLife: 24 * time.Hour, growth: 0.05, firstCPU: 0.01, firstMemory: 1e7,
		interval: 24 * time.Hour, intervals: 8, margin: 0.15,
		oomMinBump: 100 * MiB, oomRatio: 1.2, minCPU: 0.025, minMemory: 250 * MiB,
		upperMult: 1, upperExp: 1, lowerMult: 0.001, lowerExp: -2,
	}
	for _, o := range opts {
		o.applyVPA(&c)
	}
	for _, p := range []float64{c.targetCPU, c.lowerCPU, c.upperCPU, c.targetMemory, c.lowerMemory, c.upperMem} {
		if err := checkFraction("percentile", p); err != nil {
			return nil, fmt.Errorf("usage: VPA: %w", err)
		}
	}
	switch {
	case c.margin < 0 || math.IsNaN(c.margin):
		return nil, fmt.Errorf("usage: VPA: margin %v is negative", c.margin)
	case !(c.growth > 0) || !(c.firstCPU > 0) || !(c.firstMemory > 0):
		return nil, errors.New("usage: VPA: bucket growth and first bucket sizes must be positive")
	case c.halfLife <= 0 || c.interval <= 0 || c.intervals < 1:
		return nil, errors.New("usage: VPA: half-life, memory interval and interval count must be positive")
	case c.minCPU < 0 || c.minMemory < 0 || c.oomMinBump < 0 || c.oomRatio < 1:
		return nil, errors.New("usage: VPA: minimums and OOM bump must not be negative, the OOM ratio at least 1")
	}
	m := &VPAMethod{c: c}
	for i, p := range [2][3]float64{{c.targetCPU, c.lowerCPU, c.upperCPU}, {c.targetMemory, c.lowerMemory, c.upperMem}} {
		min := c.minCPU
		if i == 1 {
			min = c.minMemory
		}
		target := WithMargin(c.margin, PercentileStep(p[0]))
		if i == 1 {
			target = WithOOMBump(c.oomMinBump, c.oomRatio, target)
		}
		m.target[i] = WithMinimum(min, target)
		m.lower[i] = WithMinimum(min, WithConfidenceMultiplier(c.lowerMult, c.lowerExp, WithMargin(c.margin, PercentileStep(p[1]))))
		m.upper[i] = WithMinimum(min, WithConfidenceMultiplier(c.upperMult, c.upperExp, WithMargin(c.margin, PercentileStep(p[2]))))
	}
	return m, nil
}

// checkFraction refuses p outside (0, 1].
func checkFraction(what string, p float64) error {
	if !(p > 0 && p <= 1) {
		return fmt.Errorf("%s %v is not in (0, 1]", what, p)
	}
	return nil
}

// Name returns "vpa".
func (m *VPAMethod) Name() string { return "vpa" }

// Start returns an empty state for resource.
func (m *VPAMethod) Start(resource string) State {
	s := &vpaState{m: m, memory: resource == rightsize.Memory}
	if s.memory {
		s.h = newHistogram(1e12, m.c.firstMemory, 1+m.c.growth, m.c.halfLife)
	} else {
		s.h = newHistogram(1000, m.c.firstCPU, 1+m.c.growth, m.c.halfLife)
	}
	return s
}

type peak struct {
	value float64
	at    time.Time // the end of its interval
}

type vpaState struct {
	m      *VPAMethod
	memory bool
	h      *histogram
	ev     evidenceTracker
	// memory: the current interval ends at windowEnd; its peak is the
	// last of peaks (the earlier ones are the intervals kept).
	windowEnd time.Time
	peaks     []peak
	oom       float64 // memory in use at the last OOM kill kept, 0 if none
	oomAt     time.Time
}

func (s *vpaState) Add(t time.Time, v, w float64) {
	if !(w > 0) || math.IsNaN(v) || v < 0 {
		return
	}
	s.ev.add(t, w)
	if !s.memory {
		s.h.add(v, w, t)
		return
	}
	if s.windowEnd.IsZero() || !t.Before(s.windowEnd) {
		// A new interval: the first ends one interval after the first
		// sample; later ones follow on, skipping empty ones.
		if s.windowEnd.IsZero() {
			s.windowEnd = t
		}
		s.windowEnd = s.windowEnd.Add(t.Sub(s.windowEnd).Truncate(s.m.c.interval) + s.m.c.interval)
		s.peaks = append(s.peaks, peak{v, s.windowEnd})
		s.h.add(v, 1, s.windowEnd)
		for len(s.peaks) > s.m.c.intervals {
			old := s.peaks[0]
			s.h.sub(old.value, 1, old.at)
			s.peaks = s.peaks[1:]
		}
		if !s.oomAt.IsZero() && s.oomAt.Before(s.peaks[0].at.Add(-s.m.c.interval)) {
			s.oom, s.oomAt = 0, time.Time{}
		}
		return
	}
	cur := &s.peaks[len(s.peaks)-1]
	if v > cur.value {
		s.h.sub(cur.value, 1, cur.at)
		cur.value = v
		s.h.add(v, 1, cur.at)
	}
}

// AddOOM records an OOM kill at t: the memory in use then is the current
// interval's peak.
func (s *vpaState) AddOOM(t time.Time) {
	if len(s.peaks) == 0 {
		return
	}
	s.oom, s.oomAt = s.peaks[len(s.peaks)-1].value, t
}

func (s *vpaState) Percentile(p float64) float64 { return s.h.percentile(p) }
func (s *vpaState) Evidence() Evidence           { return s.ev.evidence() }
func (s *vpaState) OOM() (float64, bool)         { return s.oom, s.oom > 0 }

func (s *vpaState) Estimate(time.Time) Estimate {
	i := 0
	if s.memory {
		i = 1
	}
	e := Estimate{
		Request:  s.m.target[i].Estimate(s),
		Lower:    s.m.lower[i].Estimate(s),
		Upper:    finite(s.m.upper[i].Estimate(s)),
		Evidence: s.Evidence(),
	}
	e.Limit = e.Upper
	return e
}
