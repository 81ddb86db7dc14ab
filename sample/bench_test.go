package sample

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/rightsize/rightsize"
)

// The BenchmarkTick benchmarks measure the cost of one tick: CPU time per
// tick (cpu-ns/op, from getrusage, all threads and the garbage collector
// included) beside the wall time (ns/op). A scan reads every process's stat
// file, so the process samplers' cost grows with the number of processes on
// the host, reported as host-procs. Trees of 1, 50 and 500 cheap
// processes (sleep under sh) are measured with this package's sampler and
// with the naive gopsutil approach (Processes, then Children of every member
// to find the tree, then Times, MemoryInfo and IOCounters of every member),
// in the same run; the sampler's line reports how many times cheaper it is.
//
//	go test -run XXX -bench Tick -benchtime 20x ./sample

// sleepTree starts a tree of n processes: sleep (n = 1), or sh with
// sleeping children, with sh children of their own above 60.
func sleepTree(b testing.TB, n int) int {
	b.Helper()
	var c *exec.Cmd
	switch {
	case n == 1:
		c = exec.Command("sleep", "3600")
	case n <= 60:
		c = exec.Command("/bin/sh", "-c", fmt.Sprintf("for i in $(seq %d); do sleep 3600 & done; wait", n-1))
	default:
		// 1 sh, k sh children with m sleeps each, and r sleeps of its own.
		k := 10
		m := (n - 1 - k) / k
		r := n - 1 - k - k*m
		c = exec.Command("/bin/sh", "-c", fmt.Sprintf(
			`for i in $(seq %d); do sh -c 'for j in $(seq %d); do sleep 3600 & done; wait' & done; for j in $(seq %d); do sleep 3600 & done; wait`, k, m, r))
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		_ = c.Wait()
		waitGroupGone(c.Process.Pid)
	})
	waitTree(b, c.Process.Pid, n, 30*time.Second)
	// seq has exited once the tree is complete; wait for the count to
	// settle at n.
	deadline := time.Now().Add(10 * time.Second)
	for len(descendants(c.Process.Pid)) != n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := len(descendants(c.Process.Pid)); got != n {
		b.Fatalf("tree has %d processes, want %d", got, n)
	}
	return c.Process.Pid
}

// waitGroupGone waits (up to 30s) until no process of the process group
// pgid is left: killed orphans are reaped by init in their own time, and
// until then they would inflate the next benchmark's process table.
func waitGroupGone(pgid int) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob("/proc/[0-9]*/stat")
		left := 0
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			s := string(b)
			if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 2 && f[2] == strconv.Itoa(pgid) {
				left++
			}
		}
		if left == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// naiveTick measures the tree of root the way a gopsutil user would
// without this package.
func naiveTick(root int32) (members int, err error) {
	procs, err := process.Processes()
	if err != nil {
		return 0, err
	}
	var tree []*process.Process
	for _, p := range procs {
		if p.Pid == root {
			tree = append(tree, p)
		}
	}
	if len(tree) == 0 {
		return 0, fmt.Errorf("pid %d not found", root)
	}
	for i := 0; i < len(tree); i++ {
		kids, _ := tree[i].Children()
		tree = append(tree, kids...)
	}
	for _, p := range tree {
		_, _ = p.Times()
		_, _ = p.MemoryInfo()
		_, _ = p.IOCounters()
	}
	return len(tree), nil
}

// cpuMeter reports CPU time per operation.
type cpuMeter struct{ start time.Duration }

func startCPU(b *testing.B) *cpuMeter {
	b.ResetTimer()
	return &cpuMeter{start: cpuTime()}
}

// stop reports cpu-ns/op and returns it.
func (m *cpuMeter) stop(b *testing.B) float64 {
	b.StopTimer()
	per := float64(cpuTime()-m.start) / float64(b.N)
	b.ReportMetric(per, "cpu-ns/op")
	return per
}

// naiveBudget bounds the time a naive benchmark runs: one naive tick of a
// 500-process tree takes tens of seconds here, and -benchtime 20x would run
// for many minutes. Past the budget the benchmark stops early and reports
// ns/op and cpu-ns/op over the ticks it ran (at least one).
const naiveBudget = 10 * time.Second

// naiveBench runs tick up to b.N times within naiveBudget and reports
// ns/op and cpu-ns/op over the ticks run; it returns cpu-ns/op.
func naiveBench(b *testing.B, tick func() error) float64 {
	b.Helper()
	b.ResetTimer()
	cpu0, t0 := cpuTime(), time.Now()
	done := 0
	for done < b.N && (done == 0 || time.Since(t0) < naiveBudget) {
		if err := tick(); err != nil {
			b.Fatal(err)
		}
		done++
	}
	b.StopTimer()
	if done < b.N {
		b.Logf("stopped after %d of %d ticks (%v budget); figures are per tick run", done, b.N, naiveBudget)
	}
	per := float64(cpuTime()-cpu0) / float64(done)
	b.ReportMetric(float64(time.Since(t0))/float64(done), "ns/op")
	b.ReportMetric(per, "cpu-ns/op")
	return per
}

// naiveCost holds the naive approach's cpu-ns/op per case, for the
// sampler's benchmark of the same run to compare with.
var naiveCost sync.Map

func BenchmarkTickProcessTree(b *testing.B) {
	for _, n := range []int{1, 50, 500} {
		b.Run(fmt.Sprintf("procs=%d", n), func(b *testing.B) {
			root := sleepTree(b, n)
			b.Run("gopsutil-naive", func(b *testing.B) {
				if got, err := naiveTick(int32(root)); err != nil || got != n {
					b.Fatalf("naive tree: %d processes, %v", got, err)
				}
				naiveCost.Store(n, naiveBench(b, func() error {
					_, err := naiveTick(int32(root))
					return err
				}))
			})
			b.Run("rightsize", func(b *testing.B) {
				s, err := NewProcess("bench", root)
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				out, err := s.Sample(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if th := mustValueB(b, out, "threads"); th != float64(n) {
					b.Fatalf("sampler sees %v threads, want %d", th, n)
				}
				m := startCPU(b)
				for range b.N {
					if _, err := s.Sample(ctx); err != nil {
						b.Fatal(err)
					}
				}
				per := m.stop(b)
				b.ReportMetric(float64(len(s.scanner.last.procs)), "host-procs")
				if naive, ok := naiveCost.Load(n); ok {
					b.ReportMetric(naive.(float64)/per, "x-cheaper")
				}
			})
		})
	}
}

func mustValueB(b *testing.B, out []rightsize.Sample, resource string) float64 {
	b.Helper()
	for _, s := range out {
		if s.Resource == resource {
			return s.Value
		}
	}
	b.Fatalf("no %s in %v", resource, out)
	return 0
}

// BenchmarkTick20Services samples 20 services of 3 processes each, as a
// producer would every second: one op is one tick of all 20. core%@1Hz is
// the share of one core that costs at one tick per second.
func BenchmarkTick20Services(b *testing.B) {
	var roots []int
	for range 20 {
		roots = append(roots, sleepTree(b, 3))
	}
	report := func(b *testing.B, per float64) {
		b.ReportMetric(per/1e9*100, "core%@1Hz")
	}
	b.Run("shared-scan", func(b *testing.B) {
		// The clock moves one second per tick, so that each tick scans
		// once and the samplers of the tick share it.
		clock := newFakeClock()
		sc, err := NewScanner(WithClock(clock.now))
		if err != nil {
			b.Fatal(err)
		}
		var ss []*Process
		for i, r := range roots {
			s, err := NewProcess(fmt.Sprintf("svc-%d", i), r, WithScanner(sc))
			if err != nil {
				b.Fatal(err)
			}
			ss = append(ss, s)
		}
		ctx := context.Background()
		tick := func() {
			clock.advance(time.Second)
			for _, s := range ss {
				if _, err := s.Sample(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		tick()
		m := startCPU(b)
		for range b.N {
			tick()
		}
		report(b, m.stop(b))
		b.ReportMetric(float64(len(sc.last.procs)), "host-procs")
	})
	b.Run("scan-each", func(b *testing.B) {
		var ss []*Process
		for i, r := range roots {
			s, err := NewProcess(fmt.Sprintf("svc-%d", i), r)
			if err != nil {
				b.Fatal(err)
			}
			ss = append(ss, s)
		}
		ctx := context.Background()
		m := startCPU(b)
		for range b.N {
			for _, s := range ss {
				if _, err := s.Sample(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		report(b, m.stop(b))
	})
	b.Run("gopsutil-naive", func(b *testing.B) {
		report(b, naiveBench(b, func() error {
			for _, r := range roots {
				if _, err := naiveTick(int32(r)); err != nil {
					return err
				}
			}
			return nil
		}))
	})
}

// BenchmarkTickCgroup measures one tick of a cgroup sampler: on the fixture
// trees (regular files) and, as root, on a live v1 cgroup of this machine
// (the kernel generates memory.stat and the others on every read).
func BenchmarkTickCgroup(b *testing.B) {
	bench := func(b *testing.B, s *Cgroup) {
		ctx := context.Background()
		if _, err := s.Sample(ctx); err != nil {
			b.Fatal(err)
		}
		m := startCPU(b)
		for range b.N {
			if _, err := s.Sample(ctx); err != nil {
				b.Fatal(err)
			}
		}
		m.stop(b)
		b.ReportMetric(float64(len(s.metrics)), "resources")
	}
	b.Run("fixture-v2", func(b *testing.B) {
		s, err := NewContainer("bench", webID, fixtureHost("testdata/v2")...)
		if err != nil {
			b.Fatal(err)
		}
		bench(b, s)
	})
	b.Run("fixture-v1", func(b *testing.B) {
		s, err := NewContainer("bench", dbID, fixtureHost("testdata/v1")...)
		if err != nil {
			b.Fatal(err)
		}
		bench(b, s)
	})
	for _, v2 := range []bool{false, true} {
		b.Run(fmt.Sprintf("live-v2=%v", v2), func(b *testing.B) {
			tc := makeTestCgroups(b, v2)
			w := startChild(b, "sleep", false)
			tc.move(b, w.pid)
			s, err := NewCgroup("bench", tc.dirs[0])
			if !v2 {
				s, err = NewProcessCgroup("bench", w.pid)
			}
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("sources: %s", strings.Join(s.Sources(), "; "))
			bench(b, s)
		})
	}
}
