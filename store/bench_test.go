package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gonum.org/v1/gonum/stat"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
)

// benchBatch is the size of the benchmark's batches, as the consumer
// writes them.
const benchBatch = 50_000

// liveBatch returns batch i of a live stream: 400 series (10 services, 5
// instances, 8 resources), one tick a second, 125 ticks a batch, so that
// successive batches move on in time as the consumer's do.
func liveBatch(i int) []rightsize.Sample {
	rng := rand.New(rand.NewPCG(1, uint64(i)))
	resources := []string{"cpu", "memory", "disk.read", "disk.write", "net.rx", "net.tx", "threads", "cpu.throttled"}
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	out := make([]rightsize.Sample, 0, benchBatch)
	for tick := i * 125; len(out) < benchBatch; tick++ {
		for svc := range 10 {
			for inst := range 5 {
				for _, res := range resources {
					out = append(out, rightsize.Sample{
						Task:     fmt.Sprintf("task-%d", tick/600),
						Service:  fmt.Sprintf("service-%d", svc),
						Instance: fmt.Sprintf("node-%d", inst),
						Resource: res,
						Value:    rng.Float64() * 1e6,
						Time:     t0.Add(time.Duration(tick) * time.Second),
					})
				}
			}
		}
	}
	return out[:benchBatch]
}

// BenchmarkWrite measures ingest with everything the reads need (chunks
// with rollups and sketches, their primary key, compaction) in rows per
// second, each Write a full exactly-once transaction. For PostgreSQL it
// measures in the same run, batch by batch (interleaved), raw pgx
// CopyFrom of the same rows into an unindexed (series_id, time, value)
// table: copy-rows/s, and ratio = store / copy.
func BenchmarkWrite(b *testing.B) {
	b.Run("postgres", func(b *testing.B) {
		dsn := testDSN(b)
		schema := newSchema(b, dsn)
		ctx := context.Background()
		s, err := store.OpenPostgres(ctx, dsn, store.WithSchema(schema))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		narrow := pgx.Identifier{schema, "baseline_narrow"}
		if _, err = conn.Exec(ctx, `CREATE TABLE `+narrow.Sanitize()+` (series_id integer, "time" timestamptz, value float8)`); err != nil {
			b.Fatal(err)
		}
		var copyTime time.Duration
		baseline := func(samples []rightsize.Sample) {
			start := time.Now()
			_, err := conn.CopyFrom(ctx, narrow, []string{"series_id", "time", "value"},
				pgx.CopyFromSlice(len(samples), func(i int) ([]any, error) {
					return []any{int32(i % 400), samples[i].Time, samples[i].Value}, nil
				}))
			if err != nil {
				b.Fatal(err)
			}
			copyTime += time.Since(start)
		}
		rate := benchWrite(b, s, baseline)
		copyRate := float64(b.N*benchBatch) / copyTime.Seconds()
		b.ReportMetric(copyRate, "copy-rows/s")
		b.ReportMetric(rate/copyRate, "ratio")
	})
	b.Run("sqlite", func(b *testing.B) {
		s, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchWrite(b, s, nil)
	})
}

// benchWrite writes b.N live batches as consecutive ranges of one
// partition and returns rows/s. between, if not nil, runs after each
// batch, outside the store's time.
func benchWrite(b *testing.B, s store.Store, between func([]rightsize.Sample)) float64 {
	ctx := context.Background()
	batch := func(i int, samples []rightsize.Sample) rightsize.Batch {
		return rightsize.Batch{
			Samples: samples,
			Ranges:  []rightsize.OffsetRange{{Topic: "resources", From: int64(i) * benchBatch, To: int64(i+1) * benchBatch, Samples: benchBatch}},
		}
	}
	// The first batch creates the series; it is not timed.
	if err := s.Write(ctx, batch(0, liveBatch(0))); err != nil {
		b.Fatal(err)
	}
	var took time.Duration
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		b.StopTimer()
		samples := liveBatch(i)
		b.StartTimer()
		start := time.Now()
		if err := s.Write(ctx, batch(i, samples)); err != nil {
			b.Fatal(err)
		}
		took += time.Since(start)
		if between != nil {
			b.StopTimer()
			between(samples)
			b.StartTimer()
		}
	}
	b.StopTimer()
	rate := float64(b.N*benchBatch) / took.Seconds()
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(0, "ns/op") // per-batch time says less than rows/s
	return rate
}

// The read benchmarks' data: services × 2 resources × 50 000 samples, one
// every 10 s (5.8 days), written as a live stream would write it.
const (
	readSamples  = 50_000
	readInterval = 10 * time.Second
)

var readT0 = time.Date(2025, 3, 1, 0, 0, 3, 0, time.UTC)

// loadReads writes the read benchmarks' data for services into s, a tick
// of every series after another, in batches of benchBatch.
func loadReads(b *testing.B, s store.Store, services int) { loadReadsT(b, s, services) }

func loadReadsT(b testing.TB, s store.Store, services int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, uint64(services)))
	buf := make([]rightsize.Sample, 0, benchBatch)
	off := int64(0)
	flush := func() {
		err := s.Write(ctx, rightsize.Batch{Samples: buf, Ranges: []rightsize.OffsetRange{{Topic: "resources", From: off, To: off + int64(len(buf)), Samples: len(buf)}}})
		if err != nil {
			b.Fatal(err)
		}
		off += int64(len(buf))
		buf = buf[:0]
	}
	start := time.Now()
	for i := range readSamples {
		t := readT0.Add(time.Duration(i) * readInterval)
		for svc := range services {
			name := fmt.Sprintf("svc-%03d", svc)
			busy := 0.0
			if rng.IntN(4) == 0 {
				busy = 0.25 + rng.ExpFloat64()
			}
			buf = append(buf,
				rightsize.Sample{Service: name, Resource: rightsize.CPU, Value: busy, Time: t},
				rightsize.Sample{Service: name, Resource: rightsize.Memory, Value: math.Round(2e9 + 3e8*math.Sin(float64(i)/500) + 1e7*rng.NormFloat64()), Time: t})
			if len(buf) == benchBatch {
				flush()
			}
		}
	}
	if len(buf) > 0 {
		flush()
	}
	n, err := s.Compact(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d rows (%d services) in %v; Compact merged %d buckets the writes left", off, services, time.Since(start).Round(time.Millisecond), n)
}

// readStores caches the loaded stores across sub-benchmarks: loading 11 M
// rows into each backend is most of the benchmark's time.
var readStores = struct {
	sync.Mutex
	m   map[string]store.Store
	sql map[store.Store]viewReader
}{m: map[string]store.Store{}, sql: map[store.Store]viewReader{}}

// viewReader fetches the values of one service's resources in [from, to)
// through the metrics view with a plain SQL client, row by row: what a
// user, a dashboard or the seed's service_usage.py does.
type viewReader func(ctx context.Context, service string, from, to time.Time) (map[string][]float64, error)

func pgViewReader(dsn, schema string) viewReader {
	view := pgx.Identifier{schema, "metrics"}.Sanitize()
	return func(ctx context.Context, service string, from, to time.Time) (map[string][]float64, error) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return nil, err
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, `SELECT resource, value FROM `+view+` WHERE service = $1 AND "time" >= $2 AND "time" < $3`, service, from, to)
		if err != nil {
			return nil, err
		}
		return collectView(rows.Next, rows.Scan, rows.Err)
	}
}

func sqliteViewReader(path string) viewReader {
	return func(ctx context.Context, service string, from, to time.Time) (map[string][]float64, error) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		rows, err := db.QueryContext(ctx, `SELECT resource, value FROM metrics WHERE service = ? AND time >= ? AND time < ?`, service, from.UnixNano(), to.UnixNano())
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		return collectView(rows.Next, rows.Scan, rows.Err)
	}
}

func collectView(next func() bool, scan func(...any) error, errf func() error) (map[string][]float64, error) {
	out := map[string][]float64{}
	var (
		res string
		v   float64
	)
	for next() {
		if err := scan(&res, &v); err != nil {
			return nil, err
		}
		out[res] = append(out[res], v)
	}
	return out, errf()
}

func readStore(b *testing.B, backend string, services int) store.Store {
	readStores.Lock()
	defer readStores.Unlock()
	key := fmt.Sprintf("%s/%d", backend, services)
	if s, ok := readStores.m[key]; ok {
		return s
	}
	var (
		s   store.Store
		err error
	)
	switch backend {
	case "postgres":
		dsn := testDSN(b)
		schema := readSchema(b, dsn, services)
		s, err = store.OpenPostgres(context.Background(), dsn, store.WithSchema(schema))
		if err != nil {
			b.Fatal(err)
		}
		loadReads(b, s, services)
		vacuum(b, dsn, schema)
		readStores.sql[s] = pgViewReader(dsn, schema)
	default:
		path := filepath.Join(readDir(b), fmt.Sprintf("reads-%d.db", services))
		s, err = store.OpenSQLite(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		loadReads(b, s, services)
		readStores.sql[s] = sqliteViewReader(path)
	}
	readStores.m[key] = s
	return s
}

// vacuum does what autovacuum does in a store left running: clear the
// chunks compaction replaced and refresh the planner's statistics.
func vacuum(b *testing.B, dsn, schema string) {
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), "VACUUM ANALYZE "+pgx.Identifier{schema, "rightsize_chunks"}.Sanitize()); err != nil {
		b.Fatal(err)
	}
}

// Schemas and files that outlive one sub-benchmark; dropped by the
// benchmark that made them.
var (
	readTmp     string
	readDSN     string
	readSchemas []string
)

func readSchema(b *testing.B, dsn string, services int) string {
	name := fmt.Sprintf("rightsize_bench_%d_%d", services, time.Now().UnixNano())
	readDSN = dsn
	readSchemas = append(readSchemas, name)
	return name
}

func readDir(b *testing.B) string {
	if readTmp == "" {
		dir, err := os.MkdirTemp("", "rightsize-bench")
		if err != nil {
			b.Fatal(err)
		}
		readTmp = dir
	}
	return readTmp
}

// baselineSummary is the baseline the reads are compared with: fetch the
// service's rows through ReadSeries, the store's own fastest raw path,
// and compute the same summary in Go with gonum (percentiles from the
// sorted values). With all set it fetches all of the service's rows and
// keeps those in f's window, as a reader without rollups must; without,
// it asks ReadSeries for f's window alone.
func baselineSummary(ctx context.Context, s store.Store, f rightsize.Filter, all bool) (map[string][]float64, error) {
	out := map[string][]float64{}
	g := f
	if all {
		g.From, g.To = time.Time{}, time.Time{}
	}
	err := s.ReadSeries(ctx, g, func(sr rightsize.Series) error {
		var v []float64
		for i, t := range sr.Times {
			if (f.From.IsZero() || !t.Before(f.From)) && (f.To.IsZero() || t.Before(f.To)) {
				v = append(v, sr.Values[i])
			}
		}
		slices.Sort(v)
		mean, sd := stat.MeanStdDev(v, nil)
		out[sr.Resource] = []float64{
			stat.Quantile(0.5, stat.Empirical, v, nil), stat.Quantile(0.9, stat.Empirical, v, nil),
			stat.Quantile(0.95, stat.Empirical, v, nil), stat.Quantile(0.99, stat.Empirical, v, nil),
			mean, sd, float64(len(v)),
		}
		return nil
	})
	return out, err
}

// BenchmarkExpected measures Aggregate for one service with percentiles
// (what usage.Expected asks), over all history and over an unaligned
// 24 h window, with 10 services stored (1 M rows) and with 100 (10 M
// rows), on each store. Each iteration also runs the baseline — the
// service's rows fetched and summarised in Go — and times them apart:
// ms/expected, ms/baseline, and speedup = baseline / expected; rel-err is
// the largest relative error of P50..P99 against the baseline's exact
// values. Three baselines, each computing the same in Go with gonum:
// ms/baseline fetches all of the service's rows through ReadSeries (the
// store's fastest raw path) and keeps the window's, ms/baseline-window
// asks ReadSeries for the window's rows alone, and ms/baseline-view
// selects the window's rows from the metrics view with a plain SQL
// client, row by row, as a user or a dashboard would; speedup,
// speedup-window and speedup-view compare with each.
//
// It loads 11 M rows into each store first (about a minute): run it on
// purpose, e.g. go test -run '^$' -bench Expected -benchtime 20x ./store.
func BenchmarkExpected(b *testing.B) {
	b.Cleanup(func() {
		readStores.Lock()
		defer readStores.Unlock()
		for k, s := range readStores.m {
			s.Close()
			delete(readStores.m, k)
			delete(readStores.sql, s)
		}
		if readTmp != "" {
			os.RemoveAll(readTmp)
			readTmp = ""
		}
		if readDSN != "" {
			conn, err := pgx.Connect(context.Background(), readDSN)
			if err == nil {
				for _, sc := range readSchemas {
					conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{sc}.Sanitize()+" CASCADE")
				}
				conn.Close(context.Background())
			}
			readSchemas = nil
		}
	})
	end := readT0.Add(readSamples * readInterval)
	day := rightsize.Filter{From: end.Add(-24*time.Hour - 17*time.Minute - 3*time.Second), To: end.Add(-17*time.Minute - 3*time.Second)}
	for _, backend := range []string{"postgres", "sqlite"} {
		for _, services := range []int{10, 100} {
			for _, window := range []string{"all", "24h"} {
				name := fmt.Sprintf("%s/rows=%dM/%s", backend, services*2*readSamples/1_000_000, window)
				b.Run(name, func(b *testing.B) {
					s := readStore(b, backend, services)
					ctx := context.Background()
					f := rightsize.Filter{Services: []string{"svc-007"}}
					if window == "24h" {
						f.From, f.To = day.From, day.To
					}
					readStores.Lock()
					view := readStores.sql[s]
					readStores.Unlock()
					var tExp, tBase, tWin, tView time.Duration
					worst := 0.0
					for range 10 { // warm up: caches, prepared statements
						if _, err := s.Aggregate(ctx, rightsize.Aggregation{Filter: f}); err != nil {
							b.Fatal(err)
						}
					}
					b.ResetTimer()
					for range b.N {
						start := time.Now()
						sums, err := s.Aggregate(ctx, rightsize.Aggregation{Filter: f})
						tExp += time.Since(start)
						if err != nil || len(sums) != 2 {
							b.Fatalf("Aggregate = %v, %v", sums, err)
						}
						start = time.Now()
						exact, err := baselineSummary(ctx, s, f, true)
						tBase += time.Since(start)
						if err != nil {
							b.Fatal(err)
						}
						start = time.Now()
						if _, err := baselineSummary(ctx, s, f, false); err != nil {
							b.Fatal(err)
						}
						tWin += time.Since(start)
						start = time.Now()
						from, to := f.From, f.To
						if from.IsZero() {
							from, to = readT0.AddDate(-1, 0, 0), readT0.AddDate(1, 0, 0)
						}
						vals, err := view(ctx, "svc-007", from, to)
						if err != nil {
							b.Fatal(err)
						}
						for _, v := range vals {
							slices.Sort(v)
							stat.MeanStdDev(v, nil)
							stat.Quantile(0.99, stat.Empirical, v, nil)
						}
						tView += time.Since(start)
						if len(vals[rightsize.CPU]) != int(exact[rightsize.CPU][6]) {
							b.Fatalf("the view gave %d cpu values, ReadSeries %v", len(vals[rightsize.CPU]), exact[rightsize.CPU][6])
						}
						for _, x := range sums {
							if e := exact[x.Resource]; int64(e[6]) != x.Count || math.Abs(x.Mean-e[4]) > 1e-9*e[4] {
								b.Fatalf("%s: count %d, mean %g; baseline %v, %g", x.Resource, x.Count, x.Mean, e[6], e[4])
							}
							for i, got := range []float64{x.P50, x.P90, x.P95, x.P99} {
								if e := exact[x.Resource][i]; e != 0 {
									worst = max(worst, math.Abs(got-e)/e)
								} else if got != 0 {
									b.Fatalf("%s: %v, exact 0", x.Resource, got)
								}
							}
						}
					}
					b.StopTimer()
					n := float64(b.N)
					b.ReportMetric(tExp.Seconds()*1000/n, "ms/expected")
					b.ReportMetric(tBase.Seconds()*1000/n, "ms/baseline")
					b.ReportMetric(tBase.Seconds()/tExp.Seconds(), "speedup")
					b.ReportMetric(tWin.Seconds()*1000/n, "ms/baseline-window")
					b.ReportMetric(tWin.Seconds()/tExp.Seconds(), "speedup-window")
					b.ReportMetric(tView.Seconds()*1000/n, "ms/baseline-view")
					b.ReportMetric(tView.Seconds()/tExp.Seconds(), "speedup-view")
					b.ReportMetric(worst, "rel-err")
					b.ReportMetric(0, "ns/op")
				})
			}
		}
		b.Run(backend+"/rows=10M/stream-one-series", func(b *testing.B) {
			s := readStore(b, backend, 100)
			ctx := context.Background()
			f := rightsize.Filter{Services: []string{"svc-042"}, Resources: []string{rightsize.Memory}}
			b.ResetTimer()
			for range b.N {
				rows, err := s.Stream(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				if rows.Err() != nil || n != readSamples {
					b.Fatalf("streamed %d samples (%v), want %d", n, rows.Err(), readSamples)
				}
				rows.Close()
			}
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N), "ms/series")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkBucketWidth compares bucket widths on 1 M rows (10 services ×
// 2 resources × 50 000 samples every 10 s, written as a live stream):
// load-rows/s is the whole load (Writes with their compaction), then
// Aggregate for one service over all history and over an unaligned 24 h
// window (ms/all, ms/24h, after a warm-up).
func BenchmarkBucketWidth(b *testing.B) {
	end := readT0.Add(readSamples * readInterval)
	day := rightsize.Filter{Services: []string{"svc-007"}, From: end.Add(-24*time.Hour - 17*time.Minute - 3*time.Second), To: end.Add(-17*time.Minute - 3*time.Second)}
	whole := rightsize.Filter{Services: []string{"svc-007"}}
	for _, backend := range []string{"postgres", "sqlite"} {
		for _, width := range []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour} {
			b.Run(fmt.Sprintf("%s/bucket=%v", backend, width), func(b *testing.B) {
				ctx := context.Background()
				var (
					s           store.Store
					err         error
					dsn, schema string
				)
				if backend == "postgres" {
					dsn = testDSN(b)
					schema = newSchema(b, dsn)
					s, err = store.OpenPostgres(ctx, dsn, store.WithSchema(schema), store.WithBucketWidth(width))
				} else {
					s, err = store.OpenSQLite(ctx, filepath.Join(b.TempDir(), "w.db"), store.WithBucketWidth(width))
				}
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				start := time.Now()
				loadReadsT(b, s, 10)
				load := time.Since(start)
				if backend == "postgres" {
					vacuum(b, dsn, schema)
				}
				timeIt := func(f rightsize.Filter) float64 {
					for range 10 {
						if _, err := s.Aggregate(ctx, rightsize.Aggregation{Filter: f}); err != nil {
							b.Fatal(err)
						}
					}
					start := time.Now()
					for range b.N {
						if _, err := s.Aggregate(ctx, rightsize.Aggregation{Filter: f}); err != nil {
							b.Fatal(err)
						}
					}
					return time.Since(start).Seconds() * 1000 / float64(b.N)
				}
				b.ReportMetric(float64(10*2*readSamples)/load.Seconds(), "load-rows/s")
				b.ReportMetric(timeIt(whole), "ms/all")
				b.ReportMetric(timeIt(day), "ms/24h")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
