package sample

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
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
