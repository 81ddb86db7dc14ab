package predict

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/rightsize/rightsize"
)

// NamedProfiler is a task-profile model and the name tables show it by.
type NamedProfiler struct {
	Name     string
	Profiler TaskProfiler
}

// ProfileScore is how a model's predictions of one target did on held-out
// runs: pooled over every service (Service empty) or for one service.
type ProfileScore struct {
	Model   string
	Service string
	// Target is one of ProfileTargets.
	Target string
	// N is the number of (task, service) runs scored.
	N int
	// MAE is the mean relative absolute error of the point prediction,
	// mean of |Point − y| / y (0.1 is 10 %).
	MAE float64
	// UnderPoint and UnderUpper are the shares of runs whose value was
	// above the point prediction and above the upper level: the
	// under-provisioning of a request set at each.
	UnderPoint, UnderUpper float64
	// Slack is Σ(Upper − y)⁺ / ΣUpper: the share of what the upper level
	// reserved that went unused.
	Slack float64
}

// SplitRuns returns the runs whose task held says to hold out as test,
// the others as train, each in the order of runs.
func SplitRuns(runs []TaskRun, held func(rightsize.Task) bool) (train, test []TaskRun) {
	for _, r := range runs {
		if held(r.Task) {
			test = append(test, r)
		} else {
			train = append(train, r)
		}
	}
	return train, test
}

// EvaluateProfiles fits each model on train and scores its profiles of
// the tasks of test against what their services used: per model, one
// pooled score per target (in the order of ProfileTargets), then one per
// service and target (services in the order first met in test). A run's
// value that is not usable (NaN, no samples of that resource) is not
// scored. A model that cannot profile a test task (a service or a
// parameter value it never saw) fails the evaluation.
func EvaluateProfiles(ctx context.Context, models []NamedProfiler, train, test []TaskRun) ([]ProfileScore, error) {
	if len(test) == 0 {
		return nil, fmt.Errorf("predict: evaluate profiles: %w (no test runs)", ErrNoHistory)
	}
	var out []ProfileScore
	for _, m := range models {
		if err := m.Profiler.Fit(ctx, train); err != nil {
			return nil, fmt.Errorf("predict: evaluate %s: fit: %w", m.Name, err)
		}
		type key struct{ service, target string }
		accs := map[key]*scoreAcc{}
		var services []string
		add := func(k key, y float64, lv ProfileLevel) {
			a := accs[k]
			if a == nil {
				a = &scoreAcc{}
				accs[k] = a
			}
			a.add(y, lv)
		}
		for _, r := range test {
			profiles, err := m.Profiler.Profile(ctx, r.Task)
			if err != nil {
				return nil, fmt.Errorf("predict: evaluate %s: %w", m.Name, err)
			}
			for _, s := range r.Services {
				if s.Position >= len(profiles) {
					continue
				}
				p := profiles[s.Position]
				if !slices.Contains(services, s.Service) {
					services = append(services, s.Service)
				}
				for _, target := range ProfileTargets {
					y := s.Target(target)
					if !profileUsable(y) || y == 0 {
						continue
					}
					add(key{"", target}, y, p.Level(target))
					add(key{s.Service, target}, y, p.Level(target))
				}
			}
		}
		for _, svc := range append([]string{""}, services...) {
			for _, target := range ProfileTargets {
				if a := accs[key{svc, target}]; a != nil {
					out = append(out, a.score(m.Name, svc, target))
				}
			}
		}
	}
	return out, nil
}

type scoreAcc struct {
	n                int
	absRel           float64
	underP, underU   int
	unused, reserved float64
}

func (a *scoreAcc) add(y float64, lv ProfileLevel) {
	a.n++
	a.absRel += math.Abs(lv.Point-y) / y
	if y > lv.Point {
		a.underP++
	}
	if y > lv.Upper {
		a.underU++
	}
	a.unused += math.Max(0, lv.Upper-y)
	a.reserved += lv.Upper
}

func (a *scoreAcc) score(model, service, target string) ProfileScore {
	s := ProfileScore{Model: model, Service: service, Target: target, N: a.n}
	if a.n > 0 {
		n := float64(a.n)
		s.MAE, s.UnderPoint, s.UnderUpper = a.absRel/n, float64(a.underP)/n, float64(a.underU)/n
	}
	if a.reserved > 0 {
		s.Slack = a.unused / a.reserved
	}
	return s
}

// WriteProfileScores writes scores as a table: one line per model and
// target (pooled scores only, unless perService), percentages to one
// decimal.
func WriteProfileScores(w io.Writer, scores []ProfileScore, perService bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MODEL\tTARGET\tSERVICE\tN\tMAE %\tUNDER@POINT %\tUNDER@UPPER %\tSLACK@UPPER %\t")
	for _, s := range scores {
		if s.Service != "" && !perService {
			continue
		}
		svc := s.Service
		if svc == "" {
			svc = "all"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t\n", s.Model, profileTargetName(s.Target), svc, s.N,
			100*s.MAE, 100*s.UnderPoint, 100*s.UnderUpper, 100*s.Slack)
	}
	return tw.Flush()
}

// profileTargetName names a target as a table shows it.
func profileTargetName(target string) string {
	switch target {
	case rightsize.Memory:
		return "peak memory"
	case rightsize.CPU:
		return "mean cpu"
	}
	return strings.ReplaceAll(target, "_", " ")
}
