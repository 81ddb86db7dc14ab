package usage_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
)

// BenchmarkRecommend: Recommend for one service among 100 (2 resources
// each, one sample a minute), through the store's rollups, beside the
// naive approach (every raw sample of the service through Scan). Rows
// stored: RIGHTSIZE_BENCH_ROWS (default 1 000 000; the figure to meet is
// 10 000 000). The store is PostgreSQL when RIGHTSIZE_TEST_DATABASE_URL
// is set, else SQLite.
func BenchmarkRecommend(b *testing.B) {
	rows := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("RIGHTSIZE_BENCH_ROWS")); err == nil && v > 0 {
		rows = v
	}
	ctx := context.Background()
	var st store.Store
	var err error
	if dsn := os.Getenv("RIGHTSIZE_TEST_DATABASE_URL"); dsn != "" {
		st, err = store.OpenPostgres(ctx, dsn, store.WithSchema(testenv.Schema(b, dsn, "rightsize_usage_bench")))
	} else {
		st, err = store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "bench.db"))
	}
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	per := rows / 200
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]rightsize.Sample, 0, 100_000)
	flush := func() {
		if err := st.Write(ctx, rightsize.Batch{Samples: batch}); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for svc := range 100 {
		name := "svc-" + strconv.Itoa(svc)
		for i := range per {
			at := t0.Add(time.Duration(i) * time.Minute)
			x := math.Sin(float64(i) / 300)
			batch = append(batch,
				rightsize.Sample{Service: name, Resource: "cpu", Value: 0.5 + 0.3*x, Time: at},
				rightsize.Sample{Service: name, Resource: "memory", Value: 1e9 + 2e8*x, Time: at})
			if len(batch) >= cap(batch)-2 {
				flush()
			}
		}
	}
	flush()
	rollups, _ := usage.New(st)
	naive, _ := usage.New(scanOnly{st})
	for name, e := range map[string]*usage.Estimator{"rollups": rollups, "naive": naive} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Recommend(ctx, "svc-42"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
