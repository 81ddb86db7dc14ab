package predict

import (
	"errors"
	"fmt"
	"github.com/rightsize/rightsize"
	"math"
	"runtime"
	"time"
)

// Option configures a forecasting model. Each option says which models
// read it and its default; a model ignores the options it does not read.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is every model's configuration; savedConfig is its stored form.
type config struct {
	horizon    time.Duration
	quantile   float64
	margin     float64
	window     time.Duration
	percentile float64
	halfLife   time.Duration
	memory     time.Duration
	season     time.Duration
	underCost  map[string]float64 // by resource; "" for the others
	workers    int
	progress   func(done, total int)
}

func defaults() config {
	return config{horizon: time.Hour, quantile: DefaultQuantile, margin: 0.15, percentile: 0.9,
		halfLife: 24 * time.Hour, memory: 7 * 24 * time.Hour, season: 24 * time.Hour,
		underCost: map[string]float64{"": 5, rightsize.Memory: 10},
		workers:   runtime.GOMAXPROCS(0)}
}

// DefaultQuantile is the default of WithQuantile: at most 2 % of a
// horizon's samples above the upper level.
const DefaultQuantile = 0.98

// WithHorizon sets the length of the period a forecast covers and for
// which upper levels are calibrated (every model). Default 1h.
func WithHorizon(d time.Duration) Option { return optionFunc(func(c *config) { c.horizon = d }) }

// WithQuantile sets the quantile of the horizon's samples the upper level
// aims at, in (0, 1): 0.98 means at most 2 % of the samples above it
// (the selector and Holt-Winters). Default DefaultQuantile.
func WithQuantile(q float64) Option { return optionFunc(func(c *config) { c.quantile = q }) }

// WithMargin sets the fraction added over a level: over the window's
// maximum (window-max), over the percentile (decaying-percentile), and
// over the largest value seen while a model has too little history to
// do better (every model). Default 0.15.
func WithMargin(fraction float64) Option { return optionFunc(func(c *config) { c.margin = fraction }) }

// WithWindow sets the window whose maximum window-max provisions at.
// Default: the horizon ("the previous hour" for a 1h horizon).
func WithWindow(d time.Duration) Option { return optionFunc(func(c *config) { c.window = d }) }

// WithPercentile sets the percentile of the decaying histogram that
// decaying-percentile provisions at, in (0, 1]. Default 0.9 (VPA's CPU
// target).
func WithPercentile(p float64) Option { return optionFunc(func(c *config) { c.percentile = p }) }

// WithHalfLife sets the half-life of decaying-percentile's histogram.
// Default 24h (VPA's).
func WithHalfLife(d time.Duration) Option { return optionFunc(func(c *config) { c.halfLife = d }) }

// WithMemory sets how fast the selector and Holt-Winters forget their
// own past scores and errors: the half-life of their weight. Default 7
// days.
func WithMemory(d time.Duration) Option { return optionFunc(func(c *config) { c.memory = d }) }

// WithSeason sets the length of the seasonal cycle (Holt-Winters, and the
// selector's Holt-Winters candidate). Default 24h.
func WithSeason(d time.Duration) Option { return optionFunc(func(c *config) { c.season = d }) }

// WithUnderCost sets how the selector prices under-provisioning of a
// resource ("" for every resource not named by another WithUnderCost):
// each percentage point of samples above a candidate's level beyond the
// quantile's budget costs as much as w points of slack (the share of the
// level left unused). Defaults: memory 10 (memory cannot be throttled: a
// sample above the level risks an OOM kill), every other resource 5.
func WithUnderCost(resource string, w float64) Option {
	return optionFunc(func(c *config) {
		m := make(map[string]float64, len(c.underCost)+1)
		for k, v := range c.underCost {
			m[k] = v
		}
		m[resource] = w
		c.underCost = m
	})
}

// underCostOf returns the price of under-provisioning resource.
func (c *config) underCostOf(resource string) float64 {
	if w, ok := c.underCost[resource]; ok {
		return w
	}
	return c.underCost[""]
}

// WithWorkers sets how many series Fit learns at once. Default
// GOMAXPROCS. The model does not depend on it.
func WithWorkers(n int) Option { return optionFunc(func(c *config) { c.workers = n }) }

// WithProgress has fn called as Fit learns: after each series, with the
// number done and the number read so far (the total is known only at
// the end), from one goroutine at a time.
func WithProgress(fn func(done, total int)) Option {
	return optionFunc(func(c *config) { c.progress = fn })
}

// newConfig applies opts to the defaults and validates the result.
func newConfig(opts []Option) (config, error) {
	c := defaults()
	for _, o := range opts {
		o.apply(&c)
	}
	if c.window == 0 {
		c.window = c.horizon
	}
	return c, c.validate()
}

var errConfig = errors.New("predict: invalid option")

func (c config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{errConfig}, a...)...)
	}
	switch {
	case c.horizon <= 0:
		return bad("horizon %v is not positive", c.horizon)
	case !(c.quantile > 0 && c.quantile < 1):
		return bad("quantile %v is not in (0, 1)", c.quantile)
	case !(c.margin >= 0) || math.IsInf(c.margin, 0):
		return bad("margin %v is negative or not finite", c.margin)
	case c.window <= 0:
		return bad("window %v is not positive", c.window)
	case !(c.percentile > 0 && c.percentile <= 1):
		return bad("percentile %v is not in (0, 1]", c.percentile)
	case c.halfLife <= 0 || c.memory <= 0:
		return bad("half-life %v and memory %v must be positive", c.halfLife, c.memory)
	case c.season < 2*time.Minute || c.season > 366*24*time.Hour:
		return bad("season %v is not between 2m and a year", c.season)
	case c.workers < 0:
		return bad("workers %d is negative", c.workers)
	}
	for r, w := range c.underCost {
		if !(w >= 0) || math.IsInf(w, 0) {
			return bad("under-provisioning cost %v of %q is negative or not finite", w, r)
		}
	}
	return nil
}

// savedConfig is the configuration as Save writes it.
type savedConfig struct {
	Horizon    time.Duration      `json:"horizon_ns"`
	Quantile   float64            `json:"quantile"`
	Margin     float64            `json:"margin"`
	Window     time.Duration      `json:"window_ns"`
	Percentile float64            `json:"percentile"`
	HalfLife   time.Duration      `json:"half_life_ns"`
	Memory     time.Duration      `json:"memory_ns"`
	Season     time.Duration      `json:"season_ns"`
	UnderCost  map[string]float64 `json:"under_cost"`
}

func (c config) saved() savedConfig {
	return savedConfig{c.horizon, c.quantile, c.margin, c.window, c.percentile, c.halfLife, c.memory, c.season, c.underCost}
}

func (s savedConfig) config() (config, error) {
	c := defaults()
	c.horizon, c.quantile, c.margin, c.window, c.percentile = s.Horizon, s.Quantile, s.Margin, s.Window, s.Percentile
	c.halfLife, c.memory, c.season, c.underCost = s.HalfLife, s.Memory, s.Season, s.UnderCost
	return c, c.validate()
}
