package sample

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
)

// fakeClock is a clock tests advance by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// copyTree copies the fixture tree src to a temporary directory that the
// test may change.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// setStat changes fields (numbered as in proc(5)) of a fixture's
// <pid>/stat.
func setStat(t *testing.T, procRoot string, pid int, fields map[int]string) {
	t.Helper()
	p := filepath.Join(procRoot, strconv.Itoa(pid), "stat")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	head, rest := s[:end+1], strings.Fields(s[end+1:])
	for n, v := range fields {
		rest[n-3] = v
	}
	if err := os.WriteFile(p, []byte(head+" "+strings.Join(rest, " ")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func ioFile(read, write int) string {
	return "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: " + strconv.Itoa(read) +
		"\nwrite_bytes: " + strconv.Itoa(write) + "\ncancelled_write_bytes: 0\n"
}

// values maps resource to value, and fails on a duplicate or a sample
// that would not validate.
func values(t *testing.T, samples []rightsize.Sample) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for _, s := range samples {
		if err := s.Validate(); err != nil {
			t.Errorf("invalid sample %+v: %v", s, err)
		}
		if _, dup := m[s.Resource]; dup {
			t.Errorf("%s reported twice", s.Resource)
		}
		m[s.Resource] = s.Value
	}
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func checkValues(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	for r, w := range want {
		if g, ok := got[r]; !ok {
			t.Errorf("%s missing (got %v)", r, got)
		} else if !near(g, w) {
			t.Errorf("%s = %v, want %v", r, g, w)
		}
	}
	for r := range got {
		if _, ok := want[r]; !ok {
			t.Errorf("unexpected %s = %v", r, got[r])
		}
	}
}

var page = float64(os.Getpagesize())

// TestProcessFixture follows the nginx tree of testdata/proc through four
// ticks: a steady one, one where a worker exits and is reaped and a new
// child starts, one where a grandchild is re-parented to init, and the
// root's exit.
func TestProcessFixture(t *testing.T) {
	proc := copyTree(t, "testdata/proc")
	clock := newFakeClock()
	s, err := NewProcess("nginx", 300, WithProcRoot(proc), WithClock(clock.now), WithInstance("node-1"), WithTask("img-1"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Members 300, 301, 302, 303: rss 1000+2000+2000+500 pages, 10 threads.
	checkValues(t, values(t, first), map[string]float64{
		rightsize.Memory:  5500 * page,
		rightsize.Threads: 10,
	})
	for _, x := range first {
		if x.Service != "nginx" || x.Instance != "node-1" || x.Task != "img-1" || !x.Time.Equal(clock.now()) {
			t.Errorf("labels of %+v", x)
		}
	}

	// Ten seconds later: 301 used 100 ticks and wrote 1 MiB; 302 used 50
	// more ticks and wrote 1 MiB, exited and was reaped by 300 (its final
	// 350+100 ticks and 4096+1 MiB written land in 300's cutime and io);
	// 304, a new child of 300, used 30 ticks.
	clock.advance(10 * time.Second)
	writeFile(t, filepath.Join(proc, "uptime"), "1010.00 1910.00\n")
	setStat(t, proc, 301, map[int]string{14: "500"})
	writeFile(t, filepath.Join(proc, "301", "io"), ioFile(1<<20, 3<<20))
	if err := os.RemoveAll(filepath.Join(proc, "302")); err != nil {
		t.Fatal(err)
	}
	setStat(t, proc, 300, map[int]string{16: strconv.Itoa(20 + 450)})
	writeFile(t, filepath.Join(proc, "300", "io"), ioFile(4096, 8192+4096+1<<20))
	writeFile(t, filepath.Join(proc, "304", "stat"), "304 (nginx) S 300 300 300 0 -1 0 0 0 0 0 30 0 0 0 20 0 1 0 100500 0 700 0\n")
	writeFile(t, filepath.Join(proc, "304", "io"), ioFile(0, 0))
	second, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hz := float64(clockTicks())
	checkValues(t, values(t, second), map[string]float64{
		rightsize.CPU:       (100 + 50 + 30) / hz / 10,
		rightsize.Memory:    (1000 + 2000 + 500 + 700) * page,
		rightsize.DiskRead:  0,
		rightsize.DiskWrite: (1<<20 + 1<<20) / 10.0,
		rightsize.Threads:   1 + 4 + 1 + 1,
	})
	if second[0].Resource != rightsize.CPU || second[len(second)-1].Resource != rightsize.Threads {
		t.Errorf("order: %v", second)
	}

	// 301 exits (reaped by 300, no more use), its child 303 is re-parented
	// to init and uses 20 ticks: it is still part of the tree.
	clock.advance(10 * time.Second)
	writeFile(t, filepath.Join(proc, "uptime"), "1020.00 1920.00\n")
	if err := os.RemoveAll(filepath.Join(proc, "301")); err != nil {
		t.Fatal(err)
	}
	setStat(t, proc, 300, map[int]string{16: strconv.Itoa(470 + 600)})
	setStat(t, proc, 303, map[int]string{4: "1", 14: "30"})
	third, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := values(t, third)
	if !near(got[rightsize.CPU], 20/hz/10) {
		t.Errorf("cpu = %v, want %v (the re-parented grandchild's 20 ticks)", got[rightsize.CPU], 20/hz/10)
	}
	if !near(got[rightsize.Memory], (1000+500+700)*page) {
		t.Errorf("memory = %v: the re-parented grandchild must stay in the tree", got[rightsize.Memory]/page)
	}

	// The root exits: the series ends, for good.
	clock.advance(10 * time.Second)
	if err := os.RemoveAll(filepath.Join(proc, "300")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		out, err := s.Sample(ctx)
		if !errors.Is(err, ErrGone) || len(out) != 0 {
			t.Fatalf("after the root exited: %v, %v; want no samples and ErrGone", out, err)
		}
		if !strings.Contains(err.Error(), "pid 300") {
			t.Errorf("error %q does not name the pid", err)
		}
	}
}

func TestProcessMatchFixture(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		rss     float64 // pages
		threads float64
	}{
		{"^nginx$", 5500, 10},                  // the comm of master and workers
		{"worker process", 4500, 9},            // command lines of 301 and 302, with 303 under 301
		{`http\.server`, 3000, 4},              // 500 and its zombie child
		{`odd`, 100, 2},                        // name "my (odd) name" and command line ./odd
		{`^(nginx|python3)$`, 5500 + 3000, 14}, // two trees, one service
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			s, err := NewProcessMatch("svc", tc.pattern, WithProcRoot("testdata/proc"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Sample(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			checkValues(t, values(t, out), map[string]float64{rightsize.Memory: tc.rss * page, rightsize.Threads: tc.threads})
		})
	}
}

func TestProcessMatchNoneThenStart(t *testing.T) {
	proc := copyTree(t, "testdata/proc")
	clock := newFakeClock()
	s, err := NewProcessMatch("redis", "^redis-server$", WithProcRoot(proc), WithClock(clock.now))
	if err != nil {
		t.Fatalf("a pattern that matches nothing yet must be accepted: %v", err)
	}
	out, err := s.Sample(context.Background())
	if !errors.Is(err, ErrNoMatch) || errors.Is(err, ErrGone) || len(out) != 0 {
		t.Fatalf("no match: %v, %v; want no samples and ErrNoMatch", out, err)
	}
	if !strings.Contains(err.Error(), "redis-server") {
		t.Errorf("error %q does not name the pattern", err)
	}
	// The service starts after that tick: its whole use is in the next
	// interval.
	clock.advance(5 * time.Second)
	writeFile(t, filepath.Join(proc, "uptime"), "1005.00 1905.00\n")
	writeFile(t, filepath.Join(proc, "600", "stat"), "600 (redis-server) S 1 600 600 0 -1 0 0 0 0 0 40 10 0 0 20 0 4 0 100200 0 250 0\n")
	writeFile(t, filepath.Join(proc, "600", "io"), ioFile(0, 5000))
	out, err = s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, values(t, out), map[string]float64{
		rightsize.CPU:       50 / float64(clockTicks()) / 5,
		rightsize.Memory:    250 * page,
		rightsize.DiskRead:  0,
		rightsize.DiskWrite: 1000,
		rightsize.Threads:   4,
	})
}

func TestPIDFileFixture(t *testing.T) {
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "nginx.pid")
	writeFile(t, pidfile, "300\n")
	s, err := NewPIDFile("nginx", pidfile, WithProcRoot("testdata/proc"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, values(t, out), map[string]float64{rightsize.Memory: 5500 * page, rightsize.Threads: 10})

	// The service restarts: the file names another process, followed at
	// the next tick.
	writeFile(t, pidfile, "500\n")
	out, err = s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v := values(t, out)[rightsize.Memory]; !near(v, 3000*page) {
		t.Errorf("after the restart memory = %v pages, want 3000", v/page)
	}
	// Stopped: no process, no samples, but the series goes on.
	writeFile(t, pidfile, "777\n")
	out, err = s.Sample(context.Background())
	if !errors.Is(err, ErrNoProcess) || errors.Is(err, ErrGone) || len(out) != 0 {
		t.Errorf("pid file naming no process: %v, %v", out, err)
	}
	os.Remove(pidfile)
	if _, err = s.Sample(context.Background()); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrGone) || !strings.Contains(err.Error(), pidfile) {
		t.Errorf("missing pid file: %v", err)
	}
}

func TestProcessConstructorErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func() (*Process, error)
		is   error
		says string
	}{
		{"no such pid", func() (*Process, error) { return NewProcess("svc", 999, WithProcRoot("testdata/proc")) }, ErrNoProcess, "sample: pid 999: no such process"},
		{"zombie", func() (*Process, error) { return NewProcess("svc", 501, WithProcRoot("testdata/proc")) }, ErrNoProcess, "pid 501: no such process (a zombie)"},
		{"bad pid", func() (*Process, error) { return NewProcess("svc", -4) }, nil, "pid -4: not a process ID"},
		{"empty service", func() (*Process, error) { return NewProcess("", os.Getpid()) }, rightsize.ErrInvalidSample, "Service is empty"},
		{"pid file missing", func() (*Process, error) { return NewPIDFile("svc", "testdata/run/missing.pid") }, fs.ErrNotExist, "pid file testdata/run/missing.pid"},
		{"pid file of no process", func() (*Process, error) {
			return NewPIDFile("svc", "testdata/run/nginx.pid", WithProcRoot("testdata/v2/proc"))
		}, ErrNoProcess, "pid file testdata/run/nginx.pid: pid 300: no such process"},
		{"bad pattern", func() (*Process, error) { return NewProcessMatch("svc", "ngin(x") }, nil, `pattern "ngin(x"`},
		{"empty pattern", func() (*Process, error) { return NewProcessMatch("svc", "") }, nil, "pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.new()
			if err == nil || s != nil {
				t.Fatalf("got %v, %v; want an error", s, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not match %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

// TestProcessGoneKeepsOthers samples two real processes through one shared
// Scanner; one is killed mid-sampling: its sampler ends with ErrGone, the
// other keeps measuring.
func TestProcessGoneKeepsOthers(t *testing.T) {
	a := startChild(t, "sleep", false)
	b := startChild(t, "sleep", false)
	sc, err := NewScanner(WithScanMaxAge(500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	sa, err := NewProcess("a", a.pid, WithScanner(sc))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := NewProcess("b", b.pid, WithScanner(sc))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, s := range []*Process{sa, sb} {
		if _, err := s.Sample(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a.kill()
	time.Sleep(time.Second) // past the scanner's max age
	if out, err := sa.Sample(ctx); !errors.Is(err, ErrGone) || len(out) != 0 {
		t.Errorf("killed process: %v, %v; want ErrGone", out, err)
	} else if !strings.Contains(err.Error(), strconv.Itoa(a.pid)) {
		t.Errorf("error %q does not name pid %d", err, a.pid)
	}
	out, err := sb.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := values(t, out)
	if _, ok := got[rightsize.CPU]; !ok || got[rightsize.Memory] <= 0 {
		t.Errorf("the other process: %v", got)
	}
}

// TestScannerShared checks that samplers sharing a Scanner read the process
// table once per tick.
func TestScannerShared(t *testing.T) {
	clock := newFakeClock()
	sc, err := NewScanner(WithProcRoot("testdata/proc"), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	var ss []*Process
	for _, pid := range []int{300, 400, 500} {
		s, err := NewProcess("svc"+strconv.Itoa(pid), pid, WithScanner(sc))
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	ctx := context.Background()
	var snaps []*snapshot
	for tick := range 2 {
		for _, s := range ss {
			if _, err := s.Sample(ctx); err != nil {
				t.Fatal(err)
			}
		}
		snaps = append(snaps, sc.last)
		if tick == 0 {
			// A second call in the same tick gets the same reading and
			// no rates: there is no interval.
			out, err := ss[0].Sample(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := values(t, out)[rightsize.CPU]; ok {
				t.Error("rates from a repeated reading")
			}
		}
		clock.advance(time.Second)
	}
	if snaps[0] == snaps[1] {
		t.Error("a new tick did not scan again")
	}
	if _, err := NewProcess("x", 300, WithScanner(sc), WithProcRoot("/elsewhere")); err == nil {
		t.Error("contradicting WithProcRoot and WithScanner accepted")
	}
}

// TestProcessSelf samples this test process on the real /proc.
func TestProcessSelf(t *testing.T) {
	s, err := NewProcess("self", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // use some CPU
	}
	out, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := values(t, out)
	if got[rightsize.CPU] <= 0 || got[rightsize.Memory] < 1<<20 || got[rightsize.Threads] < 1 {
		t.Errorf("self: %v", got)
	}
	if _, ok := got[rightsize.DiskWrite]; !ok {
		t.Errorf("no disk.write for our own process: %v", got)
	}
}

func TestProcessMatchSkipsSelf(t *testing.T) {
	// The test binary's own name would match; the sampler must not
	// measure itself.
	name := filepath.Base(os.Args[0])
	if len(name) > 15 {
		name = name[:15]
	}
	s, err := NewProcessMatch("self", "^"+regexpQuote(name)+"$")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := s.Sample(context.Background()); err == nil {
		t.Errorf("matched itself: %v", out)
	}
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TestProcessWithoutIO: a kernel without task I/O accounting has no
// /proc/<pid>/io. CPU, memory and threads are still reported; the error
// says what is missing.
func TestProcessWithoutIO(t *testing.T) {
	proc := copyTree(t, "testdata/proc")
	for _, pid := range []string{"300", "301", "302", "303"} {
		os.Remove(filepath.Join(proc, pid, "io"))
	}
	clock := newFakeClock()
	s, err := NewProcess("nginx", 300, WithProcRoot(proc), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Sample(ctx); err == nil || !strings.Contains(err.Error(), "disk.read, disk.write") {
		t.Errorf("first tick: %v", err)
	}
	clock.advance(time.Second)
	writeFile(t, filepath.Join(proc, "uptime"), "1001.00 1901.00\n")
	setStat(t, proc, 301, map[int]string{14: "450"})
	out, err := s.Sample(ctx)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second tick: %v", err)
	}
	checkValues(t, values(t, out), map[string]float64{
		rightsize.CPU:     50 / float64(clockTicks()),
		rightsize.Memory:  5500 * page,
		rightsize.Threads: 10,
	})

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	clock.advance(time.Second)
	if _, err := s.Sample(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}
