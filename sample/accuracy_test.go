package sample

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rightsize/rightsize"
)

// The TestAccuracy tests measure real workloads started by the test and
// compare the samplers with the kernel's own accounting of the same
// processes over the same window (tight tolerance), and with the nominal
// figures of the workloads (the tolerances the package promises). They
// must not run beside other heavy tests: they use no t.Parallel, and the
// test script runs them on their own:
//
//	go test -run Accuracy -p 1 -count=1 -v ./sample
//
// On a busy machine a workload may not get the CPU it asks for. The
// nominal figure is then not checked (the log says so): the kernel's
// accounting says what the workload really used, and the sampler is held to
// that.

// measureWindow is how long the CPU accuracy tests measure.
const measureWindow = 3 * time.Second

func skipUnlessAccuracy(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("accuracy tests do not run under the race detector (it slows the workloads and the sampler): run them with go test -run Accuracy -p 1 ./sample")
	}
	if testing.Short() {
		t.Skip("accuracy tests take seconds each; not run with -short")
	}
}

// value returns the value of resource among samples.
func value(samples []rightsize.Sample, resource string) (float64, bool) {
	for _, s := range samples {
		if s.Resource == resource {
			return s.Value, true
		}
	}
	return 0, false
}

func mustValue(t *testing.T, samples []rightsize.Sample, resource string) float64 {
	t.Helper()
	v, ok := value(samples, resource)
	if !ok {
		t.Fatalf("no %s among %v", resource, samples)
	}
	return v
}

func validAll(t *testing.T, samples []rightsize.Sample) {
	t.Helper()
	for _, s := range samples {
		if err := s.Validate(); err != nil {
			t.Errorf("sample %+v: %v", s, err)
		}
	}
}

// cpuCase is a CPU workload and what it must read.
type cpuCase struct {
	name    string
	mode    string
	procs   int     // processes in the workload's tree
	nominal float64 // cores
	tol     float64 // promised tolerance around nominal
}

var cpuCases = []cpuCase{
	{"one-core", "burn:1", 1, 1.0, 0.1},
	{"half-core", "burn:0.5", 1, 0.5, 0.1},
	{"tree-3x0.3", "tree:3:0.3", 4, 0.9, 0.15},
}

// checkCPU holds a sampler's reading to the kernel's accounting and, when
// the workload got its nominal share, to the nominal figure.
func checkCPU(t *testing.T, c cpuCase, got, kernel, kernelTol float64) {
	t.Helper()
	t.Logf("%s: sampler %.3f cores, kernel (schedstat) %.3f cores, nominal %.2f ± %.2f", c.name, got, kernel, c.nominal, c.tol)
	if math.Abs(got-kernel) > kernelTol {
		t.Errorf("%s: sampler read %.3f cores, the kernel accounted %.3f to the same processes (tolerance %.3f)", c.name, got, kernel, kernelTol)
	}
	if math.Abs(kernel-c.nominal) > c.tol {
		t.Logf("%s: the kernel accounted %.3f cores to the workload, not its nominal %.2f: the machine is busy; nominal figure not checked", c.name, kernel, c.nominal)
		return
	}
	if math.Abs(got-c.nominal) > c.tol {
		t.Errorf("%s: sampler read %.3f cores, want %.2f ± %.2f", c.name, got, c.nominal, c.tol)
	}
}

// measureCPU takes a baseline with s, measures for measureWindow and
// returns the sampler's cpu and the kernel's rate for pid's tree over the
// same window.
func measureCPU(t *testing.T, s Sampler, pid int) (got, kernel float64) {
	t.Helper()
	ctx := context.Background()
	first, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := value(first, rightsize.CPU); ok {
		t.Errorf("first Sample reported cpu: %v", first)
	}
	k0, t0 := kernelCPU(pid), time.Now()
	time.Sleep(measureWindow)
	k1, t1 := kernelCPU(pid), time.Now()
	second, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	validAll(t, second)
	return mustValue(t, second, rightsize.CPU), (k1 - k0).Seconds() / t1.Sub(t0).Seconds()
}

func TestAccuracyProcessCPU(t *testing.T) {
	skipUnlessAccuracy(t)
	for _, c := range cpuCases {
		t.Run(c.name, func(t *testing.T) {
			w := startChild(t, c.mode, false)
			waitTree(t, w.pid, c.procs, 5*time.Second)
			time.Sleep(300 * time.Millisecond) // let every burner settle
			s, err := NewProcess("workload", w.pid)
			if err != nil {
				t.Fatal(err)
			}
			got, kernel := measureCPU(t, s, w.pid)
			// /proc/<pid>/stat counts in clock ticks (10 ms): one tick per
			// process at each end of the window.
			checkCPU(t, c, got, kernel, 0.02+0.01*float64(c.procs))
		})
	}
}

func TestAccuracyProcessMemory(t *testing.T) {
	skipUnlessAccuracy(t)
	w := startChild(t, "alloc:200", false)
	w.expect(t, "ready", 30*time.Second)
	s, err := NewProcess("workload", w.pid)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	validAll(t, samples)
	got := mustValue(t, samples, rightsize.Memory)
	rss := statusKB(t, w.pid, "VmRSS")
	t.Logf("sampler memory %.1f MiB, VmRSS %.1f MiB (200 MiB allocated and touched)", got/(1<<20), rss/(1<<20))
	if rss < 200<<20 {
		t.Errorf("VmRSS %.1f MiB is below the 200 MiB the workload touched", rss/(1<<20))
	}
	if math.Abs(got-rss) > 0.05*rss {
		t.Errorf("sampler read %.1f MiB, VmRSS is %.1f MiB: more than 5%% apart", got/(1<<20), rss/(1<<20))
	}
	if threads := mustValue(t, samples, rightsize.Threads); threads < 1 {
		t.Errorf("threads = %v", threads)
	}
}

func TestAccuracyProcessDiskWrite(t *testing.T) {
	skipUnlessAccuracy(t)
	dir := diskDir(t)
	w := startChild(t, "write:50:"+filepath.Join(dir, "data"), true)
	s, err := NewProcess("workload", w.pid)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	io0 := ioWriteBytes(t, w.pid)
	t0 := time.Now()
	w.start(t)
	w.expect(t, "done", time.Minute)
	io1 := ioWriteBytes(t, w.pid)
	samples, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	validAll(t, samples)
	elapsed := time.Since(t0).Seconds()
	rate := mustValue(t, samples, rightsize.DiskWrite)
	// The interval is the time between the two Sample calls, which is a
	// little longer than elapsed: recover the bytes from the rate over the
	// sampler's own interval.
	got := rate * samplerInterval(t, s, elapsed)
	kernel := io1 - io0
	t.Logf("disk.write %.1f MiB/s over the interval = %.1f MiB; /proc/<pid>/io write_bytes grew %.1f MiB; 50 MiB written", rate/(1<<20), got/(1<<20), kernel/(1<<20))
	if math.Abs(got-kernel) > 0.02*kernel+64<<10 {
		t.Errorf("sampler counted %.2f MiB written, the kernel %.2f MiB", got/(1<<20), kernel/(1<<20))
	}
	if math.Abs(got-50<<20) > 0.1*(50<<20) {
		t.Errorf("sampler counted %.2f MiB written, want 50 MiB ± 10%%", got/(1<<20))
	}
}

// samplerInterval returns the interval of the last two Sample calls of a
// Process sampler (exactly as it computed its rates).
func samplerInterval(t *testing.T, s Sampler, fallback float64) float64 {
	t.Helper()
	if p, ok := s.(*Process); ok && p.lastInterval > 0 {
		return p.lastInterval
	}
	if c, ok := s.(*Cgroup); ok && c.lastInterval > 0 {
		return c.lastInterval
	}
	return fallback
}

// diskDir returns a directory on a real disk (not tmpfs, where writes
// never reach a block device).
func diskDir(t *testing.T) string {
	t.Helper()
	for _, dir := range []string{t.TempDir(), "."} {
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err == nil && st.Type != unix.TMPFS_MAGIC && st.Type != unix.RAMFS_MAGIC {
			if dir == "." {
				d, err := os.MkdirTemp(".", "disk-test-")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.RemoveAll(d) })
				return d
			}
			return dir
		}
	}
	t.Skip("no directory on a real disk: the temporary directory and the package directory are on tmpfs")
	return ""
}

// TestAccuracyProcessChurn runs a tree whose children come and go (each
// burns half a core for 300ms and exits, and the next starts) and samples it
// every 250ms: no interval may read negative or jump above what one child
// can use, and the intervals must add up to what the kernel accounted to the
// tree (the parent's utime+stime+cutime+cstime once all children are
// reaped).
func TestAccuracyProcessChurn(t *testing.T) {
	skipUnlessAccuracy(t)
	w := startChild(t, "churn:0.5:300ms:4s", true)
	s, err := NewProcess("workload", w.pid)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	before := treeTicks(t, w.pid)
	w.start(t)
	done := w.line()
	var total float64
	var rates []float64
	deadline := time.After(time.Minute)
	for finished := false; !finished; {
		select {
		case l := <-done:
			if l != "done" {
				t.Fatalf("workload printed %q, want done", l)
			}
			finished = true
		case <-deadline:
			t.Fatal("the churn workload did not finish within a minute")
		case <-time.After(250 * time.Millisecond):
		}
		samples, err := s.Sample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		validAll(t, samples)
		cpu := mustValue(t, samples, rightsize.CPU)
		rates = append(rates, cpu)
		total += cpu * samplerInterval(t, s, 0.25)
	}
	after := treeTicks(t, w.pid)
	kernel := (after - before) / float64(clockTicks())
	t.Logf("rates %.2f", rates)
	t.Logf("sum of intervals %.3f CPU-seconds, kernel %.3f CPU-seconds", total, kernel)
	for i, r := range rates {
		// One child at a time, each at most one core (the burner catches
		// up after a slow start), plus the parent starting the next.
		if r < 0 || r > 1.2 {
			t.Errorf("interval %d read %.3f cores: the tree never uses more than ~1 core", i, r)
		}
	}
	if math.Abs(total-kernel) > 0.03*kernel+0.03 {
		t.Errorf("the intervals add up to %.3f CPU-seconds, the kernel accounted %.3f", total, kernel)
	}
}

// treeTicks is utime+stime+cutime+cstime of pid, in clock ticks: the CPU
// time of the process and of all the children it has reaped.
func treeTicks(t *testing.T, pid int) float64 {
	t.Helper()
	p, err := readProcStat("/proc", int32(pid))
	if err != nil {
		t.Fatal(err)
	}
	return float64(p.cpu)
}
