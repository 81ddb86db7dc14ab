package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/producer"
)

// stream publishes ticks of services services (cpu and memory) at
// about rate ticks per second and returns the number of samples and the
// sum of their values.
func stream(t *testing.T, addrs []string, services, ticks int, pause time.Duration) (int, float64) {
	ctx := context.Background()
	pub, err := producer.Connect(ctx, addrs)
	if err != nil {
		t.Error(err)
		return 0, 0
	}
	defer pub.Close(ctx)
	base := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	n, sum := 0, 0.0
	for tick := range ticks {
		var batch []rightsize.Sample
		at := base.Add(time.Duration(tick) * time.Second)
		for s := range services {
			svc := fmt.Sprintf("svc-%03d", s)
			cpu, mem := float64((tick*7+s)%1000)/1000, float64(tick*1000+s)
			batch = append(batch,
				rightsize.Sample{Service: svc, Resource: "cpu", Value: cpu, Time: at},
				rightsize.Sample{Service: svc, Resource: "memory", Value: mem, Time: at})
			sum += cpu + mem
		}
		if err := pub.Publish(ctx, batch...); err != nil {
			t.Error(err)
			return n, sum
		}
		n += len(batch)
		time.Sleep(pause)
	}
	if err := pub.Flush(ctx); err != nil {
		t.Error(err)
	}
	return n, sum
}

// tally reads, from the metrics view, the rows, the distinct (series,
// time) pairs and the sum of the values.
type tally struct {
	rows, distinct int64
	sum            float64
}

func count(t *testing.T, dsn string) tally {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var c tally
	err = conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT (task_id, service, instance, resource, "time")), coalesce(sum(value), 0) FROM metrics`).Scan(&c.rows, &c.distinct, &c.sum)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func rowsStored(t *testing.T, dsn string) int64 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return -1
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(count), 0) FROM rightsize_chunks`).Scan(&n); err != nil {
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM metrics`).Scan(&n); err != nil {
			return -1
		}
	}
	return n
}

func checkTally(t *testing.T, dsn string, published int, sum float64, extra string) {
	t.Helper()
	c := count(t, dsn)
	dup := c.rows - c.distinct
	missing := int64(published) - c.distinct
	t.Logf("published %d samples; stored %d rows, %d duplicated, %d missing; value sum %.6g stored vs %.6g published%s",
		published, c.rows, dup, missing, c.sum, sum, extra)
	if c.rows != int64(published) || dup != 0 || missing != 0 || math.Abs(c.sum-sum) > 1e-9*math.Abs(sum) {
		t.Errorf("not exactly once: published %d, stored %d rows (%d duplicated, %d missing), sums %.10g vs %.10g", published, c.rows, dup, missing, c.sum, sum)
	}
}

func soak() bool { v, _ := strconv.ParseBool(os.Getenv("RIGHTSIZE_SOAK")); return v }

// TestMonitorSurvivesKills SIGKILLs the monitor at random points of a
// stream of a million samples, restarting it each time with the same
// instance ID: the store ends with every sample exactly once, and each
// restarted monitor is storing again within seconds.
func TestMonitorSurvivesKills(t *testing.T) {
	dsn := testenv.Database(t, testenv.DatabaseURL(t), "rs_kills")
	b := testenv.Broker(t)
	services, ticks, kills := 100, 5000, 10 // 1 M samples
	if soak() {
		ticks, kills = 25000, 30
	}
	type result struct {
		n   int
		sum float64
	}
	done := make(chan result, 1)
	go func() {
		n, s := stream(t, b.Addrs(), services, ticks, 3*time.Millisecond)
		done <- result{n, s}
	}()
	args := []string{"-brokers", b.Addrs()[0], "-db", dsn, "-instance-id", "kill-test", "-status", "1s"}
	p := startMonitor(t, args...)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	var recoveries []time.Duration
	for i := range kills {
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
		at := rowsStored(t, dsn)
		restarted := time.Now()
		p = startMonitor(t, args...)
		waitUntil(t, 60*time.Second, "the restarted monitor to store", func() bool {
			select {
			case r := <-done:
				done <- r
				// The stream may have ended, and everything been stored.
				return rowsStored(t, dsn) > at || rowsStored(t, dsn) == int64(r.n)
			default:
			}
			return rowsStored(t, dsn) > at
		})
		recoveries = append(recoveries, time.Since(restarted))
		t.Logf("kill %d at %d rows stored; storing again %v after the restart", i+1, at, time.Since(restarted).Round(time.Millisecond))
	}
	r := <-done
	waitUntil(t, 120*time.Second, "every sample stored", func() bool { return rowsStored(t, dsn) >= int64(r.n) })
	time.Sleep(time.Second) // anything beyond would be a duplicate
	slowest := time.Duration(0)
	for _, d := range recoveries {
		slowest = max(slowest, d)
	}
	checkTally(t, dsn, r.n, r.sum, fmt.Sprintf("; %d SIGKILLs, slowest recovery %v", kills, slowest.Round(time.Millisecond)))
	if slowest > 10*time.Second {
		t.Errorf("a restarted monitor took %v to store again (want within 10 s)", slowest)
	}
}

// TestMonitorRebalance runs two and then three monitors in one group,
// started and stopped (SIGTERM and SIGKILL) mid-stream: the partitions
// move between them and no sample is lost or stored twice.
func TestMonitorRebalance(t *testing.T) {
	dsn := testenv.Database(t, testenv.DatabaseURL(t), "rs_rebalance")
	b := testenv.Broker(t)
	type result struct {
		n   int
		sum float64
	}
	done := make(chan result, 1)
	go func() {
		n, s := stream(t, b.Addrs(), 50, 4000, 3*time.Millisecond)
		done <- result{n, s}
	}()
	args := func(id string) []string {
		return []string{"-brokers", b.Addrs()[0], "-db", dsn, "-instance-id", id, "-status", "1s", "-v"}
	}
	progress := func(what string) {
		at := rowsStored(t, dsn)
		time.Sleep(1500 * time.Millisecond)
		t.Logf("%s: %d rows stored, %d a moment later", what, at, rowsStored(t, dsn))
	}
	a := startMonitor(t, args("a")...)
	progress("a alone")
	bm := startMonitor(t, args("b")...)
	progress("a and b")
	c := startMonitor(t, args("c")...)
	progress("a, b and c")
	a.cmd.Process.Signal(syscall.SIGTERM)
	if code := a.wait(t, 20*time.Second); code != 0 {
		t.Errorf("a exited %d after SIGTERM: %s", code, a.stderr)
	}
	progress("b and c (a left with SIGTERM)")
	bm.cmd.Process.Signal(syscall.SIGKILL)
	bm.wait(t, 10*time.Second)
	progress("c (b killed)")
	bm = startMonitor(t, args("b")...)
	progress("b restarted beside c")
	c.cmd.Process.Signal(syscall.SIGKILL)
	c.wait(t, 10*time.Second)
	progress("b (c killed, not restarted)")
	r := <-done
	waitUntil(t, 120*time.Second, "every sample stored", func() bool { return rowsStored(t, dsn) >= int64(r.n) })
	time.Sleep(time.Second)
	checkTally(t, dsn, r.n, r.sum, "; monitors a, b, c started, stopped and killed mid-stream")
	_ = bm
}
