package sample

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
)

// Container IDs and the pod UID of the fixture trees (see testdata/README).
const (
	webID     = "ab1257f6eb2f42b9039b3d1e13929295f231749c510cbe341cd68036d9af97e2" // Docker "web", v2
	web2ID    = "ab12fdee8308ad07853b0f25936219792472a88b2ab71bd2142d0bc33c120ae0" // Docker "web-2", v2
	dbID      = "7bdc25d1694ef984782a16f6f1710c1c6bc83ba7a131b515baf532bea021d011" // Docker "db", v1 (cgroupfs)
	appID     = "a172cedcae47474b615c54d510a5d84a8dea3032e958587430b413538be3f333" // pod container "app"
	sidecarID = "6c8b4535ccc87f19061c4646189e33d78f01c8b63dc4e3cb2f630b1796ee93b6" // pod container "sidecar"
	podUID    = "6b9f1a0e-3c2d-4e5f-8a7b-9c0d1e2f3a4b"
)

// fixtureHost returns options pointing a cgroup sampler at a fixture host
// tree (testdata/v1 or testdata/v2): its proc/self/mountinfo and its
// sys/fs/cgroup, var/lib/docker and var/log below it.
func fixtureHost(root string, more ...CgroupOption) []CgroupOption {
	return append([]CgroupOption{WithProcRoot(filepath.Join(root, "proc")), WithHostRoot(root)}, more...)
}

// TestCgroupFixtureV2 reads a Docker container's cgroup on a v2 host,
// changes its counters and checks every resource after ten seconds.
func TestCgroupFixtureV2(t *testing.T) {
	root := copyTree(t, "testdata/v2")
	clock := newFakeClock()
	s, err := NewContainer("web", "web", fixtureHost(root, WithClock(clock.now), WithInstance("node-1"))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sources: %s", strings.Join(s.Sources(), "; "))
	for _, src := range s.Sources() {
		if !strings.Contains(src, ": v2 ") {
			t.Errorf("source %q is not v2", src)
		}
	}
	ctx := context.Background()
	first, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, values(t, first), map[string]float64{rightsize.Memory: 200 << 20, rightsize.Threads: 12})

	dir := filepath.Join(root, "sys/fs/cgroup/system.slice/docker-"+webID+".scope")
	clock.advance(10 * time.Second)
	writeFile(t, filepath.Join(dir, "cpu.stat"), "usage_usec 7000000\nuser_usec 1\nsystem_usec 1\nnr_periods 130\nnr_throttled 9\nthrottled_usec 750000\n")
	writeFile(t, filepath.Join(dir, "memory.current"), "325058560\n") // 310 MiB
	writeFile(t, filepath.Join(dir, "io.stat"), "254:0 rbytes=1048576 wbytes=14680064 rios=10 wios=30\n8:0 rbytes=3145728 wbytes=4194304 rios=3 wios=4\n")
	writeFile(t, filepath.Join(dir, "memory.events"), "low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\n")
	second, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, values(t, second), map[string]float64{
		rightsize.CPU:          0.2,
		rightsize.Memory:       210 << 20,
		rightsize.DiskRead:     0,
		rightsize.DiskWrite:    1 << 20,
		rightsize.CPUThrottled: 0.05,
		rightsize.OOMKills:     1,
		rightsize.Threads:      12,
	})
	var order []string
	for _, x := range second {
		order = append(order, x.Resource)
	}
	if want := []string{"cpu", "memory", "disk.read", "disk.write", "cpu.throttled", "oom.kills", "threads"}; !slices.Equal(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}

	// A counter that goes back (the container restarted in place) starts
	// a new baseline instead of reading negative.
	clock.advance(10 * time.Second)
	writeFile(t, filepath.Join(dir, "cpu.stat"), "usage_usec 10\nthrottled_usec 0\n")
	third, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := values(t, third)[rightsize.CPU]; ok {
		t.Errorf("cpu reported across a counter reset: %v", third)
	}

	// The container goes away: ErrGone, for good.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if out, err := s.Sample(ctx); !errors.Is(err, ErrGone) || len(out) != 0 || !strings.Contains(err.Error(), "container web") {
			t.Fatalf("removed cgroup: %v, %v", out, err)
		}
	}
}

// TestCgroupFixtureV1 reads a Docker container (cgroupfs driver) on a
// hybrid v1 host with cpu and cpuacct mounted together.
func TestCgroupFixtureV1(t *testing.T) {
	root := copyTree(t, "testdata/v1")
	clock := newFakeClock()
	s, err := NewContainer("db", dbID[:12], fixtureHost(root, WithClock(clock.now))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sources: %s", strings.Join(s.Sources(), "; "))
	ctx := context.Background()
	first, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, values(t, first), map[string]float64{rightsize.Memory: 100 << 20, rightsize.Threads: 9})
	cg := filepath.Join(root, "sys/fs/cgroup")
	rel := "docker/" + dbID
	clock.advance(10 * time.Second)
	writeFile(t, filepath.Join(cg, "cpu,cpuacct", rel, "cpuacct.usage"), "8000000000\n")
	writeFile(t, filepath.Join(cg, "cpu,cpuacct", rel, "cpu.stat"), "nr_periods 60\nnr_throttled 5\nthrottled_time 1500000000\n")
	writeFile(t, filepath.Join(cg, "memory", rel, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n")
	writeFile(t, filepath.Join(cg, "blkio", rel, "blkio.throttle.io_service_bytes_recursive"), "254:0 Read 1048576\n254:0 Write 13631488\n254:0 Total 14680064\nTotal 14680064\n")
	second, err := s.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, values(t, second), map[string]float64{
		rightsize.CPU:          0.5,
		rightsize.Memory:       100 << 20,
		rightsize.DiskRead:     0,
		rightsize.DiskWrite:    1 << 20,
		rightsize.CPUThrottled: 0.1,
		rightsize.OOMKills:     1,
		rightsize.Threads:      9,
	})
}

// TestCgroupResolve finds cgroups by every kind of target on both fixture
// hosts.
func TestCgroupResolve(t *testing.T) {
	podSlice := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod6b9f1a0e_3c2d_4e5f_8a7b_9c0d1e2f3a4b.slice"
	for _, tc := range []struct {
		name string
		new  func(opts []CgroupOption) (*Cgroup, error)
		host string
		rels []string // cgroup path per hierarchy found
	}{
		{"container by ID", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", webID, o...) }, "v2", []string{"/system.slice/docker-" + webID + ".scope"}},
		{"container by upper-case prefix", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", "AB1257", o...) }, "v2", []string{"/system.slice/docker-" + webID + ".scope"}},
		{"container by name", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", "web-2", o...) }, "v2", []string{"/system.slice/docker-" + web2ID + ".scope"}},
		{"pod container by ID (containerd)", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", appID[:10], o...) }, "v2", []string{podSlice + "/cri-containerd-" + appID + ".scope"}},
		{"unit", func(o []CgroupOption) (*Cgroup, error) { return NewUnit("s", "nginx", o...) }, "v2", []string{"/system.slice/nginx.service"}},
		{"unit without pids or memory", func(o []CgroupOption) (*Cgroup, error) { return NewUnit("s", "bare.service", o...) }, "v2", []string{"/system.slice/bare.service"}},
		{"pod", func(o []CgroupOption) (*Cgroup, error) { return NewPod("s", strings.ToUpper(podUID), o...) }, "v2", []string{podSlice}},
		{"pod container by name", func(o []CgroupOption) (*Cgroup, error) { return NewPodContainer("s", podUID, "app", o...) }, "v2", []string{podSlice + "/cri-containerd-" + appID + ".scope"}},
		{"pod container by ID", func(o []CgroupOption) (*Cgroup, error) { return NewPodContainer("s", podUID, sidecarID[:8], o...) }, "v2", []string{podSlice + "/cri-containerd-" + sidecarID + ".scope"}},
		{"cgroup path", func(o []CgroupOption) (*Cgroup, error) { return NewCgroup("s", "system.slice/nginx.service", o...) }, "v2", []string{"/system.slice/nginx.service"}},
		{"cgroup directory", func(o []CgroupOption) (*Cgroup, error) {
			return NewCgroup("s", "testdata/v2/sys/fs/cgroup/system.slice/nginx.service", o...)
		}, "v2", []string{"/system.slice/nginx.service"}},
		{"process", func(o []CgroupOption) (*Cgroup, error) { return NewProcessCgroup("s", 4242, o...) }, "v2", []string{"/system.slice/docker-" + webID + ".scope"}},

		{"v1 container", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", dbID, o...) }, "v1", []string{"/docker/" + dbID, "/docker/" + dbID, "/docker/" + dbID, "/docker/" + dbID}},
		{"v1 pod", func(o []CgroupOption) (*Cgroup, error) { return NewPod("s", podUID, o...) }, "v1", []string{"/kubepods/burstable/pod" + podUID, "/kubepods/burstable/pod" + podUID, "/kubepods/burstable/pod" + podUID, "/kubepods/burstable/pod" + podUID}},
		{"v1 pod container", func(o []CgroupOption) (*Cgroup, error) { return NewPodContainer("s", podUID, appID, o...) }, "v1", []string{"/kubepods/burstable/pod" + podUID + "/" + appID, "/kubepods/burstable/pod" + podUID + "/" + appID, "/kubepods/burstable/pod" + podUID + "/" + appID, "/kubepods/burstable/pod" + podUID + "/" + appID}},
		{"v1 unit", func(o []CgroupOption) (*Cgroup, error) { return NewUnit("s", "nginx.service", o...) }, "v1", []string{"/system.slice/nginx.service", "/system.slice/nginx.service", "/system.slice/nginx.service", "/system.slice/nginx.service"}},
		{"v1 process", func(o []CgroupOption) (*Cgroup, error) { return NewProcessCgroup("s", 4242, o...) }, "v1", []string{"/docker/" + dbID, "/docker/" + dbID, "/docker/" + dbID, "/docker/" + dbID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.new(fixtureHost("testdata/" + tc.host))
			if err != nil {
				t.Fatal(err)
			}
			var rels []string
			for _, d := range s.dirs {
				rels = append(rels, d.rel)
			}
			if !slices.Equal(rels, tc.rels) {
				t.Errorf("found %v, want %v", rels, tc.rels)
			}
			if _, err := s.Sample(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestCgroupResolveErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		new  func(opts []CgroupOption) (*Cgroup, error)
		host string
		is   error
		says string
	}{
		{"unknown container", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", "nope", o...) }, "v2", ErrNoCgroup, "sample: container nope: no such cgroup: no running container has that ID or name"},
		{"stopped container", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", "stopped", o...) }, "v2", ErrNoCgroup, "is not running"},
		{"ambiguous prefix", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", "ab12", o...) }, "v2", ErrAmbiguous, "matches containers ab1257f6eb2f, ab12fdee8308"},
		{"CRI-O monitor is no container", func(o []CgroupOption) (*Cgroup, error) { return NewContainer("s", dbID, o...) }, "v2", ErrNoCgroup, "container " + dbID},
		{"unknown unit", func(o []CgroupOption) (*Cgroup, error) { return NewUnit("s", "missing", o...) }, "v2", ErrNoCgroup, "unit missing.service: no such cgroup"},
		{"bad unit", func(o []CgroupOption) (*Cgroup, error) { return NewUnit("s", "a/b", o...) }, "v2", nil, "not a systemd unit name"},
		{"unknown pod", func(o []CgroupOption) (*Cgroup, error) { return NewPod("s", "0000-1111", o...) }, "v2", ErrNoCgroup, "pod 0000-1111: no such cgroup"},
		{"bad pod UID", func(o []CgroupOption) (*Cgroup, error) { return NewPod("s", "frontend", o...) }, "v2", nil, "not a pod UID"},
		{"unknown pod container", func(o []CgroupOption) (*Cgroup, error) { return NewPodContainer("s", podUID, "db", o...) }, "v2", ErrNoCgroup, "container " + podUID + "/db"},
		{"unknown cgroup", func(o []CgroupOption) (*Cgroup, error) { return NewCgroup("s", "/nope.slice", o...) }, "v2", ErrNoCgroup, "cgroup /nope.slice: no such cgroup in (cgroup2 testdata/v2/sys/fs/cgroup)"},
		{"process in the root cgroup", func(o []CgroupOption) (*Cgroup, error) { return NewProcessCgroup("s", 7, o...) }, "v2", ErrNoCgroup, "root cgroup"},
		{"no such process", func(o []CgroupOption) (*Cgroup, error) { return NewProcessCgroup("s", 99999, o...) }, "v2", ErrNoProcess, "pid 99999"},
		{"no mountinfo", func(o []CgroupOption) (*Cgroup, error) { return NewCgroup("s", "/x", o...) }, "proc", fs.ErrNotExist, "mountinfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := fixtureHost("testdata/" + tc.host)
			if tc.host == "proc" {
				opts = []CgroupOption{WithProcRoot("testdata/proc")}
			}
			s, err := tc.new(opts)
			if err == nil {
				t.Fatalf("got %v; want an error", s.Sources())
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

func TestCgroupBareUnit(t *testing.T) {
	// No memory or pids controller, no throttling: cpu, and threads
	// counted from cgroup.threads of the cgroup and its descendants.
	s, err := NewUnit("bare", "bare", fixtureHost("testdata/v2")...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkValues(t, values(t, out), map[string]float64{rightsize.Threads: 3})
	if got := s.Sources(); len(got) != 2 || !strings.HasPrefix(got[0], "cpu: v2 cpu.stat") {
		t.Errorf("sources %v", got)
	}
}

// TestCgroupRealHost resolves what it can on this machine: the test
// process's own cgroups, and a container that does not exist.
func TestCgroupRealHost(t *testing.T) {
	if _, err := os.Stat("/proc/self/mountinfo"); err != nil {
		t.Skip("no /proc/self/mountinfo")
	}
	_, err := NewContainer("x", "rightsize-no-such-container")
	if !errors.Is(err, ErrNoCgroup) || !strings.Contains(err.Error(), "container rightsize-no-such-container") {
		t.Errorf("missing container: %v", err)
	}
	s, err := NewProcessCgroup("self", os.Getpid())
	if errors.Is(err, ErrNoCgroup) {
		t.Skipf("this process is in no cgroup of its own: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sources: %s", strings.Join(s.Sources(), "; "))
	out, err := s.Sample(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	values(t, out)
}
