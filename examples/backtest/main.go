// Command backtest scores recommendation methods on a long-format CSV
// history: every method side by side, per resource, against the oracle.
//
//	go run ./examples/backtest -csv ../shared/data/traces/bitbrains-rnd-2013-07.csv.gz \
//	    -capacity ../shared/data/traces/bitbrains-rnd-2013-07.capacity.csv
//
// Methods: the VPA baseline, KRR's simple strategy, the seed's max + 10 %,
// the default calibrated method (its risk budgets set with -budget
// cpu=0.01,memory=0.001), and what operators allocated (with -capacity).
// -o table (default), json or csv; -per-series adds one row per method
// and series to json and csv. The CSV is read with store/longcsv (gzip
// directly).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rightsize/rightsize/backtest"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/store/longcsv"
	"github.com/rightsize/rightsize/usage"
	"github.com/schollz/progressbar/v3"
)

const prog = "backtest"

func main() {
	fs := flag.NewFlagSet(prog, flag.ExitOnError)
	path := fs.String("csv", "", "long-format CSV (task_id,service,resource,value,timestamp[,instance]); gzip is read directly")
	capacity := fs.String("capacity", "", "optional capacity file: what operators allocated, scored as the method \"allocated\"")
	step := fs.Duration("step", 24*time.Hour, "how long each level is held before the next is computed")
	warmup := fs.Duration("warmup", 24*time.Hour, "history observed before the first scored step")
	budgets := fs.String("budget", "", "risk budgets of the calibrated method, resource=share,... (default cpu=0.01,memory=0.001)")
	out := fs.String("o", "table", "output: table, json or csv")
	perSeries := fs.Bool("per-series", false, "with -o json or csv, add one row per method and series")
	fs.Parse(os.Args[1:])
	if *path == "" {
		cli.UsageError(fs, prog, "-csv is required")
	}
	if *out != "table" && *out != "json" && *out != "csv" {
		cli.UsageError(fs, prog, "-o must be table, json or csv")
	}
	opts, err := usage.ParseBudgets(*budgets)
	if err != nil {
		cli.UsageError(fs, prog, err.Error())
	}
	ctx, stop := cli.SignalContext(context.Background(), prog)
	defer stop()
	if err := run(ctx, os.Stdout, *path, *capacity, *out, *perSeries, *step, *warmup, opts); err != nil {
		cli.Fail(prog, err)
	}
}

func run(ctx context.Context, w io.Writer, path, capacity, out string, perSeries bool, step, warmup time.Duration, opts []usage.CalibratedOption) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	series, err := longcsv.ReadSeries(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	methods, err := usage.BacktestMethods(append(opts, usage.Horizon(step))...)
	if err != nil {
		return err
	}
	if capacity != "" {
		a, err := backtest.ReadAllocationFile(capacity)
		if err != nil {
			return err
		}
		methods = append(methods, a)
	}
	rep, err := backtest.Run(ctx, series, methods, backtest.WithStep(step), backtest.WithWarmup(warmup),
		backtest.WithProgress(progress(len(series))))
	if err != nil {
		return err
	}
	switch out {
	case "json":
		return rep.WriteJSON(w, perSeries)
	case "csv":
		if err := rep.WriteCSV(w); err != nil || !perSeries {
			return err
		}
		fmt.Fprintln(w)
		return rep.WriteSeriesCSV(w)
	}
	fmt.Fprintf(w, "%d series, %v steps after a %v warm-up\n\n", len(series), step, warmup)
	return rep.WriteTable(w)
}

// progress shows a bar on standard error once a run has taken a second.
func progress(total int) func(done, total int) {
	start := time.Now()
	var bar *progressbar.ProgressBar
	return func(done, _ int) {
		if bar == nil && time.Since(start) > time.Second && done < total {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription("series"), progressbar.OptionClearOnFinish())
		}
		if bar != nil {
			bar.Set(done)
		}
	}
}
