package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/pipeline"
)

// Start runs a broker, a consumer and a publisher: none of their
// goroutines may outlive Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPublishedSamplesAreStoredAfterDrain(t *testing.T) {
	ctx := context.Background()
	p, err := pipeline.Start(ctx, pipeline.WithDSN("sqlite:"+filepath.Join(t.TempDir(), "p.db")))
	if err != nil {
		t.Fatal(err)
	}
	if !p.InProcessBroker() || len(p.Brokers()) != 1 {
		t.Errorf("no -brokers: want the in-process broker, got %v", p.Brokers())
	}
	now := time.Now().Truncate(time.Second)
	for i := range 50 {
		if err := p.Publisher().Publish(ctx, rightsize.Sample{Service: "svc", Resource: "cpu", Value: float64(i), Time: now.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Drain(dctx); err != nil {
		t.Fatal(err)
	}
	sums, err := p.Store().Summarize(ctx, rightsize.Filter{Services: []string{"svc"}})
	if err != nil || len(sums) != 1 || sums[0].Count != 50 || sums[0].Max != 49 {
		t.Fatalf("after Drain: %+v, %v", sums, err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartFailsCleanly(t *testing.T) {
	ctx := context.Background()
	_, err := pipeline.Start(ctx, pipeline.WithDSN("postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"))
	if err == nil {
		t.Fatal("an unreachable database was accepted")
	}
	t.Log(err)
	_, err = pipeline.Start(ctx, pipeline.WithBrokers("127.0.0.1:1"), pipeline.WithDSN("sqlite:"+filepath.Join(t.TempDir(), "p.db")),
		pipeline.WithConsumerOptions())
	if !errors.Is(err, rightsize.ErrUnreachable) {
		t.Errorf("unreachable broker: %v", err)
	}
	if _, err := pipeline.Start(ctx, pipeline.WithTopic("")); err == nil {
		t.Error("empty topic accepted")
	}
}

// Example runs the whole path in one process: samples published are, once
// drained, in the store.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "rightsize-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	p, err := pipeline.Start(ctx, pipeline.WithDSN("sqlite:"+filepath.Join(dir, "example.db")))
	if err != nil {
		panic(err)
	}
	defer p.Close()
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	p.Publisher().Publish(ctx,
		rightsize.Sample{Service: "resize", Resource: rightsize.CPU, Value: 0.5, Time: at},
		rightsize.Sample{Service: "resize", Resource: rightsize.CPU, Value: 0.7, Time: at.Add(time.Second)})
	if err := p.Drain(ctx); err != nil {
		panic(err)
	}
	sums, _ := p.Store().Summarize(ctx, rightsize.Filter{Services: []string{"resize"}})
	fmt.Printf("%s %s: %d samples, mean %.1f cores\n", sums[0].Service, sums[0].Resource, sums[0].Count, sums[0].Mean)
	// Output: resize cpu: 2 samples, mean 0.6 cores
}
