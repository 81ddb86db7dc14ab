package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/store"
)

const signalChild = "RIGHTSIZE_TEST_SIGNAL_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(signalChild) != "" {
		// A program that ignores its context after the first signal, to
		// show that a second one ends it at once.
		ctx, stop := cli.SignalContext(context.Background(), "child")
		defer stop()
		fmt.Println("ready")
		<-ctx.Done()
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// monitorBin builds the monitor once for every test.
func monitorBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rightsize-monitor-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "monitor")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running monitor.
type proc struct {
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	exited chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startMonitor(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(monitorBin(t), args...), stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
	})
	return p
}

// wait waits at most d for the monitor to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(d):
		t.Fatalf("the monitor did not exit within %v; stdout:\n%s\nstderr:\n%s", d, p.stdout, p.stderr)
		return -1
	}
}

// publishTicks publishes ticks ticks of services services (cpu and memory)
// and returns how many samples it published.
func publishTicks(t *testing.T, addrs []string, services, ticks int) int {
	t.Helper()
	ctx := context.Background()
	pub, err := producer.Connect(ctx, addrs)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(ctx)
	base := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	n := 0
	for tick := range ticks {
		var batch []rightsize.Sample
		for s := range services {
			at := base.Add(time.Duration(tick) * time.Second)
			svc := fmt.Sprintf("svc-%02d", s)
			batch = append(batch,
				rightsize.Sample{Service: svc, Resource: "cpu", Value: float64(tick%100) / 100, Time: at},
				rightsize.Sample{Service: svc, Resource: "memory", Value: float64(tick*1000 + s), Time: at})
		}
		if err := pub.Publish(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		n += len(batch)
	}
	if err := pub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return n
}

// countStored counts the samples of the publishTicks services in st.
func countStored(t *testing.T, st store.Store, services int) int64 {
	t.Helper()
	var names []string
	for s := range services {
		names = append(names, fmt.Sprintf("svc-%02d", s))
	}
	sums, err := st.Summarize(context.Background(), rightsize.Filter{Services: names})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range sums {
		n += s.Count
	}
	return n
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMonitorStoresAndStopsCleanly runs the monitor as a process against
// the in-process broker, into the embedded store and into PostgreSQL:
// everything published is stored, a status line is printed, and SIGTERM
// (or SIGINT) ends it with status 0 within a few seconds.
func TestMonitorStoresAndStopsCleanly(t *testing.T) {
	for _, c := range []struct {
		name string
		sig  syscall.Signal
	}{{"sqlite", syscall.SIGTERM}, {"postgres", syscall.SIGINT}} {
		t.Run(c.name, func(t *testing.T) {
			b := testenv.Broker(t)
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "monitor.db")
			if c.name == "postgres" {
				dsn = testenv.Database(t, testenv.DatabaseURL(t), "rs_monitor")
			}
			const services, ticks = 10, 200
			published := publishTicks(t, b.Addrs(), services, ticks)
			p := startMonitor(t, "-brokers", b.Addrs()[0], "-db", dsn, "-status", "200ms")
			st, err := store.Open(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			waitUntil(t, 30*time.Second, "every sample stored", func() bool { return countStored(t, st, services) == int64(published) })
			waitUntil(t, 10*time.Second, "a status line", func() bool { return strings.Contains(p.stdout.String(), "samples/s, lag 0") })
			start := time.Now()
			p.cmd.Process.Signal(c.sig)
			if code := p.wait(t, 10*time.Second); code != 0 {
				t.Fatalf("exit status %d after %v; stderr:\n%s", code, c.sig, p.stderr)
			}
			t.Logf("%d samples stored; exited %[3]v after %[2]v; last lines:\n%s", published, time.Since(start).Round(time.Millisecond), c.sig, tail(p.stdout.String(), 3))
			if !strings.Contains(p.stdout.String(), fmt.Sprintf("%d samples stored", published)) {
				t.Errorf("no final summary:\n%s", p.stdout)
			}
			if got := countStored(t, st, services); got != int64(published) {
				t.Errorf("stored %d, published %d", got, published)
			}
		})
	}
}

// TestMonitorUnreachable: a broker or database that does not answer is a
// one-line error naming it and a non-zero exit, not a hang or a trace.
func TestMonitorUnreachable(t *testing.T) {
	b := testenv.Broker(t)
	for _, c := range []struct {
		name, brokers, db, says string
	}{
		{"broker", "127.0.0.1:1", "sqlite:" + filepath.Join(t.TempDir(), "x.db"), "127.0.0.1:1"},
		{"database", b.Addrs()[0], "postgres://postgres@127.0.0.1:1/nothing?sslmode=disable", "127.0.0.1:1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startMonitor(t, "-brokers", c.brokers, "-db", c.db, "-timeout", "2s")
			code := p.wait(t, 20*time.Second)
			msg := strings.TrimSpace(p.stderr.String())
			t.Logf("exit %d: %s", code, msg)
			if code == 0 || strings.Count(msg, "\n") > 0 || !strings.Contains(msg, c.says) || strings.Contains(msg, "goroutine") {
				t.Errorf("want one line naming %s and a non-zero exit; got exit %d and:\n%s", c.says, code, msg)
			}
		})
	}
}

// TestSecondSignalExitsAtOnce: the first signal asks the program to
// finish; if it does not, the second ends it with status 130.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), signalChild+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "ready\n" {
		t.Fatalf("child said %q", line)
	}
	go io.Copy(io.Discard, out)
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || time.Since(start) > 5*time.Second {
		t.Fatalf("after a second SIGINT: %v after %v; stderr:\n%s", err, time.Since(start), stderr.String())
	}
	if !strings.Contains(stderr.String(), "signal again to exit at once") {
		t.Errorf("the first signal did not say how to exit at once:\n%s", stderr.String())
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
