package sample

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
)

const meminfo = `MemTotal:       16000000 kB
MemFree:         2000000 kB
MemAvailable:   12000000 kB
Buffers:          500000 kB
Cached:          9000000 kB
SwapCached:            0 kB
Active:          6000000 kB
Inactive:        6000000 kB
SwapTotal:             0 kB
SwapFree:              0 kB
Shmem:            100000 kB
SReclaimable:     400000 kB
`

func TestHostFixture(t *testing.T) {
	proc := t.TempDir()
	writeFile(t, filepath.Join(proc, "stat"), "cpu  1000 0 500 8000 100 0 0 0 0 0\ncpu0 1000 0 500 8000 100 0 0 0 0 0\n")
	writeFile(t, filepath.Join(proc, "meminfo"), meminfo)
	clock := newFakeClock()
	h, err := NewHost("host", WithProcRoot(proc), WithDiskPath(t.TempDir()), WithClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := h.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := values(t, first)
	if _, ok := got[rightsize.CPU]; ok {
		t.Error("cpu on the first Sample")
	}
	if !near(got[rightsize.Memory], 4000000*1024) || !near(got[rightsize.MemoryPercent], 25) {
		t.Errorf("memory: %v", got)
	}
	if d := got[rightsize.DiskPercent]; d <= 0 || d > 100 {
		t.Errorf("disk.percent = %v", d)
	}
	// Ten seconds: 100 user, 50 system, 50 softirq ticks busy, 300 idle.
	clock.advance(10 * time.Second)
	writeFile(t, filepath.Join(proc, "stat"), "cpu  1100 0 550 8300 100 0 50 0 0 0\ncpu0 1100 0 550 8300 100 0 50 0 0 0\n")
	second, err := h.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got = values(t, second)
	if !near(got[rightsize.CPU], 0.2) || !near(got[rightsize.CPUPercent], 40) {
		t.Errorf("cpu: %v", got)
	}
	var order []string
	for _, s := range second {
		order = append(order, s.Resource)
	}
	t.Logf("order: %v", order)
}

func TestHostReal(t *testing.T) {
	h, err := NewHost("host")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := h.Sample(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	out, err := h.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := values(t, out)
	if c := got[rightsize.CPU]; c < 0 || c > float64(runtime.NumCPU())+0.5 {
		t.Errorf("cpu = %v cores on %d CPUs", c, runtime.NumCPU())
	}
	for _, r := range []string{rightsize.CPUPercent, rightsize.MemoryPercent, rightsize.DiskPercent} {
		if v, ok := got[r]; !ok || v < 0 || v > 100 {
			t.Errorf("%s = %v, %v", r, v, ok)
		}
	}
	if got[rightsize.Memory] <= 0 {
		t.Errorf("memory = %v", got[rightsize.Memory])
	}
}

func TestHostErrors(t *testing.T) {
	if _, err := NewHost("host", WithProcRoot(t.TempDir())); err == nil {
		t.Error("NewHost accepted a proc root without stat or meminfo")
	}
	if _, err := NewHost("host", WithDiskPath("/no/such/dir")); err == nil {
		t.Error("NewHost accepted a disk path that does not exist")
	}
}

// TestHostCallersContext checks that Sample works in the caller's context:
// one that has ended ends the call, one carrying values of its own still
// reads the sampler's proc root.
func TestHostCallersContext(t *testing.T) {
	proc := t.TempDir()
	writeFile(t, filepath.Join(proc, "stat"), "cpu  1000 0 500 8000 100 0 0 0 0 0\n")
	writeFile(t, filepath.Join(proc, "meminfo"), meminfo)
	h, err := NewHost("host", WithProcRoot(proc), WithDiskPath(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if out, err := h.Sample(ctx); !errors.Is(err, context.Canceled) || len(out) != 0 {
		t.Errorf("cancelled context: %v, %v", out, err)
	}
	type key struct{}
	out, err := h.Sample(context.WithValue(context.Background(), key{}, "x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := values(t, out); !near(got[rightsize.Memory], 4000000*1024) {
		t.Errorf("memory %v: not read from the proc root", got[rightsize.Memory])
	}
}
