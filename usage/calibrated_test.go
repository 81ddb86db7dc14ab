package usage_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize/usage"
)

// perDay is the number of 5-minute samples in a day.
const perDay = 288

// replay feeds st one value every 5 minutes for days days, the value of
// sample i being f(i), and holds each day at the request st recommends
// at its start (the backtest's rolling origin). It returns the levels
// held and, over the days from score on, the share of samples above the
// level held.
func replay(st usage.State, days, score int, f func(i int) float64) (levels []float64, share float64) {
	above, n := 0, 0
	for d := range days {
		level := math.NaN()
		if d > 0 {
			level = st.Estimate(t0.Add(time.Duration(d) * 24 * time.Hour)).Request
		}
		levels = append(levels, level)
		for k := range perDay {
			i := d*perDay + k
			v := f(i)
			if d >= score {
				n++
				if v > level {
					above++
				}
			}
			st.Add(t0.Add(time.Duration(i)*5*time.Minute), v, 1)
		}
	}
	return levels, float64(above) / float64(n)
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// The method meets the budget it is given on series it has not seen, of
// known distributions, and holds about the quantile the budget names
// (the level a method that knew the distribution would hold): scored
// over days 8–60, the share above is at most 1.5 × the budget and the
// mean level within ±10 % of the true quantile.
func TestCalibratedMeetsBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name     string
		draw     func() float64
		quantile func(p float64) float64 // the distribution's
	}{
		{"exponential mean 0.3", func() float64 { return rng.ExpFloat64() * 0.3 },
			func(p float64) float64 { return -0.3 * math.Log(1-p) }},
		{"lognormal µ=0 σ=0.5", func() float64 { return math.Exp(0.5 * rng.NormFloat64()) },
			func(p float64) float64 { return math.Exp(0.5 * normalQuantile(p)) }},
		{"uniform 1–2 GiB", func() float64 { return (1 + rng.Float64()) * (1 << 30) },
			func(p float64) float64 { return (1 + p) * (1 << 30) }},
	} {
		for _, budget := range []float64{0.01, 0.002} {
			m, err := usage.Calibrated(usage.Budget("cpu", budget))
			if err != nil {
				t.Fatal(err)
			}
			levels, share := replay(m.Start("cpu"), 60, 8, func(int) float64 { return c.draw() })
			want := c.quantile(1 - budget)
			got := mean(levels[8:])
			t.Logf("%s, budget %g: %.3f %% above, mean level %.4g (true quantile %.4g)", c.name, budget, 100*share, got, want)
			if share > 1.5*budget {
				t.Errorf("%s: %.3f %% of samples above the request, budget %g %%", c.name, 100*share, 100*budget)
			}
			if got < 0.9*want || got > 1.1*want {
				t.Errorf("%s, budget %g: mean level %.4g, the distribution's quantile is %.4g", c.name, budget, got, want)
			}
		}
	}
}

// normalQuantile is the standard normal's quantile (Acklam's rational
// approximation; ample for a test's reference value).
func normalQuantile(p float64) float64 {
	a := [...]float64{-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00}
	b := [...]float64{-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01}
	c := [...]float64{-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00}
	d := [...]float64{7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00}
	if p > 0.97575 {
		q := math.Sqrt(-2 * math.Log(1-p))
		return -(((((c[0]*q+c[1])*q+c[2])*q+c[3])*q+c[4])*q + c[5]) / ((((d[0]*q+d[1])*q+d[2])*q+d[3])*q + 1)
	}
	q := p - 0.5
	r := q * q
	return (((((a[0]*r+a[1])*r+a[2])*r+a[3])*r+a[4])*r + a[5]) * q / (((((b[0]*r+b[1])*r+b[2])*r+b[3])*r+b[4])*r + 1)
}

// A daily wave with noise: the budget holds there too.
func TestCalibratedMeetsBudgetOnADailyWave(t *testing.T) {
	m, err := usage.Calibrated(usage.Budget("cpu", 0.02))
	if err != nil {
		t.Fatal(err)
	}
	levels, share := replay(m.Start("cpu"), 20, 10, func(i int) float64 {
		return 0.5 + 0.3*math.Sin(2*math.Pi*float64(i%perDay)/perDay) + 0.1*math.Sin(float64(i)*1.7)
	})
	if share > 0.03 {
		t.Errorf("%.2f %% above the request, budget 2 %%", 100*share)
	}
	if l := levels[len(levels)-1]; l > 0.95 {
		t.Errorf("request %v for values below 0.9", l)
	}
}

// After a step up, the request covers the new level from the first
// period that starts after a full period at it: within one horizon. (The
// period in which the step happens is above the request: no history can
// announce it.)
func TestCalibratedAdaptsToAStepUp(t *testing.T) {
	m, _ := usage.Calibrated()
	rng := rand.New(rand.NewPCG(3, 4))
	levels, _ := replay(m.Start("cpu"), 21, 1, func(i int) float64 {
		v := 1 + 0.05*rng.NormFloat64()
		if i >= 14*perDay {
			v *= 2
		}
		return v
	})
	if levels[14] > 1.5 {
		t.Errorf("request %v before the step, for values about 1", levels[14])
	}
	for d := 15; d < 21; d++ {
		if levels[d] < 2.1 {
			t.Errorf("day %d after a step to 2 ± 0.1: request %v", d-14, levels[d])
		}
	}
}

// After a fall, the history before it is forgotten once the fall has
// lasted RestartAfter periods (7 by default, and more than twice as long
// as any earlier dip): the request then follows the new level. Until
// then the old level's samples keep it up, as the budget asks of a
// history that might come back.
func TestCalibratedAdaptsToAFall(t *testing.T) {
	m, _ := usage.Calibrated()
	rng := rand.New(rand.NewPCG(5, 6))
	levels, _ := replay(m.Start("cpu"), 30, 1, func(i int) float64 {
		v := 2 + 0.1*rng.NormFloat64()
		if i >= 14*perDay {
			v /= 4
		}
		return v
	})
	if levels[14+6] < 1.5 {
		t.Errorf("request %v six days after the fall: the old level is forgotten too soon", levels[14+6])
	}
	for d := 14 + 8; d < 30; d++ {
		if levels[d] > 0.75 {
			t.Errorf("day %d after a fall from 2 to 0.5: request %v", d-14, levels[d])
		}
	}
}

// Dips the service came back from set how long a fall must last: after
// idle spells of four days, an idle spell of seven is not a fall (the
// busy level is kept); one of nine is.
func TestCalibratedRestartNeedsAnUnprecedentedFall(t *testing.T) {
	busyIdle := func(idle ...[2]int) func(int) float64 {
		return func(i int) float64 {
			d := i / perDay
			for _, s := range idle {
				if d >= s[0] && d < s[1] {
					return 0.05
				}
			}
			return 4
		}
	}
	m, _ := usage.Calibrated()
	levels, _ := replay(m.Start("cpu"), 30, 1, busyIdle([2]int{5, 9}, [2]int{12, 16}, [2]int{19, 26}))
	if levels[26] < 4 {
		t.Errorf("after a 7-day idle spell that follows 4-day ones: request %v, the busy level forgotten", levels[26])
	}
	levels, _ = replay(m.Start("cpu"), 32, 1, busyIdle([2]int{5, 9}, [2]int{12, 16}, [2]int{19, 32}))
	if levels[29] > 0.1 {
		t.Errorf("after a 10-day idle spell that follows 4-day ones: request %v", levels[29])
	}
}

// With little history, every bound is finite and within twice the
// request, and the evidence says how far the method is from trusting
// itself.
func TestCalibratedShortHistory(t *testing.T) {
	m, _ := usage.Calibrated()
	for _, c := range []struct {
		samples int
		note    string
	}{{1, "not yet calibrated"}, {72, "not yet calibrated"}, {2 * perDay, "calibrating: 1 of 3"}, {10 * perDay, ""}} {
		s := m.Start("memory")
		for i := range c.samples {
			s.Add(t0.Add(time.Duration(i)*5*time.Minute), float64(100<<20+i%7<<20), 1)
		}
		e := s.Estimate(t0)
		if math.IsInf(e.Upper, 0) || e.Upper > 2*e.Limit+1 || e.Limit < e.Request || e.Lower > e.Request || e.Request < 100<<20 {
			t.Errorf("%d samples: request %v, limit %v, bounds [%v, %v]", c.samples, e.Request, e.Limit, e.Lower, e.Upper)
		}
		if c.note == "" && e.Evidence.Note != "" || !strings.Contains(e.Evidence.Note, c.note) {
			t.Errorf("%d samples: note %q, want %q", c.samples, e.Evidence.Note, c.note)
		}
		if e.Evidence.Budget != 0.001 {
			t.Errorf("%d samples: budget %v in the evidence", c.samples, e.Evidence.Budget)
		}
	}
}

func TestCalibratedOptionsValidated(t *testing.T) {
	for name, o := range map[string]usage.CalibratedOption{
		"budget 0":          usage.Budget("cpu", 0),
		"budget 1":          usage.Budget("memory", 1),
		"negative minimum":  usage.Minimum(-1, 0),
		"negative margin":   usage.FallbackMargin(-0.1),
		"zero horizon":      usage.Horizon(0),
		"no half-life":      usage.HalfLives(),
		"zero half-life":    usage.HalfLives(0),
		"negative restarts": usage.RestartAfter(-1),
	} {
		if _, err := usage.Calibrated(o); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestParseBudgets(t *testing.T) {
	opts, err := usage.ParseBudgets("cpu=0.05, memory=0.001")
	if err != nil || len(opts) != 2 {
		t.Fatalf("%v, %v", opts, err)
	}
	m, _ := usage.Calibrated(opts...)
	if m.BudgetOf("cpu") != 0.05 || m.BudgetOf("memory") != 0.001 || m.BudgetOf("threads") != 0.01 {
		t.Errorf("budgets %v %v %v", m.BudgetOf("cpu"), m.BudgetOf("memory"), m.BudgetOf("threads"))
	}
	if opts, err := usage.ParseBudgets(""); err != nil || opts != nil {
		t.Errorf("empty: %v, %v", opts, err)
	}
	for _, bad := range []string{"cpu", "cpu=1", "cpu=0", "cpu=x", "CPU!=0.1"} {
		if _, err := usage.ParseBudgets(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMethodNamed(t *testing.T) {
	for _, name := range usage.MethodNames {
		m, err := usage.MethodNamed(name)
		if err != nil || !strings.HasPrefix(m.Name(), name) {
			t.Errorf("%s: %v, %v", name, m, err)
		}
	}
	if _, err := usage.MethodNamed("oracle"); err == nil || !strings.Contains(err.Error(), "calibrated") {
		t.Errorf("unknown method: %v", err)
	}
}
