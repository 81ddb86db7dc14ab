package sample

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/rightsize/rightsize/internal/clip"

	"golang.org/x/sys/unix"
)

// This file holds the parsers of the proc file system and the raw reads
// they need. Parsers are pure functions over bytes; readFile is the only
// place that touches the file system.

// errNoData is returned by a parser when the input is well formed but does
// not hold the value asked for (an old kernel without the field, a cgroup
// without the controller). It is not a failure: the resource is simply not
// reported.
var errNoData = errors.New("no data")

// procKey identifies a process across ticks: a PID alone is reused by the
// kernel, a PID with its start time is not.
type procKey struct {
	pid   int32
	start uint64 // start time, clock ticks after boot
}

// procStat is what one read of /proc/<pid>/stat tells about a process.
type procStat struct {
	pid, ppid int32
	state     byte
	threads   int32
	start     uint64 // clock ticks after boot
	cpu       uint64 // utime+stime+cutime+cstime: own CPU and that of reaped children, clock ticks
	rss       uint64 // resident pages
	nameOff   uint32 // comm, as an offset into the snapshot's name arena
	nameLen   uint16
}

func (p *procStat) key() procKey { return procKey{p.pid, p.start} }

// parseStat parses the content of /proc/<pid>/stat into p, except the name,
// which it returns as a slice of b. It allocates nothing.
//
// The format is "pid (comm) state ppid ..." where comm may itself hold
// spaces and parentheses, so the fields are counted from the last ')'.
func parseStat(b []byte, p *procStat) (comm []byte, err error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return nil, fmt.Errorf("stat %q: no (comm)", clip.Bytes(b, 60))
	}
	pid, ok := atou(bytes.TrimSpace(b[:open]))
	if !ok {
		return nil, fmt.Errorf("stat %q: bad pid", clip.Bytes(b, 60))
	}
	comm = b[open+1 : end]
	rest := b[end+1:]
	// Fields after the name, numbered as in proc(5): 3 state, 4 ppid,
	// 14 utime, 15 stime, 16 cutime, 17 cstime, 20 num_threads,
	// 22 starttime, 24 rss.
	var utime, stime, cutime, cstime uint64
	field := 2
	for len(rest) > 0 {
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		i := bytes.IndexByte(rest, ' ')
		if i < 0 {
			i = len(rest)
		}
		tok := bytes.TrimRight(rest[:i], "\n")
		rest = rest[i:]
		if len(tok) == 0 {
			continue
		}
		field++
		var v uint64
		switch field {
		case 3:
			p.state = tok[0]
			continue
		case 4, 14, 15, 16, 17, 20, 22, 24:
			v, ok = atou(tok)
			if !ok {
				// cutime, cstime and rss are signed in the kernel; a
				// negative value is never meant, read it as 0.
				if tok[0] != '-' {
					return nil, fmt.Errorf("stat of pid %d: field %d is %q", pid, field, tok)
				}
				v = 0
			}
		default:
			continue
		}
		switch field {
		case 4:
			p.ppid = int32(v)
		case 14:
			utime = v
		case 15:
			stime = v
		case 16:
			cutime = v
		case 17:
			cstime = v
		case 20:
			p.threads = int32(v)
		case 22:
			p.start = v
		case 24:
			p.rss = v
		}
		if field == 24 {
			break
		}
	}
	if field < 24 {
		return nil, fmt.Errorf("stat of pid %d: %d fields, want at least 24", pid, field)
	}
	p.pid = int32(pid)
	p.cpu = utime + stime + cutime + cstime
	return comm, nil
}

// ioCounters is what this package uses of /proc/<pid>/io.
type ioCounters struct {
	read, write uint64 // read_bytes, write_bytes: bytes fetched from and sent to storage
}

// parseIO parses /proc/<pid>/io. Both fields include the I/O of the reaped
// children of the process, as its CPU times do.
func parseIO(b []byte) (ioCounters, error) {
	var c ioCounters
	var seen int
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		k, v, ok := bytes.Cut(line, []byte(": "))
		if !ok {
			continue
		}
		var dst *uint64
		switch string(k) {
		case "read_bytes":
			dst = &c.read
		case "write_bytes":
			dst = &c.write
		default:
			continue
		}
		n, ok := atou(bytes.TrimSpace(v))
		if !ok {
			return c, fmt.Errorf("io: %s is %q", k, v)
		}
		*dst = n
		seen++
	}
	if seen < 2 {
		return c, errNoData
	}
	return c, nil
}

// parseUptime parses /proc/uptime ("12345.67 2345.67") into clock ticks of
// hz per second.
func parseUptime(b []byte, hz uint64) (uint64, error) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, fmt.Errorf("uptime %q: empty", clip.Bytes(b, 60))
	}
	sec, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil || sec < 0 {
		return 0, fmt.Errorf("uptime %q: not a number of seconds", clip.Bytes(b, 60))
	}
	return uint64(sec*float64(hz) + 0.5), nil
}

// parseCmdline turns /proc/<pid>/cmdline (arguments separated by NUL) into
// one line with the arguments separated by spaces.
func parseCmdline(b []byte) string {
	b = bytes.TrimRight(b, "\x00")
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
}

// parsePID parses the content of a PID file: a decimal number, optionally
// surrounded by white space.
func parsePID(b []byte) (int, error) {
	s := bytes.TrimSpace(b)
	if i := bytes.IndexAny(s, " \t\n"); i >= 0 { // some daemons write more after the PID
		s = s[:i]
	}
	n, ok := atou(s)
	if !ok || n == 0 || n > 1<<22 {
		return 0, fmt.Errorf("%q is not a PID", clip.Bytes(b, 60))
	}
	return int(n), nil
}

// atou parses a decimal number without allocating.
func atou(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// readFile reads the whole file at path into buf, growing it as needed, and
// returns the filled part. It uses raw system calls because the samplers
// read hundreds of small proc files per tick, where os.ReadFile's Stat and
// poller registration would cost more than the read itself.
func readFile(path string, buf []byte) ([]byte, error) {
	return readFileAt(unix.AT_FDCWD, "", path, buf)
}

// readFileAt is readFile of name relative to the directory dirfd, which
// errors call dir/name. A read that does not fill the buffer ends the
// file, as it does for regular files and for the kernel's proc and cgroup
// files, which saves the read that would return 0.
func readFileAt(dirfd int, dir, name string, buf []byte) ([]byte, error) {
	path := func() string { return filepath.Join(dir, name) }
	fd, err := syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	}
	if err != nil {
		return buf[:0], &fs.PathError{Op: "open", Path: path(), Err: err}
	}
	defer syscall.Close(fd)
	if cap(buf) == 0 {
		buf = make([]byte, 0, 4096)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		space := cap(buf) - len(buf)
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return buf, &fs.PathError{Op: "read", Path: path(), Err: err}
		}
		buf = buf[:len(buf)+n]
		if n == 0 || n < space {
			return buf, nil
		}
	}
}

// readDirPIDs calls fn with every numeric entry of the directory open as
// fd (the PIDs of /proc), without allocating a string per entry.
func readDirPIDs(fd int, path string, buf []byte, fn func(pid int32)) error {
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			return nil
		}
		parseDirents(buf[:n], fn)
	}
}

// parseDirents walks linux_dirent64 records: ino (8), off (8), reclen (2),
// type (1), NUL-terminated name.
func parseDirents(b []byte, fn func(pid int32)) {
	for len(b) >= 19 {
		reclen := int(b[16]) | int(b[17])<<8
		if reclen < 19 || reclen > len(b) {
			return
		}
		name := b[19:reclen]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if n, ok := atou(name); ok && n > 0 && n < 1<<31 {
			fn(int32(n))
		}
		b = b[reclen:]
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
