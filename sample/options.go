package sample

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/clip"
)

// Option configures a sampler or a Scanner. One Option type serves every
// constructor of this package; an option that does not apply to what is
// being built (a Docker directory for a process sampler, say) is ignored.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is what the options set. Its zero value is not usable: newConfig
// fills in the defaults.
type config struct {
	task      string
	instance  string
	instSet   bool
	procRoot  string
	mountinfo string // "" means <procRoot>/self/mountinfo
	hostRoot  string
	docker    string
	diskPath  string
	now       func() time.Time
	scanner   *Scanner
	maxAge    time.Duration
}

// WithTask sets the Task of every sample: the unit of work the service runs
// for (an image ID in the seed). Default: empty, for long-running services.
func WithTask(task string) Option { return optionFunc(func(c *config) { c.task = task }) }

// WithInstance sets the Instance of every sample: where the service runs
// (host, pod or container name), so that replicas stay apart. Default: the
// host name (os.Hostname); empty if it cannot be read.
func WithInstance(instance string) Option {
	return optionFunc(func(c *config) { c.instance, c.instSet = instance, true })
}

// WithProcRoot sets the directory where the proc file system is mounted.
// Default: "/proc". A sampler running in a container that sees the host's
// proc file system at /host/proc uses WithProcRoot("/host/proc"); tests
// point it at a fixture tree.
func WithProcRoot(dir string) Option { return optionFunc(func(c *config) { c.procRoot = dir }) }

// WithMountInfo sets the file the cgroup samplers read the cgroup mounts
// from, in the format of /proc/<pid>/mountinfo. Default:
// "<proc root>/self/mountinfo", the mounts this process sees. A sampler in a
// container that watches the host uses the host's view, for example
// WithMountInfo("/host/proc/1/mountinfo") with WithHostRoot("/host").
func WithMountInfo(path string) Option { return optionFunc(func(c *config) { c.mountinfo = path }) }

// WithHostRoot sets a directory prepended to every host path the cgroup
// samplers use: the mount points read from mountinfo, Docker's state
// directory and the kubelet's log directories. Default: none (the paths are
// used as they are). Use it when the host's file systems are mounted below a
// directory (WithHostRoot("/host")) and in tests with fixture trees.
func WithHostRoot(dir string) Option { return optionFunc(func(c *config) { c.hostRoot = dir }) }

// WithDockerRoot sets Docker's state directory, where NewContainer looks up
// container names (containers/*/config.v2.json). Default: "/var/lib/docker",
// below the host root if one is set.
func WithDockerRoot(dir string) Option { return optionFunc(func(c *config) { c.docker = dir }) }

// WithDiskPath sets the file system whose usage the host sampler reports as
// disk.percent. Default: "/", below the host root if one is set.
func WithDiskPath(path string) Option { return optionFunc(func(c *config) { c.diskPath = path }) }

// WithClock sets the function samplers read the time from. Rates are
// computed over the difference of two of its readings, so it should carry a
// monotonic clock reading, as time.Now's do. Default: time.Now. Tests use a
// fake clock to get exact rates from fixture trees.
func WithClock(now func() time.Time) Option { return optionFunc(func(c *config) { c.now = now }) }

// WithScanner makes a process sampler read the process table through s,
// which shares one scan of /proc between all the samplers that use it: with
// twenty services sampled every second the table is read once a second, not
// twenty times. Default: each process sampler scans on its own. The
// sampler then uses s's proc root and clock: a WithProcRoot that differs
// from s's is an error, WithClock is ignored.
func WithScanner(s *Scanner) Option { return optionFunc(func(c *config) { c.scanner = s }) }

// WithScanMaxAge sets how long a Scanner's reading of the process table
// serves the samplers that share it: a sampler asking within that time gets
// the same reading, one asking later causes a new scan. Keep it well below
// the sampling interval (at most half of it). Default: 200ms. Applies to
// NewScanner only.
func WithScanMaxAge(d time.Duration) Option { return optionFunc(func(c *config) { c.maxAge = d }) }

// Defaults of the options.
const (
	DefaultProcRoot    = "/proc"
	DefaultDockerRoot  = "/var/lib/docker"
	DefaultScanMaxAge  = 200 * time.Millisecond
	defaultDiskPath    = "/"
	defaultKubeLogRoot = "/var/log"
)

func newConfig(opts []Option) *config {
	c := &config{procRoot: DefaultProcRoot, maxAge: DefaultScanMaxAge}
	for _, o := range opts {
		if o != nil {
			o.apply(c)
		}
	}
	if !c.instSet {
		c.instance, _ = os.Hostname()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.docker == "" {
		c.docker = DefaultDockerRoot
	}
	if c.diskPath == "" {
		c.diskPath = defaultDiskPath
	}
	return c
}

// mountinfoPath is the mountinfo file the cgroup samplers read.
func (c *config) mountinfoPath() string {
	if c.mountinfo != "" {
		return c.mountinfo
	}
	return filepath.Join(c.procRoot, "self", "mountinfo")
}

// host returns path below the host root.
func (c *config) host(path string) string {
	if c.hostRoot == "" {
		return path
	}
	return filepath.Join(c.hostRoot, path)
}

// validate checks the labels every sample will carry, so that a bad service
// name is reported by the constructor, not by every tick.
func (c *config) validate(service string) error {
	s := rightsize.Sample{Service: service, Task: c.task, Instance: c.instance, Resource: rightsize.CPU, Time: time.Unix(1, 0)}
	if err := s.Validate(); err != nil {
		return fmt.Errorf("sample: service %q: %w", clip.String(service, 60), err)
	}
	if c.procRoot == "" {
		return errors.New("sample: proc root is empty")
	}
	if c.maxAge < 0 {
		return fmt.Errorf("sample: scan max age %v is negative", c.maxAge)
	}
	return nil
}

// labels makes the samples of one tick.
type labels struct {
	task, service, instance string
}

func (c *config) labels(service string) labels {
	return labels{task: c.task, service: service, instance: c.instance}
}

func (l labels) sample(resource string, value float64, t time.Time) rightsize.Sample {
	return rightsize.Sample{Task: l.task, Service: l.service, Instance: l.instance, Resource: resource, Value: value, Time: t}
}
