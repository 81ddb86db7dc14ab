package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"runtime/debug"
	"runtime/pprof"
)

// InstanceID derives an ID that stays the same across restarts of one
// program on one host and differs between programs given different
// parts (a monitor's store, say): the host name and a short hash.
func InstanceID(parts ...string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "rightsize"
	}
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return host + "-" + hex.EncodeToString(h.Sum(nil)[:4])
}

// Runtime is how a long-running program uses the Go runtime: a soft heap
// limit and an optional CPU profile (-memory-limit, -cpuprofile).
type Runtime struct {
	MemoryLimitMiB int64
	CPUProfile     string
}

// RegisterRuntime adds -memory-limit and -cpuprofile to fs.
func RegisterRuntime(fs *flag.FlagSet, defaultLimitMiB int64) *Runtime {
	r := &Runtime{}
	fs.Int64Var(&r.MemoryLimitMiB, "memory-limit", defaultLimitMiB, "soft limit of the Go heap, in MiB, beyond which the garbage collector works harder (0: none; GOMEMLIMIT, if set, wins)")
	fs.StringVar(&r.CPUProfile, "cpuprofile", "", "write a CPU profile of the run to `file` (see go tool pprof)")
	return r
}

// Start applies the settings; the function it returns ends the profile.
func (r *Runtime) Start() (stop func(), err error) {
	if r.MemoryLimitMiB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(r.MemoryLimitMiB << 20)
	}
	if r.CPUProfile == "" {
		return func() {}, nil
	}
	f, err := os.Create(r.CPUProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
