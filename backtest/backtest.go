// Package backtest replays resource histories to score methods that
// provision a level ahead of time: recommendations (usage's VPA baseline
// and default method) and forecasts (predict's models) alike.
//
// For each series, from the end of a warm-up (default the first 24 h)
// on, every Step (default 24 h) the harness asks the method's model for
// the level to hold over the next step, given everything observed so far,
// scores that step's samples against it, and then shows the model those
// samples. Per method and resource it reports:
//
//   - under-provisioning: the share of scored samples above the level;
//   - slack: Σ(level − usage)⁺ / Σ level over the scored samples, the
//     share of what was reserved that went unused;
//   - oracle slack: the slack of an oracle that holds every step at the
//     same quantile q of that step's own values (known in advance, which
//     no method can do), q chosen by bisection so that the oracle's pooled
//     under-provisioning equals the method's — the floor that no level
//     held constant over a step can beat by much;
//   - excess slack: slack − oracle slack, the waste a method adds over
//     that floor, in points;
//   - the spread across series: the median and 90th percentile of the
//     per-series under-provisioning and excess slack (each series' oracle
//     matched to its own under-provisioning);
//   - MAE and sMAPE of the point forecast, for models that make one.
//
// Figures are in percent (excess slack in percentage points). A model is
// anything that learns from samples in time order and names a level per
// step ([Model]); a [Method] makes one model per series. Series are
// scored in parallel, each series' methods in turn; the result does not
// depend on the order.
package backtest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/rightsize/rightsize"
)

// Labels name a series.
type Labels struct {
	Task     string `json:"task"`
	Service  string `json:"service"`
	Instance string `json:"instance"`
	Resource string `json:"resource"`
}

// LabelsOf returns the labels of s.
func LabelsOf(s rightsize.Series) Labels {
	return Labels{Task: s.Task, Service: s.Service, Instance: s.Instance, Resource: s.Resource}
}

// Forecast is what a model says about the next step.
type Forecast struct {
	// Level is the level to hold over the step: a request, or an upper
	// forecast. It must not be NaN.
	Level float64
	// Point is a point forecast of the step's samples (their expected
	// value), scored by MAE and sMAPE; NaN when the model makes none.
	Point float64
}

// Model is one method's state for one series.
//
// Observe is given the samples of the series in time order, a batch at a
// time, each batch later than the one before. Forecast returns what the
// model says about [from, from+horizon), from all it has observed (all of
// it earlier than from); it is called once per scored step, between
// Observe calls, and must not change what later forecasts would be.
type Model interface {
	Observe(times []time.Time, values []float64)
	Forecast(from time.Time, horizon time.Duration) Forecast
}

// Method makes one model per series. New may return an error matching
// ErrSkip when the method has nothing to say about a series (an
// allocation file that lacks it, say): the series is left out of the
// method's figures and counted in Row.Skipped. Any other error stops the
// run.
type Method interface {
	Name() string
	New(l Labels) (Model, error)
}

// ErrSkip is matched by the error a Method's New returns for a series it
// does not score.
var ErrSkip = errors.New("backtest: series skipped")

// Option configures Run.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	step, warmup time.Duration
	workers      int
	progress     func(done, total int)
}

// WithStep sets how long a level is held before the next is computed,
// and so the horizon of each forecast. Default 24h.
func WithStep(d time.Duration) Option { return optionFunc(func(c *config) { c.step = d }) }

// WithWarmup sets how much of each series is only observed before the
// first scored step. Default 24h.
func WithWarmup(d time.Duration) Option { return optionFunc(func(c *config) { c.warmup = d }) }

// WithWorkers sets how many series are scored at once. Default
// GOMAXPROCS.
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithProgress has fn called after each series is scored by every
// method, with the number done and the total, from one goroutine at a
// time.
func WithProgress(fn func(done, total int)) Option {
	return optionFunc(func(c *config) { c.progress = fn })
}

// Report is the result of a run.
type Report struct {
	Step   time.Duration `json:"-"`
	Warmup time.Duration `json:"-"`
	// Rows holds one row per method and resource: methods in the order
	// given, resources sorted.
	Rows []Row `json:"rows"`
	// Series holds one row per method and series scored, in the order of
	// Rows.
	Series []SeriesRow `json:"series,omitempty"`
}

// Row is one method's figures on one resource, in percent.
type Row struct {
	Method   string `json:"method"`
	Resource string `json:"resource"`
	// Series is the number of series scored; Skipped those the method
	// did not score.
	Series  int `json:"series"`
	Skipped int `json:"skipped"`
	// Samples is the number of samples scored; Steps the number of steps
	// that held any.
	Samples int64 `json:"samples"`
	Steps   int   `json:"steps"`
	// UnderProvisioning, Slack, OracleSlack in percent; ExcessSlack in
	// points; OracleQuantile is the oracle's q.
	UnderProvisioning float64 `json:"under_provisioning"`
	Slack             float64 `json:"slack"`
	OracleSlack       float64 `json:"oracle_slack"`
	ExcessSlack       float64 `json:"excess_slack"`
	OracleQuantile    float64 `json:"oracle_quantile"`
	// The spread across series: median and 90th percentile.
	UnderProvisioningP50 float64 `json:"under_provisioning_p50"`
	UnderProvisioningP90 float64 `json:"under_provisioning_p90"`
	ExcessSlackP50       float64 `json:"excess_slack_p50"`
	ExcessSlackP90       float64 `json:"excess_slack_p90"`
	// MAE (in the resource's unit) and sMAPE (percent) of the point
	// forecast; nil for a method that makes none.
	MAE   *float64 `json:"mae,omitempty"`
	SMAPE *float64 `json:"smape,omitempty"`
}

// SeriesRow is one method's figures on one series, in percent.
type SeriesRow struct {
	Method string `json:"method"`
	Labels
	Samples           int64   `json:"samples"`
	UnderProvisioning float64 `json:"under_provisioning"`
	Slack             float64 `json:"slack"`
	OracleSlack       float64 `json:"oracle_slack"`
	ExcessSlack       float64 `json:"excess_slack"`
	// MeanLevel is the mean level held over the scored samples.
	MeanLevel float64 `json:"mean_level"`
}

// Run scores every method on every series. Each series must be in time
// order. It returns an error for a step or warm-up that is not positive,
// no methods, or a method whose model could not be made.
func Run(ctx context.Context, series []rightsize.Series, methods []Method, opts ...Option) (*Report, error) {
	c := config{step: 24 * time.Hour, warmup: 24 * time.Hour, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o.apply(&c)
	}
	switch {
	case c.step <= 0:
		return nil, fmt.Errorf("backtest: step %v is not positive", c.step)
	case c.warmup < 0:
		return nil, fmt.Errorf("backtest: warm-up %v is negative", c.warmup)
	case len(methods) == 0:
		return nil, errors.New("backtest: no methods")
	}
	c.workers = max(c.workers, 1)
	for i, s := range series {
		if len(s.Times) != len(s.Values) {
			return nil, fmt.Errorf("backtest: series %d (%s %s) has %d times and %d values", i, s.Service, s.Resource, len(s.Times), len(s.Values))
		}
		for j := 1; j < len(s.Times); j++ {
			if s.Times[j].Before(s.Times[j-1]) {
				return nil, fmt.Errorf("backtest: series %s %s is not in time order at sample %d", s.Service, s.Resource, j)
			}
		}
	}

	results := make([][]seriesResult, len(series)) // [series][method]
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := scoreSeries(series[i], methods, c)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				results[i] = r
				done++
				if c.progress != nil {
					c.progress(done, len(series))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range series {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return summarise(series, methods, results, c), nil
}

// step is one scored step of a series: its values sorted, with prefix
// sums, shared by every method (the oracle needs them).
type step struct {
	sorted []float64
	prefix []float64 // prefix[i] = Σ sorted[:i]
}

// stepResult is one method's score on one step.
type stepResult struct {
	level      float64
	above      int
	unused     float64 // Σ(level − v)⁺
	absErr     float64 // Σ|point − v|
	smape      float64 // Σ 2|point − v|/(|point|+|v|)
	havePoint  bool
	resultStep int // index into the series' steps
}

type seriesResult struct {
	skipped bool
	steps   []step // shared; set on the first method's result only
	res     []stepResult
}

func scoreSeries(s rightsize.Series, methods []Method, c config) ([]seriesResult, error) {
	out := make([]seriesResult, len(methods))
	if len(s.Times) == 0 {
		for i := range out {
			out[i].skipped = true
		}
		return out, nil
	}
	// Step boundaries: origins every step from first + warmup; idx[k] is
	// the first sample at or after origin k.
	start := s.Times[0].Add(c.warmup)
	first := sort.Search(len(s.Times), func(i int) bool { return !s.Times[i].Before(start) })
	type span struct {
		origin time.Time
		a, b   int
	}
	var spans []span
	for o, a := start, first; a < len(s.Times); o = o.Add(c.step) {
		end := o.Add(c.step)
		b := a
		for b < len(s.Times) && s.Times[b].Before(end) {
			b++
		}
		if b > a {
			spans = append(spans, span{o, a, b})
		}
		if b < len(s.Times) && !s.Times[b].Before(end.Add(c.step)) {
			// skip empty steps (an outage) without looping over each
			k := s.Times[b].Sub(end) / c.step
			o = o.Add(time.Duration(k) * c.step)
		}
		a = b
	}
	steps := make([]step, len(spans))
	for k, sp := range spans {
		v := append([]float64(nil), s.Values[sp.a:sp.b]...)
		sort.Float64s(v)
		p := make([]float64, len(v)+1)
		for i, x := range v {
			p[i+1] = p[i] + x
		}
		steps[k] = step{v, p}
	}
	l := LabelsOf(s)
	for mi, m := range methods {
		model, err := m.New(l)
		if errors.Is(err, ErrSkip) {
			out[mi].skipped = true
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("backtest: %s on %s %s: %w", m.Name(), s.Service, s.Resource, err)
		}
		if first > 0 {
			model.Observe(s.Times[:first], s.Values[:first])
		}
		res := make([]stepResult, len(spans))
		seen := first
		for k, sp := range spans {
			if sp.a > seen {
				model.Observe(s.Times[seen:sp.a], s.Values[seen:sp.a])
			}
			f := model.Forecast(sp.origin, c.step)
			if math.IsNaN(f.Level) {
				return nil, fmt.Errorf("backtest: %s on %s %s: NaN level at %s", m.Name(), s.Service, s.Resource, sp.origin.Format(time.RFC3339))
			}
			r := stepResult{level: f.Level, resultStep: k, havePoint: !math.IsNaN(f.Point)}
			for _, v := range s.Values[sp.a:sp.b] {
				if v > f.Level {
					r.above++
				} else {
					r.unused += f.Level - v
				}
				if r.havePoint {
					d := math.Abs(f.Point - v)
					r.absErr += d
					if den := math.Abs(f.Point) + math.Abs(v); den > 0 {
						r.smape += 2 * d / den
					}
				}
			}
			res[k] = r
			model.Observe(s.Times[sp.a:sp.b], s.Values[sp.a:sp.b])
			seen = sp.b
		}
		out[mi].res = res
	}
	if len(out) > 0 {
		out[0].steps = steps
	}
	return out, nil
}

// nanPoint is the Point of a forecast without one.
var nanPoint = math.NaN()
