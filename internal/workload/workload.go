// Package workload runs small workloads of known size as child processes:
// burn a given share of CPU, hold a given amount of touched memory. The
// quickstart runs them as its demo services and tests run them to measure
// against.
//
// A program that starts workloads calls MaybeRun first thing in main (or
// TestMain): in the child, MaybeRun runs the workload and exits; in the
// parent it returns at once. Start runs a child: the same executable, told
// by an environment variable what to do.
package workload

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// EnvVar carries the workload spec to the child process.
const EnvVar = "RIGHTSIZE_WORKLOAD"

// Spec is what a workload does.
type Spec struct {
	// CPU is the CPU to burn, in cores (0.5 = half of one core). Shares
	// above 1 are spread over several threads.
	CPU float64
	// Memory is how many bytes to allocate and touch, and hold.
	Memory int64
	// Duration is how long to run; 0 runs until the process is killed.
	Duration time.Duration
}

func (s Spec) String() string {
	return fmt.Sprintf("cpu=%g,memory=%d,duration=%s", s.CPU, s.Memory, s.Duration)
}

// Parse reads a Spec written by Spec.String.
func Parse(text string) (Spec, error) {
	var s Spec
	for _, kv := range strings.Split(text, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return s, fmt.Errorf("workload: %q is not key=value", kv)
		}
		var err error
		switch k {
		case "cpu":
			s.CPU, err = strconv.ParseFloat(v, 64)
		case "memory":
			s.Memory, err = strconv.ParseInt(v, 10, 64)
		case "duration":
			s.Duration, err = time.ParseDuration(v)
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			return s, fmt.Errorf("workload: %s: %w", kv, err)
		}
	}
	if s.CPU < 0 || s.CPU > float64(runtime.NumCPU()) || s.Memory < 0 || s.Duration < 0 {
		return s, fmt.Errorf("workload: %s out of range", text)
	}
	return s, nil
}

// Process is a running workload child.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs spec in a child process (this same executable, which must
// call MaybeRun at start) and returns once the child holds its memory and
// has begun to burn CPU. The child is killed if this process dies.
func Start(spec Spec) (*Process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), EnvVar+"="+spec.String())
	cmd.Stderr = os.Stderr
	// The child dies with its parent, so a killed demo leaves nothing behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("workload: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("workload: start %s: %w", spec, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != readyLine {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("workload: child %d (%s) did not start: %q %v", cmd.Process.Pid, spec, line, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

const readyLine = "ready\n"

// Pid returns the child's process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Wait waits for the child to exit and returns the kernel's accounting of
// its resource use.
func (p *Process) Wait() *syscall.Rusage {
	<-p.done
	return p.cmd.ProcessState.SysUsage().(*syscall.Rusage)
}

// Stop kills the child and waits for it to exit. It is safe to call more
// than once.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
}

// MaybeRun runs the workload described by EnvVar and exits, if EnvVar is
// set; otherwise it returns at once.
func MaybeRun() {
	text, ok := os.LookupEnv(EnvVar)
	if !ok {
		return
	}
	spec, err := Parse(text)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	Run(spec)
	os.Exit(0)
}

// Run runs spec in this process and returns when its duration is over
// (never, if it is 0).
func Run(spec Spec) {
	hold := make([]byte, spec.Memory)
	for i := 0; i < len(hold); i += 4096 {
		hold[i] = 1
	}
	if os.Getenv(EnvVar) != "" {
		os.Stdout.WriteString(readyLine)
	}
	var deadline time.Time
	if spec.Duration > 0 {
		deadline = time.Now().Add(spec.Duration)
	}
	burn(spec.CPU, deadline)
	runtime.KeepAlive(hold)
}

// burn keeps this process's CPU time at cores × the wall time elapsed.
// Whole cores are spun by threads of their own; one more thread spins
// while the kernel's count of the process's CPU time is behind and sleeps
// while it is ahead, which makes up for preemption by other work and
// counts the runtime's own threads too.
func burn(cores float64, deadline time.Time) {
	expired := func() bool { return !deadline.IsZero() && !time.Now().Before(deadline) }
	var wg sync.WaitGroup
	defer wg.Wait()
	for range int(cores) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			for !expired() {
				spin(time.Millisecond)
			}
		}()
	}
	runtime.LockOSThread()
	start, cpu0 := time.Now(), processCPU()
	for !expired() {
		used := processCPU() - cpu0
		target := time.Duration(cores * float64(time.Since(start)))
		if used < target {
			spin(time.Millisecond)
			continue
		}
		time.Sleep(min(used-target+time.Millisecond, 20*time.Millisecond))
	}
}

func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// processCPU is this process's user+system CPU time, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic("workload: getrusage: " + err.Error())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
