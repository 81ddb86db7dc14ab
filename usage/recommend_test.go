package usage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
	"gonum.org/v1/gonum/stat"
)

// The stores satisfy the capabilities the estimator looks for: a drifting
// signature would silently switch pushdown off.
var (
	_ usage.Reader       = (*store.Postgres)(nil)
	_ usage.Aggregator   = (*store.Postgres)(nil)
	_ usage.RollupReader = (*store.Postgres)(nil)
	_ usage.Reader       = (*store.SQLite)(nil)
	_ usage.Aggregator   = (*store.SQLite)(nil)
	_ usage.RollupReader = (*store.SQLite)(nil)
)

// week: three days of "api" sampled every 5 minutes: cpu a daily wave
// between 0.1 and 0.5 cores, memory 400 MiB ± 50 MiB; one OOM kill.
func week() []rightsize.Sample {
	var out []rightsize.Sample
	for i := range 3 * 288 {
		at := t0.Add(time.Duration(i) * 5 * time.Minute)
		x := math.Sin(2 * math.Pi * float64(i%288) / 288)
		out = append(out,
			rightsize.Sample{Service: "api", Resource: "cpu", Value: 0.3 + 0.2*x, Time: at},
			rightsize.Sample{Service: "api", Resource: "memory", Value: 400<<20 + 50<<20*x, Time: at})
	}
	out = append(out, rightsize.Sample{Service: "api", Resource: "oom.kills", Value: 1, Time: t0.Add(60 * time.Hour)})
	return out
}

func openWith(t *testing.T, samples []rightsize.Sample) *store.SQLite {
	t.Helper()
	st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Write(context.Background(), rightsize.Batch{Samples: samples}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestExpectedPercentiles(t *testing.T) {
	st := openWith(t, week())
	ctx := context.Background()
	var cpu []float64
	for _, s := range week() {
		if s.Resource == "cpu" {
			cpu = append(cpu, s.Value)
		}
	}
	sort.Float64s(cpu)
	pushed, _ := usage.New(st)
	streamed, _ := usage.New(scanOnly{st})
	for name, e := range map[string]*usage.Estimator{"pushed down": pushed, "streamed": streamed} {
		u, err := e.Expected(ctx, "api", usage.ForResources("cpu"))
		if err != nil {
			t.Fatal(err)
		}
		r, _ := u.Resource("cpu")
		tol := 1e-12
		if name == "pushed down" {
			tol = 0.02 // the store's sketches
		}
		for _, c := range []struct {
			q   float64
			got float64
		}{{0.5, r.P50}, {0.9, r.P90}, {0.95, r.P95}, {0.99, r.P99}} {
			want := stat.Quantile(c.q, stat.Empirical, cpu, nil)
			if math.Abs(c.got-want) > tol*want {
				t.Errorf("%s: P%v = %v, gonum says %v", name, c.q*100, c.got, want)
			}
		}
		if mean := stat.Mean(cpu, nil); math.Abs(r.Mean-mean) > 1e-9 {
			t.Errorf("%s: mean %v, gonum %v", name, r.Mean, mean)
		}
		if r.Evidence.Samples != 864 || r.Evidence.Note != "" || r.Evidence.Confidence <= 0.5 {
			t.Errorf("%s: evidence %+v", name, r.Evidence)
		}
		// a time-of-day window: only the first six hours of each day
		u, err = e.Expected(ctx, "api", usage.ForResources("cpu"), usage.Daily(0, 6*time.Hour, nil))
		if err != nil {
			t.Fatal(err)
		}
		if r, _ := u.Resource("cpu"); r.Count != 3*72 || r.Max > 0.3+1e-9 {
			t.Errorf("%s: daily window %+v", name, r.Summary)
		}
	}
}

func TestRecommend(t *testing.T) {
	st := openWith(t, week())
	ctx := context.Background()
	vpa, _ := usage.VPA()
	fromRollups, _ := usage.New(st)
	fromSamples, _ := usage.New(scanOnly{st})
	for _, m := range []usage.Method{vpa, nil} {
		var opts []usage.Option
		if m != nil {
			opts = append(opts, usage.UsingMethod(m))
		}
		a, err := fromRollups.Recommend(ctx, "api", opts...)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fromSamples.Recommend(ctx, "api", opts...)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Resources) != 2 || a.Resources[0].Resource != "cpu" || a.Resources[1].Resource != "memory" {
			t.Fatalf("%s: resources %+v", a.Method, a.Resources)
		}
		for i, x := range a.Resources {
			y := b.Resources[i]
			// rollups against raw samples: within the sketch's error and a
			// bucket's time resolution
			if math.Abs(x.Request-y.Request) > 0.05*y.Request {
				t.Errorf("%s %s: request %v from rollups, %v from samples", a.Method, x.Resource, x.Request, y.Request)
			}
			if !(x.Lower <= x.Request && x.Request <= x.Limit && x.Request <= x.Upper) {
				t.Errorf("%s %s: bounds out of order %+v", a.Method, x.Resource, x)
			}
		}
		cpu, _ := a.Resource("cpu")
		if cpu.Request < 0.45 || cpu.Request > 0.7 {
			t.Errorf("%s: cpu request %v for a wave peaking at 0.5", a.Method, cpu.Request)
		}
		if _, err := json.Marshal(a); err != nil {
			t.Errorf("json: %v", err)
		}
	}
	// the OOM kill bumps the memory of both methods: at least the peak ×
	// 1.2
	for _, m := range []usage.Method{vpa, nil} {
		var opts []usage.Option
		if m != nil {
			opts = append(opts, usage.UsingMethod(m))
		}
		r, _ := fromSamples.Recommend(ctx, "api", opts...)
		if mem, _ := r.Resource("memory"); mem.Request < 450<<20*1.2 {
			t.Errorf("%s: memory after an OOM kill %v", r.Method, mem.Request)
		}
	}
}

func TestRecommendBadInput(t *testing.T) {
	st := openWith(t, week()[:6])
	e, _ := usage.New(st)
	ctx := context.Background()
	_, err := e.Recommend(ctx, "nobody")
	if !errors.Is(err, usage.ErrNoData) || !strings.Contains(err.Error(), `no samples for service "nobody"`) {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := e.Recommend(ctx, "api", usage.UsingMethod(nil)); err == nil {
		t.Error("nil method accepted")
	}
	// three samples of history: a result that says so
	r, err := e.Recommend(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range r.Resources {
		if x.Evidence.Note == "" || x.Evidence.Samples != 3 {
			t.Errorf("%s: short history not said: %+v", x.Resource, x.Evidence)
		}
	}
}

func TestReport(t *testing.T) {
	e, _ := usage.New(openWith(t, week()))
	ctx := context.Background()
	r, err := e.Report(ctx, []string{"api"})
	if err != nil || len(r.Expected) != 1 || len(r.Recommendations) != 1 || r.Recommendations[0].Method != "calibrated" {
		t.Fatalf("report %+v, %v", r, err)
	}
	if u, _ := r.Expected[0].Resource("cpu"); u.Count != 864 {
		t.Errorf("expected cpu %+v", u)
	}
	if _, err := e.Report(ctx, []string{"api", "nobody"}); !errors.Is(err, usage.ErrNoData) {
		t.Errorf("unknown service: %v", err)
	}
}

func ExampleRecommend() {
	ctx := context.Background()
	st, _ := store.OpenSQLite(ctx, filepath.Join(tempDir(), "example.db"))
	defer st.Close()
	_ = st.Write(ctx, rightsize.Batch{Samples: week()})

	e, _ := usage.New(st)
	vpa, _ := usage.VPA()
	r, err := e.Recommend(ctx, "api", usage.UsingMethod(vpa), usage.ForResources("cpu"))
	if err != nil {
		fmt.Println(err)
		return
	}
	cpu, _ := r.Resource("cpu")
	fmt.Printf("%s: request %.3f cores from %d samples over %v\n", r.Method, cpu.Request, cpu.Evidence.Samples, cpu.Evidence.Span)
	// Output:
	// vpa: request 0.588 cores from 864 samples over 71h55m0s
}
