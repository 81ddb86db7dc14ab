// Package imagetask runs the example image pipeline's tasks. A task is one
// generated image to which an ordered list of services (decode, resize,
// blur, encode: see examples/services) is applied, each as a process of
// its own. The Runner makes the input, records the task (its parameters,
// services, start and end) in the store, and runs the services one after
// another, each sampled through rightsize by its PID and published like
// any other service.
//
// # Peaks of short-lived processes
//
// A service may live for less than one sampling interval, and a sampler
// only sees what is resident at its ticks: the peak of a process can fall
// between two ticks, or the process can exit before the second. Once it
// has exited, its figures are gone from /proc, and the rusage the kernel
// keeps for it does not help with memory: its ru_maxrss counts this
// parent's resident set, since os/exec starts the child with vfork (the
// kernel records the old address space's high-water mark at exec).
//
// So each service is run with imagework.HoldEnv set: when its job is done
// it says so and waits, holding what it holds, until told to exit. The
// Runner then reads the high-water mark of its resident set (VmHWM in
// /proc/<pid>/status: the kernel's own, which no sampling interval can
// miss), takes one last sample, lets it exit, and publishes one more
// record for the service:
//
//	memory.peak  bytes: VmHWM at the end of its job
//	cpu.mean     cores: its user and system CPU time (from wait4, exact
//	             for CPU) over the wall time of its job
//
// stamped after its last sample, so that its series spans the whole job.
// The periodic series stay as they are: they show the profile in time,
// and how much a sampler alone misses (ServiceResult.SampledMax against
// PeakRSS).
package imagetask

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/examples/services/imagework"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
)

// Size is an image's width and height in pixels.
type Size struct{ W, H int }

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.W, s.H) }

// ParseSizes reads a comma-separated list of sizes: "640x480,1920x1080".
func ParseSizes(text string) ([]Size, error) {
	var out []Size
	for _, f := range strings.Split(text, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		ws, hs, ok := strings.Cut(f, "x")
		w, err1 := strconv.Atoi(ws)
		h, err2 := strconv.Atoi(hs)
		if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 || w > 1<<15 || h > 1<<15 {
			return nil, fmt.Errorf("imagetask: size %q is not WIDTHxHEIGHT (1 to 32768 each)", f)
		}
		out = append(out, Size{w, h})
	}
	if len(out) == 0 {
		return nil, errors.New("imagetask: no sizes")
	}
	return out, nil
}

// SizeOf returns the size a task's parameters record.
func SizeOf(t rightsize.Task) (Size, bool) {
	w, ok1 := t.Float("width")
	h, ok2 := t.Float("height")
	return Size{int(w), int(h)}, ok1 && ok2
}

// Spec is a task to run.
type Spec struct {
	ID   string
	Size Size
	// Format is the input's and the result's format: png or jpeg.
	Format string
	// Services are applied in this order.
	Services []string
	// Seed makes the input image.
	Seed uint64
	// Scale and Radius are resize's and blur's settings.
	Scale  float64
	Radius int
}

// Orders are the orders of services Plan draws from: decode first and
// encode last, resize and blur between them in either order, or one of
// them alone.
var Orders = [][]string{
	{imagework.DecodeService, imagework.ResizeService, imagework.BlurService, imagework.EncodeService},
	{imagework.DecodeService, imagework.BlurService, imagework.ResizeService, imagework.EncodeService},
	{imagework.DecodeService, imagework.BlurService, imagework.EncodeService},
	{imagework.DecodeService, imagework.ResizeService, imagework.EncodeService},
}

// Plan returns n tasks named prefix-001, prefix-002...: the sizes in turn,
// and for each task an order of Orders, a format of formats and an image
// seed drawn from seed. The same arguments give the same plan.
func Plan(n int, sizes []Size, formats []string, seed uint64, prefix string) []Spec {
	r := rand.New(rand.NewPCG(seed, 0x7461736b73))
	out := make([]Spec, n)
	for i := range out {
		out[i] = Spec{
			ID:       fmt.Sprintf("%s-%03d", prefix, i+1),
			Size:     sizes[i%len(sizes)],
			Services: slices.Clone(Orders[r.IntN(len(Orders))]),
			Format:   formats[r.IntN(len(formats))],
			Seed:     r.Uint64(),
			Scale:    imagework.DefaultScale,
			Radius:   imagework.DefaultRadius,
		}
	}
	return out
}

// TaskWriter records tasks (store.Store has it).
type TaskWriter interface {
	WriteTask(ctx context.Context, t rightsize.Task) error
}

// Runner runs tasks. Run one task at a time: services measured side by
// side would share the CPU.
type Runner struct {
	pub      producer.Publisher
	tasks    TaskWriter
	interval time.Duration
	dir      string
	bin      string
	logger   *slog.Logger
}

// An Option changes a setting of New.
type Option interface{ apply(*Runner) }

type option func(*Runner)

func (f option) apply(r *Runner) { f(r) }

// WithInterval samples each service every d. Default 50 ms.
func WithInterval(d time.Duration) Option { return option(func(r *Runner) { r.interval = d }) }

// WithDir makes each task's files in a directory under dir, removed when
// the task ends. Default: os.TempDir().
func WithDir(dir string) Option { return option(func(r *Runner) { r.dir = dir }) }

// WithServiceDir runs the service programs built in dir (go build -o dir
// ./examples/services/...). Default: none, each service runs as a copy of
// this executable, which must call imagework.MaybeRun first.
func WithServiceDir(dir string) Option { return option(func(r *Runner) { r.bin = dir }) }

// WithLogger logs sampling problems to l. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return option(func(r *Runner) { r.logger = l }) }

// New returns a Runner that publishes to pub and records tasks in tasks.
func New(pub producer.Publisher, tasks TaskWriter, opts ...Option) (*Runner, error) {
	r := &Runner{pub: pub, tasks: tasks, interval: 50 * time.Millisecond, dir: os.TempDir(), logger: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o.apply(r)
		}
	}
	switch {
	case pub == nil || tasks == nil:
		return nil, errors.New("imagetask: nil publisher or task writer")
	case r.interval <= 0:
		return nil, fmt.Errorf("imagetask: interval %v, want > 0", r.interval)
	}
	if r.bin != "" {
		for _, s := range imagework.Services {
			if _, err := os.Stat(filepath.Join(r.bin, s)); err != nil {
				return nil, fmt.Errorf("imagetask: service program: %w (build them with go build -o %s ./examples/services/...)", err, r.bin)
			}
		}
	}
	return r, nil
}

// Result is what one task's services used, as the kernel and the sampler
// saw it.
type Result struct {
	Task     rightsize.Task
	Services []ServiceResult
}

// ServiceResult is one service's process.
type ServiceResult struct {
	Service string
	PID     int
	// Wall is the time from starting the process to reaping it, CPU its
	// user and system time, PeakRSS the high-water mark of its resident
	// set in bytes (from wait4's rusage).
	Wall    time.Duration
	CPU     time.Duration
	PeakRSS float64
	// Ticks is the number of sampling ticks that measured the process
	// and SampledMax the highest memory sample among them (bytes).
	Ticks      int
	SampledMax float64
}

// Run runs one task: makes its input, records it, runs each service in
// order and records its end. The samples are published as they are taken;
// whoever owns the publisher flushes it.
func (r *Runner) Run(ctx context.Context, spec Spec) (Result, error) {
	if len(spec.Services) == 0 {
		return Result{}, fmt.Errorf("imagetask: task %s has no services", spec.ID)
	}
	dir, err := os.MkdirTemp(r.dir, "rightsize-"+spec.ID+"-")
	if err != nil {
		return Result{}, fmt.Errorf("imagetask: %w", err)
	}
	defer os.RemoveAll(dir)
	ext := spec.Format
	if ext == imagework.JPEG {
		ext = "jpg"
	}
	in := filepath.Join(dir, "input."+ext)
	size, err := imagework.WriteInput(in, imagework.Generate(spec.Size.W, spec.Size.H, spec.Seed), spec.Format)
	if err != nil {
		return Result{}, err
	}
	task := rightsize.Task{
		ID: spec.ID,
		Params: map[string]string{
			"width":  strconv.Itoa(spec.Size.W),
			"height": strconv.Itoa(spec.Size.H),
			"bytes":  strconv.FormatInt(size, 10),
			"format": spec.Format,
			"scale":  strconv.FormatFloat(spec.Scale, 'g', -1, 64),
			"radius": strconv.Itoa(spec.Radius),
		},
		Services: spec.Services,
		Start:    time.Now(),
	}
	if err := r.tasks.WriteTask(ctx, task); err != nil {
		return Result{}, fmt.Errorf("imagetask: record task %s: %w", spec.ID, err)
	}
	res := Result{Task: task}
	for i, svc := range spec.Services {
		out := filepath.Join(dir, fmt.Sprintf("%d-%s.raw", i, svc))
		if svc == imagework.EncodeService {
			out = filepath.Join(dir, fmt.Sprintf("%d-output.%s", i, ext))
		}
		job := imagework.Job{Service: svc, In: in, Out: out, Scale: spec.Scale, Radius: spec.Radius}
		sr, err := r.runService(ctx, task.ID, job)
		if err != nil {
			return res, fmt.Errorf("imagetask: task %s: %w", spec.ID, err)
		}
		res.Services = append(res.Services, sr)
		os.Remove(in)
		in = out
	}
	task.End = time.Now()
	res.Task = task
	if err := r.tasks.WriteTask(ctx, task); err != nil {
		return res, fmt.Errorf("imagetask: record the end of task %s: %w", spec.ID, err)
	}
	return res, nil
}

// runService runs one service's process, sampling it until its job is
// done, then takes its final figures while it still exists, lets it exit
// and publishes its exit record.
func (r *Runner) runService(ctx context.Context, task string, job imagework.Job) (ServiceResult, error) {
	cmd, err := imagework.Command(r.bin, job)
	if err != nil {
		return ServiceResult{}, err
	}
	cmd.Env = append(cmd.Environ(), imagework.HoldEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return ServiceResult{}, fmt.Errorf("%s: %w", job.Service, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return ServiceResult{}, fmt.Errorf("%s: %w", job.Service, err)
	}
	// The service dies with this process: an interrupted run leaves
	// nothing behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return ServiceResult{}, fmt.Errorf("%s: %w", job.Service, err)
	}
	defer func() {
		cmd.Process.Kill() // if still running: an error or ctx ended
		cmd.Wait()
	}()
	res := ServiceResult{Service: job.Service, PID: cmd.Process.Pid}
	smp, err := sample.NewProcess(job.Service, res.PID, sample.WithTask(task))
	if err != nil {
		return res, fmt.Errorf("%s: %w", job.Service, err)
	}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		producer.Run(rctx, r.pub, []sample.Sampler{smp}, producer.WithInterval(r.interval), producer.WithLogger(r.logger),
			producer.WithTickFunc(func(batch []rightsize.Sample) {
				res.Ticks++
				for _, s := range batch {
					if s.Resource == rightsize.Memory {
						res.SampledMax = max(res.SampledMax, s.Value)
					}
				}
			}))
	}()
	done := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && line != imagework.DoneLine {
			err = fmt.Errorf("said %q", line)
		}
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	doneAt := time.Now()
	stop()
	<-sampled
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		cmd.Wait()
		return res, fmt.Errorf("%s did not finish its job (%v): %s: %s", job.Service, err, cmd.ProcessState, strings.TrimSpace(stderr.String()))
	}
	// The job is done and the process still exists: its high-water
	// mark, and one last tick of its series at its very end.
	hwm, err := readHWM(res.PID)
	if err != nil {
		return res, fmt.Errorf("%s: %w", job.Service, err)
	}
	last, err := smp.Sample(ctx)
	if len(last) > 0 {
		if err := r.pub.Publish(context.WithoutCancel(ctx), last...); err != nil {
			return res, fmt.Errorf("%s: publish: %w", job.Service, err)
		}
	} else if err != nil {
		r.logger.Warn("last sample", "service", job.Service, "pid", res.PID, "err", err)
	}
	at := time.Now()
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return res, fmt.Errorf("%s: %w: %s", job.Service, err, strings.TrimSpace(stderr.String()))
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return res, fmt.Errorf("%s: no resource usage from the kernel", job.Service)
	}
	res.Wall = doneAt.Sub(start)
	res.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	res.PeakRSS = hwm
	labels := rightsize.Sample{Task: task, Service: job.Service, Time: at}
	if len(last) > 0 {
		labels.Instance = last[0].Instance
	} else if inst, err := os.Hostname(); err == nil {
		labels.Instance = inst // as the sampler labels its samples
	}
	peak, cpu := labels, labels
	peak.Resource, peak.Value = predict.PeakMemory, res.PeakRSS
	cpu.Resource, cpu.Value = predict.MeanCPU, res.CPU.Seconds()/max(res.Wall.Seconds(), 1e-6)
	if err := r.pub.Publish(context.WithoutCancel(ctx), peak, cpu); err != nil {
		return res, fmt.Errorf("%s: publish its exit record: %w", job.Service, err)
	}
	return res, nil
}

// readHWM returns the high-water mark of a process's resident set, in
// bytes: VmHWM in /proc/<pid>/status.
func readHWM(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("peak memory: %w", err)
	}
	return parseHWM(b)
}

// parseHWM reads VmHWM from the text of /proc/<pid>/status.
func parseHWM(status []byte) (float64, error) {
	for _, line := range strings.Split(string(status), "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		num, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		v, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
		if !ok || err != nil {
			return 0, fmt.Errorf("peak memory: VmHWM %q is not a number of kB", strings.TrimSpace(rest))
		}
		return float64(v) * 1024, nil
	}
	return 0, errors.New("peak memory: no VmHWM in /proc/<pid>/status (a kernel thread, or a process that has exited)")
}
