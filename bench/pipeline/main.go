// Command pipeline measures the whole exactly-once path — samples
// published to Kafka, consumed by the monitor program, stored in
// PostgreSQL — beside raw pgx CopyFrom of the same rows into an
// unindexed table (as a user sees them: task_id, service, instance,
// resource, value, time; and, narrower, as series_id, time, value), in
// interleaved rounds of the same run:
//
//	go run ./bench/pipeline -db postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//
// Each round publishes the samples to an in-process broker (not timed),
// then times a fresh monitor process (a new consumer group, a new
// database) draining the backlog, and reports its peak resident memory.
// -consumers 2 runs two monitors in one group, sharing the partitions.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/internal/cli"
)

func main() {
	dsn := flag.String("db", cli.Env("RIGHTSIZE_TEST_DATABASE_URL", ""), "PostgreSQL server to measure on (a database per round is created and dropped)")
	services := flag.Int("services", 100, "services (each with cpu and memory: two series)")
	ticks := flag.Int("ticks", 10_000, "ticks per service (one record per service per tick)")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	partitions := flag.Int("partitions", 4, "partitions of the topic")
	consumers := flag.Int("consumers", 1, "monitor processes in the group")
	verbose := flag.Bool("v", false, "show the monitors' status lines, every second")
	flag.StringVar(&monitorProfile, "monitor-cpuprofile", "", "write the (first) monitor's CPU profile of the last round to `file`")
	flag.Parse()
	if *verbose {
		statusEvery, monitorOutput = "1s", os.Stderr
	}
	if *dsn == "" {
		cli.UsageError(flag.CommandLine, "pipeline", "give -db (or RIGHTSIZE_TEST_DATABASE_URL)")
	}
	ctx, stop := cli.SignalContext(context.Background(), "pipeline")
	defer stop()
	if err := run(ctx, *dsn, *services, *ticks, *rounds, *partitions, *consumers); err != nil {
		cli.Fail("pipeline", err)
	}
}

func run(ctx context.Context, dsn string, services, ticks, rounds, partitions, consumers int) error {
	dir, err := os.MkdirTemp("", "rightsize-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	monitor := filepath.Join(dir, "monitor")
	if out, err := exec.Command("go", "build", "-o", monitor, "./examples/monitor").CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./examples/monitor: %v\n%s", err, out)
	}
	w := newWorkload(services, ticks)
	fmt.Printf("%d samples (%d series, %d records), %d partitions, %d consumer(s), %d rounds\n",
		w.samples(), 2*services, services*ticks, partitions, consumers, rounds)
	var raw, narrow, e2e, steady []float64
	var rss []int64
	for r := range rounds {
		rawRate, err := rawCopy(ctx, dsn, w, true)
		if err != nil {
			return err
		}
		narrowRate, err := rawCopy(ctx, dsn, w, false)
		if err != nil {
			return err
		}
		b, err := broker.Start(broker.WithTopic("resources", partitions))
		if err != nil {
			return err
		}
		if err := w.publish(ctx, b.Addrs()); err != nil {
			b.Close()
			return err
		}
		res, err := drain(ctx, monitor, dsn, b.Addrs()[0], w.samples(), consumers, r)
		b.Close()
		if err != nil {
			return err
		}
		raw, narrow, e2e, rss = append(raw, rawRate), append(narrow, narrowRate), append(e2e, res.rate), append(rss, res.peakRSS)
		steady = append(steady, res.steady/rawRate)
		fmt.Printf("round %d: raw CopyFrom %.0f rows/s (narrow %.0f); end to end %.0f samples/s (%.2f× raw, %.2f× narrow; %.2f× raw once storing); consumer peak RSS %d MB\n",
			r+1, rawRate, narrowRate, res.rate, res.rate/rawRate, res.rate/narrowRate, res.steady/rawRate, res.peakRSS>>20)
	}
	ratios, nratios := make([]float64, len(raw)), make([]float64, len(raw))
	for i := range raw {
		ratios[i], nratios[i] = e2e[i]/raw[i], e2e[i]/narrow[i]
	}
	fmt.Printf("median: raw CopyFrom %.0f rows/s (narrow %.0f), end to end %.0f samples/s, ratio %.2f× raw (range %.2f–%.2f), %.2f× narrow (range %.2f–%.2f), %.2f× raw once storing; peak RSS %d MB (max %d MB)\n",
		median(raw), median(narrow), median(e2e), median(ratios), slices.Min(ratios), slices.Max(ratios),
		median(nratios), slices.Min(nratios), slices.Max(nratios), median(steady), medianInt(rss)>>20, slices.Max(rss)>>20)
	return nil
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

func medianInt(v []int64) int64 {
	s := slices.Sorted(slices.Values(v))
	return s[len(s)/2]
}

// since is a stopwatch.
func since(t time.Time) float64 { return time.Since(t).Seconds() }
