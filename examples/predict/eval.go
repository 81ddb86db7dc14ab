package main

// The eval subcommand: every forecasting model, side by side, through the
// backtest harness, on a long-format CSV history.
//
//	go run ./examples/predict eval -csv ../shared/data/traces/bitbrains-rnd-2013-07.csv.gz -step 1h

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/backtest"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store/longcsv"
	"github.com/rightsize/rightsize/usage"
)

func evalCommand(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("eval", stderr, "usage: predict eval -csv PATH [-step 1h] [-models a,b] [-o table|json|csv] [flags]",
		"Scores every forecasting model with the rolling-origin backtest: each step, a forecast from the history so far, scored on the next step.")
	path := fs.String("csv", "", "long-format CSV (task_id,service,resource,value,timestamp[,instance]); gzip is read directly (required)")
	step := fs.Duration("step", time.Hour, "re-forecast every step, for a horizon of one step")
	warmup := fs.Duration("warmup", 24*time.Hour, "history observed before the first scored step")
	names := fs.String("models", strings.Join(predict.Kinds, ","), "models to score, comma-separated")
	vpa := fs.Bool("vpa", true, "also score the usage package's VPA recommender (a level, no point forecast)")
	quantile := fs.Float64("quantile", predict.DefaultQuantile, "the quantile upper levels aim at")
	underCost := fs.Float64("under-cost", 0, "the selector's price of under-provisioning, every resource (default: 5, memory 10)")
	out := fs.String("o", "table", "output: table, json or csv")
	perSeries := fs.Bool("per-series", false, "with -o json or csv, add one row per model and series")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	switch {
	case *path == "":
		fs.Usage()
		return errors.New("eval: -csv is required")
	case !slices.Contains([]string{"table", "json", "csv"}, *out):
		return fmt.Errorf("eval: -o %s: want table, json or csv", *out)
	}
	f, err := os.Open(*path)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	series, err := longcsv.ReadSeries(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("eval: %s: %w", *path, err)
	}
	opts := []predict.Option{predict.WithHorizon(*step), predict.WithQuantile(*quantile)}
	if *underCost > 0 {
		opts = append(opts, predict.WithUnderCost("", *underCost), predict.WithUnderCost(rightsize.Memory, *underCost))
	}
	var models []predict.Model
	for _, n := range splitList(*names) {
		m, err := predict.New(n, opts...)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		models = append(models, m)
	}
	if len(models) == 0 {
		return errors.New("eval: -models names no model")
	}
	methods := predict.Methods(models...)
	if *vpa {
		v, err := usage.VPA()
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		methods = append(methods, usage.Forecaster(v))
	}
	bar := newProgress(stderr, "series scored")
	rep, err := backtest.Run(ctx, series, methods, backtest.WithStep(*step), backtest.WithWarmup(*warmup),
		backtest.WithProgress(bar.update))
	bar.finish()
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	switch *out {
	case "json":
		return rep.WriteJSON(stdout, *perSeries)
	case "csv":
		if err := rep.WriteCSV(stdout); err != nil {
			return err
		}
		if *perSeries {
			fmt.Fprintln(stdout)
			return rep.WriteSeriesCSV(stdout)
		}
		return nil
	}
	fmt.Fprintf(stdout, "%d series, %v steps after a %v warm-up, upper levels at q=%g\n\n", len(series), *step, *warmup, *quantile)
	if err := rep.WriteTable(stdout); err != nil {
		return err
	}
	return writePointTable(stdout, rep)
}

// writePointTable writes the MAE and sMAPE of each model's point
// forecast, per resource.
func writePointTable(w io.Writer, rep *backtest.Report) error {
	fmt.Fprintln(w, "\npoint forecasts:")
	tw := newTable(w)
	fmt.Fprintln(tw, "RESOURCE\tMETHOD\tMAE\tsMAPE %\t")
	for _, r := range rep.Rows {
		if r.MAE == nil {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4g\t%.1f\t\n", r.Resource, r.Method, *r.MAE, *r.SMAPE)
	}
	return tw.Flush()
}
