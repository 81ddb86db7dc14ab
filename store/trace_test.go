package store_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/store/longcsv"
)

// tracePath is the shared trace, beside the project (never copied in).
var tracePath = filepath.Join("..", "..", "shared", "data", "traces", "bitbrains-rnd-2013-07.csv.gz")

const traceRows = 768_748

// TestTraceAccuracy imports the shared trace into each store, counts its
// rows, and compares the percentiles Aggregate gives for every VM and
// resource — over all of it and over an unaligned 24 h window — with the
// exact ones gonum computes from the file's values.
func TestTraceAccuracy(t *testing.T) {
	if _, err := os.Stat(tracePath); err != nil {
		t.Skipf("the shared trace is not here: %v", err)
	}
	series := readTrace(t)
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			var s store.Store
			if backend == "postgres" {
				s, _, _ = openPostgres(t)
			} else {
				s = openSQLite(t, filepath.Join(t.TempDir(), "trace.db"))
			}
			f, err := os.Open(tracePath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := longcsv.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			res, err := longcsv.Import(context.Background(), s, r, longcsv.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			cat, err := s.Catalog(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			var stored int64
			for _, si := range cat {
				stored += si.Count
			}
			t.Logf("imported %d rows in %v (%.0f rows/s); the store counts %d in %d series", res.Rows, res.Elapsed.Round(time.Millisecond), float64(res.Rows)/res.Elapsed.Seconds(), stored, len(cat))
			if res.Rows != traceRows || stored != traceRows || len(cat) != len(series) {
				t.Fatalf("imported %d, stored %d rows in %d series; want %d in %d", res.Rows, stored, len(cat), traceRows, len(series))
			}
			qs := []float64{0.01, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999}
			from := time.Date(2013, 7, 14, 9, 41, 17, 0, time.UTC)
			worst := 0.0
			for _, window := range []rightsize.Filter{{}, {From: from, To: from.Add(24 * time.Hour)}} {
				for _, sr := range series {
					f := window
					f.Services, f.Resources = []string{sr.Service}, []string{sr.Resource}
					sums, err := s.Aggregate(t.Context(), rightsize.Aggregation{Filter: f, Quantiles: qs})
					var v []float64
					for i, tm := range sr.Times {
						if f.From.IsZero() || !tm.Before(f.From) && tm.Before(f.To) {
							v = append(v, sr.Values[i])
						}
					}
					slices.Sort(v)
					if err != nil || len(sums) != min(len(v), 1) {
						t.Fatalf("Aggregate(%s/%s) = %v, %v; %d values in the window", sr.Service, sr.Resource, sums, err, len(v))
					}
					if len(v) == 0 {
						continue
					}
					if sums[0].Count != int64(len(v)) {
						t.Fatalf("%s/%s: count %d, want %d", sr.Service, sr.Resource, sums[0].Count, len(v))
					}
					for _, q := range sums[0].Quantiles {
						exact := stat.Quantile(q.Q, stat.Empirical, v, nil)
						rel := 0.0
						if exact != 0 {
							rel = math.Abs(q.Value-exact) / exact
						} else if q.Value != 0 {
							rel = math.Inf(1)
						}
						if rel > 0.01*(1+1e-9) {
							t.Errorf("%s/%s q%v: %g, exact %g: relative error %.4f", sr.Service, sr.Resource, q.Q, q.Value, exact, rel)
						}
						worst = max(worst, rel)
					}
				}
			}
			t.Logf("%d series × 2 windows × %d quantiles: worst relative error %.5f (bound 0.01)", len(series), len(qs), worst)
		})
	}
}

func readTrace(t *testing.T) []rightsize.Series {
	f, err := os.Open(tracePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	series, err := longcsv.ReadSeries(f)
	if err != nil {
		t.Fatal(err)
	}
	return series
}
