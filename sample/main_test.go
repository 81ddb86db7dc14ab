package sample

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The tests measure real processes: the test binary runs itself as the
// workload, told what to do by childEnv. Every workload dies with the test
// (Pdeathsig) and is killed with its whole process group in Cleanup.
const childEnv = "RIGHTSIZE_SAMPLE_CHILD"

// goEnv, when set, makes a workload wait for a line on stdin before it
// starts (so a test can first move it into a cgroup or take a baseline).
const goEnv = "RIGHTSIZE_SAMPLE_WAIT"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		runChild(mode)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// runChild runs one workload:
//
//	burn:SHARE            burn SHARE of one core until killed
//	burnfor:SHARE:DUR     burn SHARE of one core for DUR, then exit
//	tree:N:SHARE          start N children that burn SHARE each, wait
//	alloc:MIB             allocate and touch MIB MiB, print "ready", hold it
//	write:MIB:PATH        write MIB MiB to PATH, fsync, print "done", idle
//	churn:SHARE:LIFE:DUR  for DUR, one child at a time burns SHARE for LIFE and exits; print "done", idle
//	sleep                 idle
//	exec:CMD              run CMD with /bin/sh (for trees of cheap processes)
//	permission:PID:ROOT   print permissionReport(PID, ROOT) (run as an unprivileged user)
func runChild(mode string) {
	if os.Getenv(goEnv) != "" {
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			os.Exit(3)
		}
	}
	f := strings.Split(mode, ":")
	arg := func(i int) string {
		if i >= len(f) {
			fmt.Fprintf(os.Stderr, "workload %q: missing argument %d\n", mode, i)
			os.Exit(2)
		}
		return f[i]
	}
	num := func(i int) float64 {
		v, err := strconv.ParseFloat(arg(i), 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "workload %q: %v\n", mode, err)
			os.Exit(2)
		}
		return v
	}
	dur := func(i int) time.Duration {
		d, err := time.ParseDuration(arg(i))
		if err != nil {
			fmt.Fprintf(os.Stderr, "workload %q: %v\n", mode, err)
			os.Exit(2)
		}
		return d
	}
	switch f[0] {
	case "burn":
		burn(num(1), 0)
	case "burnfor":
		burn(num(1), dur(2))
		return
	case "tree":
		n := int(num(1))
		var cmds []*exec.Cmd
		for range n {
			c := childCmd("burn:" + arg(2))
			if err := c.Start(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			cmds = append(cmds, c)
		}
		for _, c := range cmds {
			_ = c.Wait()
		}
	case "alloc":
		holdMemory = make([]byte, int(num(1))<<20)
		for i := 0; i < len(holdMemory); i += os.Getpagesize() {
			holdMemory[i] = 1
		}
		fmt.Println("ready")
	case "write":
		if err := writeSync(arg(2), int(num(1))<<20); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println("done")
	case "churn":
		end := time.Now().Add(dur(3))
		for time.Now().Before(end) {
			c := childCmd("burnfor:" + arg(1) + ":" + arg(2))
			if err := c.Run(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
		}
		fmt.Println("done")
	case "sleep":
	case "permission":
		fmt.Print(permissionReport(int(num(1)), strings.Join(f[2:], ":")))
		return
	case "exec":
		c := exec.Command("/bin/sh", "-c", strings.Join(f[1:], ":"))
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		_ = c.Run()
		return
	default:
		fmt.Fprintf(os.Stderr, "unknown workload %q\n", mode)
		os.Exit(2)
	}
	for {
		time.Sleep(time.Hour)
	}
}

var holdMemory []byte

// childCmd is a command running this test binary as the given workload.
func childCmd(mode string) *exec.Cmd {
	self, err := os.Executable()
	if err != nil {
		panic(err)
	}
	c := exec.Command(self)
	c.Env = append(filterEnv(os.Environ(), childEnv, goEnv), childEnv+"="+mode, "GOMAXPROCS=1")
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	c.Stderr = os.Stderr
	return c
}

func filterEnv(env []string, drop ...string) []string {
	var out []string
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		keep := true
		for _, d := range drop {
			if k == d {
				keep = false
			}
		}
		if keep {
			out = append(out, e)
		}
	}
	return out
}

// burn uses share of one core: it spins while the CPU time it has used
// (getrusage, all threads) is behind share × the time elapsed, and sleeps
// otherwise, so it corrects itself for the time the scheduler did not give
// it. It stops after d (0: never).
func burn(share float64, d time.Duration) {
	start := time.Now()
	cpu0 := cpuTime()
	x := 1.0
	for d == 0 || time.Since(start) < d {
		used := float64(cpuTime() - cpu0)
		if used < share*float64(time.Since(start)) {
			t := time.Now()
			for time.Since(t) < time.Millisecond {
				for range 1000 {
					x = x*1.000001 + 1e-9
				}
			}
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	if x == 0 {
		fmt.Println(x)
	}
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeSync writes n bytes to path and waits for them to reach the disk.
func writeSync(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for n > 0 {
		k := min(n, len(buf))
		if _, err := f.Write(buf[:k]); err != nil {
			f.Close()
			return err
		}
		n -= k
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// child is a running workload.
type child struct {
	cmd   *exec.Cmd
	stdin *os.File
	out   *bufio.Reader
	pid   int
}

// startChild starts a workload in its own process group. With wait, it
// waits for a line on stdin before starting (see child.start).
func startChild(t testing.TB, mode string, wait bool) *child {
	t.Helper()
	c := childCmd(mode)
	c.SysProcAttr.Setpgid = true
	if wait {
		c.Env = append(c.Env, goEnv+"=1")
	}
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stdin, c.Stdout = inR, outW
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	ch := &child{cmd: c, stdin: inW, out: bufio.NewReader(outR), pid: c.Process.Pid}
	t.Cleanup(func() {
		ch.kill()
		inW.Close()
		outR.Close()
	})
	return ch
}

// start lets a child started with wait begin its work.
func (c *child) start(t testing.TB) {
	t.Helper()
	if _, err := c.stdin.WriteString("go\n"); err != nil {
		t.Fatal(err)
	}
}

// expect waits for the child to print line.
func (c *child) expect(t testing.TB, line string, timeout time.Duration) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		s, _ := c.out.ReadString('\n')
		got <- s
	}()
	select {
	case s := <-got:
		if strings.TrimSpace(s) != line {
			t.Fatalf("workload printed %q, want %q", s, line)
		}
	case <-time.After(timeout):
		c.kill()
		<-got
		t.Fatalf("workload did not print %q within %v", line, timeout)
	}
}

// line returns a channel that receives the next line the child prints,
// without its newline.
func (c *child) line() <-chan string {
	got := make(chan string, 1)
	go func() {
		s, _ := c.out.ReadString('\n')
		got <- strings.TrimSpace(s)
	}()
	return got
}

// kill kills the child's process group and reaps the child.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = syscall.Kill(-c.pid, syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// descendants returns the PIDs of pid's tree, pid first, from the kernel's
// children lists (/proc/<pid>/task/<tid>/children), not from the process
// table the samplers read.
func descendants(pid int) []int {
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", out[i]))
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, s := range strings.Fields(string(b)) {
				if n, err := strconv.Atoi(s); err == nil {
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// kernelCPU is the CPU time the threads of pid's tree have spent on a CPU,
// from the scheduler's own accounting (/proc/<pid>/task/<tid>/schedstat, in
// nanoseconds), independent of the tick-based times of /proc/<pid>/stat.
func kernelCPU(pid int) time.Duration {
	var total time.Duration
	for _, p := range descendants(pid) {
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", p))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			if fs := strings.Fields(string(b)); len(fs) > 0 {
				n, _ := strconv.ParseInt(fs[0], 10, 64)
				total += time.Duration(n)
			}
		}
	}
	return total
}

// statusKB reads a "Name: N kB" field of /proc/<pid>/status, in bytes.
func statusKB(t testing.TB, pid int, field string) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return n * 1024
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// ioWriteBytes reads write_bytes of /proc/<pid>/io.
func ioWriteBytes(t testing.TB, pid int) float64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		t.Fatal(err)
	}
	c, err := parseIO(b)
	if err != nil {
		t.Fatal(err)
	}
	return float64(c.write)
}

// waitTree waits until pid's tree has n processes.
func waitTree(t testing.TB, pid, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(descendants(pid)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("tree of pid %d has %d processes after %v, want %d", pid, len(descendants(pid)), timeout, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
