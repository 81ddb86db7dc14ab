package usage_test

import (
	"math"
	"testing"
	"time"

	"github.com/rightsize/rightsize/usage"
)

func near(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.10g, want %.10g", what, got, want)
	}
}

// TestVPACPU checks the VPA baseline against values computed by hand.
//
// 1441 samples, one a minute over 24 h: 0.1 cores for the first 18 h,
// 2.0 for the last 6 h. With a 24 h half-life a sample at hour h weighs
// 2^(h/24), so the last 6 h hold (2 − 2^0.75)/(2 − 1) = 31.8 % of the
// weight: P50 is in 0.1's bucket, P90 and P95 in 2.0's. Buckets start at
// 0.01·(1.05^i − 1)/0.05: 0.1 is in bucket 8, whose end is
// 0.2·(1.05^9 − 1) = 0.110266; 2.0 in bucket 49, ending at
// 0.2·(1.05^50 − 1) = 2.093480. Confidence is min(24h/24h, 1441/1440) = 1.
func TestVPACPU(t *testing.T) {
	m, err := usage.VPA()
	if err != nil {
		t.Fatal(err)
	}
	s := m.Start("cpu")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i <= 1440; i++ {
		v := 0.1
		if i > 1080 {
			v = 2.0
		}
		s.Add(t0.Add(time.Duration(i)*time.Minute), v, 1)
	}
	e := s.Estimate(t0.Add(24 * time.Hour))
	near(t, "target", e.Request, 2.093480*1.15, 1e-6)                  // 2.407502
	near(t, "upper", e.Upper, 2.093480*1.15*(1+1/1.0), 1e-6)           // ×(1 + 1/c)
	near(t, "lower", e.Lower, 0.110266*1.15*math.Pow(1.001, -2), 1e-5) // ×(1 + 0.001/c)^−2
	if e.Evidence.Samples != 1441 || e.Evidence.Confidence != 1 || e.Evidence.Span != 24*time.Hour || e.Evidence.Note != "" {
		t.Errorf("evidence %+v", e.Evidence)
	}
}

// TestVPAMemory: three days, peaks of 1, 2 and 3 GiB; the peaks weigh
// 2, 4 and 8 (each at its interval's end), so P90 is the 3 GiB peak's
// bucket, 58, ending at 1e7·(1.05^59 − 1)/0.05 = 3 357 940 170; +15 % is
// 3 861 631 196. An OOM kill on the last day raises the target to
// max(3 GiB + 100 MiB, 3 GiB × 1.2) = 3.6 GiB.
func TestVPAMemory(t *testing.T) {
	m, _ := usage.VPA()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	feed := func(s usage.State) {
		for day := range 3 {
			for i := range 288 {
				v := float64(day+1) * (1 << 30) * float64(i+1) / 288
				s.Add(t0.Add(time.Duration(day)*24*time.Hour+time.Duration(i)*5*time.Minute), v, 1)
			}
		}
	}
	s := m.Start("memory")
	feed(s)
	near(t, "target", s.Estimate(t0).Request, 3861631195.855512, 1e-9)
	s.(usage.OOMRecorder).AddOOM(t0.Add(71 * time.Hour))
	near(t, "target after OOM", s.Estimate(t0).Request, 3.6*(1<<30), 1e-9)

	// Peaks older than the kept intervals no longer count: with one
	// interval kept, three days give what the last day alone gives. (At a
	// low percentile, where the earlier, smaller peaks would show.)
	low := []usage.VPAOption{usage.VPAMemoryPercentiles(0.3, 0.3, 0.3), usage.VPAMinimum(0, 0)}
	m8, _ := usage.VPA(low...)
	m1, _ := usage.VPA(append(low, usage.VPAMemoryIntervals(24*time.Hour, 1))...)
	all8, all1, last1 := m8.Start("memory"), m1.Start("memory"), m1.Start("memory")
	feed(all8)
	feed(all1)
	for i := range 288 {
		last1.Add(t0.Add(48*time.Hour+time.Duration(i)*5*time.Minute), 3*(1<<30)*float64(i+1)/288, 1)
	}
	near(t, "one interval kept", all1.Estimate(t0).Request, last1.Estimate(t0).Request, 1e-9)
	if a, b := all8.Estimate(t0).Request, all1.Estimate(t0).Request; !(a < b) {
		t.Errorf("P30 of the peaks: %.0f with 8 intervals kept, %.0f with 1: the older, smaller peaks should lower it", a, b)
	}
}

func TestVPAMinimumAndShortHistory(t *testing.T) {
	m, _ := usage.VPA()
	s := m.Start("cpu")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Add(t0, 0.001, 1)
	e := s.Estimate(t0)
	if e.Request != 0.025 {
		t.Errorf("request %v, want the 25m minimum", e.Request)
	}
	if !math.IsInf(e.Upper, 1) || e.Evidence.Note == "" || e.Evidence.Confidence != 0 {
		t.Errorf("one sample: upper %v, evidence %+v; want an unbounded upper bound and a note", e.Upper, e.Evidence)
	}
}

func TestVPAOptionsValidated(t *testing.T) {
	for name, o := range map[string]usage.VPAOption{
		"percentile 0":    usage.VPACPUPercentiles(0, 0.5, 0.95),
		"percentile 1.5":  usage.VPAMemoryPercentiles(0.9, 0.5, 1.5),
		"negative margin": usage.VPAMargin(-0.1),
		"zero half-life":  usage.VPAHalfLife(0),
		"no growth":       usage.VPABuckets(0, 0.01, 1e7),
		"no intervals":    usage.VPAMemoryIntervals(24*time.Hour, 0),
	} {
		if _, err := usage.VPA(o); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// The steps compose and each can be tested alone.
type fixed struct {
	p   map[float64]float64
	ev  usage.Evidence
	oom float64
}

func (f fixed) Percentile(p float64) float64 { return f.p[p] }
func (f fixed) Evidence() usage.Evidence     { return f.ev }
func (f fixed) OOM() (float64, bool)         { return f.oom, f.oom > 0 }

func TestSteps(t *testing.T) {
	a := fixed{p: map[float64]float64{0.9: 100}, ev: usage.Evidence{Confidence: 0.5}}
	p := usage.PercentileStep(0.9)
	near(t, "percentile", p.Estimate(a), 100, 0)
	near(t, "margin", usage.WithMargin(0.15, p).Estimate(a), 115, 1e-12)
	near(t, "confidence upper", usage.WithConfidenceMultiplier(1, 1, p).Estimate(a), 300, 1e-12) // ×(1 + 1/0.5)
	near(t, "confidence lower", usage.WithConfidenceMultiplier(0.001, -2, p).Estimate(a), 100/math.Pow(1.002, 2), 1e-12)
	near(t, "minimum", usage.WithMinimum(250, p).Estimate(a), 250, 0)
	near(t, "maximum", usage.WithMaximum(50, p).Estimate(a), 50, 0)
	near(t, "no OOM", usage.WithOOMBump(100, 1.2, p).Estimate(a), 100, 0)
	a.oom = 90
	near(t, "OOM +min", usage.WithOOMBump(100, 1.2, p).Estimate(a), 190, 1e-12)
	a.oom = 1000
	near(t, "OOM ×ratio", usage.WithOOMBump(100, 1.2, p).Estimate(a), 1200, 1e-12)
}

func TestKRRSimpleAndSeed(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := usage.KRRSimple()
	cpu, mem := k.Start("cpu"), k.Start("memory")
	seedM, _ := usage.SeedMax(0.1)
	seed := seedM.Start("cpu")
	// 15 days: a value of 100 on day 0 falls out of the 14-day window.
	for i := range 15 * 24 {
		v := float64(i%24 + 1) // 1..24 each day
		if i == 0 {
			v = 100
		}
		at := t0.Add(time.Duration(i) * time.Hour)
		cpu.Add(at, v, 1)
		mem.Add(at, v, 1)
		seed.Add(at, v, 1)
	}
	// Last 14 days: 336 values, 1..24 each 14 times; P95 by linear
	// interpolation at position 0.95·335 = 318.25 of the sorted values:
	// positions 308..321 hold 23, 322..335 hold 24, so 23.
	near(t, "krr cpu", cpu.Estimate(t0).Request, 23, 1e-12)
	near(t, "krr memory", mem.Estimate(t0).Request, 24*1.15, 1e-12)
	near(t, "seed", seed.Estimate(t0).Request, 110, 1e-12)
	if _, err := usage.SeedMax(-1); err == nil {
		t.Error("negative headroom accepted")
	}
}
