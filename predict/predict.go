// Package predict forecasts what services will need: for the next
// horizon (an hour, say), per resource, a point forecast of the usage and
// an upper level to provision at, so that no more than a chosen share of
// the horizon's samples go above it. It also profiles tasks before they
// run (see [TaskProfiler]).
//
// # Forecasts
//
// A [Predictor] is fitted to a [History] — series read from a store
// ([FromStore]), a long-format CSV file ([FromCSVFile]) or memory
// ([FromSeries], [FromSamples]) — and then asked, with a [Query], what one
// service will need over a horizon. Its answer, a [Prediction], holds one
// [ResourcePrediction] per series of the service: Point (the expected
// usage: a request) and Upper (the level at the model's quantile: a
// limit), never NaN or negative.
//
// Every model is fitted per series — one (task, service, instance,
// resource) — from that series' own past, learns in time order and keeps
// a bounded state, so fitting is linear in the history and a prediction
// costs microseconds. Models are deterministic: no model draws random
// numbers, and series are fitted independently, so the same history
// always gives the same model whatever the number of workers. A fitted
// model is saved with [Save] and read back with [Load] (a versioned
// format); the loaded model predicts exactly what the saved one did.
//
// The models:
//
//   - [NewSelector], the default: about 400 candidate levels (the maximum,
//     the range or a quantile of a recent window, times a margin, capped
//     or not at the week's peak; Holt-Winters' forecast; the same span a
//     season ago), each scored out of sample on the series' own recent
//     past. It provisions at the median of the 30 cheapest, the cost of
//     a level being the share of it left unused plus a heavy price for
//     each sample above it beyond the quantile's budget — the way Google's
//     Autopilot chooses among its recommenders per workload. Its point
//     forecast is the point candidate with the lowest recent absolute
//     error.
//   - [NewHoltWinters]: exponential smoothing with a damped trend and daily
//     seasonality, its parameters fitted by gonum's Nelder-Mead; its upper
//     level is conformal: the point forecast plus a quantile of its own
//     recent errors.
//   - Baselines: [NewLinearTrend] (the seed's regression on time),
//     [NewLastValue], [NewSameTimeYesterday], [NewWindowMax] ("the previous
//     hour's max × 1.15") and [NewDecayingPercentile] (VPA-style).
//
// Every model is also a [backtest.Method], so the rolling-origin harness
// scores them side by side exactly as it scores recommendations; see
// BacktestMethods.
//
// # Bad input
//
// Fit refuses a sample that fails rightsize.Sample.Validate (NaN,
// infinite or negative values among them) with an error matching
// ErrInvalidHistory that names the series and the sample; in a backtest,
// where Observe cannot fail, such values are skipped. A series with too
// little history for a model's method falls back to a simpler answer and
// says so in ResourcePrediction.Note (one sample: that value; less than a
// season: no seasonality; nothing scored yet: the largest value seen plus
// a margin). Gaps in the history (an outage) are skipped over: windows
// hold what was measured, and seasonal slots are indexed by the time of
// day, not by a count of samples. Constant and all-zero series give
// levels equal to their value.
package predict

import (
	"context"
	"errors"
	"math"
	"slices"
	"time"

	"github.com/rightsize/rightsize"
)

// Predictor learns from history and forecasts what a service will need.
//
// Fit replaces whatever the predictor learned before with what it learns
// from h; it returns an error matching ErrNoHistory when h holds no
// sample, and one matching ErrInvalidHistory for a sample that fails
// rightsize.Sample.Validate. Predict returns an error matching
// ErrNotFitted before Fit, ErrUnknownSeries when the history held no
// series of q's service (and task and instance, when q names them), and
// ErrBadQuery for a query it cannot answer.
type Predictor interface {
	Fit(ctx context.Context, h History) error
	Predict(ctx context.Context, q Query) (Prediction, error)
}

// Query asks what one service will need over a horizon.
type Query struct {
	// Service is the service to forecast. Required.
	Service string
	// Task and Instance, if set, narrow the series to those of one task or
	// one instance.
	Task, Instance string
	// Resources, if set, limits the answer to these resources; otherwise
	// every resource the service has history of is forecast.
	Resources []string
	// From is the start of the horizon. Zero means just after the last
	// sample of each series. A From before a series' last sample is
	// treated as that sample's time: a model forecasts from everything it
	// learnt.
	From time.Time
	// Horizon is the length of the period forecast. Zero means the
	// model's (WithHorizon); any other value must equal it, since the
	// upper levels are calibrated for that horizon.
	Horizon time.Duration
}

// Prediction is a model's answer to a Query.
type Prediction struct {
	Service string `json:"service"`
	// Model names the model that answered.
	Model string `json:"model"`
	// Horizon is the length of the period forecast.
	Horizon time.Duration `json:"horizon"`
	// Quantile is the share of the horizon's samples each Upper is meant
	// to stay at or above.
	Quantile float64 `json:"quantile"`
	// Resources holds one forecast per series of the service asked for,
	// ordered by resource, task and instance.
	Resources []ResourcePrediction `json:"resources"`
}

// ResourcePrediction is the forecast of one series over the horizon.
type ResourcePrediction struct {
	Resource string `json:"resource"`
	Task     string `json:"task,omitempty"`
	Instance string `json:"instance,omitempty"`
	// From is the start of the horizon forecast.
	From time.Time `json:"from"`
	// Point is the expected usage over the horizon, in the resource's
	// unit: what to request.
	Point float64 `json:"point"`
	// Upper is the level to provision at: the model's estimate of the
	// Quantile of the horizon's samples. Upper >= Point.
	Upper float64 `json:"upper"`
	// Method says how the forecast was made: for the selector, which
	// candidates it chose ("max 1h × 1.1 | holt-winters").
	Method string `json:"method,omitempty"`
	// Samples is the number of samples learnt from; Last the time of the
	// latest.
	Samples int64     `json:"samples"`
	Last    time.Time `json:"last"`
	// Note says when the history was too short for the model's method
	// and what it did instead; empty otherwise.
	Note string `json:"note,omitempty"`
}

// Resource returns the forecast of the named resource. When the service
// has several series of it (several tasks or instances), it returns the
// one with the highest Upper: a level that fits every one of them.
func (p Prediction) Resource(name string) (ResourcePrediction, bool) {
	var best ResourcePrediction
	found := false
	for _, r := range p.Resources {
		if r.Resource == name && (!found || r.Upper > best.Upper) {
			best, found = r, true
		}
	}
	return best, found
}

// Errors the models return.
var (
	// ErrNotFitted is returned by Predict (and Save) before Fit.
	ErrNotFitted = errors.New("predict: not fitted")
	// ErrUnknownSeries is matched by Predict's error when the history had
	// no series of the service (task, instance, resource) asked for.
	ErrUnknownSeries = errors.New("predict: no history for this service and resource")
	// ErrNoHistory is matched by Fit's error when the history holds no
	// sample.
	ErrNoHistory = errors.New("predict: empty history")
	// ErrInvalidHistory is matched by Fit's error when a sample of the
	// history is invalid (NaN, infinite or negative value, zero time);
	// the error also matches rightsize.ErrInvalidSample.
	ErrInvalidHistory = errors.New("predict: invalid history")
	// ErrBadQuery is matched by Predict's error for a query without a
	// service, or with a horizon other than the model's.
	ErrBadQuery = errors.New("predict: bad query")
)

// seriesKey names one series.
type seriesKey struct {
	Task     string `json:"task,omitempty"`
	Service  string `json:"service"`
	Instance string `json:"instance,omitempty"`
	Resource string `json:"resource"`
}

func keyOf(s rightsize.Series) seriesKey {
	return seriesKey{Task: s.Task, Service: s.Service, Instance: s.Instance, Resource: s.Resource}
}

func (k seriesKey) compare(o seriesKey) int {
	for _, c := range [...][2]string{{k.Service, o.Service}, {k.Resource, o.Resource}, {k.Task, o.Task}, {k.Instance, o.Instance}} {
		if c[0] != c[1] {
			if c[0] < c[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// forecast is what a model's state says about the next horizon.
type forecast struct {
	point, upper float64
	method, note string
}

// sane makes a forecast safe to hand out: finite, not negative, upper at
// or above point. A NaN or infinite value (which no state should make)
// falls back to fallback.
func (f forecast) sane(fallback float64) forecast {
	if !finite(fallback) || fallback < 0 {
		fallback = 0
	}
	if !finite(f.point) || f.point < 0 {
		f.point = fallback
	}
	if !finite(f.upper) || f.upper < 0 {
		f.upper = math.Max(fallback, f.point)
	}
	f.upper = math.Max(f.upper, f.point)
	return f
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// sortedKeys returns the keys of m, ordered by service, resource, task,
// instance.
func sortedKeys[V any](m map[seriesKey]V) []seriesKey {
	keys := make([]seriesKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, seriesKey.compare)
	return keys
}
