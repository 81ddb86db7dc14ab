package sample

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/rightsize/rightsize"
)

// Process measures a process tree: one or more root processes and all their
// descendants. It is built by NewProcess, NewPIDFile or NewProcessMatch and
// reports, for the whole tree:
//
//	cpu         cores: Δ(utime+stime+cutime+cstime) / Δwall
//	memory      bytes: Σ resident set size (the rss of /proc/<pid>/stat, = VmRSS)
//	disk.read   bytes/s: Δ read_bytes of /proc/<pid>/io / Δwall
//	disk.write  bytes/s: Δ write_bytes of /proc/<pid>/io / Δwall
//	threads     count: Σ num_threads
//
// The first Sample reports memory and threads only and sets the baseline of
// the rates; every later one reports all five (disk.* need permission to
// read /proc/<pid>/io: the same user, or CAP_SYS_PTRACE).
//
// # How the tree is followed
//
// Each tick reads the whole process table once (see Scanner) and builds the
// tree from its parent links. A process once in the tree stays in it while it
// lives, even when it is re-parented outside it (a daemon that double-forks,
// a child whose parent exited). The counters include what reaped children
// used, so a child that exits between two ticks neither makes the CPU
// negative nor makes it jump: its last seen use is taken back from the
// parent that reaped it (see the package documentation).
//
// # Why /proc is read directly
//
// gopsutil's process package is correct for one process but not for a tree
// sampled often: its CPUPercent is a lifetime average, Children scans all of
// /proc once per process (O(N²) per tick for a tree), and Times drops the
// time of exited children. This sampler reads /proc/<pid>/stat of every
// process once per tick and /proc/<pid>/io of the tree's members only.
type Process struct {
	labels  labels
	scanner *Scanner
	roots   func(*snapshot) ([]int32, error)

	forget       bool // the next walk starts from the roots alone
	acct         account
	prevTime     time.Time
	lastInterval float64 // seconds between the last two readings
	prevIOOK     bool
	gone         error

	seen  []bool  // visited flags of the tree walk, indexed like snapshot.procs
	queue []int32 // tree walk queue and member list
	buf   []byte
	path  []byte
}

var _ Sampler = (*Process)(nil)

// Sample implements Sampler.
func (p *Process) Sample(ctx context.Context) ([]rightsize.Sample, error) {
	if p.gone != nil {
		return nil, p.gone
	}
	sn, err := p.scanner.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	roots, err := p.roots(sn)
	if err != nil {
		if errors.Is(err, ErrGone) {
			p.gone = err
			return nil, err
		}
		// Nothing to measure at this tick: move the baseline here, so
		// that processes starting after it are counted in full next time.
		if sn.time != p.prevTime {
			p.acct.step(map[procKey]accEntry{}, sn.uptime)
			p.prevTime, p.prevIOOK = sn.time, true
		}
		return nil, err
	}
	if sn.time == p.prevTime && p.acct.primed {
		// Same reading of the process table as last time (a shared
		// Scanner asked again within its max age): no interval to
		// compute rates over.
		return p.gauges(sn, nil), nil
	}
	members := p.walk(sn, roots)
	cur := make(map[procKey]accEntry, len(members))
	var errs []error
	ioOK := true
	// Members in reverse walk order: children are read before their
	// parents, so a child reaped in between is found in its parent's
	// counters (see account).
	base := p.pathBase()
	for i := len(members) - 1; i >= 0; i-- {
		pr := &sn.procs[members[i]]
		e := accEntry{start: pr.start}
		e.v[cntCPU] = pr.cpu
		if j, ok := sn.index(pr.ppid); ok && p.seen[j] {
			e.parent = sn.procs[j].key()
		}
		if ioOK {
			p.path = strconv.AppendInt(p.path[:base], int64(pr.pid), 10)
			p.path = append(p.path, "/io"...)
			p.buf, err = readFile(string(p.path), p.buf)
			var io ioCounters
			if err == nil {
				io, err = parseIO(p.buf)
			}
			switch {
			case err == nil:
				e.v[cntRead], e.v[cntWrite] = io.read, io.write
			case vanished(err) && !exists(string(p.path[:len(p.path)-len("/io")])):
				continue // exited after the scan: treat it as gone
			default: // no permission, or a kernel without I/O accounting
				ioOK = false
				errs = append(errs, &TargetError{"pid", strconv.Itoa(int(pr.pid)), fmt.Errorf("disk.read, disk.write: %w", err)})
			}
		}
		cur[pr.key()] = e
	}
	used, ok := p.acct.step(cur, sn.uptime)
	dt := sn.time.Sub(p.prevTime).Seconds()
	p.prevTime, p.lastInterval = sn.time, dt
	var rates []rightsize.Sample
	if ok && dt > 0 {
		t := sn.time.Round(0)
		rates = append(rates, p.labels.sample(rightsize.CPU, float64(used[cntCPU])/float64(sn.hz)/dt, t))
		if ioOK && p.prevIOOK {
			rates = append(rates,
				p.labels.sample(rightsize.DiskRead, float64(used[cntRead])/dt, t),
				p.labels.sample(rightsize.DiskWrite, float64(used[cntWrite])/dt, t))
		}
	}
	p.prevIOOK = ioOK
	return p.gauges(sn, rates), errors.Join(errs...)
}

// gauges returns the samples of one tick: the rates given, memory and
// threads, in the order cpu, memory, disk.read, disk.write, threads.
func (p *Process) gauges(sn *snapshot, rates []rightsize.Sample) []rightsize.Sample {
	var rss, threads uint64
	for _, i := range p.queue {
		rss += sn.procs[i].rss
		threads += uint64(sn.procs[i].threads)
	}
	t := sn.time.Round(0)
	out := make([]rightsize.Sample, 0, 5)
	if len(rates) > 0 {
		out = append(out, rates[0])
	}
	out = append(out, p.labels.sample(rightsize.Memory, float64(rss*pageSize), t))
	if len(rates) > 1 {
		out = append(out, rates[1:]...)
	}
	return append(out, p.labels.sample(rightsize.Threads, float64(threads), t))
}

// walk returns the members of the tree at this tick, as indexes into
// sn.procs, in breadth-first order from the roots: the roots, every process
// that was a member at the previous tick and still lives, and all their
// descendants.
func (p *Process) walk(sn *snapshot, roots []int32) []int32 {
	if cap(p.seen) < len(sn.procs) {
		p.seen = make([]bool, len(sn.procs))
	}
	p.seen = p.seen[:len(sn.procs)]
	clear(p.seen)
	q := p.queue[:0]
	add := func(pid int32, start uint64, sticky bool) {
		i, ok := sn.index(pid)
		if !ok || p.seen[i] || (sticky && sn.procs[i].start != start) {
			return
		}
		p.seen[i] = true
		q = append(q, int32(i))
	}
	for _, pid := range roots {
		add(pid, 0, false)
	}
	if !p.forget {
		for k := range p.acct.prev {
			add(k.pid, k.start, true)
		}
	}
	p.forget = false
	for h := 0; h < len(q); h++ {
		for _, c := range sn.children(sn.procs[q[h]].pid) {
			if !p.seen[c] {
				p.seen[c] = true
				q = append(q, c)
			}
		}
	}
	p.queue = q
	return q
}

func (p *Process) pathBase() int {
	root := p.scanner.procRoot
	if len(p.path) < len(root)+1 || string(p.path[:len(root)]) != root {
		p.path = append(append(p.path[:0], root...), '/')
	}
	return len(root) + 1
}

// pageSize is the unit of the rss field of /proc/<pid>/stat.
var pageSize = uint64(os.Getpagesize())
