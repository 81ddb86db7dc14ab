// Command monitor consumes rightsize's samples from Kafka into the store
// and says, every few seconds, how it is going — the seed's monitor.py:
//
//	go run ./examples/monitor -brokers kafka:9092 -db postgres://rightsize@db/rightsize
//
// It joins the consumer group -group as a static member (-instance-id,
// derived from the host name and the store by default), so that restarted
// after a crash it takes its partitions back at once. SIGINT or SIGTERM
// finishes the batches in hand, leaves the group and exits 0; a second
// signal exits at once.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/store"
)

func main() {
	kafka := cli.RegisterKafka(flag.CommandLine, cli.DefaultBrokers)
	dsn := cli.RegisterDB(flag.CommandLine)
	group := flag.String("group", consumer.DefaultGroup, "Kafka consumer group")
	instance := flag.String("instance-id", "", "static group membership ID, unique in the group (default: host name and a hash of -db)")
	every := flag.Duration("status", 5*time.Second, "how often to print the status line")
	maxStall := flag.Duration("max-stall", 0, "exit with an error when a batch has failed to be stored for this long (0: retry for ever)")
	timeout := flag.Duration("timeout", 10*time.Second, "how long to wait for the brokers and the database to answer at start")
	verbose := flag.Bool("v", false, "log joins, assignments and retries")
	rt := cli.RegisterRuntime(flag.CommandLine, 112)
	httpAddr := flag.String("http", "", "serve the live page, its JSON and /metrics on this `address` (e.g. :8080; empty: none)")
	flag.Parse()
	if *every <= 0 {
		cli.UsageError(flag.CommandLine, "monitor", "-status must be positive")
	}
	stopRuntime, err := rt.Start()
	if err != nil {
		cli.Fail("monitor", err)
	}
	defer stopRuntime()
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *instance == "" {
		*instance = cli.InstanceID("monitor", cli.Redact(*dsn))
	}
	ctx, stop := cli.SignalContext(context.Background(), "monitor")
	defer stop()
	opts := []consumer.Option{consumer.WithGroup(*group), consumer.WithInstanceID(*instance), consumer.WithMaxStall(*maxStall),
		consumer.WithConnectTimeout(*timeout), consumer.WithLogger(log)}
	if err := run(ctx, kafka, *dsn, *httpAddr, *timeout, *every, opts); err != nil {
		stop()
		stopRuntime()
		cli.Fail("monitor", err)
	}
}

func run(ctx context.Context, kafka *cli.Kafka, dsn, httpAddr string, timeout, every time.Duration, opts []consumer.Option) error {
	security, err := kafka.ConsumerOptions()
	if err != nil {
		return err
	}
	octx, cancel := context.WithTimeout(ctx, timeout) // bounds the opening only
	st, err := store.Open(octx, dsn)
	cancel()
	if err != nil {
		return err
	}
	defer st.Close()
	view, err := startLive(ctx, httpAddr, st)
	if err != nil {
		return err
	}
	defer view.wait()
	opts = append(append(security, consumer.WithTopics(kafka.Topic)), opts...)
	c, err := consumer.New(ctx, kafka.Addrs(), view.sinks(st), opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	view.watch(c)
	fmt.Printf("monitor: storing %s from %s into %s\n", kafka.Topic, kafka.Brokers, cli.Redact(dsn))
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Watch(ctx, every, func(s consumer.Status) { fmt.Println(s) })
	}()
	err = c.Run(ctx)
	<-done
	s := c.Stats()
	fmt.Printf("monitor: stopped after %d records, %d samples stored\n", s.Records, s.Samples)
	return err
}
