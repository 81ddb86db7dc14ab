// Command pipeline runs the example image pipeline: N tasks over generated
// images of varied sizes, formats and service orders, each service
// (decode, resize, blur, encode: examples/services) a process of its own,
// sampled through rightsize by its PID and published through Kafka into
// the store; each task recorded with its parameters (width, height,
// bytes, format, scale, radius), its ordered services, start and end.
//
//	go run ./examples/pipeline                         # 24 tasks, under 30 s
//	go run ./examples/pipeline -tasks 96 -eval         # and evaluate the task-profile models
//
// With -eval it then trains the task-profile models (predict) on the tasks
// of the sizes not in -holdout and scores them on the tasks of the sizes in
// it, which no model saw; -tasks 0 -eval scores every image task the store
// already holds instead of running new ones. With no -brokers it starts an in-process broker;
// with no -db it uses the embedded store in ./rightsize.db.
//
// The services run as copies of this program unless -bin names a
// directory holding them built (go build -o bin/ ./examples/services/...).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/examples/pipeline/imagetask"
	"github.com/rightsize/rightsize/examples/services/imagework"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/pipeline"
	"github.com/rightsize/rightsize/store"
)

func main() {
	imagework.MaybeRun() // as a service's process: do its job and exit

	kafka := cli.RegisterKafka(flag.CommandLine, "")
	dsn := cli.RegisterDB(flag.CommandLine)
	settings := imagetask.RegisterFlags(flag.CommandLine)
	flag.Parse()
	c, err := settings()
	if err != nil {
		cli.UsageError(flag.CommandLine, "pipeline", err.Error())
	}
	ctx, stop := cli.SignalContext(context.Background(), "pipeline")
	defer stop()
	if err := run(ctx, os.Stdout, kafka, *dsn, c); err != nil {
		cli.Fail("pipeline", err)
	}
}

func run(ctx context.Context, w io.Writer, kafka *cli.Kafka, dsn string, c imagetask.Flags) error {
	if c.Tasks == 0 {
		st, err := store.Open(ctx, dsn)
		if err != nil {
			return err
		}
		defer st.Close()
		fmt.Fprintf(w, "store %s\n", cli.Redact(dsn))
		return imagetask.EvaluateStored(ctx, w, st, c.Holdout, c.PerService)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := kafka.PipelineOptions() // -brokers, -topic, TLS and SASL
	if err != nil {
		return err
	}
	p, err := pipeline.Start(ctx, append(opts, pipeline.WithDSN(dsn), pipeline.WithLogger(log))...)
	if err != nil {
		return err
	}
	defer p.Close()
	if p.InProcessBroker() {
		fmt.Fprintf(w, "in-process Kafka broker on %s\n", p.Brokers()[0])
	}
	fmt.Fprintf(w, "store %s\n", cli.Redact(dsn))
	runner, err := imagetask.New(p.Publisher(), p.Store(), imagetask.WithInterval(c.Interval),
		imagetask.WithServiceDir(c.Bin), imagetask.WithLogger(log))
	if err != nil {
		return err
	}

	plan := imagetask.Plan(c.Tasks, c.Sizes, c.Formats, c.Seed, "img-"+time.Now().UTC().Format("20060102T150405.000"))
	progress := w
	if c.Quiet {
		progress = io.Discard
	}
	results, err := runner.RunAll(ctx, progress, plan)
	if err != nil {
		return err
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Drain(dctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d records published and stored\n", p.Publisher().Stats().Acked)
	imagetask.WriteMissed(w, results)
	if !c.Eval {
		return nil
	}
	tasks := make([]rightsize.Task, len(results))
	for i, r := range results {
		tasks[i] = r.Task
	}
	return imagetask.Evaluate(ctx, w, p.Store(), tasks, c.Holdout, c.PerService)
}
