package predict

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rightsize/rightsize/backtest"
)

// Model is what every forecasting model of this package is: a Predictor
// that the backtest harness can also score (a backtest.Method).
type Model interface {
	Predictor
	backtest.Method
	// Kind is the model's kind, as New and the saved form name it.
	Kind() string
	// Horizon and Quantile are the horizon forecast and the quantile the
	// upper levels aim at.
	Horizon() time.Duration
	Quantile() float64
	// Series describes the series learnt; nil before Fit.
	Series() []SeriesInfo
}

// Kinds are the kinds of model New makes, baselines first.
var Kinds = []string{"linear-trend", "last-value", "same-time-yesterday", "window-max", "decaying-percentile", "holt-winters", "selector"}

// ErrUnknownKind is matched by New's and Load's error for a kind not in
// Kinds.
var ErrUnknownKind = errors.New("predict: unknown kind of model")

// New returns a model of the named kind (one of Kinds), configured by
// opts.
func New(kind string, opts ...Option) (Model, error) {
	switch kind {
	case "linear-trend":
		return NewLinearTrend(opts...)
	case "last-value":
		return NewLastValue(opts...)
	case "same-time-yesterday":
		return NewSameTimeYesterday(opts...)
	case "window-max":
		return NewWindowMax(opts...)
	case "decaying-percentile":
		return NewDecayingPercentile(opts...)
	case "holt-winters":
		return NewHoltWinters(opts...)
	case "selector":
		return NewSelector(opts...)
	}
	return nil, fmt.Errorf("%w %q (want one of %v)", ErrUnknownKind, kind, Kinds)
}

// Models returns one model of every kind, in the order of Kinds,
// configured by opts: what a backtest compares.
func Models(opts ...Option) ([]Model, error) {
	out := make([]Model, 0, len(Kinds))
	for _, k := range Kinds {
		m, err := New(k, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// Methods returns models as backtest methods.
func Methods(models ...Model) []backtest.Method {
	out := make([]backtest.Method, len(models))
	for i, m := range models {
		out[i] = m
	}
	return out
}

// A saved model is one JSON document, gzip-compressed:
//
//	{"format": "rightsize.forecast", "version": 1, "kind": "selector",
//	 "config": {...}, "series": [{"key": {...}, "n": ..., "state": {...}}, ...]}
//
// Numbers that a model's state holds in bulk are written as the bits of
// their IEEE 754 form (base64), and times as Unix nanoseconds, so that a
// loaded model holds exactly what the saved one did and predicts exactly
// what it would have. Derived structures (sorted windows) are rebuilt on
// loading. A later version of rightsize reads the versions before it; a
// document of a newer version, or not a saved forecasting model, is
// refused with an error matching ErrFormat.

// FormatVersion is the version Save writes.
const FormatVersion = 1

const formatName = "rightsize.forecast"

// ErrFormat is matched by Load's error for input that is not a saved
// forecasting model of a version this package reads.
var ErrFormat = errors.New("predict: not a saved forecasting model this version reads")

type savedModel struct {
	Format  string        `json:"format"`
	Version int           `json:"version"`
	Kind    string        `json:"kind"`
	Config  savedConfig   `json:"config"`
	Series  []savedSeries `json:"series"`
}

type savedSeries struct {
	Key   seriesKey       `json:"key"`
	N     int64           `json:"n"`
	First int64           `json:"first"`
	Last  int64           `json:"last"`
	Max   float64         `json:"max"`
	State json.RawMessage `json:"state"`
}

// kind is every model type's way to its shared part.
func (m *models) Kind() string    { return m.kind }
func (m *models) shared() *models { return m }

// Save writes a fitted model to w. It returns ErrNotFitted for a model
// not fitted, and an error for a Predictor this package did not make.
func Save(w io.Writer, p Predictor) error {
	sh, ok := p.(interface{ shared() *models })
	if !ok {
		return fmt.Errorf("%w: %T", errNotModel, p)
	}
	m := sh.shared()
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.series == nil {
		return ErrNotFitted
	}
	doc := savedModel{Format: formatName, Version: FormatVersion, Kind: m.kind, Config: m.cfg.saved()}
	for _, k := range sortedKeys(m.series) {
		st := m.series[k]
		raw, err := json.Marshal(st.S)
		if err != nil {
			return fmt.Errorf("predict: save %s %s: %w", k.Service, k.Resource, err)
		}
		doc.Series = append(doc.Series, savedSeries{k, st.N, st.First, st.Last, st.Max, raw})
	}
	zw := gzip.NewWriter(w)
	if err := json.NewEncoder(zw).Encode(doc); err != nil {
		return fmt.Errorf("predict: save: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("predict: save: %w", err)
	}
	return nil
}

// Load reads a model Save wrote (gzip-compressed or not).
func Load(r io.Reader) (Model, error) {
	br := bufio.NewReader(r)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrFormat, err)
		}
		defer zr.Close()
		in = zr
	}
	var doc savedModel
	if err := json.NewDecoder(in).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	switch {
	case doc.Format != formatName:
		return nil, fmt.Errorf("%w: format %q", ErrFormat, doc.Format)
	case doc.Version < 1 || doc.Version > FormatVersion:
		return nil, fmt.Errorf("%w: version %d (this package reads 1 to %d)", ErrFormat, doc.Version, FormatVersion)
	}
	c, err := doc.Config.config()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	mod, err := New(doc.Kind, configOption(c))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	m := mod.(interface{ shared() *models }).shared()
	series := make(map[seriesKey]*tracked, len(doc.Series))
	for _, s := range doc.Series {
		st := m.newState(&m.cfg, s.Key.Resource)
		if err := json.Unmarshal(s.State, st); err != nil {
			return nil, fmt.Errorf("%w: series %s %s: %w", ErrFormat, s.Key.Service, s.Key.Resource, err)
		}
		if r, ok := st.(restorer); ok {
			r.restore(&m.cfg)
		}
		series[s.Key] = &tracked{N: s.N, First: s.First, Last: s.Last, Max: s.Max, S: st}
	}
	if len(series) == 0 {
		return nil, fmt.Errorf("%w: no series", ErrFormat)
	}
	m.series = series
	return mod, nil
}

// configOption sets a whole configuration, keeping the workers and
// progress of the one it is applied to.
func configOption(c config) Option {
	return optionFunc(func(dst *config) {
		workers, progress := dst.workers, dst.progress
		*dst = c
		dst.workers, dst.progress = workers, progress
	})
}
