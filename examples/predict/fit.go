package main

// The fit subcommand: train a forecasting model on a store or a CSV file
// and save it.
//
//	go run ./examples/predict fit -db sqlite:rightsize.db -save model.rsf
//	go run ./examples/predict fit -csv ../shared/data/traces/bitbrains-rnd-2013-07.csv.gz -save model.rsf

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
)

func fitCommand(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("fit", stderr, "usage: predict fit [-db DSN | -csv PATH] -save FILE [flags]",
		"Trains a forecasting model on the series of the store (or a CSV file) and saves it.")
	tr := registerTraining(fs)
	save := fs.String("save", "", "save the trained model to this file (required)")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *save == "" {
		fs.Usage()
		return errors.New("fit: -save is required")
	}
	m, took, err := tr.train(ctx, stderr)
	if err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	if err := saveModel(*save, m); err != nil {
		return fmt.Errorf("fit: %w", err)
	}
	fmt.Fprintf(stdout, "%s (horizon %v, upper levels at q=%g): %s; saved to %s\n", m.Name(), m.Horizon(), m.Quantile(), learnt(m, took), *save)
	return nil
}

// training holds the flags that say what to train on, and how.
type training struct {
	dsn            *string
	csv, services  string
	kind           string
	since, horizon time.Duration
	quantile       float64
}

func registerTraining(fs *flag.FlagSet) *training {
	t := &training{dsn: cli.RegisterDB(fs)}
	fs.StringVar(&t.csv, "csv", "", "train on this long-format CSV file (gzip read directly) instead of the store")
	fs.StringVar(&t.services, "services", "", "train on these services only, comma-separated (default: every service)")
	fs.DurationVar(&t.since, "since", 0, "train on this last period only (default: all history)")
	fs.StringVar(&t.kind, "kind", "selector", "the kind of model: "+strings.Join(predict.Kinds, ", "))
	fs.DurationVar(&t.horizon, "horizon", time.Hour, "the horizon forecast, and calibrated for")
	fs.Float64Var(&t.quantile, "quantile", predict.DefaultQuantile, "the quantile of the horizon's samples the upper level (limit) aims at")
	return t
}

// train fits the model the flags name on the history they name, and
// returns it with how long learning took.
func (t *training) train(ctx context.Context, stderr io.Writer) (predict.Model, time.Duration, error) {
	bar := newProgress(stderr, "series learnt")
	defer bar.finish()
	m, err := predict.New(t.kind, predict.WithHorizon(t.horizon), predict.WithQuantile(t.quantile),
		predict.WithProgress(func(done, _ int) { bar.update(done, -1) }))
	if err != nil {
		return nil, 0, err
	}
	f := rightsize.Filter{Services: splitList(t.services)}
	if t.since > 0 {
		f.From = time.Now().Add(-t.since)
	}
	var h predict.History
	where := t.csv
	if t.csv != "" {
		h = predict.Filter(predict.FromCSVFile(t.csv), f)
	} else {
		where = cli.Redact(*t.dsn)
		st, err := store.Open(ctx, *t.dsn)
		if err != nil {
			return nil, 0, fmt.Errorf("open %s: %w", where, err)
		}
		defer st.Close()
		h = predict.FromStore(st, f)
	}
	start := time.Now()
	if err := m.Fit(ctx, h); err != nil {
		if errors.Is(err, predict.ErrNoHistory) {
			return nil, 0, fmt.Errorf("%w in %s (import some with go run ./examples/readdata import)", err, where)
		}
		return nil, 0, err
	}
	return m, time.Since(start), nil
}

// learnt says what a model learnt from.
func learnt(m predict.Model, took time.Duration) string {
	var samples int64
	series := m.Series()
	for _, s := range series {
		samples += s.Samples
	}
	return fmt.Sprintf("%d series, %d samples, learnt in %v", len(series), samples, took.Round(time.Millisecond))
}

func saveModel(path string, m predict.Model) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := predict.Save(f, m); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func loadModel(path string) (predict.Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := predict.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}
