package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
)

// benchBatch is the size of the benchmark's batches, as the consumer
// writes them.
const benchBatch = 50_000

// benchSamples returns benchBatch samples of 400 series (10 services, 5
// instances, 8 resources), one tick of every series after another.
func benchSamples() []rightsize.Sample {
	rng := rand.New(rand.NewPCG(1, 2))
	resources := []string{"cpu", "memory", "disk.read", "disk.write", "net.rx", "net.tx", "threads", "cpu.throttled"}
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	out := make([]rightsize.Sample, 0, benchBatch)
	for tick := 0; len(out) < benchBatch; tick++ {
		for svc := range 10 {
			for inst := range 5 {
				for _, res := range resources {
					out = append(out, rightsize.Sample{
						Task:     fmt.Sprintf("task-%d", tick/60),
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

// benchWrite writes b.N batches of benchBatch rows, as consecutive ranges
// of one partition, and reports rows/s. between, if not nil, runs untimed
// after each batch.
func benchWrite(b *testing.B, s store.Store, samples []rightsize.Sample, between func()) float64 {
	ctx := context.Background()
	batch := func(i int) rightsize.Batch {
		return rightsize.Batch{
			Samples: samples,
			Ranges:  []rightsize.OffsetRange{{Topic: "resources", From: int64(i) * benchBatch, To: int64(i+1) * benchBatch, Samples: benchBatch}},
		}
	}
	// The first batch creates the series; it is not timed.
	if err := s.Write(ctx, batch(0)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 1; i <= b.N; i++ {
		if err := s.Write(ctx, batch(i)); err != nil {
			b.Fatal(err)
		}
		if between != nil {
			b.StopTimer()
			between()
			b.StartTimer()
		}
	}
	b.StopTimer()
	rate := float64(b.N*benchBatch) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(0, "ns/op") // per-batch time says less than rows/s
	return rate
}

// BenchmarkWrite measures ingest in rows per second. For PostgreSQL it
// measures, in the same run and on the same rows, two baselines: raw pgx
// CopyFrom into an unindexed table of the view's six columns (copy-rows/s;
// ratio = store/copy) and of the samples table's three (narrow-rows/s;
// ratio-narrow), which isolates what the store adds to COPY: fencing,
// series ids, sorting, the transaction.
func BenchmarkWrite(b *testing.B) {
	samples := benchSamples()
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
		wide := pgx.Identifier{schema, "baseline_wide"}
		narrow := pgx.Identifier{schema, "baseline_narrow"}
		_, err = conn.Exec(ctx, `CREATE TABLE `+wide.Sanitize()+` (task_id text, service text, instance text, resource text, value float8, "time" timestamptz);
CREATE TABLE `+narrow.Sanitize()+` (series_id integer, "time" timestamptz, value float8)`)
		if err != nil {
			b.Fatal(err)
		}
		var wideTime, narrowTime time.Duration
		copyBaselines := func() {
			start := time.Now()
			_, err := conn.CopyFrom(ctx, wide, []string{"task_id", "service", "instance", "resource", "value", "time"},
				pgx.CopyFromSlice(len(samples), func(i int) ([]any, error) {
					s := samples[i]
					return []any{s.Task, s.Service, s.Instance, s.Resource, s.Value, s.Time}, nil
				}))
			if err != nil {
				b.Fatal(err)
			}
			wideTime += time.Since(start)
			start = time.Now()
			_, err = conn.CopyFrom(ctx, narrow, []string{"series_id", "time", "value"},
				pgx.CopyFromSlice(len(samples), func(i int) ([]any, error) {
					return []any{int32(i % 400), samples[i].Time, samples[i].Value}, nil
				}))
			if err != nil {
				b.Fatal(err)
			}
			narrowTime += time.Since(start)
		}
		rate := benchWrite(b, s, samples, copyBaselines)
		rows := float64(b.N * benchBatch)
		b.ReportMetric(rows/wideTime.Seconds(), "copy-rows/s")
		b.ReportMetric(rate/(rows/wideTime.Seconds()), "ratio")
		b.ReportMetric(rows/narrowTime.Seconds(), "narrow-rows/s")
		b.ReportMetric(rate/(rows/narrowTime.Seconds()), "ratio-narrow")
	})
	b.Run("sqlite", func(b *testing.B) {
		s, err := store.OpenSQLite(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		benchWrite(b, s, samples, nil)
	})
}
