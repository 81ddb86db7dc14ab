package sample

import "testing"

// tp is a process of a synthetic tree: pid, parent pid (0: not in the
// tree), start tick and CPU counter.
type tp struct {
	pid, ppid int32
	start     uint64
	cpu       uint64
}

func treeAt(procs ...tp) map[procKey]accEntry {
	starts := map[int32]uint64{}
	for _, p := range procs {
		starts[p.pid] = p.start
	}
	m := map[procKey]accEntry{}
	for _, p := range procs {
		e := accEntry{start: p.start}
		e.v[cntCPU] = p.cpu
		e.v[cntWrite] = p.cpu * 10
		if s, ok := starts[p.ppid]; ok {
			e.parent = procKey{p.ppid, s}
		}
		m[procKey{p.pid, p.start}] = e
	}
	return m
}

// TestAccountChurn steps the account through the ways processes come and
// go, and checks each interval against what the tree really used.
func TestAccountChurn(t *testing.T) {
	steps := []struct {
		name   string
		uptime uint64
		tree   map[procKey]accEntry
		want   uint64 // CPU ticks used in the interval
	}{
		{"baseline", 1000, treeAt(tp{10, 1, 5, 100}, tp{11, 10, 500, 50}, tp{12, 10, 600, 30}), 0},
		{"steady", 1100, treeAt(tp{10, 1, 5, 110}, tp{11, 10, 500, 80}, tp{12, 10, 600, 40}), 10 + 30 + 10},
		// 11 used 20 more and exited; 10 reaped it: its cutime grew by
		// 11's final 100. 10 itself used 5.
		{"child reaped", 1200, treeAt(tp{10, 1, 5, 110 + 5 + 100}, tp{12, 10, 600, 40}), 5 + 20},
		// 13 started after the previous tick and has used 7.
		{"child born", 1300, treeAt(tp{10, 1, 5, 215}, tp{12, 10, 600, 40}, tp{13, 10, 1250, 7}), 7},
		// 14 was born and reaped within the interval: only the parent's
		// counter shows it (cutime +9).
		{"short-lived child", 1400, treeAt(tp{10, 1, 5, 224}, tp{12, 10, 600, 40}, tp{13, 10, 1250, 7}), 9},
		// The scan read 10 before it reaped 13 (13's final: 9) and 13
		// after: 13 is missing and 10 does not show it yet. The
		// interval counts nothing for either (13's last 2 ticks are owed).
		{"reap raced the scan", 1500, treeAt(tp{10, 1, 5, 224}, tp{12, 10, 600, 40}), 0},
		// Now 10 shows 13's final 9: 7 of it were counted already.
		{"reap seen late", 1600, treeAt(tp{10, 1, 5, 233}, tp{12, 10, 600, 40}), 2},
		// 12 (pid reused later) exits, and a new process gets pid 12.
		{"pid reused", 1700, treeAt(tp{10, 1, 5, 233 + 45}, tp{12, 10, 1650, 3}), 5 + 3},
		// 12 and its parent... a middle process 15 under 12 with a child
		// 16; both 12's subtree vanish, reaped in turn into 10.
		{"grandchildren", 1800, treeAt(tp{10, 1, 5, 278}, tp{12, 10, 1650, 3}, tp{15, 12, 1750, 4}, tp{16, 15, 1760, 6}), 10},
		{"subtree reaped", 1900, treeAt(tp{10, 1, 5, 278 + 3 + 5 + 8}), 1 + 2},
	}
	var a account
	for i, s := range steps {
		used, ok := a.step(s.tree, s.uptime)
		if i == 0 {
			if ok {
				t.Fatalf("%s: the first step reported usage", s.name)
			}
			continue
		}
		if !ok {
			t.Fatalf("%s: no usage reported", s.name)
		}
		if used[cntCPU] != s.want {
			t.Errorf("%s: used %d ticks, want %d", s.name, used[cntCPU], s.want)
		}
		if used[cntWrite] != 10*s.want {
			t.Errorf("%s: wrote %d, want %d (the same accounting per counter)", s.name, used[cntWrite], 10*s.want)
		}
	}
}

func TestAccountOldProcessJoining(t *testing.T) {
	var a account
	a.step(treeAt(tp{10, 1, 5, 100}), 1000)
	// 20 started long before the previous tick (a match that only now
	// matches): its past is not this interval's.
	used, _ := a.step(treeAt(tp{10, 1, 5, 101}, tp{20, 1, 50, 5000}), 1100)
	if used[cntCPU] != 1 {
		t.Errorf("used %d, want 1", used[cntCPU])
	}
	// An empty tick (nothing matched) moves the baseline: a process
	// started after it counts in full.
	if _, ok := a.step(map[procKey]accEntry{}, 1200); !ok {
		t.Error("an empty tick is a known interval (nothing used)")
	}
	used, ok := a.step(treeAt(tp{30, 1, 1250, 12}), 1300)
	if !ok || used[cntCPU] != 12 {
		t.Errorf("after an empty tick: used %d, %v; want 12", used[cntCPU], ok)
	}
	// The same after an empty tick, for a process that was there all
	// along: its use in the interval is unknown, not zero.
	a.step(map[procKey]accEntry{}, 1400)
	if _, ok := a.step(treeAt(tp{10, 1, 5, 150}), 1500); ok {
		t.Error("usage reported for an interval where no process was known")
	}
}

func TestAccountIgnoredSIGCHLD(t *testing.T) {
	// A parent that ignores SIGCHLD never receives its children's
	// counters: what it owes for a vanished child is dropped after one
	// tick instead of eating its own use for ever.
	var a account
	a.step(treeAt(tp{10, 1, 5, 100}, tp{11, 10, 500, 500}), 1000)
	cpu := uint64(100)
	for i := range 4 { // 10 uses 2 ticks per interval
		cpu += 2
		used, _ := a.step(treeAt(tp{10, 1, 5, cpu}), uint64(1100+100*i))
		want := uint64(2)
		if i < 2 {
			want = 0 // paying for 11, at most two ticks
		}
		if used[cntCPU] != want {
			t.Errorf("tick %d: used %d, want %d", i, used[cntCPU], want)
		}
	}
}
