package predict

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/backtest"
)

// state is one model's state for one series. observe is given the
// series' valid samples in time order (equal times allowed); forecast
// says what the model expects over [from, from+horizon) from everything
// observed, from being at or after the last sample, and must not change
// the state. Save encodes a state with encoding/json; a state holding
// what it can rebuild from the rest implements restorer.
type state interface {
	observe(t time.Time, v float64)
	forecast(from time.Time) forecast
}

// restorer is implemented by states that rebuild derived structures
// after being decoded.
type restorer interface{ restore(c *config) }

// tracked is a series' state with what every model reports: how many
// samples it learnt from, the first and last times, the largest value.
type tracked struct {
	N     int64   `json:"n"`
	First int64   `json:"first"` // Unix nanoseconds
	Last  int64   `json:"last"`
	Max   float64 `json:"max"`
	S     state   `json:"-"`
}

func (s *tracked) observe(t time.Time, v float64) {
	ns := t.UnixNano()
	if s.N == 0 {
		s.First = ns
	}
	s.N++
	s.Last = max(s.Last, ns)
	s.Max = math.Max(s.Max, v)
	s.S.observe(t, v)
}

// forecast asks the state, from no earlier than the last sample, and
// makes the answer safe to hand out.
func (s *tracked) forecast(from time.Time, c *config) forecast {
	if last := time.Unix(0, s.Last).UTC(); from.Before(last) {
		from = last
	}
	f := s.S.forecast(from)
	return f.sane(s.Max * (1 + c.margin))
}

// models is what every forecasting model type shares: its name, its
// configuration, how to make a series' state, and the states it fitted.
type models struct {
	kind     string
	name     string
	cfg      config
	newState func(c *config, resource string) state

	mu     sync.RWMutex
	series map[seriesKey]*tracked
}

func newModels(kind string, opts []Option, newState func(*config, string) state) (*models, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, fmt.Errorf("predict: %s: %w", kind, err)
	}
	return &models{kind: kind, name: kind, cfg: c, newState: newState}, nil
}

// Name returns the model's name, as tables show it.
func (m *models) Name() string { return m.name }

// Horizon returns the horizon the model forecasts and calibrates for.
func (m *models) Horizon() time.Duration { return m.cfg.horizon }

// Quantile returns the quantile the upper levels aim at.
func (m *models) Quantile() float64 { return m.cfg.quantile }

// Fit learns one state per series of h, several series at once (see
// WithWorkers), and replaces what the model learnt before once every
// series is learnt; on an error the model is left as it was.
func (m *models) Fit(ctx context.Context, h History) error {
	if h == nil {
		return ErrNoHistory
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct{ s rightsize.Series }
	var (
		mu       sync.Mutex
		firstErr error
		done     int
		read     int
		wg       sync.WaitGroup
	)
	out := map[seriesKey]*tracked{}
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	// Parts of one series go to the worker that holds it, in order.
	workers := max(m.cfg.workers, 1)
	queues := make([]chan job, workers)
	owner := map[seriesKey]int{}
	for i := range queues {
		queues[i] = make(chan job, 4)
		wg.Add(1)
		go func(q chan job) {
			defer wg.Done()
			for j := range q {
				if ctx.Err() != nil {
					continue
				}
				k := keyOf(j.s)
				mu.Lock()
				st := out[k]
				if st == nil {
					st = &tracked{S: m.newState(&m.cfg, k.Resource)}
					out[k] = st
				}
				mu.Unlock()
				if err := learn(ctx, st, j.s); err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				done++
				if m.cfg.progress != nil {
					m.cfg.progress(done, read)
				}
				mu.Unlock()
			}
		}(queues[i])
	}
	n := 0
	err := h.Each(ctx, func(s rightsize.Series) error {
		if len(s.Times) != len(s.Values) {
			return fmt.Errorf("%w: series %s %s has %d times and %d values", ErrInvalidHistory, s.Service, s.Resource, len(s.Times), len(s.Values))
		}
		if len(s.Times) == 0 {
			return nil
		}
		k := keyOf(s)
		w, ok := owner[k]
		if !ok {
			w = n % workers
			owner[k] = w
		}
		mu.Lock()
		read++
		mu.Unlock()
		n++
		select {
		case queues[w] <- job{s}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return ErrNoHistory
	}
	m.mu.Lock()
	m.series = out
	m.mu.Unlock()
	return nil
}

// learn checks the samples of s and has st observe them.
func learn(ctx context.Context, st *tracked, s rightsize.Series) error {
	sample := rightsize.Sample{Task: s.Task, Service: s.Service, Instance: s.Instance, Resource: s.Resource}
	for i, t := range s.Times {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		sample.Value, sample.Time = s.Values[i], t
		if err := sample.Validate(); err != nil {
			return fmt.Errorf("%w: %s %s sample %d (%s): %w", ErrInvalidHistory, s.Service, s.Resource, i, t.UTC().Format(time.RFC3339), err)
		}
		if st.N > 0 && t.UnixNano() < st.Last {
			return fmt.Errorf("%w: %s %s sample %d (%s) is earlier than the one before", ErrInvalidHistory, s.Service, s.Resource, i, t.UTC().Format(time.RFC3339))
		}
		st.observe(t, s.Values[i])
	}
	return nil
}

// Predict forecasts the series of q's service over the model's horizon.
func (m *models) Predict(ctx context.Context, q Query) (Prediction, error) {
	if err := ctx.Err(); err != nil {
		return Prediction{}, err
	}
	switch {
	case q.Service == "":
		return Prediction{}, fmt.Errorf("%w: no service", ErrBadQuery)
	case q.Horizon != 0 && q.Horizon != m.cfg.horizon:
		return Prediction{}, fmt.Errorf("%w: horizon %v: the model %s forecasts %v (construct it with WithHorizon)", ErrBadQuery, q.Horizon, m.name, m.cfg.horizon)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.series == nil {
		return Prediction{}, ErrNotFitted
	}
	p := Prediction{Service: q.Service, Model: m.name, Horizon: m.cfg.horizon, Quantile: m.cfg.quantile}
	for _, k := range sortedKeys(m.series) {
		if k.Service != q.Service || (q.Task != "" && k.Task != q.Task) || (q.Instance != "" && k.Instance != q.Instance) ||
			(len(q.Resources) > 0 && !slices.Contains(q.Resources, k.Resource)) {
			continue
		}
		st := m.series[k]
		last := time.Unix(0, st.Last).UTC()
		from := q.From
		if from.IsZero() || from.Before(last) {
			from = last
		}
		f := st.forecast(from, &m.cfg)
		p.Resources = append(p.Resources, ResourcePrediction{Resource: k.Resource, Task: k.Task, Instance: k.Instance,
			From: from, Point: f.point, Upper: f.upper, Method: f.method, Samples: st.N, Last: last, Note: f.note})
	}
	if len(p.Resources) == 0 {
		what := q.Service
		if q.Task != "" {
			what += " task " + q.Task
		}
		if q.Instance != "" {
			what += " instance " + q.Instance
		}
		if len(q.Resources) > 0 {
			what += fmt.Sprintf(" %v", q.Resources)
		}
		return Prediction{}, fmt.Errorf("%w: %s", ErrUnknownSeries, what)
	}
	return p, nil
}

// SeriesInfo describes a series a model learnt.
type SeriesInfo struct {
	Task, Service, Instance, Resource string
	// Samples is the number of samples learnt; First and Last the times
	// of the earliest and the latest.
	Samples     int64
	First, Last time.Time
}

// Series describes the series the model learnt, ordered by service,
// resource, task and instance; nil before Fit.
func (m *models) Series() []SeriesInfo {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.series == nil {
		return nil
	}
	out := make([]SeriesInfo, 0, len(m.series))
	for _, k := range sortedKeys(m.series) {
		st := m.series[k]
		out = append(out, SeriesInfo{Task: k.Task, Service: k.Service, Instance: k.Instance, Resource: k.Resource,
			Samples: st.N, First: time.Unix(0, st.First).UTC(), Last: time.Unix(0, st.Last).UTC()})
	}
	return out
}

// New returns an empty model of one series for the backtest harness: the
// model is a backtest.Method. Samples the harness shows it that are NaN,
// infinite or negative are skipped.
func (m *models) New(l backtest.Labels) (backtest.Model, error) {
	return &btModel{st: tracked{S: m.newState(&m.cfg, l.Resource)}, cfg: &m.cfg}, nil
}

type btModel struct {
	st  tracked
	cfg *config
}

func (b *btModel) Observe(times []time.Time, values []float64) {
	for i, t := range times {
		v := values[i]
		if !finite(v) || v < 0 || (b.st.N > 0 && t.UnixNano() < b.st.Last) {
			continue
		}
		b.st.observe(t, v)
	}
}

func (b *btModel) Forecast(from time.Time, _ time.Duration) backtest.Forecast {
	if b.st.N == 0 {
		return backtest.Forecast{Level: 0, Point: 0}
	}
	f := b.st.forecast(from, b.cfg)
	return backtest.Forecast{Level: f.upper, Point: f.point}
}

// errNotModel is returned by Save for a Predictor this package did not
// make.
var errNotModel = errors.New("predict: not a model of this package")
