package imagetask

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
)

// RunAll runs the tasks of plan one after the other, printing a line per
// task and service to w, and returns what each measured.
func (r *Runner) RunAll(ctx context.Context, w io.Writer, plan []Spec) ([]Result, error) {
	if len(plan) > 0 {
		fmt.Fprintf(w, "running %d tasks (%s...), each service sampled every %v\n\n", len(plan), plan[0].ID, r.interval)
	}
	started := time.Now()
	results := make([]Result, 0, len(plan))
	for _, spec := range plan {
		res, err := r.Run(ctx, spec)
		if err != nil {
			return results, err
		}
		results = append(results, res)
		WriteResult(w, spec, res)
	}
	fmt.Fprintf(w, "\n%d tasks in %.1f s\n", len(results), time.Since(started).Seconds())
	return results, nil
}

// WriteResult prints one task: its size, format and order, and for each
// service the kernel's peak, the sampler's highest reading, CPU and time.
func WriteResult(w io.Writer, spec Spec, r Result) {
	fmt.Fprintf(w, "%s %-9s %-4s %s\n", spec.ID, spec.Size, spec.Format, strings.Join(spec.Services, " → "))
	for _, s := range r.Services {
		fmt.Fprintf(w, "    %-7s peak %6.1f MiB (sampled max %6.1f, %2d ticks)  cpu %5.2f cores  %6.0f ms\n", s.Service,
			s.PeakRSS/(1<<20), s.SampledMax/(1<<20), s.Ticks, s.CPU.Seconds()/max(s.Wall.Seconds(), 1e-6), float64(s.Wall.Microseconds())/1e3)
	}
}

// WriteMissed says how far below the kernel's peak the sampler's highest
// reading was: what sampling alone would have stored as the peak.
func WriteMissed(w io.Writer, results []Result) {
	var n, below10 int
	var sum float64
	for _, r := range results {
		for _, s := range r.Services {
			if s.PeakRSS <= 0 {
				continue
			}
			miss := math.Max(0, 1-s.SampledMax/s.PeakRSS)
			n++
			sum += miss
			if miss > 0.10 {
				below10++
			}
		}
	}
	if n > 0 {
		fmt.Fprintf(w, "the sampled series alone: highest memory sample %.1f %% below the kernel's peak on average; more than 10 %% below for %d of %d processes\n",
			100*sum/float64(n), below10, n)
	}
}

// EvaluateStored evaluates the task-profile models on every image task
// st holds (see Evaluate).
func EvaluateStored(ctx context.Context, w io.Writer, st interface {
	predict.ProfileReader
	Tasks(context.Context, store.TaskQuery) ([]rightsize.Task, error)
}, holdout []Size, perService bool) error {
	all, err := st.Tasks(ctx, store.TaskQuery{})
	if err != nil {
		return err
	}
	tasks := slices.DeleteFunc(all, func(t rightsize.Task) bool {
		_, ok := SizeOf(t)
		return !ok
	})
	fmt.Fprintf(w, "%d image tasks stored\n", len(tasks))
	return Evaluate(ctx, w, st, tasks, holdout, perService)
}

// Evaluate trains every task-profile model on the tasks of the sizes not
// held out and scores it on the others.
func Evaluate(ctx context.Context, w io.Writer, st predict.ProfileReader, tasks []rightsize.Task, holdout []Size, perService bool) error {
	runs, err := predict.ReadTaskRuns(ctx, st, tasks)
	if err != nil {
		return err
	}
	train, test := predict.SplitRuns(runs, func(t rightsize.Task) bool {
		s, ok := SizeOf(t)
		return ok && slices.Contains(holdout, s)
	})
	if len(train) == 0 || len(test) == 0 {
		return fmt.Errorf("evaluate: %d training and %d held-out tasks; run more tasks, or hold out sizes that were run", len(train), len(test))
	}
	models, err := Models()
	if err != nil {
		return err
	}
	scores, err := predict.EvaluateProfiles(ctx, models, train, test)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntask profiles: trained on %d tasks, scored on %d tasks of unseen sizes (%s)\n\n", len(train), len(test), sizesText(holdout))
	return predict.WriteProfileScores(w, scores, perService)
}

func sizesText(s []Size) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = x.String()
	}
	return strings.Join(parts, ", ")
}
