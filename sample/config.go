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

// newConfig returns the settings of a sampler of service: the defaults,
// changed by opts, checked.
func newConfig[O SamplerOption](service string, opts []O) (*config, error) {
	c := &config{procRoot: DefaultProcRoot, maxAge: DefaultScanMaxAge}
	for _, o := range opts {
		if any(o) != nil {
			o.apply(c)
		}
	}
	return c.complete(service)
}

// newScannerConfig returns the settings of a Scanner.
func newScannerConfig(opts []ScannerOption) (*config, error) {
	c := &config{procRoot: DefaultProcRoot, maxAge: DefaultScanMaxAge}
	for _, o := range opts {
		if o != nil {
			o.applyScanner(c)
		}
	}
	return c.complete("scanner")
}

// complete fills in the defaults that depend on the options and checks the
// result, and the labels every sample of service will carry, so that a bad
// service name is reported by the constructor, not by every tick.
func (c *config) complete(service string) (*config, error) {
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
	s := rightsize.Sample{Service: service, Task: c.task, Instance: c.instance, Resource: rightsize.CPU, Time: time.Unix(1, 0)}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("sample: service %q: %w", clip.String(service, 60), err)
	}
	if c.procRoot == "" {
		return nil, errors.New("sample: proc root is empty")
	}
	if c.maxAge < 0 {
		return nil, fmt.Errorf("sample: scan max age %v is negative", c.maxAge)
	}
	return c, nil
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
