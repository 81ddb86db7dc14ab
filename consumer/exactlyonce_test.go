package consumer_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/internal/wire"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/store"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

// The exactly-once tests run the real pipeline: the in-process broker, the
// Kafka publisher, this consumer and the PostgreSQL store.

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChildConsumer(spec))
	}
	// The consumer starts goroutines (the Kafka client's among them); none
	// may outlive Close.
	goleak.VerifyTestMain(m)
}

// pgStore returns the test database and a schema of the test's own.
func pgStore(t *testing.T) (dsn, schema string) {
	t.Helper()
	dsn = testenv.DatabaseURL(t)
	return dsn, testenv.Schema(t, dsn, "rs_consumer")
}

func openPG(t *testing.T, dsn, schema string) *store.Postgres {
	t.Helper()
	st, err := store.OpenPostgres(context.Background(), dsn, store.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// published is what a test published: every sample, keyed for comparison.
type sampleKey struct {
	service, resource string
	time              int64
	value             float64
}

func keyOf(s rightsize.Sample) sampleKey {
	return sampleKey{s.Service, s.Resource, s.Time.UnixMicro(), s.Value}
}

// publish publishes ticks ticks of services services (cpu and memory each),
// one tick every pause, and returns every sample published.
func publish(t *testing.T, addrs []string, services, ticks int, pause time.Duration) map[sampleKey]bool {
	t.Helper()
	ctx := context.Background()
	p, err := producer.Connect(ctx, addrs)
	if err != nil {
		t.Error(err)
		return nil
	}
	defer p.Close(ctx)
	base := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	out := map[sampleKey]bool{}
	for tick := range ticks {
		var batch []rightsize.Sample
		for s := range services {
			at := base.Add(time.Duration(tick) * time.Second)
			svc := fmt.Sprintf("svc-%02d", s)
			batch = append(batch,
				rightsize.Sample{Service: svc, Resource: "cpu", Value: float64(tick) / 1000, Time: at},
				rightsize.Sample{Service: svc, Resource: "memory", Value: float64(tick*1000 + s), Time: at})
		}
		if err := p.Publish(ctx, batch...); err != nil {
			t.Error(err)
			return nil
		}
		for _, s := range batch {
			out[keyOf(s)] = true
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Error(err)
	}
	return out
}

// checkExactlyOnce compares what the store holds with what was published:
// every sample present, none twice, nothing else.
func checkExactlyOnce(t *testing.T, st store.Store, want map[sampleKey]bool, services int) {
	t.Helper()
	var names []string
	for s := range services {
		names = append(names, fmt.Sprintf("svc-%02d", s))
	}
	seen := map[sampleKey]int{}
	n := 0
	if err := st.Scan(context.Background(), rightsize.Filter{Services: names}, func(s rightsize.Sample) error {
		seen[keyOf(s)]++
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var dup, missing, extra int
	for k, c := range seen {
		if c > 1 {
			dup++
		}
		if !want[k] {
			extra++
		}
	}
	for k := range want {
		if seen[k] == 0 {
			missing++
		}
	}
	t.Logf("published %d samples; store holds %d rows (%d duplicated, %d missing, %d unexpected)", len(want), n, dup, missing, extra)
	if n != len(want) || dup+missing+extra != 0 {
		t.Errorf("not exactly once: published %d, stored %d rows, %d duplicated, %d missing, %d unexpected", len(want), n, dup, missing, extra)
	}
}

func waitLag0(t *testing.T, c *consumer.Consumer) {
	t.Helper()
	waitFor(t, "the consumer to catch up", func() bool {
		lag, err := c.Lag(context.Background())
		return err == nil && lag == 0
	})
}

// storedRecords sums the offsets st holds for the broker's default topic.
func storedRecords(st store.Store, b *broker.Broker) int64 {
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		return -1
	}
	defer cl.Close()
	details, err := kadm.NewClient(cl).ListTopics(ctx, consumer.DefaultTopic)
	if err != nil {
		return -1
	}
	id := details[consumer.DefaultTopic].ID
	offs, err := st.Offsets(ctx, consumer.DefaultTopic, hex.EncodeToString(id[:]))
	if err != nil {
		return -1
	}
	var n int64
	for _, o := range offs {
		n += o
	}
	return n
}

func TestExactlyOnceAcrossConsumerRestart(t *testing.T) {
	dsn, schema := pgStore(t)
	st := openPG(t, dsn, schema)
	b := startBroker(t)
	const services, ticks = 8, 400

	done := make(chan map[sampleKey]bool)
	go func() { done <- publish(t, b.Addrs(), services, ticks, 2*time.Millisecond) }()

	var logs bytes.Buffer
	first, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{st}, consumer.WithLogger(quietLogger(&logs)), consumer.WithMaxRecords(97))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error)
	go func() { ran <- first.Run(ctx) }()
	waitFor(t, "a third of the records stored", func() bool { return storedRecords(st, b) >= services*ticks/3 })
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	first.Close()
	mid := storedRecords(st, b)

	second, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{st}, consumer.WithLogger(quietLogger(&logs)), consumer.WithMaxRecords(97))
	if err != nil {
		t.Fatal(err)
	}
	run(t, second)
	want := <-done
	waitLag0(t, second)
	t.Logf("first consumer stored %d of %d records before it stopped", mid, services*ticks)
	if mid >= services*ticks {
		t.Errorf("the first consumer stored everything (%d records): the restart happened after the stream, not in the middle", mid)
	}
	checkExactlyOnce(t, st, want, services)
}

// TestExactlyOnceWhenTheGroupLagsTheStore: a consumer that died after its
// database transaction committed but before its group commit left the group
// behind the store. Its successor must start where the store is.
func TestExactlyOnceWhenTheGroupLagsTheStore(t *testing.T) {
	dsn, schema := pgStore(t)
	st := openPG(t, dsn, schema)
	b := startBroker(t)
	const services, ticks = 4, 50
	want := publish(t, b.Addrs(), services, ticks, 0)

	// Store the first records of every partition directly, as the dead
	// consumer did, without committing anything to the group.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics(consumer.DefaultTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var batch rightsize.Batch
	var direct int
	cl.PollFetches(ctx).EachTopic(func(tp kgo.FetchTopic) {
		for _, p := range tp.Partitions {
			half := p.Records[:len(p.Records)/2]
			n := len(batch.Samples)
			for _, r := range half {
				batch.Samples, err = wire.Decode(batch.Samples, wire.Record{Key: r.Key, Value: r.Value, Headers: []wire.Header{{Key: "content-type", Value: []byte(wire.ContentType)}}})
				if err != nil {
					t.Fatal(err)
				}
			}
			direct += len(half)
			batch.Ranges = append(batch.Ranges, rightsize.OffsetRange{Topic: tp.Topic, TopicID: hex.EncodeToString(tp.TopicID[:]),
				Partition: p.Partition, From: 0, To: int64(len(half)), Samples: len(batch.Samples) - n})
		}
	})
	if direct == 0 {
		t.Fatal("nothing read directly")
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{st}, consumer.WithLogger(quietLogger(&logs)))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	waitLag0(t, c)
	t.Logf("%d records stored before the consumer started", direct)
	checkExactlyOnce(t, st, want, services)
}

// childEnv makes the test binary run as a consumer process:
// "brokers|dsn|schema".
const childEnv = "RIGHTSIZE_TEST_CONSUMER_CHILD"

func runChildConsumer(spec string) int {
	parts := strings.Split(spec, "|")
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, parts[1], store.WithSchema(parts[2]))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// A killed member holds its partitions until its session times out:
	// keep that short so the next child gets them soon.
	c, err := consumer.New(context.Background(), strings.Split(parts[0], ","), []consumer.Sink{st}, consumer.WithMaxRecords(53),
		consumer.WithKafkaOptions(kgo.SessionTimeout(6*time.Second), kgo.HeartbeatInterval(time.Second)))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := c.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestExactlyOnceAfterSIGKILL kills consumer processes with SIGKILL
// mid-stream, several times, and checks the store holds every sample once.
func TestExactlyOnceAfterSIGKILL(t *testing.T) {
	dsn, schema := pgStore(t)
	st := openPG(t, dsn, schema) // creates the schema before the children race to
	b := startBroker(t)
	const services, ticks = 8, 600
	done := make(chan map[sampleKey]bool)
	go func() { done <- publish(t, b.Addrs(), services, ticks, time.Millisecond) }()

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(b.Addrs(), ",")+"|"+dsn+"|"+schema)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	total := int64(services * ticks)
	kills := 0
	for i := 1; i <= 4; i++ {
		cmd := start()
		target := total * int64(i) / 6
		waitFor(t, fmt.Sprintf("%d records stored", target), func() bool { return storedRecords(st, b) >= target })
		// Land the kill at a random point of whatever the consumer is doing.
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		kills++
		t.Logf("SIGKILL %d with %d of %d records stored", kills, storedRecords(st, b), total)
	}
	want := <-done
	final := start()
	defer func() { final.Process.Kill(); final.Wait() }()
	waitFor(t, "every record stored", func() bool { return storedRecords(st, b) >= total })
	checkExactlyOnce(t, st, want, services)
}
