package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/internal/workload"
)

func TestMain(m *testing.M) {
	workload.MaybeRun()
	os.Exit(m.Run())
}

// TestAccuracyQuickstart runs the quickstart's pipeline (in-process broker,
// embedded store) and checks its table against what each service was told
// to use: cpu within 20 %, memory within 10 %.
func TestAccuracyQuickstart(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "quickstart.db")
	table, err := run(context.Background(), &cli.Kafka{Topic: "resources"}, dsn, filepath.Join(t.TempDir(), "charts"), 12*time.Second, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != len(services) {
		t.Fatalf("%d services in the table, want %d", len(table), len(services))
	}
	for i, svc := range services {
		u := table[i]
		cpu, ok1 := u.Resource(rightsize.CPU)
		mem, ok2 := u.Resource(rightsize.Memory)
		if !ok1 || !ok2 {
			t.Fatalf("%s: no cpu or memory in %+v", svc.name, u)
		}
		cpuErr := math.Abs(cpu.Mean-svc.spec.CPU) / svc.spec.CPU
		memErr := math.Abs(mem.Mean-float64(svc.spec.Memory)) / float64(svc.spec.Memory)
		t.Logf("%-9s cpu %.3f cores (told %.2f, %+.1f%%), memory %.1f MiB (told %d, %+.1f%%), %d samples",
			svc.name, cpu.Mean, svc.spec.CPU, 100*(cpu.Mean/svc.spec.CPU-1), mem.Mean/(1<<20), svc.spec.Memory>>20,
			100*(mem.Mean/float64(svc.spec.Memory)-1), cpu.Count)
		if cpuErr > 0.20 {
			t.Errorf("%s: cpu %.3f is %.0f%% off the %.2f cores it burned", svc.name, cpu.Mean, 100*cpuErr, svc.spec.CPU)
		}
		if memErr > 0.10 {
			t.Errorf("%s: memory %.0f is %.0f%% off the %d bytes it held", svc.name, mem.Mean, 100*memErr, svc.spec.Memory)
		}
		if cpu.Count < 8 {
			t.Errorf("%s: only %d cpu samples in 12 s", svc.name, cpu.Count)
		}
	}
}
