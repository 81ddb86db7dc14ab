package sample

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/clip"
)

// Cgroup measures a control group: everything the kernel accounts to it and
// its descendants, including processes that have already exited (the
// counters of a cgroup, unlike a process's, lose nothing). It is built by
// NewCgroup, NewProcessCgroup, NewContainer, NewUnit, NewPod or
// NewPodContainer, and reports what the cgroup's controllers provide:
//
//	resource       cgroup v2                           cgroup v1
//	cpu            Δ cpu.stat usage_usec / Δwall        Δ cpuacct.usage / Δwall
//	memory         memory.current − inactive_file       memory.usage_in_bytes − total_inactive_file
//	disk.read      Δ io.stat rbytes / Δwall             Δ blkio.throttle.io_service_bytes Read / Δwall
//	disk.write     Δ io.stat wbytes / Δwall             Δ blkio.throttle.io_service_bytes Write / Δwall
//	cpu.throttled  Δ cpu.stat throttled_usec / Δwall    Δ cpu.stat throttled_time / Δwall
//	oom.kills      Δ memory.events oom_kill             Δ memory.oom_control oom_kill
//	threads        pids.current                         pids.current
//
// memory is the working set, as the kubelet computes it: usage less the
// page cache the kernel may drop at once (floored at zero). io.stat and
// blkio lines are summed over devices. Without the pids controller, threads
// counts the cgroup's cgroup.threads (v2) or tasks (v1) files, descendants
// included.
//
// For each resource the v2 file is used when the cgroup has it, else the
// v1 one: hosts with cgroup v1 or a hybrid of both (v1 controllers, cpu and
// cpuacct mounted together or apart, plus a v2 hierarchy without
// controllers) are measured too. The hierarchies are found in mountinfo,
// never at fixed paths. Resources whose controller is not mounted or not
// enabled for the cgroup are not reported.
//
// Two limits of cgroup v1's blkio controller: it sees the block I/O the
// cgroup's tasks issue themselves (reads, direct I/O, writes they flush
// with fsync), but buffered writes that the kernel's flusher threads write
// back later are charged to the root cgroup (v2's io.stat charges them to
// the cgroup that dirtied the pages); and recent kernels keep its
// blkio.throttle statistics only for devices on which some cgroup has set a
// throttle limit (blk-throttle is set up lazily), so elsewhere disk.read
// and disk.write stay at 0.
//
// The first Sample reports the gauges (memory, threads) only and sets the
// baseline of the others. When the cgroup's directory is removed, Sample
// returns ErrGone.
type Cgroup struct {
	labels  labels
	now     func() time.Time
	kind    string // for errors: "cgroup", "container", ...
	target  string
	dirs    []cgDir
	metrics []*cgMetric
	gone    error
	files   map[string][]byte

	prevTick     time.Time
	lastInterval float64 // seconds between the last two Sample calls
}

var _ Sampler = (*Cgroup)(nil)

// metricKind says how a metric's readings become a sample.
type metricKind int

const (
	gauge metricKind = iota // published as read
	rate                    // Δ / Δwall seconds
	delta                   // Δ, a count in the interval
)

// cgMetric is one resource of a cgroup and how it is read.
type cgMetric struct {
	resource string
	kind     metricKind
	source   string // "v2 cpu.stat", for documentation and tests
	read     func(get getFunc) (float64, error)

	prev     float64
	prevTime time.Time
	primed   bool
}

// getFunc returns the content of a cgroup file, read at most once per tick.
type getFunc func(file string) ([]byte, error)

// maxCgroupDepth is how deep the constructors look for a container, unit or
// pod below a hierarchy's root (a kubelet container under the systemd
// driver is at depth 4).
const maxCgroupDepth = 8

// NewCgroup returns a sampler of the cgroup at p: a directory of a mounted
// cgroup hierarchy ("/sys/fs/cgroup/system.slice/nginx.service",
// "/sys/fs/cgroup/memory/docker/<id>"), or a cgroup path as
// /proc/<pid>/cgroup shows it ("/system.slice/nginx.service"), which is
// looked for in every hierarchy (on v1 hosts each controller has its own).
// It returns an error matching ErrNoCgroup, naming p, if no hierarchy has
// it, and one matching fs.ErrPermission, naming the file, if its files may
// not be read.
func NewCgroup(service, p string, opts ...Option) (*Cgroup, error) {
	c := newConfig(opts)
	if err := c.validate(service); err != nil {
		return nil, err
	}
	if p == "" {
		return nil, &TargetError{"cgroup", `""`, errors.New("empty path")}
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"cgroup", p, err}
	}
	rel := ""
	for _, h := range hs {
		if r, ok := h.rel(p); ok {
			rel = r
			break
		}
	}
	if rel == "" {
		rel = path.Clean("/" + p)
	}
	dirs := dirsOf(hs, func(*hierarchy) (string, bool) { return rel, true })
	if len(dirs) == 0 {
		return nil, &TargetError{"cgroup", p, fmt.Errorf("%w in %s", ErrNoCgroup, hierarchyList(hs))}
	}
	return newCgroup(c, service, "cgroup", p, dirs)
}

// NewProcessCgroup returns a sampler of the cgroups the process pid is in,
// as /proc/<pid>/cgroup lists them (one per hierarchy on v1 hosts). The
// cgroups are resolved once: if the process later moves, the sampler stays
// with the cgroups. Hierarchies where the process is in the root cgroup are
// left out (their root measures the whole machine); if it is in the root
// of all of them the constructor fails: measure the process with
// NewProcess, or the machine with NewHost.
func NewProcessCgroup(service string, pid int, opts ...Option) (*Cgroup, error) {
	c := newConfig(opts)
	if err := c.validate(service); err != nil {
		return nil, err
	}
	target := strconv.Itoa(pid)
	b, err := os.ReadFile(filepath.Join(c.procRoot, target, "cgroup"))
	if err != nil {
		if vanished(err) {
			err = ErrNoProcess
		}
		return nil, &TargetError{"pid", target, err}
	}
	lines, err := parseProcCgroup(b)
	if err != nil {
		return nil, &TargetError{"pid", target, err}
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"pid", target, err}
	}
	dirs := dirsOf(hs, func(h *hierarchy) (string, bool) {
		for _, l := range lines {
			if sameControllers(h, l) && l.path != "/" {
				return l.path, true
			}
		}
		return "", false
	})
	if len(dirs) == 0 {
		return nil, &TargetError{"pid", target, fmt.Errorf("%w: the process is in the root cgroup of every hierarchy; measure it with NewProcess, or the host with NewHost", ErrNoCgroup)}
	}
	return newCgroup(c, service, "pid", target+" cgroup", dirs)
}

// NewContainer returns a sampler of a container's cgroup. idOrName is a
// container ID, a unique prefix of one, or a Docker container name. IDs are
// found in the cgroup directory names the runtimes use: Docker
// ("docker-<id>.scope", "/docker/<id>"), containerd ("cri-containerd-<id>.scope"),
// CRI-O ("crio-<id>.scope"), Podman ("libpod-<id>.scope") and the kubelet's
// cgroupfs layout ("/kubepods/<qos>/pod<uid>/<id>"). Names are looked up in
// Docker's state directory (see WithDockerRoot), without the Docker API.
//
// It returns an error matching ErrNoCgroup, naming idOrName, when no running
// container matches, and ErrAmbiguous when a prefix matches several.
func NewContainer(service, idOrName string, opts ...Option) (*Cgroup, error) {
	c := newConfig(opts)
	if err := c.validate(service); err != nil {
		return nil, err
	}
	q := strings.TrimSpace(idOrName)
	if q == "" {
		return nil, &TargetError{"container", `""`, errors.New("empty ID or name")}
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"container", q, err}
	}
	byID := containerDirs(hs, nil)
	var ids []string
	lq := strings.ToLower(q)
	if _, ok := byID[lq]; ok { // a full ID
		ids = []string{lq}
	}
	if ids == nil {
		named, nerr := dockerNames(c.host(c.docker), q)
		for _, id := range named {
			if _, ok := byID[id]; ok {
				ids = append(ids, id)
			}
		}
		if ids == nil && len(named) > 0 {
			return nil, &TargetError{"container", q, fmt.Errorf("%w: the container (ID %.12s) is not running", ErrNoCgroup, named[0])}
		}
		if ids == nil && isHex(lq) {
			for id := range byID {
				if strings.HasPrefix(id, lq) {
					ids = append(ids, id)
				}
			}
		}
		if ids == nil {
			where := "no running container has that ID"
			if nerr == nil {
				where += " or name"
			} else if !errors.Is(nerr, fs.ErrNotExist) {
				where += fmt.Sprintf(" (names not looked up: %v)", nerr)
			}
			return nil, &TargetError{"container", q, fmt.Errorf("%w: %s in %s", ErrNoCgroup, where, hierarchyList(hs))}
		}
	}
	if len(ids) > 1 {
		slices.Sort(ids)
		short := make([]string, len(ids))
		for i, id := range ids {
			short[i] = id[:12]
		}
		return nil, &TargetError{"container", q, fmt.Errorf("%w: matches containers %s", ErrAmbiguous, strings.Join(short, ", "))}
	}
	return newCgroup(c, service, "container", q, byID[ids[0]])
}

// containerDirs walks the hierarchies for container cgroups (below the
// directory of a pod, if pods is given) and returns them by container ID,
// the shallowest per hierarchy.
func containerDirs(hs []*hierarchy, within map[*hierarchy]string) map[string][]cgDir {
	byID := map[string][]cgDir{}
	for _, h := range hs {
		if !relevant(h) {
			continue
		}
		var rels []string
		if within != nil {
			pod, ok := within[h]
			if !ok {
				continue
			}
			dir, _ := h.dir(pod)
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if _, ok := containerID(e.Name()); ok && e.IsDir() {
					rels = append(rels, path.Join(pod, e.Name()))
				}
			}
		} else {
			rels = findDirs(h, maxCgroupDepth, func(name, _ string) bool { _, ok := containerID(name); return ok })
		}
		for _, rel := range rels {
			id, _ := containerID(path.Base(rel))
			if slices.ContainsFunc(byID[id], func(d cgDir) bool { return d.h == h }) {
				continue
			}
			dir, _ := h.dir(rel)
			byID[id] = append(byID[id], cgDir{h, rel, dir})
		}
	}
	return byID
}

// NewUnit returns a sampler of the cgroup of a systemd unit ("nginx" is
// "nginx.service"), looked for in every hierarchy: "/system.slice/<unit>"
// first, else the shallowest directory of that name (units in other slices,
// user units). It returns an error matching ErrNoCgroup, naming the unit,
// when the unit has no cgroup (it is not running, or systemd does not manage
// the cgroups here).
func NewUnit(service, unit string, opts ...Option) (*Cgroup, error) {
	c := newConfig(opts)
	if err := c.validate(service); err != nil {
		return nil, err
	}
	if unit == "" || strings.ContainsAny(unit, "/\x00") {
		return nil, &TargetError{"unit", strconv.Quote(unit), errors.New("not a systemd unit name")}
	}
	name := unitName(unit)
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, &TargetError{"unit", name, err}
	}
	dirs := dirsOf(hs, func(h *hierarchy) (string, bool) {
		if d, ok := h.dir("/system.slice/" + name); ok && exists(d) {
			return "/system.slice/" + name, true
		}
		rels := findDirs(h, maxCgroupDepth, func(n, _ string) bool { return n == name })
		if len(rels) == 0 {
			return "", false
		}
		return rels[0], true
	})
	if len(dirs) == 0 {
		return nil, &TargetError{"unit", name, fmt.Errorf("%w in %s (is the unit running?)", ErrNoCgroup, hierarchyList(hs))}
	}
	return newCgroup(c, service, "unit", name, dirs)
}

// NewPod returns a sampler of the cgroup of the Kubernetes pod with the
// given UID (metadata.uid), which holds all its containers. The kubelet
// names it "pod<uid>" with the cgroupfs driver
// (/kubepods/burstable/pod<uid>) and "kubepods-<qos>-pod<uid with '_' for
// '-'>.slice" with the systemd driver. It returns an error matching
// ErrNoCgroup, naming the UID, when this node runs no such pod.
func NewPod(service, uid string, opts ...Option) (*Cgroup, error) {
	c := newConfig(opts)
	if err := c.validate(service); err != nil {
		return nil, err
	}
	uid = strings.ToLower(strings.TrimSpace(uid))
	hs, pods, err := findPod(c, uid)
	if err != nil {
		return nil, err
	}
	return newCgroup(c, service, "pod", uid, dirsOf(hs, func(h *hierarchy) (string, bool) {
		rel, ok := pods[h]
		return rel, ok
	}))
}

func findPod(c *config, uid string) ([]*hierarchy, map[*hierarchy]string, error) {
	if uid == "" || strings.Trim(uid, "0123456789abcdef-") != "" {
		return nil, nil, &TargetError{"pod", strconv.Quote(uid), errors.New("not a pod UID (metadata.uid, such as 6b9f1a0e-...)")}
	}
	hs, err := loadHierarchies(c)
	if err != nil {
		return nil, nil, &TargetError{"pod", uid, err}
	}
	pods := map[*hierarchy]string{}
	for _, h := range hs {
		if !relevant(h) {
			continue
		}
		if rels := findDirs(h, maxCgroupDepth, func(n, _ string) bool { return isPodCgroup(n, uid) }); len(rels) > 0 {
			pods[h] = rels[0]
		}
	}
	if len(pods) == 0 {
		return nil, nil, &TargetError{"pod", uid, fmt.Errorf("%w: no pod with that UID runs here (looked in %s)", ErrNoCgroup, hierarchyList(hs))}
	}
	return hs, pods, nil
}

// NewPodContainer returns a sampler of one container of a Kubernetes pod:
// container is the container's ID (or a unique prefix) or its name in the
// pod spec. Names are resolved through the kubelet's log directories
// (/var/log/pods/<namespace>_<pod>_<uid> and
// /var/log/containers/<pod>_<namespace>_<name>-<id>.log, below the host
// root), which every CRI runtime's kubelet keeps.
func NewPodContainer(service, podUID, container string, opts ...Option) (*Cgroup, error) {
	c := newConfig(opts)
	if err := c.validate(service); err != nil {
		return nil, err
	}
	podUID = strings.ToLower(strings.TrimSpace(podUID))
	hs, pods, err := findPod(c, podUID)
	if err != nil {
		return nil, err
	}
	target := podUID + "/" + container
	byID := containerDirs(hs, pods)
	var ids []string
	if lq := strings.ToLower(container); isHex(lq) {
		for id := range byID {
			if strings.HasPrefix(id, lq) {
				ids = append(ids, id)
			}
		}
	}
	if ids == nil {
		named, err := kubeContainerIDs(c.host(defaultKubeLogRoot), podUID, container)
		if err != nil {
			return nil, &TargetError{"container", target, fmt.Errorf("%w: not an ID of a container of the pod, and its name could not be looked up: %v", ErrNoCgroup, err)}
		}
		for _, id := range named {
			if _, ok := byID[id]; ok {
				ids = append(ids, id)
			}
		}
	}
	switch len(ids) {
	case 0:
		return nil, &TargetError{"container", target, fmt.Errorf("%w: the pod has no running container with that name or ID", ErrNoCgroup)}
	case 1:
		return newCgroup(c, service, "container", target, byID[ids[0]])
	}
	slices.Sort(ids)
	return nil, &TargetError{"container", target, fmt.Errorf("%w: matches containers %s", ErrAmbiguous, strings.Join(ids, ", "))}
}

// loadHierarchies reads the cgroup hierarchies from mountinfo.
func loadHierarchies(c *config) ([]*hierarchy, error) {
	mi := c.mountinfoPath()
	b, err := os.ReadFile(mi)
	if err != nil {
		return nil, fmt.Errorf("find cgroup mounts: %w", err)
	}
	mounts, err := parseMountinfo(b)
	if err != nil {
		return nil, fmt.Errorf("find cgroup mounts in %s: %w", mi, err)
	}
	hs := hierarchies(mounts, c.hostRoot)
	if len(hs) == 0 {
		return nil, fmt.Errorf("%w: %s lists no cgroup file system", ErrNoCgroup, mi)
	}
	return hs, nil
}

// dirsOf returns, for each relevant hierarchy, the directory of the cgroup
// relOf chooses for it, if it exists.
func dirsOf(hs []*hierarchy, relOf func(*hierarchy) (string, bool)) []cgDir {
	var out []cgDir
	for _, h := range hs {
		if !relevant(h) {
			continue
		}
		rel, ok := relOf(h)
		if !ok {
			continue
		}
		dir, ok := h.dir(rel)
		if !ok || !exists(dir) {
			continue
		}
		out = append(out, cgDir{h, rel, dir})
	}
	return out
}

// exists reports whether path exists; a path that may not be looked at is
// taken to exist (reading it will say why it cannot be).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil || !errors.Is(err, fs.ErrNotExist)
}

func hierarchyList(hs []*hierarchy) string {
	var s []string
	for _, h := range hs {
		if relevant(h) {
			s = append(s, h.String())
		}
	}
	return "(" + strings.Join(s, "; ") + ")"
}

// newCgroup chooses, for each resource, the file to read it from, and
// reads them all once: a file that may not be read fails the constructor.
func newCgroup(c *config, service, kind, target string, dirs []cgDir) (*Cgroup, error) {
	cg := &Cgroup{labels: c.labels(service), now: c.now, kind: kind, target: target, dirs: dirs}
	var v2 *cgDir
	v1 := map[string]*cgDir{}
	for i := range dirs {
		d := &dirs[i]
		if d.h.v2 {
			v2 = d
			continue
		}
		for _, ctl := range d.h.controllers {
			v1[ctl] = d
		}
	}
	var errs []error
	for _, cands := range metricCandidates(v2, v1) {
		var chosen *cgMetric
		for _, m := range cands {
			cg.files = map[string][]byte{}
			_, err := m.read(cg.get)
			if err == nil {
				chosen = m
				break
			}
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNoData) {
				errs = append(errs, fmt.Errorf("%s: %w", m.resource, err))
			}
		}
		if chosen != nil {
			cg.metrics = append(cg.metrics, chosen)
		}
	}
	if len(errs) > 0 {
		// Usually one cause (the directory may not be read): say it once.
		return nil, &TargetError{kind, target, errs[0]}
	}
	if len(cg.metrics) == 0 {
		var ds []string
		for _, d := range dirs {
			ds = append(ds, d.dir)
		}
		return nil, &TargetError{kind, target, fmt.Errorf("%w: no resource can be read from %s", ErrNoCgroup, strings.Join(ds, ", "))}
	}
	return cg, nil
}

// get reads a file once per tick.
func (cg *Cgroup) get(file string) ([]byte, error) {
	if b, ok := cg.files[file]; ok {
		return b, nil
	}
	b, err := readFile(file, nil)
	if err != nil {
		return nil, err
	}
	cg.files[file] = b
	return b, nil
}

// Sources lists, for each resource the sampler reports, the file it reads
// ("memory: v1 memory.usage_in_bytes - memory.stat total_inactive_file
// (/sys/fs/cgroup/memory/docker/<id>)"), in the order of Sample's results.
func (cg *Cgroup) Sources() []string {
	out := make([]string, len(cg.metrics))
	for i, m := range cg.metrics {
		out[i] = m.resource + ": " + m.source
	}
	return out
}

// Sample implements Sampler.
func (cg *Cgroup) Sample(ctx context.Context) ([]rightsize.Sample, error) {
	if cg.gone != nil {
		return nil, cg.gone
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := cg.now()
	t := now.Round(0)
	if !cg.prevTick.IsZero() {
		cg.lastInterval = now.Sub(cg.prevTick).Seconds()
	}
	cg.prevTick = now
	clear(cg.files)
	var out []rightsize.Sample
	var errs []error
	for _, m := range cg.metrics {
		v, err := m.read(cg.get)
		if err != nil {
			if vanished(err) {
				for _, d := range cg.dirs {
					if !exists(d.dir) {
						cg.gone = &TargetError{cg.kind, cg.target, goneError("cgroup " + d.dir + " was removed")}
						return nil, cg.gone
					}
				}
			}
			m.primed = false
			errs = append(errs, fmt.Errorf("%s: %w", m.resource, err))
			continue
		}
		switch m.kind {
		case gauge:
			out = append(out, cg.labels.sample(m.resource, max(v, 0), t))
		case rate, delta:
			dt := now.Sub(m.prevTime).Seconds()
			if m.primed && v >= m.prev && dt > 0 {
				d := v - m.prev
				if m.kind == rate {
					d /= dt
				}
				out = append(out, cg.labels.sample(m.resource, d, t))
			}
			m.prev, m.prevTime, m.primed = v, now, true
		}
	}
	if len(errs) > 0 {
		return out, &TargetError{cg.kind, cg.target, errors.Join(errs...)}
	}
	return out, nil
}

// metricCandidates lists, for each resource in the order Sample reports
// them, the ways to read it, v2 first.
func metricCandidates(v2 *cgDir, v1 map[string]*cgDir) [][]*cgMetric {
	var cpu, mem, rd, wr, thr, oom, threads []*cgMetric
	file := func(d *cgDir, name string) string { return filepath.Join(d.dir, name) }
	if v2 != nil {
		cpuStat := file(v2, "cpu.stat")
		cpu = append(cpu, &cgMetric{resource: rightsize.CPU, kind: rate, source: "v2 cpu.stat usage_usec (" + v2.dir + ")",
			read: func(get getFunc) (float64, error) { return keyed(get, cpuStat, "usage_usec", 1e-6) }})
		thr = append(thr, &cgMetric{resource: rightsize.CPUThrottled, kind: rate, source: "v2 cpu.stat throttled_usec (" + v2.dir + ")",
			read: func(get getFunc) (float64, error) { return keyed(get, cpuStat, "throttled_usec", 1e-6) }})
		cur, stat := file(v2, "memory.current"), file(v2, "memory.stat")
		mem = append(mem, &cgMetric{resource: rightsize.Memory, kind: gauge, source: "v2 memory.current - memory.stat inactive_file (" + v2.dir + ")",
			read: func(get getFunc) (float64, error) { return workingSet(get, cur, stat, "inactive_file") }})
		ioStat := file(v2, "io.stat")
		rd = append(rd, &cgMetric{resource: rightsize.DiskRead, kind: rate, source: "v2 io.stat rbytes (" + v2.dir + ")",
			read: func(get getFunc) (float64, error) { r, _, err := ioStatBytes(get, ioStat); return r, err }})
		wr = append(wr, &cgMetric{resource: rightsize.DiskWrite, kind: rate, source: "v2 io.stat wbytes (" + v2.dir + ")",
			read: func(get getFunc) (float64, error) { _, w, err := ioStatBytes(get, ioStat); return w, err }})
		events := file(v2, "memory.events")
		oom = append(oom, &cgMetric{resource: rightsize.OOMKills, kind: delta, source: "v2 memory.events oom_kill (" + v2.dir + ")",
			read: func(get getFunc) (float64, error) { return keyed(get, events, "oom_kill", 1) }})
		pids := file(v2, "pids.current")
		threads = append(threads, &cgMetric{resource: rightsize.Threads, kind: gauge, source: "v2 pids.current (" + v2.dir + ")",
			read: func(get getFunc) (float64, error) { return single(get, pids) }})
	}
	if d := v1["cpuacct"]; d != nil {
		usage := file(d, "cpuacct.usage")
		cpu = append(cpu, &cgMetric{resource: rightsize.CPU, kind: rate, source: "v1 cpuacct.usage (" + d.dir + ")",
			read: func(get getFunc) (float64, error) { v, err := single(get, usage); return v * 1e-9, err }})
	}
	if d := v1["cpu"]; d != nil {
		stat := file(d, "cpu.stat")
		thr = append(thr, &cgMetric{resource: rightsize.CPUThrottled, kind: rate, source: "v1 cpu.stat throttled_time (" + d.dir + ")",
			read: func(get getFunc) (float64, error) { return keyed(get, stat, "throttled_time", 1e-9) }})
	}
	if d := v1["memory"]; d != nil {
		usage, stat := file(d, "memory.usage_in_bytes"), file(d, "memory.stat")
		mem = append(mem, &cgMetric{resource: rightsize.Memory, kind: gauge, source: "v1 memory.usage_in_bytes - memory.stat total_inactive_file (" + d.dir + ")",
			read: func(get getFunc) (float64, error) { return workingSet(get, usage, stat, "total_inactive_file") }})
		ctl := file(d, "memory.oom_control")
		oom = append(oom, &cgMetric{resource: rightsize.OOMKills, kind: delta, source: "v1 memory.oom_control oom_kill (" + d.dir + ")",
			read: func(get getFunc) (float64, error) { return keyed(get, ctl, "oom_kill", 1) }})
	}
	if d := v1["blkio"]; d != nil {
		for _, name := range []string{"blkio.throttle.io_service_bytes_recursive", "blkio.throttle.io_service_bytes"} {
			f := file(d, name)
			rd = append(rd, &cgMetric{resource: rightsize.DiskRead, kind: rate, source: "v1 " + name + " Read (" + d.dir + ")",
				read: func(get getFunc) (float64, error) { r, _, err := blkioBytes(get, f); return r, err }})
			wr = append(wr, &cgMetric{resource: rightsize.DiskWrite, kind: rate, source: "v1 " + name + " Write (" + d.dir + ")",
				read: func(get getFunc) (float64, error) { _, w, err := blkioBytes(get, f); return w, err }})
		}
	}
	if d := v1["pids"]; d != nil {
		pids := file(d, "pids.current")
		threads = append(threads, &cgMetric{resource: rightsize.Threads, kind: gauge, source: "v1 pids.current (" + d.dir + ")",
			read: func(get getFunc) (float64, error) { return single(get, pids) }})
	}
	// Without a pids controller, count the threads listed in the cgroup
	// and its descendants.
	if v2 != nil {
		dir := v2.dir
		threads = append(threads, &cgMetric{resource: rightsize.Threads, kind: gauge, source: "v2 cgroup.threads, recursive (" + dir + ")",
			read: func(getFunc) (float64, error) { return countLines(dir, "cgroup.threads") }})
	}
	for _, ctl := range []string{"pids", "cpuacct", "cpu", "memory", "blkio"} {
		if d := v1[ctl]; d != nil {
			dir := d.dir
			threads = append(threads, &cgMetric{resource: rightsize.Threads, kind: gauge, source: "v1 tasks, recursive (" + dir + ")",
				read: func(getFunc) (float64, error) { return countLines(dir, "tasks") }})
			break
		}
	}
	return [][]*cgMetric{cpu, mem, rd, wr, thr, oom, threads}
}

// keyed reads the value of key in a flat-keyed file ("key value" lines:
// cpu.stat, memory.stat, memory.events, memory.oom_control), scaled.
func keyed(get getFunc, file, key string, scale float64) (float64, error) {
	b, err := get(file)
	if err != nil {
		return 0, err
	}
	v, err := parseKeyed(b, key)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	return float64(v) * scale, nil
}

// single reads a file holding one number (memory.current, pids.current,
// cpuacct.usage).
func single(get getFunc, file string) (float64, error) {
	b, err := get(file)
	if err != nil {
		return 0, err
	}
	v, err := parseSingle(b)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", file, err)
	}
	return float64(v), nil
}

// workingSet is usage less inactive file pages, floored at zero: the
// memory the cgroup cannot give back without swapping or failing.
func workingSet(get getFunc, usageFile, statFile, inactiveKey string) (float64, error) {
	usage, err := single(get, usageFile)
	if err != nil {
		return 0, err
	}
	b, err := get(statFile)
	if err != nil {
		return 0, err
	}
	inactive, err := parseKeyed(b, inactiveKey)
	if errors.Is(err, errNoData) && inactiveKey == "total_inactive_file" {
		inactive, err = parseKeyed(b, "inactive_file")
	}
	if err != nil {
		return 0, fmt.Errorf("%s: %w", statFile, err)
	}
	return max(usage-float64(inactive), 0), nil
}

func ioStatBytes(get getFunc, file string) (r, w float64, err error) {
	b, err := get(file)
	if err != nil {
		return 0, 0, err
	}
	rb, wb, err := parseIOStat(b)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", file, err)
	}
	return float64(rb), float64(wb), nil
}

func blkioBytes(get getFunc, file string) (r, w float64, err error) {
	b, err := get(file)
	if err != nil {
		return 0, 0, err
	}
	rb, wb, err := parseBlkio(b)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", file, err)
	}
	return float64(rb), float64(wb), nil
}

// countLines counts the non-empty lines of the file name in dir and all
// its descendant directories.
func countLines(dir, name string) (float64, error) {
	var n int
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil // a descendant removed meanwhile
		}
		if !d.IsDir() {
			return nil
		}
		b, err := readFile(filepath.Join(p, name), nil)
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		n += bytes.Count(b, []byte{'\n'})
		return nil
	})
	return float64(n), err
}

// parseKeyed returns the value of key in "key value" lines.
func parseKeyed(b []byte, key string) (uint64, error) {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, ok := bytes.Cut(line, []byte{' '})
		if !ok || string(k) != key {
			continue
		}
		n, ok := atou(bytes.TrimSpace(v))
		if !ok {
			return 0, fmt.Errorf("%s is %q, not a number", key, v)
		}
		return n, nil
	}
	return 0, fmt.Errorf("no %s: %w", key, errNoData)
}

// parseSingle parses a file holding one number. "max" (no limit) is no
// data.
func parseSingle(b []byte) (uint64, error) {
	s := bytes.TrimSpace(b)
	if string(s) == "max" || len(s) == 0 {
		return 0, errNoData
	}
	n, ok := atou(s)
	if !ok {
		return 0, fmt.Errorf("%q is not a number", clip.Bytes(s, 60))
	}
	return n, nil
}

// parseIOStat sums rbytes and wbytes over the devices of a v2 io.stat:
//
//	8:0 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0
//
// An empty file (no I/O yet) is zero, not missing data.
func parseIOStat(b []byte) (r, w uint64, err error) {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		f := bytes.Fields(line)
		for _, kv := range f[min(1, len(f)):] {
			k, v, ok := bytes.Cut(kv, []byte{'='})
			if !ok {
				continue
			}
			var dst *uint64
			switch string(k) {
			case "rbytes":
				dst = &r
			case "wbytes":
				dst = &w
			default:
				continue
			}
			n, ok := atou(v)
			if !ok {
				return 0, 0, fmt.Errorf("%s=%q is not a number", k, v)
			}
			*dst += n
		}
	}
	return r, w, nil
}

// parseBlkio sums the Read and Write bytes over the devices of a v1
// blkio.throttle.io_service_bytes(_recursive):
//
//	8:0 Read 1459200
//	8:0 Write 314773504
//	...
//	Total 316232704
func parseBlkio(b []byte) (r, w uint64, err error) {
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) != 3 {
			continue
		}
		var dst *uint64
		switch string(f[1]) {
		case "Read":
			dst = &r
		case "Write":
			dst = &w
		default:
			continue
		}
		n, ok := atou(f[2])
		if !ok {
			return 0, 0, fmt.Errorf("%s %s is %q, not a number", f[0], f[1], f[2])
		}
		*dst += n
	}
	return r, w, nil
}
