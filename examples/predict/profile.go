package main

// The profile subcommand: "what should service S request for this task?"
//
//	go run ./examples/predict profile -services decode,resize,blur,encode \
//	    -param width=1920 -param height=1080 -param bytes=900000 -param format=png -service blur
//
// It trains the task-profile regression on the tasks in the store (or
// loads a model saved with -save) and prints, for each service asked, the
// resources block of a Kubernetes Job's container: requests from the point
// prediction, limits from the upper level, in Kubernetes quantities.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
	"github.com/rightsize/rightsize/usage/kube"
)

// paramFlags collects repeated -param NAME=VALUE flags.
type paramFlags map[string]string

func (p paramFlags) String() string {
	parts := make([]string, 0, len(p))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, " ")
}

func (p paramFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not NAME=VALUE", v)
	}
	p[k] = val
	return nil
}

func profileCommand(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("profile", stderr, "usage: predict profile -services S1,S2,... [-param NAME=VALUE]... [-service S] [flags]",
		"What each service of a task should request, predicted from the tasks in the store before the task runs.")
	dsn := cli.RegisterDB(fs)
	services := fs.String("services", "", "the task's services, in the order they run (required)")
	params := paramFlags{}
	fs.Var(params, "param", "a parameter of the task, NAME=VALUE (repeat it): width=1920")
	service := fs.String("service", "", "the service to size (default: every service of the task)")
	features := fs.String("features", "width*height,bytes,format", "the parameters the regression learns from ('*' multiplies)")
	groups := fs.String("groups", "width,height", "parameters whose values stay together when calibrating the upper level")
	quantile := fs.Float64("quantile", predict.DefaultProfileQuantile, "the upper level (limits) is this quantile")
	since := fs.Duration("since", 0, "train on the tasks of this last period only (default: every task)")
	load := fs.String("model", "", "use this saved model instead of training one")
	save := fs.String("save", "", "save the trained model to this file")
	output := fs.String("o", "yaml", "output: yaml (a resources: block per service), json or table")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	task := rightsize.Task{ID: "planned", Params: params, Start: time.Now()}
	for _, s := range strings.Split(*services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			task.Services = append(task.Services, s)
		}
	}
	switch {
	case len(task.Services) == 0:
		fs.Usage()
		return errors.New("profile: -services names no service")
	case *service != "" && !slices.Contains(task.Services, *service):
		return fmt.Errorf("profile: -service %s is not among -services %s", *service, *services)
	case !slices.Contains([]string{"yaml", "json", "table"}, *output):
		return fmt.Errorf("profile: -o %s: want yaml, json or table", *output)
	}

	var model predict.TaskProfiler
	method := ""
	if *load != "" {
		f, err := os.Open(*load)
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		model, err = predict.LoadProfiler(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("profile: %s: %w", *load, err)
		}
		method = "task profile loaded from " + *load
	} else {
		reg, err := predict.NewRegressionProfiler(predict.WithProfileFeatures(splitList(*features)...),
			predict.WithProfileGroups(splitList(*groups)...), predict.WithProfileQuantile(*quantile))
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		n, err := trainProfile(ctx, reg, *dsn, *since)
		if err != nil {
			return err
		}
		model = reg
		method = fmt.Sprintf("task-profile regression on %d tasks, limits at q=%g", n, *quantile)
	}
	if *save != "" {
		if err := saveProfile(*save, model); err != nil {
			return err
		}
	}
	profiles, err := model.Profile(ctx, task)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if *service != "" {
		profiles = slices.DeleteFunc(profiles, func(p predict.ServiceProfile) bool { return p.Service != *service })
	}
	return writeProfiles(stdout, *output, method, task, profiles)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// trainProfile fits m on the finished tasks in the store dsn names, and
// returns how many tasks it learnt from.
func trainProfile(ctx context.Context, m predict.TaskProfiler, dsn string, since time.Duration) (int, error) {
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return 0, fmt.Errorf("profile: %w", err)
	}
	defer st.Close()
	q := store.TaskQuery{}
	if since > 0 {
		q.From = time.Now().Add(-since)
	}
	tasks, err := st.Tasks(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("profile: %w", err)
	}
	runs, err := predict.ReadTaskRuns(ctx, st, tasks)
	if err != nil {
		return 0, fmt.Errorf("profile: %w", err)
	}
	if len(runs) == 0 {
		return 0, fmt.Errorf("profile: no finished task with samples in %s; run some first (go run ./examples/pipeline)", cli.Redact(dsn))
	}
	if err := m.Fit(ctx, runs); err != nil {
		return 0, fmt.Errorf("profile: %w", err)
	}
	return len(runs), nil
}

func saveProfile(path string, m predict.TaskProfiler) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := predict.SaveProfiler(f, m); err != nil {
		f.Close()
		return fmt.Errorf("profile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	return nil
}

// recommendation turns a profile into requests (the point predictions)
// and limits (the upper levels) of cpu and memory.
func recommendation(method string, p predict.ServiceProfile) usage.Recommendation {
	return usage.Recommendation{Service: p.Service, Method: method, Resources: []usage.ResourceRecommendation{
		{Resource: rightsize.CPU, Request: p.CPU.Point, Limit: p.CPU.Upper, Lower: p.CPU.Point, Upper: p.CPU.Upper},
		{Resource: rightsize.Memory, Request: p.Memory.Point, Limit: p.Memory.Upper, Lower: p.Memory.Point, Upper: p.Memory.Upper},
	}}
}

func writeProfiles(w io.Writer, format, method string, task rightsize.Task, profiles []predict.ServiceProfile) error {
	switch format {
	case "json":
		type entry struct {
			predict.ServiceProfile
			Resources kube.Resources `json:"resources"`
		}
		out := struct {
			Services []string          `json:"services"`
			Params   map[string]string `json:"params"`
			Method   string            `json:"method"`
			Profiles []entry           `json:"profiles"`
		}{task.Services, task.Params, method, nil}
		for _, p := range profiles {
			out.Profiles = append(out.Profiles, entry{p, kube.ResourcesOf(recommendation(method, p))})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "SERVICE\tPOSITION\tMEMORY REQUEST\tLIMIT\tCPU REQUEST\tLIMIT\tDURATION\tUP TO\t")
		for _, p := range profiles {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.2f s\t%.2f s\t\n", p.Service, p.Position,
				kube.Memory(p.Memory.Point), kube.Memory(p.Memory.Upper), kube.CPU(p.CPU.Point), kube.CPU(p.CPU.Upper),
				p.Duration.Point, p.Duration.Upper)
		}
		return tw.Flush()
	}
	for i, p := range profiles {
		if i > 0 {
			fmt.Fprintln(w, "---")
		}
		fmt.Fprintf(w, "# %s at position %d of %s (%s)\n# runs for %.2f s, %.2f s at the upper level\n",
			p.Service, p.Position, strings.Join(task.Services, " → "), paramFlags(task.Params), p.Duration.Point, p.Duration.Upper)
		if err := kube.WriteYAML(w, recommendation(method, p)); err != nil {
			return err
		}
	}
	return nil
}
