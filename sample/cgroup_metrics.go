package sample

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/rightsize/rightsize"
)

// This file is the table of what a cgroup sampler reports: for each
// resource, the cgroup v2 and v1 files it can be read from, and the
// readers that turn a file into a number.

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
			read: func(get getFunc) (float64, error) { r, _, err := ioBytes(get, ioStat, parseIOStat); return r, err }})
		wr = append(wr, &cgMetric{resource: rightsize.DiskWrite, kind: rate, source: "v2 io.stat wbytes (" + v2.dir + ")",
			read: func(get getFunc) (float64, error) { _, w, err := ioBytes(get, ioStat, parseIOStat); return w, err }})
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
				read: func(get getFunc) (float64, error) { r, _, err := ioBytes(get, f, parseBlkio); return r, err }})
			wr = append(wr, &cgMetric{resource: rightsize.DiskWrite, kind: rate, source: "v1 " + name + " Write (" + d.dir + ")",
				read: func(get getFunc) (float64, error) { _, w, err := ioBytes(get, f, parseBlkio); return w, err }})
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

// ioBytes reads the bytes read and written from a file of per-device I/O
// counters (v2 io.stat, v1 blkio.throttle.io_service_bytes), which parse
// sums over the devices.
func ioBytes(get getFunc, file string, parse func([]byte) (r, w uint64, err error)) (r, w float64, err error) {
	b, err := get(file)
	if err != nil {
		return 0, 0, err
	}
	rb, wb, err := parse(b)
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
