package workload

import (
	"os"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	MaybeRun()
	os.Exit(m.Run())
}

func TestParseRoundTrip(t *testing.T) {
	s := Spec{CPU: 0.5, Memory: 64 << 20, Duration: 3 * time.Second}
	got, err := Parse(s.String())
	if err != nil || got != s {
		t.Fatalf("Parse(%q) = %+v, %v", s.String(), got, err)
	}
	for _, bad := range []string{"cpu", "cpu=x", "cpu=-1", "gpu=1", "memory=-5", "cpu=1000"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// runChild runs spec as a child and returns the kernel's accounting of it
// (rusage of the reaped child): CPU time used over its life and peak RSS.
func runChild(t *testing.T, spec Spec) (cpu time.Duration, maxRSS int64) {
	t.Helper()
	p, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	ru := p.Wait()
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss << 10
}

func TestAccuracyChildBurnsShare(t *testing.T) {
	spec := Spec{CPU: 0.5, Duration: 3 * time.Second}
	cpu, _ := runChild(t, spec)
	share := cpu.Seconds() / spec.Duration.Seconds()
	t.Logf("child used %v CPU over %v: %.3f cores", cpu, spec.Duration, share)
	if share < 0.4 || share > 0.6 {
		t.Errorf("child burned %.3f cores, want 0.5", share)
	}
}

func TestStopKillsTheChild(t *testing.T) {
	p, err := Start(Spec{CPU: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(p.Pid(), 0); err != nil {
		t.Fatalf("child %d not running: %v", p.Pid(), err)
	}
	p.Stop()
	p.Stop()
	if err := syscall.Kill(p.Pid(), 0); err == nil {
		t.Errorf("child %d still running after Stop", p.Pid())
	}
}

func TestAccuracyChildHoldsMemory(t *testing.T) {
	spec := Spec{Memory: 64 << 20, Duration: 500 * time.Millisecond}
	_, rss := runChild(t, spec)
	t.Logf("child peak RSS %d KiB", rss>>10)
	if rss < spec.Memory || rss > spec.Memory+32<<20 {
		t.Errorf("child peak RSS %d bytes, want %d plus a runtime's worth", rss, spec.Memory)
	}
}
