// Package sample measures what services consume.
//
// A [Sampler] returns the current values of the resources it measures for one
// service. The producer package calls every sampler once per tick and
// publishes what they return.
//
// # Samplers
//
// Each sampler measures the service itself, not the machine around it:
//
//	NewProcess(svc, pid)           a process and all its descendants
//	NewPIDFile(svc, path)          the same, for the PID a file names (followed across restarts)
//	NewProcessMatch(svc, pattern)  every process whose name or command line matches, with descendants
//	NewCgroup(svc, path)           a cgroup, v2 or v1, by directory or cgroup path
//	NewProcessCgroup(svc, pid)     the cgroups a process is in
//	NewContainer(svc, idOrName)    a Docker, containerd, CRI-O or Podman container
//	NewUnit(svc, unit)             a systemd unit
//	NewPod(svc, uid)               a Kubernetes pod; NewPodContainer for one of its containers
//	NewHost(svc)                   the whole machine, as the seed's producers measured it
//	SamplerFunc                    anything else
//
// A program that lets its user choose what to measure reads a [Target]
// ("pid:4242", "container:my-db", "unit:nginx", "host") with [ParseTarget]
// and builds its sampler with [New], which calls the constructor of the
// target's kind.
//
// Values follow the units of the rightsize package: cpu in cores, memory
// (the working set) in bytes, disk.read and disk.write in bytes per second,
// cpu.throttled in CPU-seconds per second, oom.kills as a count per interval,
// threads as a count. Counters (CPU time, bytes, OOM kills) become rates over
// the real time elapsed between two Sample calls: the first call returns the
// gauges (memory, threads) and sets the baseline of the rest. A sampler
// returns what it could read together with an error naming what it could
// not; when its target is gone for good, an error matching [ErrGone].
//
// # Options
//
// Options are values of small interfaces named after the constructors that
// take them, so that an option a constructor has no use for (a Docker
// directory given to NewProcess, say) does not compile:
//
//	type           taken by                                  options
//	Option         every sampler                             WithTask, WithInstance
//	CommonOption   every sampler and NewScanner              WithProcRoot, WithClock
//	ProcessOption  NewProcess, NewPIDFile, NewProcessMatch   WithScanner
//	CgroupOption   NewCgroup, NewProcessCgroup, NewContainer,
//	               NewUnit, NewPod, NewPodContainer          WithMountInfo, WithDockerRoot
//	HostFSOption   the cgroup samplers and NewHost           WithHostRoot
//	HostOption     NewHost                                   WithDiskPath
//	ScannerOption  NewScanner                                WithScanMaxAge
//
// Wider types satisfy narrower ones: every [Option] is a [ProcessOption], a
// [CgroupOption] and a [HostOption]. [New] takes any [SamplerOption] and
// gives each to the constructor of the target's kind when it is one of its
// options, so that one list serves targets of every kind.
//
// # Process trees
//
// A process sampler reads /proc itself: gopsutil's process package is
// right for one process but, for a tree sampled every second, its
// CPUPercent is a lifetime average, Children scans all of /proc for each
// process, and Times loses the time of children that have exited. Each tick
// reads /proc/[0-9]*/stat once (a [Scanner], which samplers may share), builds
// the parent map once, and walks the tree from its roots; only the tree's
// members have /proc/<pid>/io read. A process stays in the tree while it lives
// (it is tracked by PID and start time), even if re-parented away from it.
//
// The CPU of a tree is the sum, over its processes, of
// utime+stime+cutime+cstime: a process's own time and that of the children
// it has reaped. Between two ticks the tree used the increase of that sum
// for the processes seen both times, all of it for processes started in
// the interval, less, for each process that went away, the value it had at
// the previous tick, taken from the nearest ancestor that reaped it. A child
// exiting between two ticks therefore neither makes the CPU negative (its
// time is not lost) nor makes it jump (its time is not counted twice). Bytes
// read and written (/proc/<pid>/io read_bytes, write_bytes, which also
// include reaped children) are accounted the same way. Memory is the sum of
// resident set sizes, threads the sum of thread counts.
//
// The cost of a tick is that of reading every process's stat file once (a
// few microseconds each) plus one io file per member: with one Scanner
// shared by all samplers, 20 services sampled every second cost a fraction of
// one percent of one core on a host with a hundred or so processes (see the
// BenchmarkTick benchmarks), tens to hundreds of times less than gopsutil's
// per-process calls.
//
// # Cgroups
//
// A cgroup sampler reads the files of the cgroup's controllers: cgroup v2
// where the cgroup has them, else cgroup v1 (hosts with v1 only, or hybrids
// of v1 controllers and a v2 hierarchy). The hierarchies are read from
// mountinfo, never assumed at fixed paths. A container, unit or pod is
// resolved once, by the names runtimes and the kubelet give their cgroups;
// see [Cgroup] for the files read and their limits.
//
// # Testing against fixtures
//
// Every sampler reads through a proc root ([WithProcRoot]) and, for cgroups,
// the mountinfo it is given and a host root below which mount points are
// found ([WithHostRoot]), so its parsers run against fixture trees; see
// testdata in this package's source.
package sample

import (
	"context"

	"github.com/rightsize/rightsize"
)

// Sampler measures one service.
//
// Sample returns the service's current values, all with the same Time. It
// returns what it could collect together with an error that says what it
// could not: a sampler that reads four resources and fails on one returns
// three samples and an error naming the fourth. Counters (CPU time, bytes
// read) are turned into rates over the real time elapsed since the previous
// call, so the first call after construction may return no rate at all.
//
// When what the sampler measures has gone for good (the process exited, the
// cgroup was removed) Sample returns an error matching ErrGone and its
// caller stops calling it.
//
// Sample is called from one goroutine at a time; implementations need not be
// safe for concurrent use.
type Sampler interface {
	Sample(ctx context.Context) ([]rightsize.Sample, error)
}

// SamplerFunc adapts a function to the Sampler interface.
type SamplerFunc func(ctx context.Context) ([]rightsize.Sample, error)

// Sample calls f(ctx).
func (f SamplerFunc) Sample(ctx context.Context) ([]rightsize.Sample, error) { return f(ctx) }
