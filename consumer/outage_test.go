package consumer_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/store"
)

// TestDatabaseOutageLosesNothing cuts the consumer off from PostgreSQL
// mid-stream for a few seconds: the consumer keeps retrying, and once the
// database is back every sample is stored exactly once.
func TestDatabaseOutageLosesNothing(t *testing.T) {
	dsn, schema := pgStore(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	px := testenv.NewProxy(t, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)))
	u := url.URL{Scheme: "postgres", User: url.UserPassword(cfg.User, cfg.Password), Host: px.Addr, Path: "/" + cfg.Database, RawQuery: "sslmode=disable"}
	if cfg.Password == "" {
		u.User = url.User(cfg.User)
	}
	st := openPG(t, u.String(), schema)
	b := startBroker(t)
	const services, ticks = 4, 300

	done := make(chan map[sampleKey]bool)
	go func() { done <- publish(t, b.Addrs(), services, ticks, 10*time.Millisecond) }()
	var logs bytes.Buffer
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{st}, consumer.WithLogger(quietLogger(&logs)), consumer.WithMaxRecords(50))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	waitFor(t, "some records stored", func() bool { return storedRecords(st, b) > 100 })
	px.Cut()
	// A write that committed just before the cut may be counted an
	// instant after it: let the writes in flight end first.
	time.Sleep(300 * time.Millisecond)
	before := c.Stats().Samples
	time.Sleep(3 * time.Second)
	during := c.Stats().Samples - before
	px.Restore(t)
	want := <-done
	waitLag0(t, c)
	t.Logf("samples delivered while the database was away: %d", during)
	if during != 0 {
		t.Errorf("%d samples reported delivered while the database was unreachable", during)
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Errorf("the outage was not logged:\n%s", logs.String())
	}
	checkExactlyOnce(t, st, want, services)
}

// TestBackendsTerminatedEverySecond kills the consumer's PostgreSQL
// connections (pg_terminate_backend) every second for ten seconds
// mid-stream: the consumer recovers by itself, and every sample is stored
// exactly once. It reports the longest time nothing was stored.
func TestBackendsTerminatedEverySecond(t *testing.T) {
	admin := testenv.DatabaseURL(t)
	dsn := testenv.Database(t, admin, "rs_terminate")
	st, err := store.OpenPostgres(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t)
	const services, ticks = 8, 1500
	done := make(chan map[sampleKey]bool)
	go func() { done <- publish(t, b.Addrs(), services, ticks, 10*time.Millisecond) }()
	var logs bytes.Buffer
	c, err := consumer.New(context.Background(), b.Addrs(), []consumer.Sink{st}, consumer.WithLogger(quietLogger(&logs)), consumer.WithMaxRecords(40))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	waitFor(t, "some records stored", func() bool { return c.Stats().Samples > 100 })

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Watch progress throughout: the longest time the stored count stood
	// still while records were waiting.
	var (
		mu      sync.Mutex
		longest time.Duration
	)
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		last, since := c.Stats().Samples, time.Now()
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(20 * time.Millisecond):
			}
			n := c.Stats().Samples
			lag, _ := c.Lag(ctx)
			mu.Lock()
			if n != last || lag == 0 {
				last, since = n, time.Now()
			} else {
				longest = max(longest, time.Since(since))
			}
			mu.Unlock()
		}
	}()
	var killed int
	for range 10 {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, cfg.Database).Scan(&n); err != nil {
			t.Fatal(err)
		}
		killed += n
		time.Sleep(time.Second)
	}
	want := <-done
	waitLag0(t, c)
	close(stopWatch)
	<-watched
	t.Logf("%d backends terminated over 10 s; the longest time with nothing stored was %v", killed, longest.Round(10*time.Millisecond))
	if testing.Verbose() {
		t.Log(logs.String())
	}
	if killed < 10 {
		t.Errorf("only %d backends were terminated", killed)
	}
	checkExactlyOnce(t, st, want, services)
}
