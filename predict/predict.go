// Package predict forecasts what services will need.
//
// A [Predictor] is fitted to a history of samples and then asked for the
// value of one resource of one service at given times. [LinearTrend] is the
// baseline every model must beat: the seed's ordinary least-squares line
// through (time, value), fitted per service and resource.
package predict

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rightsize/rightsize"
	"gonum.org/v1/gonum/stat"
)

// Predictor learns from history and predicts future values.
//
// Fit replaces whatever the predictor learned before with what it learns
// from history (in any order). Predict returns one value per time in q.At,
// in q's order; it returns an error matching ErrNotFitted before Fit and
// ErrUnknownSeries for a service and resource the history did not contain.
type Predictor interface {
	Fit(ctx context.Context, history []rightsize.Sample) error
	Predict(ctx context.Context, q Query) ([]float64, error)
}

// Query asks for the values of one resource of one service at some times.
type Query struct {
	Service  string
	Resource string
	At       []time.Time
}

// Errors Predict returns.
var (
	ErrNotFitted     = errors.New("predict: not fitted")
	ErrUnknownSeries = errors.New("predict: no history for this service and resource")
	ErrNoHistory     = errors.New("predict: empty history")
)

type seriesKey struct{ service, resource string }

// LinearTrend fits value = a + b·t by ordinary least squares (gonum's
// stat.LinearRegression) for each service and resource, t being seconds
// since the series' first sample. A series of one sample predicts that
// value. Predictions below zero are clamped to zero: usage is never
// negative.
//
// It is the seed's model, kept as the baseline later models are measured
// against; on real traces it is poor, since usage is rarely a straight
// line in time.
type LinearTrend struct {
	lines map[seriesKey]line
}

type line struct {
	origin time.Time
	a, b   float64
}

var _ Predictor = (*LinearTrend)(nil)

// NewLinearTrend returns an unfitted LinearTrend.
func NewLinearTrend() *LinearTrend { return &LinearTrend{} }

// Fit fits one line per (service, resource) of history.
func (m *LinearTrend) Fit(ctx context.Context, history []rightsize.Sample) error {
	if len(history) == 0 {
		return ErrNoHistory
	}
	type pts struct {
		origin time.Time
		ts     []time.Time
		vs     []float64
	}
	bySeries := map[seriesKey]*pts{}
	for i, s := range history {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("predict: history[%d]: %w", i, err)
		}
		k := seriesKey{s.Service, s.Resource}
		p := bySeries[k]
		if p == nil {
			p = &pts{origin: s.Time}
			bySeries[k] = p
		}
		if s.Time.Before(p.origin) {
			p.origin = s.Time
		}
		p.ts = append(p.ts, s.Time)
		p.vs = append(p.vs, s.Value)
	}
	lines := make(map[seriesKey]line, len(bySeries))
	for k, p := range bySeries {
		if err := ctx.Err(); err != nil {
			return err
		}
		xs := make([]float64, len(p.ts))
		distinct := false
		for i, t := range p.ts {
			xs[i] = t.Sub(p.origin).Seconds()
			distinct = distinct || xs[i] != xs[0]
		}
		l := line{origin: p.origin}
		if distinct {
			l.a, l.b = stat.LinearRegression(xs, p.vs, nil, false)
		} else {
			l.a = stat.Mean(p.vs, nil)
		}
		lines[k] = l
	}
	m.lines = lines
	return nil
}

// Predict evaluates the fitted line of q's series at each of q.At.
func (m *LinearTrend) Predict(ctx context.Context, q Query) ([]float64, error) {
	if m.lines == nil {
		return nil, ErrNotFitted
	}
	l, ok := m.lines[seriesKey{q.Service, q.Resource}]
	if !ok {
		return nil, fmt.Errorf("%w: %s %s", ErrUnknownSeries, q.Service, q.Resource)
	}
	out := make([]float64, len(q.At))
	for i, t := range q.At {
		out[i] = max(0, l.a+l.b*t.Sub(l.origin).Seconds())
	}
	return out, nil
}
