package sample

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Scanner reads the process table: one pass over /proc/[0-9]*/stat gives
// every process's parent, start time, CPU times, threads and resident
// pages. The process samplers build their trees from that one reading (a
// parent map built once per tick), instead of asking each process for its
// children, which costs a pass over /proc per process.
//
// A Scanner may be shared between process samplers (WithScanner): a sampler
// that asks for the table within the Scanner's max age of the last scan gets
// that same reading, so sampling many services at the same tick costs one
// scan. A Scanner is safe for concurrent use.
type Scanner struct {
	procRoot string
	now      func() time.Time
	maxAge   time.Duration
	hz       uint64

	mu     sync.Mutex // guards the fields below and serialises scans
	last   *snapshot
	buf    []byte
	dirbuf []byte

	cmdMu    sync.Mutex
	cmdlines map[procKey]cmdline // command lines read so far, of live processes
}

// NewScanner returns a Scanner for samplers to share. It uses the options
// WithProcRoot, WithClock and WithScanMaxAge.
func NewScanner(opts ...ScannerOption) (*Scanner, error) {
	c, err := newScannerConfig(opts)
	if err != nil {
		return nil, err
	}
	return newScanner(c.procRoot, c.now, c.maxAge), nil
}

func newScanner(procRoot string, now func() time.Time, maxAge time.Duration) *Scanner {
	return &Scanner{procRoot: procRoot, now: now, maxAge: maxAge, hz: clockTicks(), cmdlines: map[procKey]cmdline{}}
}

// snapshot is one reading of the process table. It is not changed after
// the scan that made it, except for the children index built on first use.
type snapshot struct {
	time   time.Time // when the scan started
	uptime uint64    // clock ticks after boot when the scan started
	hz     uint64
	procs  []procStat // sorted by PID
	names  []byte     // arena holding the comm of every process

	childOnce sync.Once
	byParent  []int32 // indexes into procs, sorted by (ppid, pid)

	scanner *Scanner
}

// snapshot returns a reading of the process table no older than the
// Scanner's max age.
func (s *Scanner) snapshot(ctx context.Context) (*snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && s.maxAge > 0 {
		if age := s.now().Sub(s.last.time); age >= 0 && age < s.maxAge {
			return s.last, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	snap, err := s.scan(ctx)
	if err != nil {
		return nil, err
	}
	s.last = snap
	s.pruneCmdlines(snap)
	return snap, nil
}

// scan reads the process table. Processes that exit while it runs are
// skipped.
func (s *Scanner) scan(ctx context.Context) (*snapshot, error) {
	now := s.now()
	var err error
	s.buf, err = readFile(filepath.Join(s.procRoot, "uptime"), s.buf)
	if err != nil {
		return nil, fmt.Errorf("sample: read process table: %w", err)
	}
	uptime, err := parseUptime(s.buf, s.hz)
	if err != nil {
		return nil, fmt.Errorf("sample: read process table: %w", err)
	}
	if s.dirbuf == nil {
		s.dirbuf = make([]byte, 32<<10)
	}
	n := 0
	if s.last != nil {
		n = len(s.last.procs) + 16
	}
	snap := &snapshot{time: now, uptime: uptime, hz: s.hz, scanner: s,
		procs: make([]procStat, 0, n), names: make([]byte, 0, n*12)}
	var pids []int32
	if s.last != nil {
		pids = make([]int32, 0, n)
	}
	dirfd, err := syscall.Open(s.procRoot, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sample: read process table: %w", &fs.PathError{Op: "open", Path: s.procRoot, Err: err})
	}
	defer syscall.Close(dirfd)
	err = readDirPIDs(dirfd, s.procRoot, s.dirbuf, func(pid int32) { pids = append(pids, pid) })
	if err != nil {
		return nil, fmt.Errorf("sample: read process table: %w", err)
	}
	var name []byte
	for i, pid := range pids {
		if i&255 == 255 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		name = strconv.AppendInt(name[:0], int64(pid), 10)
		name = append(name, "/stat"...)
		s.buf, err = readFileAt(dirfd, s.procRoot, string(name), s.buf)
		if err != nil {
			if vanished(err) {
				continue
			}
			return nil, fmt.Errorf("sample: read process table: %w", err)
		}
		var p procStat
		comm, err := parseStat(s.buf, &p)
		if err != nil {
			return nil, fmt.Errorf("sample: read process table: %w", err)
		}
		if len(comm) > 0xffff {
			comm = comm[:0xffff]
		}
		p.nameOff, p.nameLen = uint32(len(snap.names)), uint16(len(comm))
		snap.names = append(snap.names, comm...)
		snap.procs = append(snap.procs, p)
	}
	if !slices.IsSortedFunc(snap.procs, func(a, b procStat) int { return int(a.pid) - int(b.pid) }) {
		slices.SortFunc(snap.procs, func(a, b procStat) int { return int(a.pid) - int(b.pid) })
	}
	return snap, nil
}

// lookup returns the process with the given PID, or nil.
func (sn *snapshot) lookup(pid int32) *procStat {
	i, ok := sn.index(pid)
	if !ok {
		return nil
	}
	return &sn.procs[i]
}

// index returns the index into procs of the process with the given PID.
func (sn *snapshot) index(pid int32) (int, bool) {
	return slices.BinarySearchFunc(sn.procs, pid, func(p procStat, pid int32) int { return int(p.pid) - int(pid) })
}

// name returns the comm of p (at most 15 bytes, set by the kernel from the
// executable's name or by prctl).
func (sn *snapshot) name(p *procStat) []byte {
	return sn.names[p.nameOff : p.nameOff+uint32(p.nameLen)]
}

// children returns the indexes (into procs) of the children of pid.
func (sn *snapshot) children(pid int32) []int32 {
	sn.childOnce.Do(func() {
		sn.byParent = make([]int32, len(sn.procs))
		for i := range sn.byParent {
			sn.byParent[i] = int32(i)
		}
		slices.SortFunc(sn.byParent, func(a, b int32) int {
			if d := int(sn.procs[a].ppid) - int(sn.procs[b].ppid); d != 0 {
				return d
			}
			return int(a) - int(b)
		})
	})
	lo, _ := slices.BinarySearchFunc(sn.byParent, pid, func(i int32, pid int32) int {
		if sn.procs[i].ppid < pid {
			return -1
		}
		return 1
	})
	hi := lo
	for hi < len(sn.byParent) && sn.procs[sn.byParent[hi]].ppid == pid {
		hi++
	}
	return sn.byParent[lo:hi]
}

// cmdline is a command line and the name the process had when it was read.
type cmdline struct {
	comm, line string
}

// cmdline returns the command line of p, arguments separated by spaces. It
// is read once per process and name: a process that execs another program
// (and so changes its name) has it read again. It is empty for kernel
// threads and zombies.
func (sn *snapshot) cmdline(p *procStat) string {
	s := sn.scanner
	k, comm := p.key(), sn.name(p)
	s.cmdMu.Lock()
	c, ok := s.cmdlines[k]
	s.cmdMu.Unlock()
	if ok && c.comm == string(comm) {
		return c.line
	}
	b, err := readFile(filepath.Join(s.procRoot, strconv.Itoa(int(p.pid)), "cmdline"), nil)
	if err != nil {
		return "" // gone, or not ours to read: match on the name alone
	}
	c = cmdline{comm: string(comm), line: parseCmdline(b)}
	s.cmdMu.Lock()
	s.cmdlines[k] = c
	s.cmdMu.Unlock()
	return c.line
}

// pruneCmdlines forgets the command lines of processes that have exited.
func (s *Scanner) pruneCmdlines(snap *snapshot) {
	s.cmdMu.Lock()
	defer s.cmdMu.Unlock()
	for k := range s.cmdlines {
		if p := snap.lookup(k.pid); p == nil || p.start != k.start {
			delete(s.cmdlines, k)
		}
	}
}

// clockTicks is the unit of the CPU times in /proc/<pid>/stat (USER_HZ), as
// the kernel tells every process in its auxiliary vector (AT_CLKTCK). It is
// 100 on every architecture Go runs on; the auxiliary vector is read to be
// sure.
var clockTicks = sync.OnceValue(func() uint64 {
	const atClktck = 17
	if av, err := unix.Auxv(); err == nil {
		for _, kv := range av {
			if kv[0] == atClktck && kv[1] > 0 {
				return uint64(kv[1])
			}
		}
	}
	return 100
})
