package predict_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/backtest"
	"github.com/rightsize/rightsize/predict"
	"gonum.org/v1/gonum/stat"
)

// fcT0 is a UTC midnight: the synthetic series start there.
var fcT0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// fcSeries returns n samples of svc's res, one every step from fcT0.
func fcSeries(svc, res string, n int, step time.Duration, f func(i int, t time.Time) float64) rightsize.Series {
	s := rightsize.Series{Task: svc, Service: svc, Resource: res}
	for i := range n {
		t := fcT0.Add(time.Duration(i) * step)
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, f(i, t))
	}
	return s
}

func fcModels(t *testing.T, opts ...predict.Option) []predict.Model {
	t.Helper()
	ms, err := predict.Models(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func fcFit(t *testing.T, m predict.Model, series ...rightsize.Series) {
	t.Helper()
	if err := m.Fit(context.Background(), predict.FromSeries(series...)); err != nil {
		t.Fatalf("%s: fit: %v", m.Kind(), err)
	}
}

func fcPredict(t *testing.T, m predict.Model, q predict.Query) predict.ResourcePrediction {
	t.Helper()
	p, err := m.Predict(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: predict %+v: %v", m.Kind(), q, err)
	}
	if len(p.Resources) != 1 {
		t.Fatalf("%s: %d resources, want 1", m.Kind(), len(p.Resources))
	}
	r := p.Resources[0]
	if !(r.Point >= 0 && r.Upper >= r.Point) || math.IsInf(r.Upper, 0) {
		t.Fatalf("%s: point %v, upper %v: want 0 <= point <= upper, finite", m.Kind(), r.Point, r.Upper)
	}
	return r
}

// sine is a pure daily cycle: 10 + 5 sin(2π t / 24h).
func sine(t time.Time) float64 {
	return 10 + 5*math.Sin(2*math.Pi*float64(t.Sub(fcT0))/float64(24*time.Hour))
}

// sineMean is the mean of sine over the 5-minute sample times in
// [a, a+d): what the samples of the span will average.
func sineMean(a time.Time, d time.Duration) float64 {
	sum, n := 0.0, 0
	for t := fcT0.Add(a.Sub(fcT0).Truncate(5 * time.Minute)); t.Before(a.Add(d)); t = t.Add(5 * time.Minute) {
		if !t.Before(a) {
			sum += sine(t)
			n++
		}
	}
	return sum / float64(n)
}

func TestHoltWintersRecoversDailySine(t *testing.T) {
	s := fcSeries("web", "cpu", 14*288, 5*time.Minute, func(_ int, t time.Time) float64 { return sine(t) })
	m, err := predict.NewHoltWinters()
	if err != nil {
		t.Fatal(err)
	}
	fcFit(t, m, s)
	last := s.Times[len(s.Times)-1]
	for _, ahead := range []time.Duration{0, 5 * time.Minute, 3 * time.Hour, 11 * time.Hour, 5*time.Minute + 7*time.Hour} {
		from := last.Add(ahead)
		r := fcPredict(t, m, predict.Query{Service: "web", From: from})
		// Hours aligned with the model's hourly bins are recovered to
		// 0.2 % of the amplitude; others are made of two bins' means.
		tol := 0.01
		if from.Truncate(time.Hour) != from {
			tol = 0.1
		}
		if want := sineMean(from, time.Hour); math.Abs(r.Point-want) > tol {
			t.Errorf("%v ahead: point %.4f, want the hour's mean %.4f", ahead, r.Point, want)
		}
		if r.Upper-r.Point > 1.5 {
			t.Errorf("%v ahead: upper %.4f is %.4f over the point: errors of a pure sine should be small", ahead, r.Upper, r.Upper-r.Point)
		}
		if r.Note != "" {
			t.Errorf("note %q on two weeks of history", r.Note)
		}
	}
}

func TestSelectorOnDailySine(t *testing.T) {
	s := fcSeries("web", "cpu", 10*288, 5*time.Minute, func(_ int, t time.Time) float64 { return sine(t) })
	m, err := predict.NewSelector()
	if err != nil {
		t.Fatal(err)
	}
	fcFit(t, m, s)
	from := s.Times[len(s.Times)-1]
	r := fcPredict(t, m, predict.Query{Service: "web"})
	hi := 0.0
	for d := time.Duration(0); d < time.Hour; d += time.Minute {
		hi = math.Max(hi, sine(from.Add(d)))
	}
	if r.Upper < hi*0.99 || r.Upper > hi*1.3 {
		t.Errorf("upper %.3f, the hour's maximum %.3f (%s)", r.Upper, hi, r.Method)
	}
	if want := sineMean(from, time.Hour); math.Abs(r.Point-want) > 0.5 {
		t.Errorf("point %.3f, the hour's mean %.3f (%s)", r.Point, want, r.Method)
	}
}

func TestConstantAndZeroSeries(t *testing.T) {
	for _, v := range []float64{0.5, 0} {
		s := fcSeries("svc", "cpu", 4*288, 5*time.Minute, func(int, time.Time) float64 { return v })
		for _, m := range fcModels(t) {
			fcFit(t, m, s)
			r := fcPredict(t, m, predict.Query{Service: "svc"})
			point, upper := v, v
			switch m.Kind() {
			case "window-max":
				upper = v * 1.15
			case "decaying-percentile":
				// read at the end of a 5 % bucket, plus the 15 % margin
				point, upper = v*1.05, v*1.05*1.15
			}
			if math.Abs(r.Point-point) > 0.05*point+1e-12 || math.Abs(r.Upper-upper) > 0.05*upper+1e-12 {
				t.Errorf("%s on constant %v: point %v, upper %v; want about %v and %v", m.Kind(), v, r.Point, r.Upper, point, upper)
			}
		}
	}
}

func TestStepChange(t *testing.T) {
	// 1 core for three days, then 3 cores, with a little noise.
	rng := rand.New(rand.NewPCG(1, 2))
	s := fcSeries("svc", "cpu", 5*288, 5*time.Minute, func(i int, _ time.Time) float64 {
		base := 1.0
		if i >= 3*288 {
			base = 3
		}
		return base * (1 + 0.02*rng.Float64())
	})
	for _, kind := range []string{"selector", "holt-winters", "window-max", "last-value"} {
		m, err := predict.New(kind)
		if err != nil {
			t.Fatal(err)
		}
		fcFit(t, m, s)
		r := fcPredict(t, m, predict.Query{Service: "svc"})
		if r.Point < 2.9 || r.Point > 3.2 {
			t.Errorf("%s: point %.3f two days after a step to 3", kind, r.Point)
		}
		// Holt-Winters' conformal level still holds the errors it made
		// when the step came (within its 7-day memory).
		if r.Upper < 3 || (kind != "holt-winters" && r.Upper > 3.06*1.3) {
			t.Errorf("%s: upper %.3f two days after a step to 3 (samples up to 3.06)", kind, r.Upper)
		}
	}
}

func TestTooLittleHistoryAndGaps(t *testing.T) {
	one := fcSeries("one", "memory", 1, time.Minute, func(int, time.Time) float64 { return 7e8 })
	// Three days, a 31 h outage, one more day.
	gap := fcSeries("gap", "cpu", 5*288, 5*time.Minute, func(i int, t time.Time) float64 { return 1 + 0.5*math.Sin(float64(i)/40) })
	cut := 3 * 288
	lost := 31 * 12
	gap.Times, gap.Values = append(gap.Times[:cut:cut], gap.Times[cut+lost:]...), append(gap.Values[:cut:cut], gap.Values[cut+lost:]...)
	for _, m := range fcModels(t) {
		fcFit(t, m, one, gap)
		r := fcPredict(t, m, predict.Query{Service: "one"})
		switch m.Kind() {
		case "selector", "holt-winters":
			if r.Note == "" {
				t.Errorf("%s: no note on a single sample", m.Kind())
			}
			if r.Upper < 7e8 {
				t.Errorf("%s: upper %v below the one value seen", m.Kind(), r.Upper)
			}
		}
		g := fcPredict(t, m, predict.Query{Service: "gap"})
		if lastV := gap.Values[len(gap.Values)-1]; m.Kind() == "selector" && (g.Upper < lastV || g.Upper > 3) {
			t.Errorf("selector after an outage: upper %v, last value %v", g.Upper, lastV)
		}
		// Far beyond the history: still an answer.
		fcPredict(t, m, predict.Query{Service: "gap", From: gap.Times[len(gap.Times)-1].Add(30 * 24 * time.Hour)})
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	good := fcSeries("svc", "cpu", 10, time.Minute, func(int, time.Time) float64 { return 1 })
	for _, m := range fcModels(t) {
		if _, err := m.Predict(ctx, predict.Query{Service: "svc"}); !errors.Is(err, predict.ErrNotFitted) {
			t.Errorf("%s: predict before fit: %v", m.Kind(), err)
		}
		if err := predict.Save(&bytes.Buffer{}, m); !errors.Is(err, predict.ErrNotFitted) {
			t.Errorf("%s: save before fit: %v", m.Kind(), err)
		}
		if err := m.Fit(ctx, predict.FromSeries()); !errors.Is(err, predict.ErrNoHistory) {
			t.Errorf("%s: empty history: %v", m.Kind(), err)
		}
		for _, bad := range []float64{math.NaN(), math.Inf(1), -1} {
			s := fcSeries("svc", "cpu", 10, time.Minute, func(i int, _ time.Time) float64 {
				if i == 7 {
					return bad
				}
				return 1
			})
			err := m.Fit(ctx, predict.FromSeries(s))
			if !errors.Is(err, predict.ErrInvalidHistory) || !errors.Is(err, rightsize.ErrInvalidSample) || !strings.Contains(err.Error(), "sample 7") {
				t.Errorf("%s: value %v: %v", m.Kind(), bad, err)
			}
		}
		mismatched := good
		mismatched.Values = mismatched.Values[:5]
		if err := m.Fit(ctx, predict.FromSeries(mismatched)); !errors.Is(err, predict.ErrInvalidHistory) {
			t.Errorf("%s: 10 times, 5 values: %v", m.Kind(), err)
		}
		fcFit(t, m, good)
		for _, q := range []predict.Query{{}, {Service: "svc", Horizon: 24 * time.Hour}} {
			if _, err := m.Predict(ctx, q); !errors.Is(err, predict.ErrBadQuery) {
				t.Errorf("%s: query %+v: %v", m.Kind(), q, err)
			}
		}
		for _, q := range []predict.Query{{Service: "other"}, {Service: "svc", Resources: []string{"memory"}}, {Service: "svc", Task: "t9"}} {
			if _, err := m.Predict(ctx, q); !errors.Is(err, predict.ErrUnknownSeries) {
				t.Errorf("%s: query %+v: %v", m.Kind(), q, err)
			}
		}
	}
	// Out of order is sorted by FromSeries, refused when a history hands
	// it over as it is.
	rev := fcSeries("svc", "cpu", 10, time.Minute, func(i int, _ time.Time) float64 { return float64(i) })
	for i, j := 0, len(rev.Times)-1; i < j; i, j = i+1, j-1 {
		rev.Times[i], rev.Times[j] = rev.Times[j], rev.Times[i]
	}
	m, _ := predict.NewLastValue()
	fcFit(t, m, rev)
	if r := fcPredict(t, m, predict.Query{Service: "svc"}); r.Point != 0 {
		t.Errorf("last value of a reversed series: %v, want the value of the latest time, 0", r.Point)
	}
	raw := predict.HistoryFunc(func(_ context.Context, fn func(rightsize.Series) error) error { return fn(rev) })
	if err := m.Fit(ctx, raw); !errors.Is(err, predict.ErrInvalidHistory) {
		t.Errorf("unsorted series: %v", err)
	}
	for _, opt := range []predict.Option{predict.WithHorizon(0), predict.WithQuantile(1), predict.WithQuantile(math.NaN()),
		predict.WithMargin(-1), predict.WithPercentile(0), predict.WithMemory(-time.Hour), predict.WithSeason(time.Second),
		predict.WithUnderCost("", math.Inf(1)), predict.WithUnderCost("memory", -1), predict.WithWorkers(-1)} {
		for _, k := range predict.Kinds {
			if _, err := predict.New(k, opt); err == nil {
				t.Errorf("%s accepted a bad option", k)
			}
		}
	}
	if _, err := predict.New("neural-net"); !errors.Is(err, predict.ErrUnknownKind) {
		t.Errorf("unknown kind: %v", err)
	}
}

// fcHistory is a few services with daily cycles, noise, zeros and an
// outage: something for every model to learn.
func fcHistory() []rightsize.Series {
	rng := rand.New(rand.NewPCG(7, 11))
	var out []rightsize.Series
	for k, svc := range []string{"api", "batch", "idle"} {
		for _, res := range []string{"cpu", "memory"} {
			scale := 1.0
			if res == "memory" {
				scale = 1 << 30
			}
			s := fcSeries(svc, res, 6*288, 5*time.Minute, func(i int, t time.Time) float64 {
				switch k {
				case 1:
					if (i/36)%3 == 0 {
						return 0
					}
				case 2:
					return 0
				}
				return scale * math.Max(0, sine(t)/10+0.2*rng.NormFloat64())
			})
			if k == 0 { // an outage on the fourth day
				cut, lost := 4*288, 31*12
				s.Times = append(s.Times[:cut:cut], s.Times[cut+lost:]...)
				s.Values = append(s.Values[:cut:cut], s.Values[cut+lost:]...)
			}
			out = append(out, s)
		}
	}
	return out
}

func TestSaveLoadPredictsIdentically(t *testing.T) {
	ctx := context.Background()
	h := fcHistory()
	for _, m := range fcModels(t) {
		fcFit(t, m, h...)
		var saved bytes.Buffer
		if err := predict.Save(&saved, m); err != nil {
			t.Fatalf("%s: save: %v", m.Kind(), err)
		}
		loaded, err := predict.Load(bytes.NewReader(saved.Bytes()))
		if err != nil {
			t.Fatalf("%s: load: %v", m.Kind(), err)
		}
		if loaded.Kind() != m.Kind() || loaded.Name() != m.Name() || loaded.Horizon() != m.Horizon() || loaded.Quantile() != m.Quantile() {
			t.Errorf("%s: loaded %s/%s", m.Kind(), loaded.Kind(), loaded.Name())
		}
		last := h[0].Times[len(h[0].Times)-1]
		for _, svc := range []string{"api", "batch", "idle"} {
			for _, from := range []time.Time{{}, last.Add(90 * time.Minute), last.Add(50 * time.Hour)} {
				q := predict.Query{Service: svc, From: from}
				want, err := m.Predict(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got, err := loaded.Predict(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want.Resources {
					if w, g := want.Resources[i], got.Resources[i]; w != g {
						t.Errorf("%s %s from %v: saved %+v, loaded %+v", m.Kind(), svc, from, w, g)
					}
				}
			}
		}
		var again bytes.Buffer
		if err := predict.Save(&again, loaded); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(saved.Bytes(), again.Bytes()) {
			t.Errorf("%s: saving the loaded model gives other bytes", m.Kind())
		}
	}
	for _, bad := range []string{"", "{}", `{"format":"rightsize.forecast","version":99}`, "\x1f\x8bnot gzip"} {
		if _, err := predict.Load(strings.NewReader(bad)); !errors.Is(err, predict.ErrFormat) {
			t.Errorf("load %q: %v", bad, err)
		}
	}
}

func TestDeterministicWhateverTheWorkers(t *testing.T) {
	h := fcHistory()
	var first []byte
	for _, workers := range []int{1, 3} {
		m, err := predict.NewSelector(predict.WithWorkers(workers))
		if err != nil {
			t.Fatal(err)
		}
		fcFit(t, m, h...)
		var b bytes.Buffer
		if err := predict.Save(&b, m); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = b.Bytes()
		} else if !bytes.Equal(first, b.Bytes()) {
			t.Errorf("%d workers learnt another model than 1", workers)
		}
	}
}

func TestLinearTrendIsTheSeedsLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := fcSeries("svc", "memory", 500, time.Second, func(i int, _ time.Time) float64 { return 100<<20 + 1024*float64(i) + 1e5*rng.Float64() })
	m, _ := predict.NewLinearTrend(predict.WithHorizon(time.Minute))
	fcFit(t, m, s)
	xs := make([]float64, len(s.Times))
	for i, ti := range s.Times {
		xs[i] = ti.Sub(s.Times[0]).Seconds()
	}
	a, b := stat.LinearRegression(xs, s.Values, nil, false)
	from := s.Times[len(s.Times)-1].Add(100 * time.Second)
	r := fcPredict(t, m, predict.Query{Service: "svc", From: from})
	want := a + b*from.Add(30*time.Second).Sub(s.Times[0]).Seconds()
	if math.Abs(r.Point-want) > 1e-9*want || r.Upper != r.Point {
		t.Errorf("point %v upper %v, want gonum's line %v at the horizon's middle", r.Point, r.Upper, want)
	}
	// A falling line is floored at zero.
	fall := fcSeries("down", "cpu", 2, time.Minute, func(i int, _ time.Time) float64 { return float64(2 - i) })
	fcFit(t, m, fall)
	if r := fcPredict(t, m, predict.Query{Service: "down", From: fall.Times[1].Add(time.Hour)}); r.Point != 0 {
		t.Errorf("falling line: %v", r.Point)
	}
}

func TestBacktestHarness(t *testing.T) {
	h := fcHistory()
	ms := fcModels(t)
	rep, err := backtest.Run(context.Background(), h, predict.Methods(ms...), backtest.WithStep(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	under := map[string]float64{}
	for _, r := range rep.Rows {
		if r.MAE == nil || math.IsNaN(*r.MAE) || math.IsNaN(r.Slack) {
			t.Errorf("%s %s: no point forecast scored or NaN: %+v", r.Method, r.Resource, r)
		}
		if r.Resource == "cpu" {
			under[r.Method] = r.UnderProvisioning
		}
	}
	sel, _ := predict.NewSelector()
	if under[sel.Name()] > 4 {
		t.Errorf("selector under-provisions %.2f %% of cpu samples, budget 2 %%", under[sel.Name()])
	}
	// NaN and negative samples shown to a model are skipped, not learnt.
	bm, _ := sel.New(backtest.Labels{Service: "x", Resource: "cpu"})
	bm.Observe([]time.Time{fcT0, fcT0.Add(time.Minute), fcT0.Add(2 * time.Minute)}, []float64{1, math.NaN(), -3})
	if f := bm.Forecast(fcT0.Add(3*time.Minute), time.Hour); math.IsNaN(f.Level) || f.Level < 1 {
		t.Errorf("after NaN and negative samples: %+v", f)
	}
}

func TestConcurrentPredict(t *testing.T) {
	ctx := context.Background()
	h := fcHistory()
	for _, m := range fcModels(t) {
		fcFit(t, m, h...)
		want, _ := m.Predict(ctx, predict.Query{Service: "api"})
		done := make(chan error, 4)
		for range 4 {
			go func() {
				for range 20 {
					got, err := m.Predict(ctx, predict.Query{Service: "api"})
					if err != nil || got.Resources[0] != want.Resources[0] || got.Resources[1] != want.Resources[1] {
						done <- fmt.Errorf("%s: %v %+v", m.Kind(), err, got)
						return
					}
				}
				done <- nil
			}()
		}
		for range 4 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
}
