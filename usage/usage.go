// Package usage turns stored samples into what a scheduler needs to know:
// how much of each resource a service is expected to use ([Expected]) and
// what it should request ([Recommend]).
//
// Expected answers for one service (or a group of services applied
// together) with count, min, mean, max, standard deviation, P50/P90/P95/P99
// and the first and last sample time of every resource, with the evidence
// behind them (samples, span, confidence, and a note when the history is
// too short to trust), optionally narrowed to a task, an instance, some
// resources, a time window or a daily time-of-day window. A store that
// aggregates (an [Aggregator]) computes them where the data lives;
// otherwise the values are streamed and summarised with gonum/stat.
//
// Recommend gives a request, a limit and lower and upper bounds per
// resource, with the method's name and its evidence. It reads the store's
// per-bucket rollups when it can ([RollupReader]), so its cost grows with
// the number of buckets, not of samples.
//
// # Methods
//
// [VPA] is the Kubernetes VPA recommender's method, every knob an option
// with VPA's default; its figures are composed of small [Step]s as VPA's
// are (percentile → margin → OOM bump → confidence → minimum).
// [KRRSimple] and [SeedMax] are the other baselines.
//
// [Calibrated], the default, meets a risk budget the user states ("at
// most 1 % of samples above the request", per resource: [Budget]; by
// default 1 % for CPU, 0.1 % for memory) on the service's own history,
// instead of a fixed percentile and margin that are wrong for most
// services:
//
//  1. Histories. Two decaying histograms of the samples (buckets 1 %
//     apart), with half-lives of 3 and 7 horizons ([HalfLives]; the
//     horizon is how long a recommendation stays in place, 24 h by
//     default: [Horizon]). A candidate level is a history's quantile at
//     1 − budget: what, were the next period like the recent past, would
//     leave the budget's share of samples above it.
//  2. Backtest. History is cut into periods of one horizon from the first
//     sample. At the start of each period the method notes each
//     candidate's quantile, and scores every sample of the period against
//     it: the smallest of a ladder of margins (×1, ×1.02, … ×10) that
//     would have covered the sample. This is a rolling-origin backtest of
//     the method by itself, on the service's own history.
//  3. Margin. A candidate's margin is the smallest that kept its own past
//     within the budget, samples weighted by 2^(−age / 7 horizons)
//     ([CalibrationHalfLife]) and the single worst period left out, so
//     that one change of level (which the quantile follows anyway) does
//     not set the margin for weeks. A quantile that the next period
//     exceeds more often than the budget allows (growth, bursts that the
//     decay forgets) gets a margin; one that meets it keeps ×1.
//  4. Choice. Once each candidate has three periods of record, the method
//     follows the one whose calibrated level left the least unused (the
//     longer history on a tie); before, the longest history with ×1.
//  5. Falls. A run of periods whose own quantile at 1 − budget stayed
//     below half of the quantile they started with, at least 7 periods
//     long and more than twice as long as any run the service came back
//     from ([RestartAfter]), is a fall: the history before it is forgotten,
//     and the request follows a lasting drop in load about a week after
//     it, where a quantile of a long history would take weeks.
//  6. Result. The request is the chosen candidate's quantile (never above
//     the largest value in its history) times its margin, at least the
//     minimum (1m CPU, 1 MiB: [Minimum]); the limit the same at a tenth
//     of the budget, the lower bound at ten times it; the upper bound the
//     limit × (1 + 1/periods backtested), at most ×2 however short the
//     history (VPA's is unbounded with none). An OOM kill raises the
//     memory request, for 7 horizons, to VPA's bump of the memory in use
//     then. Until one full period has been seen the request is the
//     largest value so far + 15 % ([FallbackMargin]). The evidence gives
//     the budget, the share of the history's samples that were above the
//     levels the method would have held (Evidence.Exceeded), and a note
//     while it has backtested itself over fewer than three periods.
//
// [MethodNamed] returns a method by the name it reports, and
// [Estimator.Report] pairs Expected and Recommend for a list of services
// (the seed's service_usage.py; package usage/kube renders a report as a
// table, JSON, a resources: block or a patch).
//
// Why this generalises: the budget is a statement about samples, which
// is what a percentile of samples controls directly; the one knob that
// depends on the service (how much its next period departs from its
// past) is measured on that service's own record, not fixed; the
// history's length is chosen on that record too; the other constants
// are units of time (multiples of the horizon), the ladder the backtest
// chooses from, and the stated thresholds of the restart (half the
// level, a week, twice the longest dip). CPU and memory are handled alike but for their
// budgets: CPU above its request is served from idle capacity or slowed
// (it is compressible), memory above its request is at risk of eviction
// and above its limit of an OOM kill.
//
// Memory is the working set the samplers measure (page cache excluded),
// so a recommendation does not chase reclaimable cache. Every method is
// scored by the backtest harness (package backtest; usage.Forecaster
// adapts a method); BENCHMARKS.md has the figures, and where the default
// method loses.
//
// The package-level functions use a default estimator opened lazily from
// RIGHTSIZE_DATABASE_URL (a postgres:// URL or sqlite:PATH; the embedded
// file sqlite:rightsize.db when unset), so a scheduler needs no set-up:
//
//	u, err := usage.Expected(ctx, "resize")
//	r, err := usage.Recommend(ctx, "resize")
package usage

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/rightsize/rightsize"
	"gonum.org/v1/gonum/stat"
)

// Reader is what the estimator needs from a store: the samples matching a
// filter, streamed in any order. store.Postgres and store.SQLite satisfy
// it.
type Reader interface {
	Scan(ctx context.Context, f rightsize.Filter, fn func(rightsize.Sample) error) error
}

// Summarizer is an optional capability of a Reader: aggregates computed
// where the data lives. The estimator uses it when the Reader has it.
type Summarizer interface {
	Summarize(ctx context.Context, f rightsize.Filter) ([]rightsize.Summary, error)
}

// Aggregator is an optional capability of a Reader: summaries with
// percentiles computed where the data lives (store.Postgres and
// store.SQLite have it). Expected uses it when the Reader has it.
type Aggregator interface {
	Aggregate(ctx context.Context, a rightsize.Aggregation) ([]rightsize.Summary, error)
}

// RollupReader is an optional capability of a Reader: the stored
// per-bucket rollups with their sketches (store.Postgres and store.SQLite
// have it). Recommend uses it when the Reader has it, so that its cost
// does not grow with the number of raw samples.
type RollupReader interface {
	Rollups(ctx context.Context, f rightsize.Filter, fn func(rightsize.Rollup) error) error
}

// UsageEstimator says what a service is expected to use and what it
// should request.
//
// Expected returns the summary of every resource of service matching the
// options; Recommend a request, a limit and bounds per resource. Both
// return an error matching ErrNoData ("no samples for service X") when
// nothing matches.
type UsageEstimator interface {
	Expected(ctx context.Context, service string, opts ...Option) (Usage, error)
	Recommend(ctx context.Context, service string, opts ...Option) (Recommendation, error)
}

// ErrNoData is matched by the error Expected returns when no sample of the
// service matches.
var ErrNoData = errors.New("usage: no data")

// Usage is what a service used, per resource.
type Usage struct {
	Service string
	// Resources holds one summary per resource, sorted by resource name
	// (by service first, when a group of services was asked for).
	Resources []ResourceUsage
}

// ResourceUsage is the summary of one resource of one service, with the
// evidence behind it.
type ResourceUsage struct {
	rightsize.Summary
	// Evidence says how much history the summary rests on; its Note is
	// set when that is too little to trust.
	Evidence Evidence
}

// Resource returns the summary of the named resource of u.Service.
func (u Usage) Resource(name string) (ResourceUsage, bool) {
	for _, r := range u.Resources {
		if r.Resource == name && r.Service == u.Service {
			return r, true
		}
	}
	return ResourceUsage{}, false
}

// Estimator computes expected usage from a Reader.
type Estimator struct {
	r Reader
}

var _ UsageEstimator = (*Estimator)(nil)

// New returns an estimator reading from r.
func New(r Reader) (*Estimator, error) {
	if r == nil {
		return nil, errors.New("usage: nil reader")
	}
	return &Estimator{r: r}, nil
}

// Expected summarises each resource of service: count, min, mean, max,
// standard deviation, P50/P90/P95/P99 and first/last time, with the
// evidence behind them. A Reader that is an Aggregator computes them in
// the store (percentiles from its sketches, within the relative error it
// documents); otherwise the samples are streamed here and summarised
// with gonum/stat (exact percentiles: the smallest value with at least
// that fraction of the values at or below it).
func (e *Estimator) Expected(ctx context.Context, service string, opts ...Option) (Usage, error) {
	q, err := newQuery(service, opts)
	if err != nil {
		return Usage{}, err
	}
	var sums []rightsize.Summary
	if a, ok := e.r.(Aggregator); ok {
		sums, err = a.Aggregate(ctx, rightsize.Aggregation{Filter: q.f})
	} else {
		sums, err = summarize(ctx, e.r, q.f)
	}
	if err != nil {
		return Usage{}, fmt.Errorf("usage: %s: %w", service, err)
	}
	if len(sums) == 0 {
		return Usage{}, noData(service)
	}
	sort.SliceStable(sums, func(i, j int) bool {
		if sums[i].Service != sums[j].Service {
			return sums[i].Service < sums[j].Service
		}
		return sums[i].Resource < sums[j].Resource
	})
	u := Usage{Service: service}
	for _, s := range sums {
		u.Resources = append(u.Resources, ResourceUsage{Summary: s, Evidence: newEvidence(s.Count, s.First, s.Last)})
	}
	return u, nil
}

// noData is the error for a service with nothing matching.
func noData(service string) error {
	return fmt.Errorf("%w: no samples for service %q", ErrNoData, service)
}

// summarize streams the samples and computes the summaries here, for
// readers that cannot aggregate.
func summarize(ctx context.Context, r Reader, f rightsize.Filter) ([]rightsize.Summary, error) {
	type acc struct {
		values      []float64
		first, last time.Time
	}
	byKey := map[[2]string]*acc{}
	err := r.Scan(ctx, f, func(s rightsize.Sample) error {
		k := [2]string{s.Service, s.Resource}
		a := byKey[k]
		if a == nil {
			a = &acc{first: s.Time, last: s.Time}
			byKey[k] = a
		}
		a.values = append(a.values, s.Value)
		if s.Time.Before(a.first) {
			a.first = s.Time
		}
		if s.Time.After(a.last) {
			a.last = s.Time
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]rightsize.Summary, 0, len(byKey))
	for k, a := range byKey {
		mean, sd := stat.MeanStdDev(a.values, nil)
		if len(a.values) < 2 {
			sd = 0
		}
		sort.Float64s(a.values)
		p := func(q float64) float64 { return stat.Quantile(q, stat.Empirical, a.values, nil) }
		out = append(out, rightsize.Summary{Service: k[0], Resource: k[1], Count: int64(len(a.values)),
			Min: a.values[0], Max: a.values[len(a.values)-1], Mean: mean, StdDev: sd,
			P50: p(0.5), P90: p(0.9), P95: p(0.95), P99: p(0.99), First: a.first, Last: a.last})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Service != out[j].Service {
			return out[i].Service < out[j].Service
		}
		return out[i].Resource < out[j].Resource
	})
	return out, nil
}
