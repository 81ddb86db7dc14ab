// Command customsampler shows how to measure something rightsize does not
// know and publish it through the same pipeline: a Sampler is one method,
// and sample.SamplerFunc turns a function into one.
//
// Here the service reports its own metrics — the Go runtime's goroutine
// count and live heap, read with runtime/metrics — while it does some work
// (a pool of workers whose number grows and shrinks). The samples go
// through Kafka into the store like any other, and the program prints the
// service's expected usage of its custom resources.
//
//	go run ./examples/customsampler
//
// With no -brokers it starts an in-process broker; with no -db it uses the
// embedded store in ./rightsize.db.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/pipeline"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
	"github.com/rightsize/rightsize/usage"
)

// goRuntime returns a Sampler of this process's own Go runtime metrics,
// published as the custom resources go.goroutines (count) and
// go.heap.live (bytes).
func goRuntime(service, task string) sample.Sampler {
	read := []metrics.Sample{{Name: "/sched/goroutines:goroutines"}, {Name: "/gc/heap/live:bytes"}}
	names := []string{"go.goroutines", "go.heap.live"}
	return sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
		metrics.Read(read)
		now := time.Now()
		out := make([]rightsize.Sample, 0, len(read))
		for i, m := range read {
			if m.Value.Kind() != metrics.KindUint64 {
				return out, fmt.Errorf("runtime metric %s is not supported by this Go", m.Name)
			}
			if names[i] == "go.heap.live" && m.Value.Uint64() == 0 {
				continue // known only once a collection has run: no reading yet, not zero
			}
			out = append(out, rightsize.Sample{Task: task, Service: service, Resource: names[i],
				Value: float64(m.Value.Uint64()), Time: now})
		}
		return out, nil
	})
}

func main() {
	kafka := cli.RegisterKafka(flag.CommandLine, "")
	dsn := cli.RegisterDB(flag.CommandLine)
	duration := flag.Duration("duration", 10*time.Second, "how long to run")
	flag.Parse()
	ctx, stop := cli.SignalContext(context.Background(), "customsampler")
	defer stop()
	if _, err := run(ctx, kafka, *dsn, *duration); err != nil {
		cli.Fail("customsampler", err)
	}
}

func run(ctx context.Context, kafka *cli.Kafka, dsn string, duration time.Duration) (usage.Usage, error) {
	opts, err := kafka.PipelineOptions()
	if err != nil {
		return usage.Usage{}, err
	}
	p, err := pipeline.Start(ctx, append(opts, pipeline.WithDSN(dsn))...)
	if err != nil {
		return usage.Usage{}, err
	}
	defer p.Close()

	task := "custom-" + time.Now().UTC().Format("20060102T150405")
	wctx, stopWork := context.WithTimeout(ctx, duration)
	defer stopWork()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); work(wctx) }()
	err = producer.Run(wctx, p.Publisher(), []sample.Sampler{goRuntime("customsampler", task)}, producer.WithInterval(500*time.Millisecond))
	wg.Wait()
	if err != nil {
		return usage.Usage{}, err
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Drain(dctx); err != nil {
		return usage.Usage{}, err
	}
	est, err := usage.New(p.Store())
	if err != nil {
		return usage.Usage{}, err
	}
	u, err := est.Expected(ctx, "customsampler", usage.ForTask(task))
	if err != nil {
		return usage.Usage{}, err
	}
	fmt.Printf("expected usage of the service's own metrics (task %s):\n\n", task)
	return u, usage.WriteTable(os.Stdout, u)
}

// work runs a pool of workers that grows to 200 and shrinks again, each
// holding a little memory, until ctx ends.
func work(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for step := 0; ctx.Err() == nil; step++ {
		n := 20 * (step%10 + 1)
		wctx, cancel := context.WithTimeout(ctx, 400*time.Millisecond)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 64<<10)
				buf[0] = 1
				<-wctx.Done()
				_ = buf[0]
			}()
		}
		<-wctx.Done()
		cancel()
	}
}
