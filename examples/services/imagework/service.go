package imagework

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The services, in the order a task usually applies them.
const (
	DecodeService = "decode"
	ResizeService = "resize"
	BlurService   = "blur"
	EncodeService = "encode"
)

// Services lists the services' names.
var Services = []string{DecodeService, ResizeService, BlurService, EncodeService}

// Defaults of a Job's settings.
const (
	DefaultScale  = 0.5
	DefaultRadius = 4
)

// Job is one run of one service on one image: the command line of its
// program.
type Job struct {
	// Service is one of Services.
	Service string
	// In and Out are the files read and written.
	In, Out string
	// Format is the format written: by default Raw, except for encode,
	// which writes the format Out's extension names (.png, .jpg, .jpeg).
	Format string
	// Scale is resize's factor (DefaultScale if 0).
	Scale float64
	// Radius is blur's radius in pixels (DefaultRadius if 0).
	Radius int
}

// Args returns the command-line arguments of the job's program.
func (j Job) Args() []string {
	args := []string{"-in", j.In, "-out", j.Out}
	if j.Format != "" {
		args = append(args, "-format", j.Format)
	}
	switch j.Service {
	case ResizeService:
		if j.Scale != 0 {
			args = append(args, "-scale", strconv.FormatFloat(j.Scale, 'g', -1, 64))
		}
	case BlurService:
		if j.Radius != 0 {
			args = append(args, "-radius", strconv.Itoa(j.Radius))
		}
	}
	return args
}

// Run does the job in this process: read In, apply the service, write
// Out.
func Run(j Job) error {
	if !slices.Contains(Services, j.Service) {
		return fmt.Errorf("imagework: unknown service %q (want one of %s)", j.Service, strings.Join(Services, ", "))
	}
	format := j.Format
	if format == "" {
		format = Raw
		if j.Service == EncodeService {
			format = FormatOfName(j.Out)
			if format == "" {
				return fmt.Errorf("imagework: encode: cannot tell the format from %q; give -format or a .png or .jpg file", j.Out)
			}
		}
	}
	in, err := os.Open(j.In)
	if err != nil {
		return fmt.Errorf("imagework: %s: %w", j.Service, err)
	}
	img, _, err := Decode(in)
	in.Close()
	if err != nil {
		return fmt.Errorf("imagework: %s %s: %w", j.Service, j.In, err)
	}
	switch j.Service {
	case ResizeService:
		scale := j.Scale
		if scale == 0 {
			scale = DefaultScale
		}
		if !(scale > 0 && scale <= 16) {
			return fmt.Errorf("imagework: resize: scale %v is not in (0, 16]", scale)
		}
		img = Resize(img, scale)
	case BlurService:
		radius := j.Radius
		if radius == 0 {
			radius = DefaultRadius
		}
		if radius < 0 || radius > 1000 {
			return fmt.Errorf("imagework: blur: radius %d is not in [0, 1000]", radius)
		}
		Blur(img, radius)
	}
	out, err := os.Create(j.Out)
	if err != nil {
		return fmt.Errorf("imagework: %s: %w", j.Service, err)
	}
	if err := Encode(out, img, format); err != nil {
		out.Close()
		return fmt.Errorf("imagework: %s %s: %w", j.Service, j.Out, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("imagework: %s: %w", j.Service, err)
	}
	return nil
}

// FormatOfName returns the format a file name's extension names, or "".
func FormatOfName(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png":
		return PNG
	case ".jpg", ".jpeg":
		return JPEG
	case ".raw":
		return Raw
	}
	return ""
}

// ParseJob reads a service's command line (without the program name).
// Errors are flag errors, flag.ErrHelp included for -h.
func ParseJob(service string, args []string, stderr io.Writer) (Job, error) {
	j := Job{Service: service}
	fs := flag.NewFlagSet(service, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&j.In, "in", "", "image file to read (png, jpeg or raw)")
	fs.StringVar(&j.Out, "out", "", "image file to write")
	what := "format to write: png, jpeg or raw (default raw)"
	if service == EncodeService {
		what = "format to write: png, jpeg or raw (default: from -out's extension)"
	}
	fs.StringVar(&j.Format, "format", "", what)
	switch service {
	case ResizeService:
		fs.Float64Var(&j.Scale, "scale", DefaultScale, "factor each side is scaled by")
	case BlurService:
		fs.IntVar(&j.Radius, "radius", DefaultRadius, "blur radius in pixels (the Gaussian's σ is half of it)")
	}
	if err := fs.Parse(args); err != nil {
		return j, err
	}
	if j.In == "" || j.Out == "" || fs.NArg() > 0 {
		fs.Usage()
		return j, errors.New("want -in FILE -out FILE and no other arguments")
	}
	return j, nil
}

// Main is the main function of the service's program: it runs the job
// its command line describes and exits, with status 1 on failure and 2
// on a bad command line.
func Main(service string) {
	j, err := ParseJob(service, os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(2)
	}
	if err := Run(j); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", service, err)
		os.Exit(1)
	}
	if os.Getenv(HoldEnv) != "" {
		// Tell whoever measures us that the work is done, and stay until
		// they have read what they need (standard input closed).
		os.Stdout.WriteString(DoneLine)
		io.Copy(io.Discard, os.Stdin)
	}
	os.Exit(0)
}

// HoldEnv, when set in a service's environment, makes it write DoneLine
// to standard output when its job is done and then wait, holding what it
// holds, until its standard input is closed: so that whoever measures it
// can read its final figures (the kernel's high-water mark of its
// resident set, VmHWM in /proc/<pid>/status) while the process still
// exists. Once a process has exited they are gone, and the rusage the
// kernel keeps for it is no substitute for memory: ru_maxrss counts the
// parent's resident set when, as Go's os/exec and posix_spawn do, the
// parent starts the child with vfork.
const HoldEnv = "RIGHTSIZE_HOLD_AT_EXIT"

// DoneLine is what a held service writes when its job is done.
const DoneLine = "done\n"

// EnvVar, when set in a process's environment, names the service a
// program that calls MaybeRun is to run instead of itself.
const EnvVar = "RIGHTSIZE_IMAGE_SERVICE"

// MaybeRun runs the service EnvVar names, with this process's command
// line, and exits, if EnvVar is set; otherwise it returns at once. A
// program that runs services as copies of itself (Command with no
// directory) calls it first thing in main, and its tests in TestMain.
func MaybeRun() {
	if service, ok := os.LookupEnv(EnvVar); ok {
		Main(service)
	}
}

// Command returns the command that runs j as a process of its own: the
// program named j.Service in dir (built with go build -o dir
// ./examples/services/...), or, if dir is empty, this executable told by
// EnvVar to act as that service (it must call MaybeRun).
func Command(dir string, j Job) (*exec.Cmd, error) {
	if !slices.Contains(Services, j.Service) {
		return nil, fmt.Errorf("imagework: unknown service %q", j.Service)
	}
	if dir != "" {
		return exec.Command(filepath.Join(dir, j.Service), j.Args()...), nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("imagework: %w", err)
	}
	cmd := exec.Command(exe, j.Args()...)
	cmd.Env = append(os.Environ(), EnvVar+"="+j.Service)
	return cmd, nil
}
