package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/internal/wire"
	"github.com/rightsize/rightsize/internal/workload"
	"go.uber.org/goleak"
)

// TestMain runs the workloads the tests start (this test binary, told so by
// its environment) and checks that the tests leave no goroutine behind: the
// in-process broker and the client that reads the topic back start them.
func TestMain(m *testing.M) {
	workload.MaybeRun()
	goleak.VerifyTestMain(m)
}

// build compiles this program once per test run.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "producer")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestTargetDiesOthersGoOn runs the program on two processes, kills one:
// its series ends (logged once) and the other's goes on; SIGINT then stops
// the program, which flushes what it holds and exits 0.
func TestTargetDiesOthersGoOn(t *testing.T) {
	bin := build(t)
	b := testenv.Broker(t)
	dies, err := workload.Start(workload.Spec{CPU: 0.1, Memory: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer dies.Stop()
	lives, err := workload.Start(workload.Spec{CPU: 0.1, Memory: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer lives.Stop()

	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-brokers", b.Addrs()[0], "-interval", "200ms", "-instance", "n1",
		"-pid", itoa(dies.Pid()), "-pid", itoa(lives.Pid()), "resize", "img-1")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	killedAt := time.Now()
	dies.Stop()
	time.Sleep(2 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("producer: %v\n%s", err, stderr.String())
	}
	logs := stderr.String()
	if n := strings.Count(logs, "series ended"); n != 1 || !strings.Contains(logs, "pid "+itoa(dies.Pid())) {
		t.Errorf("want one 'series ended' naming pid %d; logs:\n%s", dies.Pid(), logs)
	}
	if !strings.Contains(logs, "stopped") || !strings.Contains(logs, "failed=0") || !strings.Contains(logs, "dropped=0") {
		t.Errorf("no clean stop in logs:\n%s", logs)
	}

	// Read back what was published (all of it was flushed before the
	// program exited): the dead target's series ends at its death, the
	// other's goes on past it.
	last := map[string]time.Time{}
	count := map[string]int{}
	for _, r := range testenv.Records(t, b.Addrs(), "resources", 1) {
		ss, err := wire.Decode(nil, wire.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			if s.Service != "resize" || s.Task != "img-1" {
				t.Fatalf("sample %+v", s)
			}
			if s.Resource == rightsize.CPU {
				count[s.Instance]++
				if s.Time.After(last[s.Instance]) {
					last[s.Instance] = s.Time
				}
			}
		}
	}
	deadInst, liveInst := "n1/pid:"+itoa(dies.Pid()), "n1/pid:"+itoa(lives.Pid())
	t.Logf("cpu samples: %v", count)
	if count[deadInst] < 3 || count[liveInst] < 8 {
		t.Fatalf("cpu samples per instance %v", count)
	}
	if last[deadInst].After(killedAt.Add(300 * time.Millisecond)) {
		t.Errorf("the killed target has samples %v after its death", last[deadInst].Sub(killedAt))
	}
	if !last[liveInst].After(killedAt.Add(time.Second)) {
		t.Errorf("the living target's series stopped with the other's")
	}
}

func TestBadInvocations(t *testing.T) {
	bin := build(t)
	cases := []struct {
		args []string
		code int
		says string
	}{
		{[]string{"svc"}, 2, "no target"},
		{[]string{"-pid", "1"}, 2, "SERVICE"},
		{[]string{"-pid", "x", "svc"}, 1, `-pid "x"`},
		{[]string{"-pid", "2147483000", "svc"}, 1, "2147483000"},
		{[]string{"-container", "no-such-container", "svc"}, 1, "no-such-container"},
		{[]string{"-interval", "0s", "-host", "svc"}, 2, "-interval"},
		{[]string{"-brokers", "127.0.0.1:1", "-host", "svc"}, 1, "no Kafka broker reachable at 127.0.0.1:1"},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, c.args...)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code || !strings.Contains(string(out), c.says) {
			t.Errorf("producer %s: exit %d, want %d saying %q; said:\n%s", strings.Join(c.args, " "), code, c.code, c.says, out)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
