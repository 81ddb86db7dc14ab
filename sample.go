package rightsize

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rightsize/rightsize/internal/clip"
)

// Sample is one measured value of one resource of one service at one time.
//
// It is the seed's row (image_ID, service, resource, value, timestamp) plus
// Instance, which says where the service ran (host, pod or container name)
// so that replicas on several nodes stay apart.
type Sample struct {
	// Task is the unit of work the service ran for (an image ID in the
	// seed). Empty for long-running services.
	Task string
	// Service names what was measured. Required.
	Service string
	// Instance says where the service ran: host, pod or container name.
	// Optional.
	Instance string
	// Resource is the resource's name: one of the Resource constants or a
	// custom Kubernetes-style name (see ValidResourceName).
	Resource string
	// Value is a gauge in the resource's base unit (cores, bytes, bytes/s,
	// count). It is finite and not negative.
	Value float64
	// Time is when the value was measured. It must not be zero.
	Time time.Time
}

// ErrInvalidSample is matched (with errors.Is) by every error Validate returns.
var ErrInvalidSample = errors.New("invalid sample")

// SampleError says which field of a Sample is invalid and why.
type SampleError struct {
	Field  string // "Service", "Resource", "Value", "Time", ...
	Reason string
}

func (e *SampleError) Error() string {
	return fmt.Sprintf("invalid sample: %s %s", e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrInvalidSample) true.
func (e *SampleError) Unwrap() error { return ErrInvalidSample }

// Validate reports the first problem with s, as a *SampleError, or nil.
//
// A sample needs a service name, a valid resource name, a finite value that
// is not negative, and a time between [EarliestTime] and [LatestTime]
// (the years 1678 to 2262: what every store can hold). Service, task and
// instance names may be any valid UTF-8 text without control characters,
// up to 253 bytes.
//
// It is the one validity rule of rightsize: the producer checks it before
// publishing, the consumer's decoder before a sample reaches a sink, and
// the stores before writing, so a sample the decoder accepts is never
// refused by a store.
func (s Sample) Validate() error {
	if err := s.validateLabels(); err != nil {
		return err
	}
	if err := ValidResourceName(s.Resource); err != nil {
		return &SampleError{"Resource", err.Error()}
	}
	return s.validateValueTime()
}

func (s Sample) validateLabels() error {
	if s.Service == "" {
		return &SampleError{"Service", "is empty"}
	}
	for _, f := range [...]struct{ name, v string }{{"Service", s.Service}, {"Task", s.Task}, {"Instance", s.Instance}} {
		if err := validLabel(f.v); err != "" {
			return &SampleError{f.name, fmt.Sprintf("%q %s", clip.String(f.v, 40), err)}
		}
	}
	return nil
}

func (s Sample) validateValueTime() error {
	switch {
	case math.IsNaN(s.Value):
		return &SampleError{"Value", fmt.Sprintf("of %s is NaN", s.Resource)}
	case math.IsInf(s.Value, 0):
		return &SampleError{"Value", fmt.Sprintf("of %s is infinite", s.Resource)}
	case s.Value < 0:
		return &SampleError{"Value", fmt.Sprintf("of %s is negative (%g)", s.Resource, s.Value)}
	}
	if s.Time.IsZero() {
		return &SampleError{"Time", "is zero"}
	}
	if s.Time.Before(earliest) || s.Time.After(latest) {
		return &SampleError{"Time", fmt.Sprintf("%s is outside the years 1678 to 2262", s.Time.UTC().Format(time.RFC3339))}
	}
	return nil
}

// A Validator applies Validate's rule to a stream of samples, faster: it
// checks the names (task, service, instance) only when they differ from
// the previous sample's, and remembers the resource names it has passed,
// so that a stream from a few services costs a value and time check per
// sample. The zero value is ready to use; it is not safe for concurrent
// use.
type Validator struct {
	task, service, instance string
	labelsOK                bool
	resources               map[string]struct{}
}

// maxValidResources bounds the resource names a Validator remembers.
const maxValidResources = 1 << 12

// Validate returns what s.Validate() returns.
func (v *Validator) Validate(s Sample) error {
	if !v.labelsOK || s.Task != v.task || s.Service != v.service || s.Instance != v.instance {
		v.labelsOK = false
		if err := s.validateLabels(); err != nil {
			return err
		}
		v.task, v.service, v.instance, v.labelsOK = s.Task, s.Service, s.Instance, true
	}
	if _, ok := v.resources[s.Resource]; !ok {
		if err := ValidResourceName(s.Resource); err != nil {
			return &SampleError{"Resource", err.Error()}
		}
		if v.resources == nil {
			v.resources = make(map[string]struct{})
		}
		if len(v.resources) < maxValidResources {
			v.resources[s.Resource] = struct{}{}
		}
	}
	return s.validateValueTime()
}

// The times a sample may have: what fits in int64 Unix nanoseconds once
// truncated to microseconds (PostgreSQL's precision).
var (
	earliest = time.Unix(0, math.MinInt64).Add(time.Microsecond).Truncate(time.Microsecond).UTC()
	latest   = time.Unix(0, math.MaxInt64).Truncate(time.Microsecond).UTC()
)

// EarliestTime returns the earliest time a valid sample may have
// (1677-09-21T00:12:43.145225Z).
func EarliestTime() time.Time { return earliest }

// LatestTime returns the latest time a valid sample may have
// (2262-04-11T23:47:16.854775Z).
func LatestTime() time.Time { return latest }

// MaxNameLen is the longest service, task, instance or resource name
// accepted, in bytes (a DNS name's limit, as Kubernetes uses).
const MaxNameLen = 253

func validLabel(v string) string {
	if len(v) > MaxNameLen {
		return fmt.Sprintf("is %d bytes long (at most %d)", len(v), MaxNameLen)
	}
	if !utf8.ValidString(v) {
		return "is not valid UTF-8"
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "contains a control character"
		}
	}
	return ""
}

// ValidResourceName reports whether name is an acceptable resource name: 1 to
// 253 bytes of lower-case ASCII letters, digits, '.', '-', '_' and '/',
// starting and ending with a letter or digit. The names of the Resource
// constants and custom names such as "nvidia.com/gpu" pass; "CPU" (the
// seed's upper-case names), "" and "cpu " do not.
func ValidResourceName(name string) error {
	if name == "" {
		return errors.New("resource name is empty")
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("resource name is %d bytes long (at most %d)", len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.' || c == '-' || c == '_' || c == '/':
			if i == 0 || i == len(name)-1 {
				return fmt.Errorf("resource name %q must start and end with a lower-case letter or digit", clip.String(name, 40))
			}
		default:
			return fmt.Errorf("resource name %q has %q: only lower-case letters, digits, '.', '-', '_' and '/' are allowed", clip.String(name, 40), rune(c))
		}
	}
	return nil
}

// Resource names rightsize measures itself. See the package documentation for
// their units.
const (
	CPU          = "cpu"           // cores in use
	Memory       = "memory"        // bytes, working set
	DiskRead     = "disk.read"     // bytes per second
	DiskWrite    = "disk.write"    // bytes per second
	NetRx        = "net.rx"        // bytes per second received
	NetTx        = "net.tx"        // bytes per second sent
	CPUThrottled = "cpu.throttled" // throttled CPU-seconds per second
	OOMKills     = "oom.kills"     // count in the interval
	Threads      = "threads"       // count

	// Host-wide percentages, as the seed's Python producers sent them
	// (named CPU, RAM and DISK there).
	CPUPercent    = "cpu.percent"
	MemoryPercent = "memory.percent"
	DiskPercent   = "disk.percent"
)

// Unit is the unit a resource's values are in.
type Unit string

// Units of the built-in resources.
const (
	Cores          Unit = "cores"
	Bytes          Unit = "bytes"
	BytesPerSecond Unit = "bytes/s"
	CoresThrottled Unit = "cpu-seconds/s"
	Count          Unit = "count"
	Percent        Unit = "percent"
	Unknown        Unit = ""
)

// UnitOf returns the unit of a built-in resource, or Unknown for a custom
// one.
func UnitOf(resource string) Unit {
	switch resource {
	case CPU:
		return Cores
	case Memory:
		return Bytes
	case DiskRead, DiskWrite, NetRx, NetTx:
		return BytesPerSecond
	case CPUThrottled:
		return CoresThrottled
	case OOMKills, Threads:
		return Count
	case CPUPercent, MemoryPercent, DiskPercent:
		return Percent
	}
	return Unknown
}

// LegacyResource maps the seed's resource names (CPU, RAM, DISK: host-wide
// percentages) to rightsize's. ok is false for any other name.
func LegacyResource(name string) (resource string, ok bool) {
	switch strings.ToUpper(name) {
	case "CPU":
		return CPUPercent, true
	case "RAM", "MEMORY":
		return MemoryPercent, true
	case "DISK":
		return DiskPercent, true
	}
	return "", false
}
