package imagetask

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/rightsize/rightsize/examples/services/imagework"
)

// The sizes tasks cycle through, and those held out of training by -eval:
// unseen pixel counts and aspect ratios inside the trained range.
const (
	DefaultSizes   = "320x240,400x400,480x360,640x480,720x720,800x600,1024x768,1280x720,1280x960,1600x900,1600x1200,1920x1080"
	DefaultHoldout = "400x400,720x720,1280x720,1600x1200"
)

// Flags are the pipeline program's own settings.
type Flags struct {
	Tasks            int
	Sizes, Holdout   []Size
	Formats          []string
	Interval         time.Duration
	Seed             uint64
	Bin              string
	Eval, PerService bool
	Quiet            bool
}

// RegisterFlags adds the pipeline's flags to fs; the function it returns,
// called after fs.Parse, checks them and returns the settings.
func RegisterFlags(fs *flag.FlagSet) func() (Flags, error) {
	var f Flags
	fs.IntVar(&f.Tasks, "tasks", 24, "number of tasks to run")
	sizes := fs.String("sizes", DefaultSizes, "image sizes the tasks cycle through, WIDTHxHEIGHT,...")
	holdout := fs.String("holdout", DefaultHoldout, "with -eval: the sizes whose tasks are scored and not trained on")
	formats := fs.String("formats", "png,jpeg", "image formats drawn from")
	fs.DurationVar(&f.Interval, "interval", 50*time.Millisecond, "sampling interval of each service")
	fs.Uint64Var(&f.Seed, "seed", 1, "seed of the plan (orders, formats, images)")
	fs.StringVar(&f.Bin, "bin", "", "directory of the built service programs (default: run them as copies of this program)")
	fs.BoolVar(&f.Eval, "eval", false, "then train the task-profile models on the other sizes and score them on -holdout")
	fs.BoolVar(&f.PerService, "per-service", false, "with -eval: scores per service too")
	fs.BoolVar(&f.Quiet, "q", false, "print no line per task")
	return func() (Flags, error) {
		var err error
		if f.Sizes, err = ParseSizes(*sizes); err != nil {
			return f, err
		}
		if f.Holdout, err = ParseSizes(*holdout); err != nil && f.Eval {
			return f, err
		}
		for _, format := range strings.Split(*formats, ",") {
			if format != imagework.PNG && format != imagework.JPEG {
				return f, fmt.Errorf("format %q: want png or jpeg", format)
			}
			f.Formats = append(f.Formats, format)
		}
		if f.Tasks < 0 || (f.Tasks == 0 && !f.Eval) {
			return f, errors.New("-tasks must be at least 1 (or 0 with -eval: score the tasks already stored)")
		}
		return f, nil
	}
}
