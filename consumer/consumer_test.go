package consumer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/internal/wire"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/store"
	"github.com/twmb/franz-go/pkg/kgo"
)

func startBroker(t *testing.T) *broker.Broker { return testenv.Broker(t) }

// collector is a user callback sink keeping every sample it receives.
type collector struct {
	mu      sync.Mutex
	samples []rightsize.Sample
	fail    int // fail this many writes first
}

func (c *collector) Write(_ context.Context, b rightsize.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return errors.New("sink unavailable")
	}
	c.samples = append(c.samples, b.Samples...)
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.samples)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func quietLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func run(t *testing.T, c *consumer.Consumer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		c.Close()
	})
}

func TestMalformedRecordsAreCountedAndDeadLettered(t *testing.T) {
	b := startBroker(t)
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic(consumer.DefaultTopic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	good, _ := wire.Encode([]rightsize.Sample{{Service: "resize", Resource: "cpu", Value: 0.5, Time: time.Now()}})
	recs := []*kgo.Record{
		{Key: []byte("resize"), Value: []byte(`{"v":1,"service":"resize"`)},                                              // truncated
		{Key: []byte("resize"), Value: good[0].Value},                                                                    // good
		{Key: []byte("img1 resize CPU"), Value: []byte("lots")},                                                          // bad legacy
		{Key: []byte("resize"), Value: []byte(`{"v":7,"service":"x","time":"2026-01-01T00:00:00Z","values":{"cpu":1}}`)}, // future version
		{Key: []byte("img1 resize CPU"), Value: []byte("12.5")},                                                          // good legacy
		{Key: []byte("resize"), Value: []byte(`{"v":1,"service":"resize"`)},                                              // truncated again: counted, not logged again
	}
	for _, r := range recs {
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	col := &collector{}
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{col}, consumer.WithLogger(quietLogger(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	waitFor(t, "2 good samples", func() bool { return col.len() == 2 })
	waitFor(t, "4 dead letters", func() bool { return c.Stats().DeadLettered == 4 })
	st := c.Stats()
	if st.Malformed[consumer.ReasonSyntax] != 2 || st.Malformed[consumer.ReasonLegacy] != 1 || st.Malformed[consumer.ReasonVersion] != 1 || st.Records != 6 {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(logs.String(), `msg="malformed record`); n != 3 {
		t.Errorf("logged %d malformed-record lines, want 3 (once per kind):\n%s", n, logs.String())
	}
	// The dead-letter topic holds the originals plus why and where from.
	dead := testenv.Records(t, b.Addrs(), "resources.dlq", 4)
	if len(dead) != 4 {
		t.Fatalf("dead-letter topic has %d records", len(dead))
	}
	hdr := map[string]string{}
	for _, h := range dead[0].Headers {
		hdr[h.Key] = string(h.Value)
	}
	if !strings.Contains(hdr["rightsize-error"], "malformed") || !strings.HasPrefix(hdr["rightsize-source"], "resources/") {
		t.Errorf("dead letter headers %v", hdr)
	}
}

func TestSinkFailureIsRetriedNotLost(t *testing.T) {
	b := startBroker(t)
	ctx := context.Background()
	p, err := producer.Connect(ctx, b.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	for i := range 10 {
		if err := p.Publish(ctx, rightsize.Sample{Service: "s", Resource: "cpu", Value: float64(i), Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	col := &collector{fail: 3}
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{col}, consumer.WithLogger(quietLogger(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	waitFor(t, "10 samples", func() bool { return col.len() >= 10 })
	waitFor(t, "lag 0", func() bool { lag, err := c.Lag(ctx); return err == nil && lag == 0 })
	if !strings.Contains(logs.String(), "sink unavailable") {
		t.Errorf("sink failure not logged:\n%s", logs.String())
	}
}

func TestNewErrors(t *testing.T) {
	sink := consumer.SinkFunc(func(context.Context, rightsize.Batch) error { return nil })
	_, err := consumer.New(context.Background(), []string{"127.0.0.1:1"}, []consumer.Sink{sink}, consumer.WithConnectTimeout(3*time.Second))
	if !errors.Is(err, rightsize.ErrUnreachable) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("unreachable broker: %v", err)
	}
	t.Log(err)
	if _, err := consumer.New(context.Background(), []string{"127.0.0.1:1"}, nil); err == nil || !strings.Contains(err.Error(), "no sink") {
		t.Errorf("no sink: %v", err)
	}
	if _, err := consumer.New(context.Background(), nil, []consumer.Sink{sink}); err == nil || !strings.Contains(err.Error(), "broker") {
		t.Errorf("no broker: %v", err)
	}
}

// TestKcatLegacyRecords feeds the consumer with an independent client
// producing the seed's records, as its Python producers did.
func TestKcatLegacyRecords(t *testing.T) {
	kcat := testenv.Kcat(t)
	b := startBroker(t)
	cmd := exec.Command(kcat, "-P", "-b", b.Addrs()[0], "-t", consumer.DefaultTopic, "-K", "=")
	cmd.Stdin = strings.NewReader("img9 resize CPU=37.5\nimg9 resize RAM=61.25\nimg9 resize DISK=12\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat: %v: %s", err, out)
	}
	col := &collector{}
	var logs bytes.Buffer
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{col}, consumer.WithLogger(quietLogger(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	waitFor(t, "3 legacy samples", func() bool { return col.len() == 3 })
	col.mu.Lock()
	defer col.mu.Unlock()
	want := map[string]float64{"cpu.percent": 37.5, "memory.percent": 61.25, "disk.percent": 12}
	for _, s := range col.samples {
		if s.Task != "img9" || s.Service != "resize" || want[s.Resource] != s.Value || time.Since(s.Time) > time.Minute {
			t.Errorf("sample %+v", s)
		}
	}
}

// TestBestEffortSinksCannotSlowTheStore runs a store beside a sink that
// takes a second per batch and one that always fails: the store takes
// every sample without waiting for them, the slow sink misses batches
// (counted), and the failing one is logged, not retried.
func TestBestEffortSinksCannotSlowTheStore(t *testing.T) {
	st, err := store.OpenSQLite(context.Background(), t.TempDir()+"/best-effort.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	b := startBroker(t)
	const services, ticks = 8, 600
	want := publish(t, b.Addrs(), services, ticks, 0)

	var slowCalls, failCalls atomic.Int64
	slow := consumer.SinkFunc(func(ctx context.Context, _ rightsize.Batch) error {
		slowCalls.Add(1)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		return nil
	})
	failing := consumer.SinkFunc(func(context.Context, rightsize.Batch) error {
		failCalls.Add(1)
		return errors.New("chart server unavailable")
	})
	var logs bytes.Buffer
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{slow, st, failing},
		consumer.WithLogger(quietLogger(&logs)), consumer.WithMaxRecords(100), consumer.WithMaxBatch(200))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	run(t, c)
	waitLag0(t, c)
	took := time.Since(start)
	s := c.Stats()
	t.Logf("stored %d samples in %d batches in %v; the slow sink was called %d times, %d batches dropped for it; the failing one failed %d times",
		s.Samples, s.Batches, took.Round(time.Millisecond), slowCalls.Load(), s.BestEffortDropped, s.BestEffortFailed)
	checkExactlyOnce(t, st, want, services)
	// Had the store waited for the slow sink, the sink would have taken
	// every batch, a second each.
	if slowCalls.Load() >= s.Batches {
		t.Errorf("the store waited for the slow sink: %d batches in %v, the slow sink took %d and missed %d", s.Batches, took, slowCalls.Load(), s.BestEffortDropped)
	}
	if s.BestEffortDropped == 0 || s.BestEffortFailed == 0 || failCalls.Load() != s.BestEffortFailed {
		t.Errorf("drops %d and failures %d (failing sink called %d times): want both counted", s.BestEffortDropped, s.BestEffortFailed, failCalls.Load())
	}
	if !strings.Contains(logs.String(), "chart server unavailable") || !strings.Contains(logs.String(), "falling behind") {
		t.Errorf("the sinks' trouble was not logged:\n%s", logs.String())
	}
}

// TestStallIsVisible: a sink that keeps failing shows in Stats (how long,
// and why), and with WithMaxStall Run ends with ErrStalled.
func TestStallIsVisible(t *testing.T) {
	b := startBroker(t)
	publish(t, b.Addrs(), 2, 10, 0)
	down := consumer.SinkFunc(func(context.Context, rightsize.Batch) error { return errors.New("database is down") })
	var logs bytes.Buffer
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{down}, consumer.WithLogger(quietLogger(&logs)), consumer.WithMaxStall(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- c.Run(context.Background()) }()
	waitFor(t, "a stall in Stats", func() bool { return c.Stats().Stalled > 500*time.Millisecond })
	if s := c.Stats(); !strings.Contains(s.LastError, "database is down") {
		t.Errorf("stalled, but LastError %q", s.LastError)
	}
	select {
	case err := <-done:
		if !errors.Is(err, consumer.ErrStalled) || !strings.Contains(err.Error(), "database is down") {
			t.Errorf("Run: %v, want ErrStalled naming the cause", err)
		}
		t.Log(err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not end after the stall bound")
	}
}
