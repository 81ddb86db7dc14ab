package sample

// account turns the cumulative counters of the processes of a tree (CPU
// ticks, bytes read, bytes written) into the amount the tree used between
// two ticks, such that processes that come and go neither make it negative
// nor make it jump.
//
// The counters it is given for a process include what the process's reaped
// children used (utime+stime+cutime+cstime; /proc/<pid>/io). Between two
// ticks the amount used by the tree is then:
//
//   - for each process seen at both ticks, its counter's increase;
//   - for each process new to the tree that started after the previous tick,
//     its whole counter (it all happened in the interval);
//   - minus, for each process of the previous tick that has gone, the value
//     it had then, taken from its nearest ancestor still alive: when the
//     parent reaped it, the child's final counter was added to the parent's,
//     and the part the child had already used at the previous tick was
//     counted then.
//
// An ancestor's share is never made negative: what it cannot pay at once
// (the parent had not reaped the child yet when it was read, a race of the
// scan) is carried to the next tick, and then dropped (a parent that ignores
// SIGCHLD never receives its children's counters).
type account struct {
	prev     map[procKey]accEntry
	debt     map[procKey]counters
	prevTick uint64 // uptime, clock ticks, of the previous reading
	primed   bool
}

// counters are the cumulative counters of one process: CPU clock ticks,
// bytes read from storage, bytes written to storage.
type counters [3]uint64

// Indexes into counters.
const (
	cntCPU = iota
	cntRead
	cntWrite
)

// accEntry is one process's counters at one tick.
type accEntry struct {
	v      counters
	parent procKey // the parent, when it is in the tree too
	start  uint64
}

// step records the counters of the tree at this tick (uptime in clock ticks
// after boot) and returns what the tree used since the previous tick. ok is
// false on the first tick, which only sets the baseline, and on a tick where
// the tree is made only of processes that are neither known from the
// previous tick nor started since (after a tick where nothing matched, a
// service that was there all along): what they used in the interval is
// unknown.
func (a *account) step(cur map[procKey]accEntry, uptime uint64) (used counters, ok bool) {
	if !a.primed {
		a.prev, a.prevTick, a.primed = cur, uptime, true
		return used, false
	}
	// Compensation owed by live ancestors for the members that went away.
	var comp map[procKey]counters
	for k, e := range a.prev {
		if _, alive := cur[k]; alive {
			continue
		}
		anc := e.parent
		for range 64 { // bounded: a corrupt parent chain cannot loop
			if anc == (procKey{}) {
				break
			}
			if _, alive := cur[anc]; alive {
				if comp == nil {
					comp = map[procKey]counters{}
				}
				c := comp[anc]
				for i := range c {
					c[i] += e.v[i]
				}
				comp[anc] = c
				break
			}
			pe, ok := a.prev[anc]
			if !ok {
				break
			}
			anc = pe.parent
		}
	}
	var debt map[procKey]counters
	known := len(cur) == 0
	for k, e := range cur {
		pe, seen := a.prev[k]
		isNew := !seen && e.start+1 >= a.prevTick // started in the interval: all of it is new
		known = known || seen || isNew
		// A process neither seen before nor new is an old process that
		// joined the tree (a match that begins to match): baseline only.
		owedOld, owedNow := a.debt[k], comp[k]
		for i := range e.v {
			var d uint64
			switch {
			case seen && e.v[i] > pe.v[i]:
				d = e.v[i] - pe.v[i]
			case isNew:
				d = e.v[i]
			}
			d -= min(d, owedOld[i])
			paid := min(d, owedNow[i])
			d -= paid
			if owedNow[i] > paid {
				if debt == nil {
					debt = map[procKey]counters{}
				}
				dk := debt[k]
				dk[i] = owedNow[i] - paid
				debt[k] = dk
			}
			used[i] += d
		}
	}
	a.prev, a.debt, a.prevTick = cur, debt, uptime
	return used, known
}
