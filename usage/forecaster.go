package usage

import (
	"math"
	"time"

	"github.com/rightsize/rightsize/backtest"
)

// Forecaster adapts a method to the backtest harness: each step's level
// is the method's request, from the history so far.
func Forecaster(m Method) backtest.Method { return forecaster{m} }

type forecaster struct{ m Method }

func (f forecaster) Name() string { return f.m.Name() }

func (f forecaster) New(l backtest.Labels) (backtest.Model, error) {
	return &model{s: f.m.Start(l.Resource)}, nil
}

type model struct{ s State }

func (m *model) Observe(times []time.Time, values []float64) {
	for i, t := range times {
		m.s.Add(t, values[i], 1)
	}
}

func (m *model) Forecast(from time.Time, _ time.Duration) backtest.Forecast {
	return backtest.Forecast{Level: m.s.Estimate(from).Request, Point: math.NaN()}
}

// BacktestMethods returns the methods the backtest compares, adapted to
// the harness: the VPA baseline, KRR's simple strategy, the seed's max +
// 10 % and the default calibrated method (configured by opts).
func BacktestMethods(opts ...CalibratedOption) ([]backtest.Method, error) {
	v, err := VPA()
	if err != nil {
		return nil, err
	}
	seed, err := SeedMax(0.1)
	if err != nil {
		return nil, err
	}
	c, err := Calibrated(opts...)
	if err != nil {
		return nil, err
	}
	return []backtest.Method{Forecaster(v), Forecaster(KRRSimple()), Forecaster(seed), Forecaster(c)}, nil
}
