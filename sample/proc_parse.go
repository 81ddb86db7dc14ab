package sample

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/rightsize/rightsize/internal/clip"
)

// This file holds the parsers of the proc file system's files: pure
// functions over bytes, tested on strings.

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
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
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
