package sample

import (
	"errors"
	"io/fs"
	"syscall"
)

// ErrGone is matched (with errors.Is) by the error a Sampler returns once
// what it measures no longer exists: its series has ended.
var ErrGone = errors.New("sample: target is gone")

// Errors matched with errors.Is. Each is returned wrapped in a *TargetError
// that names what was asked for.
var (
	// ErrNoProcess is returned by NewProcess when the PID does not exist (or
	// is a zombie), by NewPIDFile when the PID its file names does not, and
	// by a PID-file sampler's Sample while the file names a process that is
	// not running (the service may be restarting: that is not ErrGone).
	ErrNoProcess = errors.New("no such process")

	// ErrNoMatch is returned by a NewProcessMatch sampler's Sample when no
	// process matches its pattern at that tick. It comes with no samples and
	// does not end the series: the service may be (re)starting.
	ErrNoMatch = errors.New("no process matches")

	// ErrNoCgroup is returned by the cgroup constructors when the cgroup,
	// container, unit or pod cannot be found in any cgroup hierarchy.
	ErrNoCgroup = errors.New("no such cgroup")

	// ErrAmbiguous is returned by NewContainer and NewPodContainer when a
	// container ID prefix or name matches more than one container.
	ErrAmbiguous = errors.New("ambiguous")

	// ErrUnknownKind is returned by ParseTarget and New when a target's
	// kind is none of Kinds. It is the one error of this package not
	// wrapped in a *TargetError: there is no target to name.
	ErrUnknownKind = errors.New("unknown kind")
)

// TargetError says which target of a sampler (a PID, a PID file, a cgroup, a
// container, ...) an error is about. Its Err is one of this package's
// sentinels, the error of the file system call that failed (permission
// problems match fs.ErrPermission), or what is wrong with the target as it
// was written (a PID that is not a number).
type TargetError struct {
	Kind   string // "pid", "pid file", "pattern", "cgroup", "container", "unit", "pod", "host", or a Target's Kind
	Target string // what was asked for: "4242", "/run/nginx.pid", "web", ...
	Err    error
}

func (e *TargetError) Error() string {
	if e.Target == "" {
		return "sample: " + e.Kind + ": " + e.Err.Error()
	}
	return "sample: " + e.Kind + " " + e.Target + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *TargetError) Unwrap() error { return e.Err }

// IsPermission reports whether err is about missing permission to read
// what a sampler measures: running as another user, or without the
// capabilities needed (CAP_SYS_PTRACE for another user's /proc/<pid>/io).
func IsPermission(err error) bool {
	return errors.Is(err, fs.ErrPermission)
}

// goneError says why a target is gone; it matches ErrGone without
// repeating its text.
type goneError string

func (e goneError) Error() string        { return string(e) }
func (e goneError) Is(target error) bool { return target == ErrGone }

// vanished reports whether a read failed because the process or cgroup it
// read is gone (ENOENT, or ESRCH for a process being reaped).
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// errNoData is returned by a parser when the input is well formed but does
// not hold the value asked for (an old kernel without the field, a cgroup
// without the controller). It is not a failure: the resource is simply not
// reported.
var errNoData = errors.New("no data")

// errScanMismatch is returned when a sampler is given a Scanner together
// with options that contradict it.
var errScanMismatch = errors.New("WithProcRoot differs from the Scanner's proc root")
