package sample

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
)

// This file holds the constructors of process samplers: each says how the
// roots of the tree are found at every tick (a PID, the PID a file holds,
// the processes a pattern matches).

func newProcess(service string, opts []ProcessOption) (*Process, *config, error) {
	c, err := newConfig(service, opts)
	if err != nil {
		return nil, nil, err
	}
	sc := c.scanner
	if sc == nil {
		sc = newScanner(c.procRoot, c.now, 0)
	} else {
		if c.procRoot != DefaultProcRoot && filepath.Clean(c.procRoot) != filepath.Clean(sc.procRoot) {
			return nil, nil, fmt.Errorf("sample: %w (%s, %s)", errScanMismatch, c.procRoot, sc.procRoot)
		}
		c.procRoot = sc.procRoot
	}
	return &Process{labels: c.labels(service), scanner: sc}, c, nil
}

// NewProcess returns a sampler of the process pid and all its descendants.
// It returns an error matching ErrNoProcess, naming the PID, if the process
// does not exist. When the process exits, Sample returns ErrGone: the
// series ends, even if some of its descendants live on.
func NewProcess(service string, pid int, opts ...ProcessOption) (*Process, error) {
	p, c, err := newProcess(service, opts)
	if err != nil {
		return nil, err
	}
	if pid <= 0 || pid >= 1<<31 {
		return nil, &TargetError{"pid", strconv.Itoa(pid), errors.New("not a process ID")}
	}
	root, err := readProcStat(c.procRoot, int32(pid))
	if err != nil {
		return nil, &TargetError{"pid", strconv.Itoa(pid), err}
	}
	key := root.key()
	p.roots = func(sn *snapshot) ([]int32, error) {
		if r := sn.lookup(key.pid); r != nil && r.start == key.start && !dead(r) {
			return []int32{key.pid}, nil
		}
		return nil, &TargetError{"pid", strconv.Itoa(pid), goneError("the process has exited")}
	}
	return p, nil
}

// NewPIDFile returns a sampler of the process whose PID the file at path
// holds, and all its descendants. The file is read again at every tick, so
// a restarted service is followed. The constructor returns an error naming
// the file if it cannot be read, does not hold a PID, or names no running
// process (ErrNoProcess). Later, while the file is missing or names no
// running process, Sample returns no samples and an error that does not end
// the series.
func NewPIDFile(service, path string, opts ...ProcessOption) (*Process, error) {
	p, c, err := newProcess(service, opts)
	if err != nil {
		return nil, err
	}
	readPID := func() (int32, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, &TargetError{"pid file", path, err}
		}
		pid, err := parsePID(b)
		if err != nil {
			return 0, &TargetError{"pid file", path, err}
		}
		return int32(pid), nil
	}
	pid, err := readPID()
	if err != nil {
		return nil, err
	}
	if _, err := readProcStat(c.procRoot, pid); err != nil {
		return nil, &TargetError{"pid file", path, fmt.Errorf("pid %d: %w", pid, err)}
	}
	current := pid
	p.roots = func(sn *snapshot) ([]int32, error) {
		pid, err := readPID()
		if err != nil {
			return nil, err
		}
		if r := sn.lookup(pid); r != nil && !dead(r) {
			if pid != current {
				// Restarted: the old tree is no longer the service,
				// even where it lives on.
				current, p.forget = pid, true
			}
			return []int32{pid}, nil
		}
		return nil, &TargetError{"pid file", path, fmt.Errorf("pid %d: %w", pid, ErrNoProcess)}
	}
	return p, nil
}

// NewProcessMatch returns a sampler of every process whose name (the comm
// of /proc/<pid>/stat, at most 15 bytes) or command line (its arguments
// joined by spaces) matches the regular expression pattern, and all their
// descendants, as one service. The processes are looked for again at every
// tick, so restarts and new workers are picked up. The sampler's own process
// is never matched (its command line often holds the pattern).
//
// While no process matches, Sample returns no samples and an error matching
// ErrNoMatch; that does not end the series.
func NewProcessMatch(service, pattern string, opts ...ProcessOption) (*Process, error) {
	p, c, err := newProcess(service, opts)
	if err != nil {
		return nil, err
	}
	if pattern == "" {
		return nil, &TargetError{"pattern", `""`, errors.New("is empty: it would match every process")}
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, &TargetError{"pattern", strconv.Quote(pattern), err}
	}
	self := int32(-1)
	if filepath.Clean(c.procRoot) == DefaultProcRoot {
		self = int32(os.Getpid())
	}
	var matches []int32
	p.roots = func(sn *snapshot) ([]int32, error) {
		matches = matches[:0]
		for i := range sn.procs {
			pr := &sn.procs[i]
			if pr.pid == self || dead(pr) {
				continue
			}
			if re.Match(sn.name(pr)) || re.MatchString(sn.cmdline(pr)) {
				matches = append(matches, pr.pid)
			}
		}
		if len(matches) == 0 {
			return nil, &TargetError{"pattern", strconv.Quote(pattern), ErrNoMatch}
		}
		return matches, nil
	}
	return p, nil
}

// dead reports whether p has exited (a zombie waiting to be reaped, or
// being reaped).
func dead(p *procStat) bool { return p.state == 'Z' || p.state == 'X' || p.state == 'x' }

// readProcStat reads one process's stat file. A missing process or a zombie
// is reported as ErrNoProcess.
func readProcStat(procRoot string, pid int32) (*procStat, error) {
	b, err := readFile(filepath.Join(procRoot, strconv.Itoa(int(pid)), "stat"), nil)
	if err != nil {
		if vanished(err) {
			return nil, ErrNoProcess
		}
		return nil, err
	}
	var p procStat
	if _, err := parseStat(b, &p); err != nil {
		return nil, err
	}
	if dead(&p) {
		return nil, fmt.Errorf("%w (a zombie)", ErrNoProcess)
	}
	return &p, nil
}
