package sample

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/mem"

	"github.com/rightsize/rightsize"
)

// Host measures the whole machine, as the seed's Python producers did, and
// in the units of the other samplers for context:
//
//	cpu             cores busy: Δ(user+nice+system+irq+softirq) / Δwall (/proc/stat)
//	memory          bytes in use: MemTotal − MemAvailable
//	cpu.percent     100 × Δbusy / Δ(all CPU time, idle and iowait included), like psutil.cpu_percent
//	memory.percent  100 × (MemTotal − MemAvailable) / MemTotal, like psutil.virtual_memory().percent
//	disk.percent    used / (used + available to users) of the disk path's file system, like psutil.disk_usage
//
// It reads them with gopsutil (cpu.Times, mem.VirtualMemory, disk.Usage),
// which is correct and cheap for host-wide figures. The first Sample
// reports no cpu or cpu.percent: they are rates, and it sets their baseline.
type Host struct {
	labels   labels
	now      func() time.Time
	env      common.EnvMap // gopsutil's proc root, added to the caller's context
	diskPath string

	prev     cpu.TimesStat
	prevTime time.Time
	primed   bool
}

var _ Sampler = (*Host)(nil)

// NewHost returns a sampler of the whole machine. It uses WithProcRoot (for
// /proc/stat and /proc/meminfo), WithHostRoot and WithDiskPath (for
// disk.percent), WithClock and the labelling options. It reads everything
// once and fails if any of it cannot be read.
func NewHost(service string, opts ...HostOption) (*Host, error) {
	c, err := newConfig(service, opts)
	if err != nil {
		return nil, err
	}
	h := &Host{
		labels:   c.labels(service),
		now:      c.now,
		env:      common.EnvMap{common.HostProcEnvKey: c.procRoot},
		diskPath: c.host(c.diskPath),
	}
	ctx := h.context(context.Background())
	if _, err := cpu.TimesWithContext(ctx, false); err != nil {
		return nil, &TargetError{"host", c.procRoot, fmt.Errorf("cpu: %w", err)}
	}
	if _, err := mem.VirtualMemoryWithContext(ctx); err != nil {
		return nil, &TargetError{"host", c.procRoot, fmt.Errorf("memory: %w", err)}
	}
	if _, err := disk.UsageWithContext(ctx, h.diskPath); err != nil {
		return nil, &TargetError{"host", h.diskPath, fmt.Errorf("disk: %w", err)}
	}
	return h, nil
}

// Sample implements Sampler.
func (h *Host) Sample(ctx context.Context) ([]rightsize.Sample, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx = h.context(ctx)
	now := h.now()
	t := now.Round(0)
	var out []rightsize.Sample
	var errs []error
	var cpuSamples []rightsize.Sample
	if ts, err := cpu.TimesWithContext(ctx, false); err != nil || len(ts) == 0 {
		errs = append(errs, fmt.Errorf("cpu: %w", errors.Join(err, errNoData)))
		h.primed = false
	} else {
		cur := ts[0]
		if dt := now.Sub(h.prevTime).Seconds(); h.primed && dt > 0 {
			busy := hostBusy(cur) - hostBusy(h.prev)
			total := hostTotal(cur) - hostTotal(h.prev)
			if busy >= 0 && total > 0 {
				cpuSamples = append(cpuSamples,
					h.labels.sample(rightsize.CPU, busy/dt, t),
					h.labels.sample(rightsize.CPUPercent, min(100*busy/total, 100), t))
			}
		}
		h.prev, h.prevTime, h.primed = cur, now, true
	}
	if len(cpuSamples) > 0 {
		out = append(out, cpuSamples[0])
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		errs = append(errs, fmt.Errorf("memory: %w", err))
	} else {
		out = append(out, h.labels.sample(rightsize.Memory, float64(vm.Total-min(vm.Available, vm.Total)), t))
	}
	if len(cpuSamples) > 1 {
		out = append(out, cpuSamples[1])
	}
	if err == nil && vm.Total > 0 {
		out = append(out, h.labels.sample(rightsize.MemoryPercent, 100*float64(vm.Total-min(vm.Available, vm.Total))/float64(vm.Total), t))
	}
	if du, err := disk.UsageWithContext(ctx, h.diskPath); err != nil {
		errs = append(errs, fmt.Errorf("disk: %w", err))
	} else {
		out = append(out, h.labels.sample(rightsize.DiskPercent, du.UsedPercent, t))
	}
	if len(errs) > 0 {
		return out, &TargetError{"host", "", errors.Join(errs...)}
	}
	return out, nil
}

// context is ctx carrying the proc root to gopsutil.
func (h *Host) context(ctx context.Context) context.Context {
	return context.WithValue(ctx, common.EnvKey, h.env)
}

// hostBusy is the CPU time spent running something, in seconds: guest time
// is part of user time already, and steal is time the hypervisor gave to
// others.
func hostBusy(t cpu.TimesStat) float64 {
	return t.User + t.Nice + t.System + t.Irq + t.Softirq
}

// hostTotal is all CPU time, in seconds.
func hostTotal(t cpu.TimesStat) float64 {
	return t.User + t.Nice + t.System + t.Irq + t.Softirq + t.Idle + t.Iowait + t.Steal
}
