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
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
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
	memLimit := flag.Int64("memory-limit", 128, "soft limit of the Go heap, in MiB, beyond which the garbage collector works harder (0: none; GOMEMLIMIT, if set, wins)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to `file` (see go tool pprof)")
	flag.Parse()
	if *memLimit > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(*memLimit << 20)
	}
	if *cpuprofile != "" {
		stopProfile, err := startProfile(*cpuprofile)
		if err != nil {
			cli.Fail("monitor", err)
		}
		defer stopProfile()
	}
	if *every <= 0 {
		cli.UsageError(flag.CommandLine, "monitor", "-status must be positive")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if *instance == "" {
		*instance = defaultInstance(*dsn)
	}
	ctx, stop := cli.SignalContext(context.Background(), "monitor")
	defer stop()
	opts := []consumer.Option{consumer.WithGroup(*group), consumer.WithInstanceID(*instance), consumer.WithMaxStall(*maxStall),
		consumer.WithConnectTimeout(*timeout), consumer.WithLogger(log)}
	if err := run(ctx, kafka, *dsn, *timeout, *every, opts, log); err != nil {
		stop()
		cli.Fail("monitor", err)
	}
}

func run(ctx context.Context, kafka *cli.Kafka, dsn string, timeout, every time.Duration, opts []consumer.Option, log *slog.Logger) error {
	security, err := kafka.ConsumerOptions()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, dsn, store.WithConnectTimeout(timeout))
	if err != nil {
		return err
	}
	defer st.Close()
	opts = append(append(security, consumer.WithTopics(kafka.Topic)), opts...)
	c, err := consumer.New(ctx, kafka.Addrs(), []consumer.Sink{st}, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Printf("monitor: storing %s from %s into %s\n", kafka.Topic, kafka.Brokers, cli.Redact(dsn))
	done := make(chan struct{})
	go func() { defer close(done); report(ctx, c, every) }()
	err = c.Run(ctx)
	<-done
	s := c.Stats()
	fmt.Printf("monitor: stopped after %d records, %d samples stored\n", s.Records, s.Samples)
	return err
}

// report prints the status line every interval until ctx ends.
func report(ctx context.Context, c *consumer.Consumer, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	prev, at := c.Stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		lctx, cancel := context.WithTimeout(ctx, every)
		lag, err := c.Lag(lctx)
		cancel()
		if err != nil {
			lag = -1
		}
		cur, now := c.Stats(), time.Now()
		fmt.Println(consumer.StatusOf(prev, cur, now.Sub(at), lag))
		prev, at = cur, now
	}
}

// defaultInstance derives a static member ID that stays the same across
// restarts of one monitor and differs between monitors of different
// stores on one host.
func defaultInstance(dsn string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "monitor"
	}
	sum := sha256.Sum256([]byte(cli.Redact(dsn)))
	return host + "-" + hex.EncodeToString(sum[:4])
}

func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
