package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/examples/pipeline/imagetask"
	"github.com/rightsize/rightsize/examples/services/imagework"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	imagework.MaybeRun() // the services run as copies of the test binary
	goleak.VerifyTestMain(m)
}

// TestPipelineEndToEnd runs a few tasks through the whole pipeline (real
// service processes, the in-process broker, a SQLite store), then checks
// what was stored and that a profile model trains on it and predicts
// within a sane band.
func TestPipelineEndToEnd(t *testing.T) {
	// Under the race detector each service process would sleep a second
	// at exit, waiting for reports; they need not.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	ctx := context.Background()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "pipeline.db")
	sizes, _ := imagetask.ParseSizes("96x64,128x96,200x150,240x180,160x120")
	holdout, _ := imagetask.ParseSizes("160x120")
	var out bytes.Buffer
	err := run(ctx, &out, &cli.Kafka{Topic: "resources"}, dsn, imagetask.Flags{Tasks: 5, Sizes: sizes, Holdout: holdout,
		Formats: []string{imagework.PNG, imagework.JPEG}, Interval: 50 * time.Millisecond, Seed: 3, Eval: true})
	t.Logf("\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "regression") || !strings.Contains(out.String(), "historical max") {
		t.Error("no evaluation table")
	}

	// The stored tasks can be scored again, with other sizes held out.
	out.Reset()
	again, _ := imagetask.ParseSizes("96x64")
	if err := run(ctx, &out, &cli.Kafka{}, dsn, imagetask.Flags{Eval: true, Holdout: again}); err != nil || !strings.Contains(out.String(), "5 image tasks") {
		t.Errorf("-tasks 0 -eval: %v\n%s", err, out.String())
	}

	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tasks, err := st.Tasks(ctx, store.TaskQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 5 {
		t.Fatalf("%d tasks stored, want 5", len(tasks))
	}
	for _, tk := range tasks {
		s, ok := imagetask.SizeOf(tk)
		b, okb := tk.Float("bytes")
		if !ok || !okb || b <= 0 || tk.Params["format"] == "" || tk.End.Before(tk.Start) || tk.End.IsZero() ||
			tk.Services[0] != imagework.DecodeService || tk.Services[len(tk.Services)-1] != imagework.EncodeService {
			t.Errorf("task record %+v (size %v)", tk, s)
		}
	}
	// Every service of every task has its sampled memory and its exit
	// record.
	sums, err := st.Aggregate(ctx, rightsize.Aggregation{Filter: rightsize.Filter{Services: imagework.Services}, ByTask: true})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, s := range sums {
		have[s.Task+" "+s.Service+" "+s.Resource] = true
	}
	for _, tk := range tasks {
		for _, svc := range tk.Services {
			for _, res := range []string{rightsize.Memory, predict.PeakMemory, predict.MeanCPU} {
				if !have[tk.ID+" "+svc+" "+res] {
					t.Errorf("task %s service %s: no %s stored", tk.ID, svc, res)
				}
			}
		}
	}

	runs, err := predict.ReadTaskRuns(ctx, st, tasks)
	if err != nil {
		t.Fatal(err)
	}
	m, err := imagetask.NewProfiler()
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(ctx, runs); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		p, err := m.Profile(ctx, r.Task)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range r.Services {
			got := p[s.Position]
			// A Go process holds a few MiB at least; these images need at
			// most some tens more.
			if s.PeakMemory < 2<<20 || s.PeakMemory > 200<<20 {
				t.Errorf("%s %s: observed peak %.1f MiB", r.Task.ID, s.Service, s.PeakMemory/(1<<20))
			}
			if ratio := got.Memory.Point / s.PeakMemory; ratio < 0.7 || ratio > 1.3 || got.Memory.Upper < got.Memory.Point {
				t.Errorf("%s %s: predicted %+v for an observed peak of %.0f", r.Task.ID, s.Service, got.Memory, s.PeakMemory)
			}
			if !(got.CPU.Point > 0 && got.CPU.Point < 8 && got.Duration.Point > 0 && got.Duration.Point < 60) {
				t.Errorf("%s %s: cpu %+v duration %+v", r.Task.ID, s.Service, got.CPU, got.Duration)
			}
		}
	}
}
