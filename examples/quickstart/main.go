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
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/workload"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
)

// service is one demo service: a child process told how much to use.
type service struct {
	name string
	spec workload.Spec
}

var services = []service{
	{"resize", workload.Spec{CPU: 0.5, Memory: 256 << 20}},
	{"thumbnail", workload.Spec{CPU: 0.25, Memory: 192 << 20}},
}

func main() {
	workload.MaybeRun() // in a demo child: run its workload and exit

	brokers := flag.String("brokers", os.Getenv("RIGHTSIZE_BROKERS"), "Kafka seed brokers, comma-separated (env RIGHTSIZE_BROKERS); empty starts an in-process broker")
	dsn := flag.String("db", envOr("RIGHTSIZE_DATABASE_URL", "sqlite:rightsize.db"), "store: postgres://... or sqlite:PATH (env RIGHTSIZE_DATABASE_URL)")
	topic := flag.String("topic", producer.DefaultTopic, "Kafka topic")
	duration := flag.Duration("duration", 20*time.Second, "how long to sample")
	interval := flag.Duration("interval", time.Second, "sampling interval")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	table, err := run(ctx, *brokers, *dsn, *topic, *duration, *interval)
	if err == nil {
		err = usage.WriteTable(os.Stdout, table...)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run runs the pipeline and returns each service's expected usage.
func run(ctx context.Context, brokers, dsn, topic string, duration, interval time.Duration) ([]usage.Usage, error) {
	if duration < 2*interval || interval <= 0 {
		return nil, fmt.Errorf("-duration %v must be at least two -interval %v", duration, interval)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	var addrs []string
	if brokers == "" {
		b, err := broker.Start(broker.WithTopic(topic, 4))
		if err != nil {
			return nil, err
		}
		defer b.Close()
		addrs = b.Addrs()
		fmt.Printf("in-process Kafka broker on %s\n", addrs[0])
	} else {
		addrs = strings.Split(brokers, ",")
	}

	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	fmt.Printf("store %s\n", redact(dsn))

	cons, err := consumer.New(addrs, []consumer.Sink{st}, consumer.WithTopics(topic), consumer.WithLogger(log))
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	consumed := make(chan error, 1)
	cctx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	go func() { consumed <- cons.Run(cctx) }()

	pub, err := producer.Connect(ctx, addrs, producer.WithTopic(topic))
	if err != nil {
		return nil, err
	}
	defer pub.Close(context.Background())

	// One task per run, so the table shows this run even when the store
	// holds earlier ones.
	task := "quickstart-" + time.Now().UTC().Format("20060102T150405")
	scanner, err := sample.NewScanner() // one /proc scan per tick for all services
	if err != nil {
		return nil, err
	}
	var samplers []sample.Sampler
	for _, svc := range services {
		p, err := workload.Start(svc.spec)
		if err != nil {
			return nil, err
		}
		defer p.Stop()
		s, err := sample.NewProcess(svc.name, p.Pid(), sample.WithTask(task), sample.WithScanner(scanner))
		if err != nil {
			return nil, err
		}
		samplers = append(samplers, s)
		fmt.Printf("started %-10s pid %-7d told to use %.2f cores and %d MiB\n", svc.name, p.Pid(), svc.spec.CPU, svc.spec.Memory>>20)
	}

	fmt.Printf("sampling every %v for %v (task %s)...\n", interval, duration, task)
	sctx, stopSampling := context.WithTimeout(ctx, duration)
	defer stopSampling()
	if err := producer.Run(sctx, pub, samplers, producer.WithInterval(interval), producer.WithLogger(log)); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pub.Close(fctx); err != nil {
		return nil, err
	}
	if err := waitCaughtUp(fctx, cons); err != nil {
		return nil, err
	}
	stopConsumer()
	if err := <-consumed; err != nil {
		return nil, err
	}

	est, err := usage.New(st)
	if err != nil {
		return nil, err
	}
	var table []usage.Usage
	for _, svc := range services {
		u, err := est.Expected(ctx, svc.name, usage.ForTask(task))
		if err != nil {
			return nil, err
		}
		table = append(table, u)
	}
	fmt.Printf("\nexpected usage (task %s), from %d records published:\n\n", task, pub.Stats().Acked)
	return table, nil
}

// waitCaughtUp waits until the consumer has stored every record published.
func waitCaughtUp(ctx context.Context, cons *consumer.Consumer) error {
	for {
		lag, err := cons.Lag(ctx)
		if err == nil && lag == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("consumer did not catch up (lag %d)", lag), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// redact hides a password in a DSN.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparsable DSN)"
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
