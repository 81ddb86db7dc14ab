package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/rightsize/rightsize/internal/testenv"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// program builds examples/broker once per test run and returns its path.
func program(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rightsize-broker-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "broker")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
	// The clients the tests start (the consumer, the producer) must leave
	// no goroutine behind.
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// proc is the broker program running as a process.
type proc struct {
	cmd    *exec.Cmd
	line   string // what it printed first
	stderr *bytes.Buffer
	done   chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs the program with args and waits for the line saying where it
// listens. The process is killed when the test ends, if still running.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, args...)
}

// startEnv is start with env added to the program's environment.
func startEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(program(t), args...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case p.line = <-lines:
	case err := <-p.done:
		t.Fatalf("broker exited before saying where it listens (%v): %s", err, p.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("broker said nothing in 20 s: %s", p.stderr)
	}
	return p
}

// stop sends sig and checks that the program exits cleanly and quickly.
func (p *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("after %v: %v; stderr: %s", sig, err, p.stderr)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after %v", sig)
	}
	if !strings.Contains(p.stderr.String(), "stopped") {
		t.Errorf("stderr %q does not say it stopped", p.stderr)
	}
}

func TestServesKafkaToFranzGoAndKcat(t *testing.T) {
	kcat := testenv.Kcat(t)
	addr := freeAddr(t)
	p := start(t, "-addr", addr, "-partitions", "3")
	for _, want := range []string{addr, "resources", "resources.dlq", "-brokers " + addr} {
		if !strings.Contains(p.line, want) {
			t.Errorf("first line %q does not say %q", p.line, want)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"resources", "resources.dlq"} {
		if d, ok := topics[name]; !ok || len(d.Partitions) != 3 {
			t.Errorf("%s: %v, want 3 partitions (topics %v)", name, d.Partitions, topics.Names())
		}
	}

	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "resources", Key: []byte("a"), Value: []byte("from franz-go")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	produce := exec.CommandContext(ctx, kcat, "-P", "-b", addr, "-t", "resources", "-K", ":")
	produce.Stdin = strings.NewReader("b:from kcat\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v: %s", err, out)
	}

	out, err := exec.CommandContext(ctx, kcat, "-C", "-b", addr, "-t", "resources", "-o", "beginning", "-e", "-q", "-f", "%k=%s\n").Output()
	if err != nil {
		t.Fatalf("kcat -C: %v", err)
	}
	got := strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(out)), " ", "_"))
	slices.Sort(got)
	if want := []string{"a=from_franz-go", "b=from_kcat"}; !slices.Equal(got, want) {
		t.Errorf("kcat read %q, want %q", got, want)
	}
	var values []string
	for _, r := range testenv.Records(t, []string{addr}, "resources", 2) {
		values = append(values, string(r.Value))
	}
	slices.Sort(values)
	if want := []string{"from franz-go", "from kcat"}; !slices.Equal(values, want) {
		t.Errorf("franz-go read %q, want %q", values, want)
	}
	cl.Close()
	p.stop(t, syscall.SIGTERM)
}

func TestKeepsItsLogInDataDir(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	p := start(t, "-addr", addr, "-data", dir)
	if !strings.Contains(p.line, dir) {
		t.Errorf("first line %q does not say where the log is", p.line)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: "resources", Value: []byte("kept")}).FirstErr()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	p.stop(t, syscall.SIGINT)

	p = start(t, "-addr", addr, "-data", dir)
	recs := testenv.Records(t, []string{addr}, "resources", 1)
	if len(recs) != 1 || string(recs[0].Value) != "kept" {
		t.Errorf("after a restart read %d records", len(recs))
	}
	p.stop(t, syscall.SIGTERM)
}

// run runs the program to its end and returns its exit code and stderr.
func run(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, program(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

func TestAddressInUseIsOneLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	code, stderr := run(t, "-addr", addr)
	if code == 0 || !strings.Contains(stderr, addr) || !strings.Contains(stderr, "in use") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q: want non-zero and one line naming %s", code, stderr, addr)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-partitions", "0"},
		{"-addr", "nowhere"},
		{"-topic", ""},
		{"extra"},
	} {
		code, stderr := run(t, append([]string{"-addr", freeAddr(t)}, args...)...)
		if code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
