package predict_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/store/longcsv"
)

// tracePath is the shared Bitbrains trace, relative to this package.
const tracePath = "../../shared/data/traces/bitbrains-rnd-2013-07.csv.gz"

// BenchmarkFitTrace: training the selector on the whole shared trace
// (768 748 samples, 100 series), read through the store — SQLite, and
// PostgreSQL when RIGHTSIZE_TEST_DATABASE_URL is set — and, for
// comparison, from the series already in memory. The trace is imported
// once, before the timing.
func BenchmarkFitTrace(b *testing.B) {
	if _, err := os.Stat(tracePath); err != nil {
		b.Skipf("the shared trace is not at %s", tracePath)
	}
	ctx := context.Background()
	stores := map[string]func(b *testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			st, err := store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "trace.db"))
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	if dsn := os.Getenv("RIGHTSIZE_TEST_DATABASE_URL"); dsn != "" {
		stores["postgres"] = func(b *testing.B) store.Store {
			st, err := store.OpenPostgres(ctx, dsn, store.WithSchema(testenv.Schema(b, dsn, "rightsize_predict_bench")))
			if err != nil {
				b.Fatal(err)
			}
			return st
		}
	}
	b.Run("memory", func(b *testing.B) {
		// The learning alone: the trace's series already in memory.
		f, err := os.Open(tracePath)
		if err != nil {
			b.Fatal(err)
		}
		series, err := longcsv.ReadSeries(f)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			m, _ := predict.NewSelector()
			if err := m.Fit(ctx, predict.FromSeries(series...)); err != nil {
				b.Fatal(err)
			}
		}
	})
	for name, open := range stores {
		b.Run(name, func(b *testing.B) {
			st := open(b)
			defer st.Close()
			f, err := os.Open(tracePath)
			if err != nil {
				b.Fatal(err)
			}
			r, err := longcsv.NewReader(f)
			if err != nil {
				b.Fatal(err)
			}
			res, err := longcsv.Import(ctx, st, r, longcsv.ImportOptions{})
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.Rows), "rows")
			for b.Loop() {
				m, _ := predict.NewSelector()
				if err := m.Fit(ctx, predict.FromStore(st, rightsize.Filter{})); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPredict: one prediction (cpu and memory of one service) from
// each model, fitted on six days of 5-minute samples of three services.
func BenchmarkPredict(b *testing.B) {
	ctx := context.Background()
	h := fcHistory()
	ms, err := predict.Models()
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range ms {
		if err := m.Fit(ctx, predict.FromSeries(h...)); err != nil {
			b.Fatal(err)
		}
		from := h[0].Times[len(h[0].Times)-1].Add(time.Minute)
		b.Run(m.Kind(), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Predict(ctx, predict.Query{Service: "api", From: from}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
