package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
)

// known fills a store with three days of two services sampled every 5
// minutes: web uses a constant 0.25 cores and 512 MiB, db a constant
// 1.5 cores and 2 GiB.
func known(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "usage.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var samples []rightsize.Sample
	for i := range 3 * 288 {
		at := t0.Add(time.Duration(i) * 5 * time.Minute)
		samples = append(samples,
			rightsize.Sample{Service: "web", Resource: rightsize.CPU, Value: 0.25, Time: at},
			rightsize.Sample{Service: "web", Resource: rightsize.Memory, Value: 512 << 20, Time: at},
			rightsize.Sample{Service: "db", Resource: rightsize.CPU, Value: 1.5, Time: at},
			rightsize.Sample{Service: "db", Resource: rightsize.Memory, Value: 2 << 30, Time: at})
	}
	if err := st.Write(ctx, rightsize.Batch{Samples: samples}); err != nil {
		t.Fatal(err)
	}
	return st
}

func output(t *testing.T, st store.Store, o options) string {
	t.Helper()
	if o.method == nil {
		o.method, _ = usage.MethodNamed("calibrated")
	}
	var b bytes.Buffer
	if err := run(context.Background(), &b, st, o); err != nil {
		t.Fatalf("%+v: %v", o, err)
	}
	return b.String()
}

// quantity reads a Kubernetes quantity back: millicores or mebibytes.
func quantity(t *testing.T, s string) float64 {
	t.Helper()
	for suffix, scale := range map[string]float64{"m": 0.001, "Mi": 1 << 20, "Gi": 1 << 30} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil {
				t.Fatalf("quantity %q", s)
			}
			return v * scale
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("quantity %q", s)
	}
	return v
}

func TestTable(t *testing.T) {
	out := output(t, known(t), options{out: "table"})
	for _, want := range []string{"expected usage:", "recommended requests and limits:", "SERVICE", "web", "db", "calibrated", "0.250", "512.000", "MiB"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestJSON(t *testing.T) {
	var r usage.Report
	if err := json.Unmarshal([]byte(output(t, known(t), options{out: "json"})), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Expected) != 2 || len(r.Recommendations) != 2 {
		t.Fatalf("report %+v", r)
	}
	for _, rec := range r.Recommendations {
		cpu, _ := rec.Resource(rightsize.CPU)
		want := map[string]float64{"web": 0.25, "db": 1.5}[rec.Service]
		if rec.Method != "calibrated" || cpu.Request < want || cpu.Request > 1.02*want || cpu.Evidence.Samples != 864 {
			t.Errorf("%s: %+v", rec.Service, cpu)
		}
	}
	if u, _ := r.Expected[0].Resource(rightsize.Memory); u.Mean <= 0 || u.Count != 864 {
		t.Errorf("expected %+v", r.Expected[0])
	}
}

// The yaml block is in Kubernetes quantities: the default method's
// request for a constant usage is that usage (its quantile is never
// above the largest value seen); VPA's is hand-computed (0.25 cores:
// bucket end 0.2584 × 1.15 → 298m, rounded up; 512 MiB: bucket end
// 546.7 MB × 1.15 → 600Mi).
func TestYAML(t *testing.T) {
	st := known(t)
	out := output(t, st, options{out: "yaml"})
	want := "# db, method calibrated\nresources:\n  requests:\n    cpu: 1500m\n    memory: 2Gi\n  limits:\n    cpu: 1500m\n    memory: 2Gi\n" +
		"# web, method calibrated\nresources:\n  requests:\n    cpu: 250m\n    memory: 512Mi\n  limits:\n    cpu: 250m\n    memory: 512Mi\n"
	if out != want {
		t.Errorf("yaml:\n%s\nwant:\n%s", out, want)
	}
	vpa, _ := usage.MethodNamed("vpa")
	out = output(t, st, options{out: "yaml", services: []string{"web"}, method: vpa})
	if !strings.Contains(out, "  requests:\n    cpu: 298m\n    memory: 600Mi\n") {
		t.Errorf("vpa yaml:\n%s", out)
	}
}

// The patch has the shape kubectl patch accepts for a Deployment (a
// strategic merge patch of spec.template.spec.containers, merged by
// name): decoding it into that shape with unknown fields refused works.
func TestPatch(t *testing.T) {
	out := output(t, known(t), options{out: "patch", services: []string{"db"}, container: "postgres"})
	var p struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name      string `json:"name"`
						Resources struct {
							Requests map[string]string `json:"requests"`
							Limits   map[string]string `json:"limits"`
						} `json:"resources"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("patch %s: %v", out, err)
	}
	cs := p.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "postgres" || len(cs[0].Resources.Requests) != 2 {
		t.Fatalf("patch %s", out)
	}
	if cpu, mem := quantity(t, cs[0].Resources.Requests["cpu"]), quantity(t, cs[0].Resources.Requests["memory"]); cpu != 1.5 || mem != 2<<30 {
		t.Errorf("requests %v cores, %v bytes for 1.5 cores and 2 GiB", cpu, mem)
	}
	// a patch is for one service
	var b bytes.Buffer
	if err := run(context.Background(), &b, known(t), options{out: "patch", method: usage.KRRSimple()}); err == nil {
		t.Error("a patch for every service accepted")
	}
}
