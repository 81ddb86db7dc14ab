package chart_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart"
	"github.com/rightsize/rightsize/store"
)

// seeded opens an embedded store holding 20 s of two services, one sample
// a second, as the quickstart leaves it.
func seeded(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "rightsize.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var b rightsize.Batch
	for i := range 20 {
		at := t0.Add(time.Duration(i) * time.Second)
		b.Samples = append(b.Samples,
			rightsize.Sample{Task: "run-1", Service: "resize", Resource: rightsize.CPU, Value: 0.5 + 0.01*float64(i%3), Time: at},
			rightsize.Sample{Task: "run-1", Service: "resize", Resource: rightsize.Memory, Value: 256 << 20, Time: at},
			rightsize.Sample{Task: "run-1", Service: "thumbnail", Resource: rightsize.CPU, Value: 0.25, Time: at})
	}
	if err := st.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestGather(t *testing.T) {
	st := seeded(t)
	ctx := context.Background()
	panels, err := chart.Gather(ctx, st, rightsize.Filter{Services: []string{"resize"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) != 2 || panels[0].Resource != "cpu" || panels[1].Resource != "memory" {
		t.Fatalf("panels: %+v", panels)
	}
	p := panels[0]
	// 20 samples over 19 s: buckets of 5 s hold five samples each.
	if p.Step != 5*time.Second || len(p.Band) != 4 {
		t.Errorf("step %v, %d buckets; want 5s and 4", p.Step, len(p.Band))
	}
	if p.UsageIsMean || len(p.Usage) != 1 || p.Usage[0].Len() != 20 {
		t.Errorf("usage: mean=%v, %d series", p.UsageIsMean, len(p.Usage))
	}
	for _, b := range p.Band {
		if b.P50 < 0.49 || b.P95 > 0.53 || b.P95 < b.P50 {
			t.Errorf("bucket %v: p50 %g p95 %g", b.Start, b.P50, b.P95)
		}
	}

	panels, err = chart.Gather(ctx, st, rightsize.Filter{Services: []string{"resize"}, Resources: []string{"cpu"}},
		chart.WithMaxPoints(10), chart.WithStep(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) != 1 || !panels[0].UsageIsMean || panels[0].Usage[0].Len() != 10 || panels[0].Step != 2*time.Second {
		t.Errorf("with 10 points at most: %+v", panels)
	}

	panels, err = chart.Gather(ctx, st, rightsize.Filter{Services: []string{"absent"}})
	if err != nil || len(panels) != 0 {
		t.Errorf("absent service: %v, %v", panels, err)
	}

	dir := t.TempDir()
	panels, _ = chart.Gather(ctx, st, rightsize.Filter{Services: []string{"thumbnail"}})
	paths, err := chart.WriteFiles(dir, panels)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || filepath.Base(paths[0]) != "thumbnail_cpu.png" || filepath.Base(paths[1]) != "thumbnail_cpu.svg" {
		t.Errorf("files: %v", paths)
	}
}
