package sample

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Target names what a sampler measures, as a program's user writes it: a
// kind and a value, such as "pid:4242" or "container:my-db". ParseTarget
// reads one from a string, New builds its sampler, so that a program taking
// targets from flags or a configuration file needs no switch of its own.
type Target struct {
	// Kind is one of the Kind constants: pid, pidfile, match, cgroup,
	// container, unit, pod or host.
	Kind string

	// Value is what the constructor of the kind takes: the PID (in
	// decimal), the PID file's path, the regular expression, the cgroup's
	// path, the container's ID or name, the unit's name, the pod's UID.
	// Empty for host.
	Value string

	// Container, for a pod only, is one container of the pod, by name or
	// ID. Empty: the whole pod.
	Container string
}

// The kinds of Target, and the constructor New calls for each.
const (
	KindPID       = "pid"       // NewProcess
	KindPIDFile   = "pidfile"   // NewPIDFile
	KindMatch     = "match"     // NewProcessMatch
	KindCgroup    = "cgroup"    // NewCgroup
	KindContainer = "container" // NewContainer
	KindUnit      = "unit"      // NewUnit
	KindPod       = "pod"       // NewPod, or NewPodContainer with a Container
	KindHost      = "host"      // NewHost
)

// Kinds returns the kinds of Target, in the order of the package
// documentation.
func Kinds() []string {
	return []string{KindPID, KindPIDFile, KindMatch, KindCgroup, KindContainer, KindUnit, KindPod, KindHost}
}

// ParseTarget reads a target written KIND:VALUE or KIND=VALUE: "pid:4242",
// "pidfile:/run/nginx.pid", "match:nginx: worker",
// "cgroup:/system.slice/nginx.service", "container:my-db", "unit:nginx",
// "pod:<uid>" (the whole pod), "pod:<uid>/<container>" (one of its
// containers) or "host". The kind ends at the first ':' or '='; the rest is
// the value, taken as it is.
//
// It returns an error matching ErrUnknownKind, quoting s, for a kind that
// is none of Kinds, and a *TargetError naming the kind and the value when
// the value is missing or malformed (a PID that is not a positive number).
// Whether the target exists is for New to find out.
func ParseTarget(s string) (Target, error) {
	kind, value, _ := strings.Cut(s, ":")
	if k, v, ok := strings.Cut(s, "="); ok && len(k) < len(kind) {
		kind, value = k, v
	}
	t := Target{Kind: kind, Value: value}
	if kind == KindPod {
		t.Value, t.Container, _ = strings.Cut(value, "/")
	}
	if err := t.check(s); err != nil {
		return Target{}, err
	}
	return t, nil
}

// String returns t as ParseTarget reads it: "pid:4242", "pod:<uid>/app",
// "host".
func (t Target) String() string {
	switch {
	case t.Kind == KindHost && t.Value == "":
		return t.Kind
	case t.Container != "":
		return t.Kind + ":" + t.Value + "/" + t.Container
	}
	return t.Kind + ":" + t.Value
}

// check reports what makes t unusable, without looking for the target;
// written is t as the user wrote it.
func (t Target) check(written string) error {
	if !slices.Contains(Kinds(), t.Kind) {
		ks := Kinds()
		want := strings.Join(ks[:len(ks)-1], ", ") + " or " + ks[len(ks)-1]
		return fmt.Errorf("sample: target %q: %w %q (want %s)", written, ErrUnknownKind, t.Kind, want)
	}
	bad := func(format string, args ...any) error {
		return &TargetError{t.Kind, strconv.Quote(t.Value), fmt.Errorf(format, args...)}
	}
	switch {
	case t.Kind == KindHost && t.Value != "":
		return bad("host takes no value (write host)")
	case t.Kind != KindHost && t.Value == "":
		return bad("no value (write %s:%s)", t.Kind, valueOf(t.Kind))
	case t.Container != "" && t.Kind != KindPod:
		return bad("a container (%q) is only for pod targets", t.Container)
	case t.Kind == KindPID:
		if pid, err := strconv.Atoi(t.Value); err != nil || pid <= 0 {
			return bad("not a process ID: want a positive number")
		}
	}
	return nil
}

// valueOf is how the usage of a kind's value is written in errors.
func valueOf(kind string) string {
	switch kind {
	case KindPID:
		return "PID"
	case KindPIDFile, KindCgroup:
		return "PATH"
	case KindMatch:
		return "REGEXP"
	case KindContainer:
		return "ID-OR-NAME"
	case KindUnit:
		return "UNIT"
	case KindPod:
		return "UID[/CONTAINER]"
	}
	return ""
}

// New returns the sampler of t for service, built by the constructor of
// t's kind (see the Kind constants), which says what it measures and how
// it fails.
//
// New gives each option to that constructor if it is one of its options
// (a ProcessOption for pid, pidfile and match; a CgroupOption for cgroup,
// container, unit and pod; a HostOption for host) and leaves it out
// otherwise, so that one list of options serves targets of every kind:
// WithScanner for those that are processes, WithDockerRoot for those that
// are containers.
//
// A Target that is not well formed is reported as ParseTarget reports
// it; a nil Sampler comes with every error.
func New(service string, t Target, opts ...SamplerOption) (Sampler, error) {
	if err := t.check(t.String()); err != nil {
		return nil, err
	}
	switch t.Kind {
	case KindPID:
		pid, _ := strconv.Atoi(t.Value)
		return sampler(NewProcess(service, pid, only[ProcessOption](opts)...))
	case KindPIDFile:
		return sampler(NewPIDFile(service, t.Value, only[ProcessOption](opts)...))
	case KindMatch:
		return sampler(NewProcessMatch(service, t.Value, only[ProcessOption](opts)...))
	case KindCgroup:
		return sampler(NewCgroup(service, t.Value, only[CgroupOption](opts)...))
	case KindContainer:
		return sampler(NewContainer(service, t.Value, only[CgroupOption](opts)...))
	case KindUnit:
		return sampler(NewUnit(service, t.Value, only[CgroupOption](opts)...))
	case KindPod:
		if t.Container != "" {
			return sampler(NewPodContainer(service, t.Value, t.Container, only[CgroupOption](opts)...))
		}
		return sampler(NewPod(service, t.Value, only[CgroupOption](opts)...))
	default: // KindHost, as check has it
		return sampler(NewHost(service, only[HostOption](opts)...))
	}
}

// only returns the options among opts that are Os.
func only[O SamplerOption](opts []SamplerOption) []O {
	var out []O
	for _, o := range opts {
		if x, ok := o.(O); ok {
			out = append(out, x)
		}
	}
	return out
}

// sampler returns s as a Sampler, and a nil Sampler (not a nil *Process in
// a Sampler) with an error.
func sampler[S Sampler](s S, err error) (Sampler, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}
