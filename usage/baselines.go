package usage

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rightsize/rightsize"
)

// KRRSimpleMethod is the simple strategy of Robusta's KRR: the request is
// the 95th percentile of the CPU samples of the last 14 days, and the
// max of the memory samples of the last 14 days plus 15 %; the memory
// limit equals the request and CPU has no limit (Limit is +Inf). Lower
// and Upper equal the request: KRR gives no bounds.
type KRRSimpleMethod struct {
	window     time.Duration
	percentile float64
	buffer     float64
}

// KRRSimple returns KRR's simple strategy: CPU percentile 0.95, memory
// buffer 0.15, a history of 14 days.
func KRRSimple() *KRRSimpleMethod {
	return &KRRSimpleMethod{window: 14 * 24 * time.Hour, percentile: 0.95, buffer: 0.15}
}

// Name returns "krr-simple".
func (m *KRRSimpleMethod) Name() string { return "krr-simple" }

// Start returns an empty state for resource.
func (m *KRRSimpleMethod) Start(resource string) State {
	return &krrState{m: m, memory: resource == rightsize.Memory}
}

type weighted struct {
	t    time.Time
	v, w float64
}

type krrState struct {
	m      *KRRSimpleMethod
	memory bool
	win    []weighted // the window's samples, oldest first
	ev     evidenceTracker
}

func (s *krrState) Add(t time.Time, v, w float64) {
	if !(w > 0) || math.IsNaN(v) {
		return
	}
	s.ev.add(t, w)
	s.win = append(s.win, weighted{t, v, w})
	cut := 0
	for cut < len(s.win) && !s.win[cut].t.After(t.Add(-s.m.window)) {
		cut++
	}
	if cut > len(s.win)/2 {
		s.win = slices.Clone(s.win[cut:])
	} else if cut > 0 {
		s.win = s.win[cut:]
	}
}

func (s *krrState) Estimate(time.Time) Estimate {
	e := Estimate{Evidence: s.ev.evidence()}
	if len(s.win) == 0 {
		return e
	}
	if s.memory {
		hi := 0.0
		for _, x := range s.win {
			hi = math.Max(hi, x.v)
		}
		e.Request = hi * (1 + s.m.buffer)
		e.Limit = e.Request
	} else {
		e.Request = weightedQuantile(s.win, s.m.percentile)
		e.Limit = math.Inf(1)
	}
	e.Lower, e.Upper = e.Request, e.Request
	return e
}

// weightedQuantile returns the quantile p of the values, each counted w
// times, interpolating linearly between order statistics (Prometheus's
// quantile_over_time for unit weights).
func weightedQuantile(xs []weighted, p float64) float64 {
	s := slices.Clone(xs)
	slices.SortFunc(s, func(a, b weighted) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	total := 0.0
	for _, x := range s {
		total += x.w
	}
	// Positions 0..total-1 over the values repeated by weight; the
	// quantile lies at position p·(total−1).
	at := func(pos float64) float64 {
		cum := 0.0
		for _, x := range s {
			cum += x.w
			if pos < cum {
				return x.v
			}
		}
		return s[len(s)-1].v
	}
	pos := p * math.Max(total-1, 0)
	lo := math.Floor(pos)
	a, b := at(lo), at(lo+1)
	if lo+1 > total-1 {
		b = a
	}
	return a + (pos-lo)*(b-a)
}

// SeedMaxMethod is the seed project's rule made a method: the largest
// value seen so far, with a headroom (the seed printed min/avg/max and
// "rounded up to the nearest 10" percent of the host; on cores and bytes
// the meaningful reading is the all-time max plus 10 %). Lower and Upper
// equal the request; Limit too.
type SeedMaxMethod struct{ headroom float64 }

// SeedMax returns the seed's rule with a headroom fraction (the seed's
// was 0.1).
func SeedMax(headroom float64) (*SeedMaxMethod, error) {
	if headroom < 0 || math.IsNaN(headroom) {
		return nil, fmt.Errorf("usage: seed max: headroom %v is negative", headroom)
	}
	return &SeedMaxMethod{headroom}, nil
}

// Name returns "seed-max+10%" for the seed's headroom, or with the
// headroom given.
func (m *SeedMaxMethod) Name() string { return fmt.Sprintf("seed-max+%g%%", m.headroom*100) }

// Start returns an empty state.
func (m *SeedMaxMethod) Start(string) State { return &seedState{m: m} }

type seedState struct {
	m  *SeedMaxMethod
	hi float64
	ev evidenceTracker
}

func (s *seedState) Add(t time.Time, v, w float64) {
	if !(w > 0) || math.IsNaN(v) {
		return
	}
	s.ev.add(t, w)
	s.hi = math.Max(s.hi, v)
}

func (s *seedState) Estimate(time.Time) Estimate {
	r := s.hi * (1 + s.m.headroom)
	return Estimate{Request: r, Limit: r, Lower: r, Upper: r, Evidence: s.ev.evidence()}
}
