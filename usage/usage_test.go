package usage_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// history: service "resize" in tasks img-1 and img-2, 10 ticks each; cpu
// is 0.1·i, memory 100 MiB + i MiB.
func history() []rightsize.Sample {
	var out []rightsize.Sample
	for _, task := range []string{"img-1", "img-2"} {
		for i := range 10 {
			at := t0.Add(time.Duration(i) * time.Second)
			if task == "img-2" {
				at = at.Add(time.Hour)
			}
			out = append(out,
				rightsize.Sample{Task: task, Service: "resize", Resource: "cpu", Value: 0.1 * float64(i), Time: at},
				rightsize.Sample{Task: task, Service: "resize", Resource: "memory", Value: float64(100<<20 + i<<20), Time: at})
		}
	}
	out = append(out, rightsize.Sample{Service: "other", Resource: "cpu", Value: 3, Time: t0})
	return out
}

func openSQLite(t *testing.T) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Write(context.Background(), rightsize.Batch{Samples: history()}); err != nil {
		t.Fatal(err)
	}
	return st
}

// scanOnly hides the store's Summarize, so the estimator streams values
// and computes the summaries itself.
type scanOnly struct{ r usage.Reader }

func (s scanOnly) Scan(ctx context.Context, f rightsize.Filter, fn func(rightsize.Sample) error) error {
	return s.r.Scan(ctx, f, fn)
}

func TestExpected(t *testing.T) {
	st := openSQLite(t)
	pushed, _ := usage.New(st)
	streamed, _ := usage.New(scanOnly{st})
	ctx := context.Background()
	for name, e := range map[string]*usage.Estimator{"pushed down": pushed, "streamed": streamed} {
		t.Run(name, func(t *testing.T) {
			u, err := e.Expected(ctx, "resize")
			if err != nil {
				t.Fatal(err)
			}
			if len(u.Resources) != 2 || u.Resources[0].Resource != "cpu" || u.Resources[1].Resource != "memory" {
				t.Fatalf("resources %+v", u.Resources)
			}
			cpu, _ := u.Resource("cpu")
			// values 0, 0.1, ..., 0.9 twice
			if cpu.Count != 20 || cpu.Min != 0 || math.Abs(cpu.Max-0.9) > 1e-12 || math.Abs(cpu.Mean-0.45) > 1e-12 {
				t.Errorf("cpu %+v", cpu)
			}
			if want := 0.2946898; math.Abs(cpu.StdDev-want) > 1e-6 {
				t.Errorf("cpu stddev %v, want %v", cpu.StdDev, want)
			}
			if !cpu.First.Equal(t0) || !cpu.Last.Equal(t0.Add(time.Hour+9*time.Second)) {
				t.Errorf("cpu first %v last %v", cpu.First, cpu.Last)
			}
			u, err = e.Expected(ctx, "resize", usage.ForTask("img-2"), usage.ForResources("memory"))
			if err != nil {
				t.Fatal(err)
			}
			mem, ok := u.Resource("memory")
			if len(u.Resources) != 1 || !ok || mem.Count != 10 || mem.Min != 100<<20 || mem.Max != 109<<20 {
				t.Errorf("img-2 memory %+v", u.Resources)
			}
			u, err = e.Expected(ctx, "resize", usage.Between(t0, t0.Add(5*time.Second)))
			if err != nil {
				t.Fatal(err)
			}
			if cpu, _ := u.Resource("cpu"); cpu.Count != 5 || math.Abs(cpu.Max-0.4) > 1e-12 {
				t.Errorf("window cpu %+v", cpu)
			}
			_, err = e.Expected(ctx, "nobody")
			if !errors.Is(err, usage.ErrNoData) || !strings.Contains(err.Error(), "nobody") {
				t.Errorf("unknown service: %v", err)
			}
			if _, err := e.Expected(ctx, ""); err == nil {
				t.Error("empty service accepted")
			}
		})
	}
}

func TestPackageDefaultOpensFromEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "default.db")
	st, err := store.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(context.Background(), rightsize.Batch{Samples: history()}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	t.Setenv("RIGHTSIZE_DATABASE_URL", "sqlite:"+path)
	usage.SetDefault(nil)
	t.Cleanup(func() { usage.SetDefault(nil) })
	u, err := usage.Expected(context.Background(), "other")
	if err != nil {
		t.Fatal(err)
	}
	if cpu, _ := u.Resource("cpu"); cpu.Count != 1 || cpu.Max != 3 {
		t.Errorf("other cpu %+v", cpu)
	}
	// A DSN that cannot be opened is an error, tried again next time.
	usage.SetDefault(nil)
	t.Setenv("RIGHTSIZE_DATABASE_URL", "mysql://nope")
	if _, err := usage.Expected(context.Background(), "other"); err == nil || !strings.Contains(err.Error(), "mysql") {
		t.Errorf("bad DSN: %v", err)
	}
}

func ExampleExpected() {
	dir, _ := os.MkdirTemp("", "rightsize-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, _ := store.Open(ctx, "sqlite:"+filepath.Join(dir, "rightsize.db"))
	_ = st.Write(ctx, rightsize.Batch{Samples: history()})
	st.Close()

	// A scheduler needs nothing but the DSN in its environment.
	os.Setenv("RIGHTSIZE_DATABASE_URL", "sqlite:"+filepath.Join(dir, "rightsize.db"))
	defer os.Unsetenv("RIGHTSIZE_DATABASE_URL")
	defer usage.SetDefault(nil)

	u, err := usage.Expected(ctx, "resize", usage.ForTask("img-1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range u.Resources {
		fmt.Printf("%s: mean %.2f, max %.2f over %d samples\n", r.Resource, r.Mean, r.Max, r.Count)
	}
	// Output:
	// cpu: mean 0.45, max 0.90 over 10 samples
	// memory: mean 109576192.00, max 114294784.00 over 10 samples
}

func tempDir() string {
	d, _ := os.MkdirTemp("", "rightsize-usage")
	return d
}
