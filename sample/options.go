package sample

import "time"

// The option types are named after the constructors that take them; the
// package documentation has the table of which takes which.

// A SamplerOption configures one sampler constructor or more: it is the
// type of every option but WithScanMaxAge. New takes any.
type SamplerOption interface{ apply(*config) }

// A ProcessOption configures the process samplers: NewProcess, NewPIDFile
// and NewProcessMatch. Every Option is one.
type ProcessOption interface {
	SamplerOption
	processOption()
}

// A CgroupOption configures the cgroup samplers: NewCgroup,
// NewProcessCgroup, NewContainer, NewUnit, NewPod and NewPodContainer.
// Every Option is one.
type CgroupOption interface {
	SamplerOption
	cgroupOption()
}

// A HostOption configures NewHost. Every Option is one.
type HostOption interface {
	SamplerOption
	hostOption()
}

// An Option configures every sampler of this package: it is a
// ProcessOption, a CgroupOption and a HostOption.
type Option interface {
	ProcessOption
	CgroupOption
	HostOption
}

// A HostFSOption configures the samplers that read the host's file
// systems beyond /proc: it is a CgroupOption and a HostOption.
type HostFSOption interface {
	CgroupOption
	HostOption
}

// A ScannerOption configures NewScanner.
type ScannerOption interface{ applyScanner(*config) }

// A CommonOption configures every sampler and NewScanner: it is an Option
// and a ScannerOption.
type CommonOption interface {
	Option
	ScannerOption
}

// The values the option functions return: an apply function, and the
// markers of the constructors that take it.
type (
	optionFunc func(*config)
	forProcess struct{}
	forCgroup  struct{}
	forHost    struct{}

	samplerOpt struct {
		optionFunc
		forProcess
		forCgroup
		forHost
	}
	commonOpt  struct{ samplerOpt }
	processOpt struct {
		optionFunc
		forProcess
	}
	cgroupOpt struct {
		optionFunc
		forCgroup
	}
	hostOpt struct {
		optionFunc
		forHost
	}
	hostFSOpt struct {
		optionFunc
		forCgroup
		forHost
	}
	scannerOpt func(*config)
)

func (f optionFunc) apply(c *config)        { f(c) }
func (forProcess) processOption()           {}
func (forCgroup) cgroupOption()             {}
func (forHost) hostOption()                 {}
func (o commonOpt) applyScanner(c *config)  { o.apply(c) }
func (f scannerOpt) applyScanner(c *config) { f(c) }

var (
	_ Option        = samplerOpt{}
	_ CommonOption  = commonOpt{}
	_ ProcessOption = processOpt{}
	_ CgroupOption  = cgroupOpt{}
	_ HostOption    = hostOpt{}
	_ HostFSOption  = hostFSOpt{}
	_ ScannerOption = scannerOpt(nil)
)

// Defaults of the options.
const (
	DefaultProcRoot    = "/proc"
	DefaultDockerRoot  = "/var/lib/docker"
	DefaultScanMaxAge  = 200 * time.Millisecond
	defaultDiskPath    = "/"
	defaultKubeLogRoot = "/var/log"
)

// WithTask sets the Task of every sample: the unit of work the service runs
// for (an image ID in the seed). Default: empty, for long-running services.
func WithTask(task string) Option {
	return samplerOpt{optionFunc: func(c *config) { c.task = task }}
}

// WithInstance sets the Instance of every sample: where the service runs
// (host, pod or container name), so that replicas stay apart. Default: the
// host name (os.Hostname); empty if it cannot be read.
func WithInstance(instance string) Option {
	return samplerOpt{optionFunc: func(c *config) { c.instance, c.instSet = instance, true }}
}

// WithProcRoot sets the directory where the proc file system is mounted.
// Default: "/proc". A sampler running in a container that sees the host's
// proc file system at /host/proc uses WithProcRoot("/host/proc"); tests
// point it at a fixture tree.
func WithProcRoot(dir string) CommonOption {
	return commonOpt{samplerOpt{optionFunc: func(c *config) { c.procRoot = dir }}}
}

// WithClock sets the function samplers and Scanners read the time from.
// Rates are computed over the difference of two of its readings, so it
// should carry a monotonic clock reading, as time.Now's do. Default:
// time.Now. Tests use a fake clock to get exact rates from fixture trees.
func WithClock(now func() time.Time) CommonOption {
	return commonOpt{samplerOpt{optionFunc: func(c *config) { c.now = now }}}
}

// WithScanner makes a process sampler read the process table through s,
// which shares one scan of /proc between all the samplers that use it: with
// twenty services sampled every second the table is read once a second, not
// twenty times. Default: each process sampler scans on its own. The
// sampler then uses s's proc root and clock: a WithProcRoot that differs
// from s's is an error, and s's clock times the readings.
func WithScanner(s *Scanner) ProcessOption {
	return processOpt{optionFunc: func(c *config) { c.scanner = s }}
}

// WithMountInfo sets the file the cgroup samplers read the cgroup mounts
// from, in the format of /proc/<pid>/mountinfo. Default:
// "<proc root>/self/mountinfo", the mounts this process sees. A sampler in a
// container that watches the host uses the host's view, for example
// WithMountInfo("/host/proc/1/mountinfo") with WithHostRoot("/host").
func WithMountInfo(path string) CgroupOption {
	return cgroupOpt{optionFunc: func(c *config) { c.mountinfo = path }}
}

// WithDockerRoot sets Docker's state directory, where NewContainer looks up
// container names (containers/*/config.v2.json). Default: "/var/lib/docker",
// below the host root if one is set.
func WithDockerRoot(dir string) CgroupOption {
	return cgroupOpt{optionFunc: func(c *config) { c.docker = dir }}
}

// WithHostRoot sets a directory prepended to every host path the cgroup
// samplers and NewHost use: the mount points read from mountinfo, Docker's
// state directory, the kubelet's log directories and the disk path.
// Default: none (the paths are used as they are). Use it when the host's
// file systems are mounted below a directory (WithHostRoot("/host")) and in
// tests with fixture trees.
func WithHostRoot(dir string) HostFSOption {
	return hostFSOpt{optionFunc: func(c *config) { c.hostRoot = dir }}
}

// WithDiskPath sets the file system whose usage the host sampler reports as
// disk.percent. Default: "/", below the host root if one is set.
func WithDiskPath(path string) HostOption {
	return hostOpt{optionFunc: func(c *config) { c.diskPath = path }}
}

// WithScanMaxAge sets how long a Scanner's reading of the process table
// serves the samplers that share it: a sampler asking within that time gets
// the same reading, one asking later causes a new scan. Keep it well below
// the sampling interval (at most half of it). Default: 200ms.
func WithScanMaxAge(d time.Duration) ScannerOption {
	return scannerOpt(func(c *config) { c.maxAge = d })
}
