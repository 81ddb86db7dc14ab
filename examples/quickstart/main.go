// Command quickstart runs the whole rightsize pipeline in one process, with
// no servers to install: it starts two small services as child processes,
// samples them every second, publishes the samples to Kafka, consumes them
// into a store and prints what each service is expected to use.
//
//	go run ./examples/quickstart
//
// With no -brokers it starts an in-process Kafka-protocol broker; with no
// -db it uses the embedded store in ./rightsize.db. Point it at real
// servers with -brokers host:9092 and -db postgres://user@host/db (or
// RIGHTSIZE_BROKERS and RIGHTSIZE_DATABASE_URL).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart/live"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/internal/workload"
	"github.com/rightsize/rightsize/pipeline"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
	"github.com/rightsize/rightsize/usage"
)

// service is one demo service: a child process told how much to use.
type service struct {
	name string
	spec workload.Spec
}

// The holds are large beside a child's own Go runtime and binary (about
// 20 MiB of its resident set), so that what is measured is mostly what it
// was told to hold.
var services = []service{
	{"resize", workload.Spec{CPU: 0.5, Memory: 320 << 20}},
	{"thumbnail", workload.Spec{CPU: 0.25, Memory: 256 << 20}},
}

func main() {
	workload.MaybeRun() // in a demo child: run its workload and exit

	kafka := cli.RegisterKafka(flag.CommandLine, "")
	dsn := cli.RegisterDB(flag.CommandLine)
	charts := flag.String("charts", "rightsize-charts", "write each service's charts (PNG, SVG and an index.html) into this `dir`")
	duration := flag.Duration("duration", 20*time.Second, "how long to sample")
	interval := flag.Duration("interval", time.Second, "sampling interval")
	flag.Parse()

	ctx, stop := cli.SignalContext(context.Background(), "quickstart")
	defer stop()
	if _, err := run(ctx, kafka, *dsn, *charts, *duration, *interval); err != nil {
		cli.Fail("quickstart", err)
	}
}

// run runs the pipeline, prints each service's expected usage and
// recommendation, writes their charts into charts, and returns the
// expected usage.
func run(ctx context.Context, kafka *cli.Kafka, dsn, charts string, duration, interval time.Duration) ([]usage.Usage, error) {
	if duration < 2*interval || interval <= 0 {
		return nil, fmt.Errorf("-duration %v must be at least two -interval %v", duration, interval)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := kafka.PipelineOptions()
	if err != nil {
		return nil, err
	}
	p, err := pipeline.Start(ctx, append(opts, pipeline.WithDSN(dsn), pipeline.WithLogger(log))...)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	if p.InProcessBroker() {
		fmt.Printf("in-process Kafka broker on %s\n", p.Brokers()[0])
	}
	fmt.Printf("store %s\n", cli.Redact(dsn))

	// One task per run, so the table shows this run even when the store
	// holds earlier ones.
	task := "quickstart-" + time.Now().UTC().Format("20060102T150405")
	scanner, err := sample.NewScanner() // one /proc scan per tick for all services
	if err != nil {
		return nil, err
	}
	var samplers []sample.Sampler
	for _, svc := range services {
		w, err := workload.Start(svc.spec)
		if err != nil {
			return nil, err
		}
		defer w.Stop()
		s, err := sample.NewProcess(svc.name, w.Pid(), sample.WithTask(task), sample.WithScanner(scanner))
		if err != nil {
			return nil, err
		}
		samplers = append(samplers, s)
		fmt.Printf("started %-10s pid %-7d told to use %.2f cores and %d MiB\n", svc.name, w.Pid(), svc.spec.CPU, svc.spec.Memory>>20)
	}

	fmt.Printf("sampling every %v for %v (task %s)...\n", interval, duration, task)
	sctx, stopSampling := context.WithTimeout(ctx, duration)
	defer stopSampling()
	if err := producer.Run(sctx, p.Publisher(), samplers, producer.WithInterval(interval), producer.WithLogger(log)); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Drain(dctx); err != nil {
		return nil, err
	}

	est, err := usage.New(p.Store())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, svc := range services {
		names = append(names, svc.name)
	}
	rep, err := est.Report(ctx, names, usage.ForTask(task))
	if err != nil {
		return nil, err
	}
	fmt.Printf("\ntask %s, from %d records published:\n\n", task, p.Publisher().Stats().Acked)
	return rep.Expected, live.Report(ctx, os.Stdout, charts, p.Store(), rep, rightsize.Filter{Task: task})
}
