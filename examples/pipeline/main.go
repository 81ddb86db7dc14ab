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
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/examples/pipeline/imagetask"
	"github.com/rightsize/rightsize/examples/services/imagework"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/pipeline"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
)

// The sizes tasks cycle through, and those held out of training by -eval:
// unseen pixel counts and aspect ratios inside the trained range.
const (
	defaultSizes   = "320x240,400x400,480x360,640x480,720x720,800x600,1024x768,1280x720,1280x960,1600x900,1600x1200,1920x1080"
	defaultHoldout = "400x400,720x720,1280x720,1600x1200"
)

type config struct {
	kafka            *cli.Kafka
	dsn              string
	tasks            int
	sizes, holdout   []imagetask.Size
	formats          []string
	interval         time.Duration
	seed             uint64
	bin              string
	eval, perService bool
	quiet            bool
}

func main() {
	imagework.MaybeRun() // as a service's process: do its job and exit

	kafka := cli.RegisterKafka(flag.CommandLine, "")
	dsn := cli.RegisterDB(flag.CommandLine)
	c := config{}
	flag.IntVar(&c.tasks, "tasks", 24, "number of tasks to run")
	sizes := flag.String("sizes", defaultSizes, "image sizes the tasks cycle through, WIDTHxHEIGHT,...")
	holdout := flag.String("holdout", defaultHoldout, "with -eval: the sizes whose tasks are scored and not trained on")
	formats := flag.String("formats", "png,jpeg", "image formats drawn from")
	flag.DurationVar(&c.interval, "interval", 50*time.Millisecond, "sampling interval of each service")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the plan (orders, formats, images)")
	flag.StringVar(&c.bin, "bin", "", "directory of the built service programs (default: run them as copies of this program)")
	flag.BoolVar(&c.eval, "eval", false, "then train the task-profile models on the other sizes and score them on -holdout")
	flag.BoolVar(&c.perService, "per-service", false, "with -eval: scores per service too")
	flag.BoolVar(&c.quiet, "q", false, "print no line per task")
	flag.Parse()
	c.kafka, c.dsn = kafka, *dsn
	var err error
	if c.sizes, err = imagetask.ParseSizes(*sizes); err != nil {
		cli.UsageError(flag.CommandLine, "pipeline", err.Error())
	}
	if c.holdout, err = imagetask.ParseSizes(*holdout); err != nil && c.eval {
		cli.UsageError(flag.CommandLine, "pipeline", err.Error())
	}
	for _, f := range strings.Split(*formats, ",") {
		if f != imagework.PNG && f != imagework.JPEG {
			cli.UsageError(flag.CommandLine, "pipeline", fmt.Sprintf("format %q: want png or jpeg", f))
		}
		c.formats = append(c.formats, f)
	}
	if c.tasks < 0 || (c.tasks == 0 && !c.eval) {
		cli.UsageError(flag.CommandLine, "pipeline", "-tasks must be at least 1 (or 0 with -eval: score the tasks already stored)")
	}

	ctx, stop := cli.SignalContext(context.Background(), "pipeline")
	defer stop()
	if err := run(ctx, os.Stdout, c); err != nil {
		cli.Fail("pipeline", err)
	}
}

func run(ctx context.Context, w io.Writer, c config) error {
	if c.tasks == 0 {
		return evaluateStored(ctx, w, c)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts, err := c.kafka.PipelineOptions() // -brokers, -topic, TLS and SASL
	if err != nil {
		return err
	}
	p, err := pipeline.Start(ctx, append(opts, pipeline.WithDSN(c.dsn), pipeline.WithLogger(log))...)
	if err != nil {
		return err
	}
	defer p.Close()
	if p.InProcessBroker() {
		fmt.Fprintf(w, "in-process Kafka broker on %s\n", p.Brokers()[0])
	}
	fmt.Fprintf(w, "store %s\n", cli.Redact(c.dsn))
	runner, err := imagetask.New(p.Publisher(), p.Store(), imagetask.WithInterval(c.interval),
		imagetask.WithServiceDir(c.bin), imagetask.WithLogger(log))
	if err != nil {
		return err
	}

	prefix := "img-" + time.Now().UTC().Format("20060102T150405.000")
	plan := imagetask.Plan(c.tasks, c.sizes, c.formats, c.seed, prefix)
	fmt.Fprintf(w, "running %d tasks (%s-001...), each service sampled every %v\n\n", len(plan), prefix, c.interval)
	started := time.Now()
	var results []imagetask.Result
	for _, spec := range plan {
		res, err := runner.Run(ctx, spec)
		if err != nil {
			return err
		}
		results = append(results, res)
		if !c.quiet {
			writeResult(w, spec, res)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Drain(dctx); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d tasks in %.1f s, %d records published and stored\n", len(results), time.Since(started).Seconds(), p.Publisher().Stats().Acked)
	writeMissed(w, results)
	if !c.eval {
		return nil
	}

	tasks := make([]rightsize.Task, 0, len(results))
	for _, r := range results {
		t, err := p.Store().Task(ctx, r.Task.ID)
		if err != nil {
			return err
		}
		tasks = append(tasks, t)
	}
	return evaluate(ctx, w, p.Store(), tasks, c.holdout, c.perService)
}

// writeResult prints one task: its size, format and order, and for each
// service the kernel's peak, the sampler's highest reading, CPU and time.
func writeResult(w io.Writer, spec imagetask.Spec, r imagetask.Result) {
	fmt.Fprintf(w, "%s %-9s %-4s %s\n", spec.ID, spec.Size, spec.Format, strings.Join(spec.Services, " → "))
	for _, s := range r.Services {
		fmt.Fprintf(w, "    %-7s peak %6.1f MiB (sampled max %6.1f, %2d ticks)  cpu %5.2f cores  %6.0f ms\n", s.Service,
			s.PeakRSS/(1<<20), s.SampledMax/(1<<20), s.Ticks, s.CPU.Seconds()/max(s.Wall.Seconds(), 1e-6), float64(s.Wall.Microseconds())/1e3)
	}
}

// writeMissed says how far below the kernel's peak the sampler's highest
// reading was: what sampling alone would have stored as the peak.
func writeMissed(w io.Writer, results []imagetask.Result) {
	var n, below10 int
	var sum float64
	for _, r := range results {
		for _, s := range r.Services {
			if s.PeakRSS <= 0 {
				continue
			}
			miss := math.Max(0, 1-s.SampledMax/s.PeakRSS)
			n++
			sum += miss
			if miss > 0.10 {
				below10++
			}
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "the sampled series alone: highest memory sample %.1f %% below the kernel's peak on average; more than 10 %% below for %d of %d processes\n",
			100*sum/float64(n), below10, n)
	}
}

// evaluateStored evaluates on every image task the store holds.
func evaluateStored(ctx context.Context, w io.Writer, c config) error {
	st, err := store.Open(ctx, c.dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	all, err := st.Tasks(ctx, store.TaskQuery{})
	if err != nil {
		return err
	}
	tasks := slices.DeleteFunc(all, func(t rightsize.Task) bool {
		_, ok := imagetask.SizeOf(t)
		return !ok
	})
	fmt.Fprintf(w, "store %s: %d image tasks\n", cli.Redact(c.dsn), len(tasks))
	return evaluate(ctx, w, st, tasks, c.holdout, c.perService)
}

// evaluate trains every task-profile model on the tasks of the sizes not
// held out and scores it on the others.
func evaluate(ctx context.Context, w io.Writer, st predict.ProfileReader, tasks []rightsize.Task, holdout []imagetask.Size, perService bool) error {
	runs, err := predict.ReadTaskRuns(ctx, st, tasks)
	if err != nil {
		return err
	}
	train, test := predict.SplitRuns(runs, func(t rightsize.Task) bool {
		s, ok := imagetask.SizeOf(t)
		return ok && slices.Contains(holdout, s)
	})
	if len(train) == 0 || len(test) == 0 {
		return fmt.Errorf("evaluate: %d training and %d held-out tasks; run more tasks, or hold out sizes that were run", len(train), len(test))
	}
	models, err := imagetask.Models()
	if err != nil {
		return err
	}
	scores, err := predict.EvaluateProfiles(ctx, models, train, test)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntask profiles: trained on %d tasks, scored on %d tasks of unseen sizes (%s)\n\n", len(train), len(test), sizesText(holdout))
	return predict.WriteProfileScores(w, scores, perService)
}

func sizesText(s []imagetask.Size) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = x.String()
	}
	return strings.Join(parts, ", ")
}
