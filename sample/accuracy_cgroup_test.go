package sample

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rightsize/rightsize"
)

// testCgroups are cgroups a test created, one per hierarchy, below the
// cgroups the test process itself is in.
type testCgroups struct {
	dirs []string
}

// makeTestCgroups creates a cgroup named rightsize-test-<random> in every
// v1 hierarchy this package reads (v2 false) or in the v2 hierarchy (v2
// true), below the test process's own cgroup there, and removes them in
// Cleanup. It skips the test, saying why, where that is not possible.
func makeTestCgroups(t testing.TB, v2 bool) *testCgroups {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("creating a cgroup needs root; running as uid %d (the fixture tests cover the parsers)", os.Geteuid())
	}
	c, err := newConfig[CgroupOption]("cgroups", nil)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		t.Skipf("no cgroup hierarchies: %v", err)
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := parseProcCgroup(b)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("rightsize-test-%08x", rand.Uint32())
	tc := &testCgroups{}
	t.Cleanup(func() {
		for _, d := range tc.dirs {
			var err error
			for range 50 { // killed workloads leave their cgroup asynchronously
				if err = syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil && !errors.Is(err, syscall.ENOENT) {
				t.Errorf("remove test cgroup %s: %v", d, err)
			}
		}
	})
	var why []string
	for _, h := range hs {
		if h.v2 != v2 || !relevant(h) {
			continue
		}
		own := "/"
		for _, l := range lines {
			if sameControllers(h, l) {
				own = l.path
			}
		}
		parent, ok := h.dir(own)
		if !ok {
			why = append(why, fmt.Sprintf("%s: own cgroup %s is not below the mount", h, own))
			continue
		}
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			why = append(why, fmt.Sprintf("%s: %v", h, err))
			continue
		}
		tc.dirs = append(tc.dirs, dir)
	}
	if len(tc.dirs) == 0 {
		if len(why) == 0 {
			why = append(why, "no such hierarchy is mounted")
		}
		t.Skipf("cannot create a test cgroup (v2=%v): %s", v2, strings.Join(why, "; "))
	}
	t.Logf("test cgroups: %s", strings.Join(tc.dirs, ", "))
	return tc
}

// move puts the process pid into the test cgroups.
func (tc *testCgroups) move(t testing.TB, pid int) {
	t.Helper()
	for _, d := range tc.dirs {
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
			t.Skipf("cannot move a process into %s: %v", d, err)
		}
	}
}

// cgroupWorkload starts a workload that waits, moves it into fresh test
// cgroups and returns it with a sampler of those cgroups: on v1, found from
// the workload's /proc/<pid>/cgroup (NewProcessCgroup); on v2 given by its
// directory (NewCgroup), so that a hybrid host's v1 cgroups of the
// workload are left out.
func cgroupWorkload(t *testing.T, v2 bool, mode string) (*child, *Cgroup) {
	t.Helper()
	tc := makeTestCgroups(t, v2)
	w := startChild(t, mode, true)
	tc.move(t, w.pid)
	var s *Cgroup
	var err error
	if v2 {
		s, err = NewCgroup("workload", tc.dirs[0])
	} else {
		s, err = NewProcessCgroup("workload", w.pid)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sources: %s", strings.Join(s.Sources(), "; "))
	return w, s
}

func requireResource(t *testing.T, s *Cgroup, resource string) {
	t.Helper()
	for _, src := range s.Sources() {
		if strings.HasPrefix(src, resource+":") {
			return
		}
	}
	t.Skipf("the test cgroup has no %s here (its controller is not mounted or not enabled in this hierarchy); sources: %s", resource, strings.Join(s.Sources(), "; "))
}

func TestAccuracyCgroupV1(t *testing.T) { testAccuracyCgroup(t, false) }

// TestAccuracyCgroupV2 runs where a v2 hierarchy is mounted; on a hybrid
// host it may have no controllers, and only cpu (cpu.stat is always there)
// is measured.
func TestAccuracyCgroupV2(t *testing.T) { testAccuracyCgroup(t, true) }

func testAccuracyCgroup(t *testing.T, v2 bool) {
	skipUnlessAccuracy(t)
	for _, c := range cpuCases {
		t.Run("cpu/"+c.name, func(t *testing.T) {
			w, s := cgroupWorkload(t, v2, c.mode)
			requireResource(t, s, rightsize.CPU)
			w.start(t)
			waitTree(t, w.pid, c.procs, 5*time.Second)
			time.Sleep(300 * time.Millisecond)
			got, kernel := measureCPU(t, s, w.pid)
			// cgroup counters are in ns or µs; the kernel reference and
			// the cgroup read their clocks microseconds apart.
			checkCPU(t, c, got, kernel, 0.02)
		})
	}
	t.Run("memory", func(t *testing.T) {
		w, s := cgroupWorkload(t, v2, "alloc:200")
		requireResource(t, s, rightsize.Memory)
		w.start(t)
		w.expect(t, "ready", 30*time.Second)
		samples, err := s.Sample(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		validAll(t, samples)
		got := mustValue(t, samples, rightsize.Memory)
		rss := statusKB(t, w.pid, "VmRSS")
		t.Logf("working set %.1f MiB, VmRSS %.1f MiB", got/(1<<20), rss/(1<<20))
		if math.Abs(got-rss) > 0.05*rss {
			t.Errorf("working set %.1f MiB, VmRSS %.1f MiB: more than 5%% apart", got/(1<<20), rss/(1<<20))
		}
		if threads, ok := value(samples, rightsize.Threads); ok && threads < 1 {
			t.Errorf("threads = %v", threads)
		}
	})
	t.Run("disk.write", func(t *testing.T) {
		dir := diskDir(t)
		w, s := cgroupWorkload(t, v2, "write:50:"+filepath.Join(dir, "data"))
		if !v2 {
			activateBlkioStats(t, s, dir)
		}
		requireResource(t, s, rightsize.DiskWrite)
		ctx := context.Background()
		if _, err := s.Sample(ctx); err != nil {
			t.Fatal(err)
		}
		io0 := ioWriteBytes(t, w.pid)
		w.start(t)
		w.expect(t, "done", time.Minute)
		io1 := ioWriteBytes(t, w.pid)
		samples, err := s.Sample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		validAll(t, samples)
		got := mustValue(t, samples, rightsize.DiskWrite) * samplerInterval(t, s, 0)
		kernel := io1 - io0
		t.Logf("cgroup disk.write over the interval %.1f MiB; /proc/<pid>/io write_bytes grew %.1f MiB; 50 MiB written and fsynced", got/(1<<20), kernel/(1<<20))
		if math.Abs(got-50<<20) > 0.1*(50<<20) {
			t.Errorf("cgroup counted %.2f MiB written, want 50 MiB ± 10%%", got/(1<<20))
		}
	})
}

// activateBlkioStats sets a throttle limit no workload reaches (1 TiB/s) on
// the disk holding dir, in the test's blkio cgroup. Recent kernels set up
// blk-throttle on a device only once some cgroup has a limit on it, and
// keep no v1 blkio.throttle statistics before: this makes them count.
func activateBlkioStats(t *testing.T, s *Cgroup, dir string) {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	dev := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	if _, err := os.Stat("/sys/dev/block/" + dev + "/partition"); err == nil {
		// Limits are set on whole disks: use the partition's disk.
		b, err := os.ReadFile("/sys/dev/block/" + dev + "/../dev")
		if err != nil {
			t.Skipf("disk of partition %s: %v", dev, err)
		}
		dev = strings.TrimSpace(string(b))
	}
	for _, d := range s.dirs {
		if !d.h.has("blkio") {
			continue
		}
		f := filepath.Join(d.dir, "blkio.throttle.write_bps_device")
		if err := os.WriteFile(f, []byte(dev+" 1099511627776"), 0); err != nil {
			t.Skipf("cannot set a blkio throttle limit on device %s (needed for the kernel to keep blkio statistics): %v", dev, err)
		}
		t.Logf("set %s to %s 1099511627776", f, dev)
		return
	}
}
