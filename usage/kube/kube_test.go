package kube_test

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/rightsize/rightsize/usage"
	"github.com/rightsize/rightsize/usage/kube"
)

func TestQuantities(t *testing.T) {
	for in, want := range map[float64]string{0.2501: "251m", 0.25: "250m", 2: "2", 0.0001: "1m", 0: "0", 1.5: "1500m"} {
		if got := kube.CPU(in); got != want {
			t.Errorf("CPU(%v) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[float64]string{536870912: "512Mi", 536870913: "513Mi", 1 << 31: "2Gi", 1.5 * (1 << 30): "1536Mi", 1000: "1Ki", 0: "0"} {
		if got := kube.Memory(in); got != want {
			t.Errorf("Memory(%v) = %s, want %s", in, got, want)
		}
	}
	if got := kube.Quantity("nvidia.com/gpu", 0.2); got != "1" {
		t.Errorf("gpu 0.2 = %s, want 1", got)
	}
}

var rec = usage.Recommendation{Service: "web", Method: "calibrated", Resources: []usage.ResourceRecommendation{
	{Resource: "cpu", Request: 0.2501, Limit: math.Inf(1), Lower: 0.1, Upper: 0.5},
	{Resource: "memory", Request: 536870912, Limit: 600 << 20, Lower: 1, Upper: 2},
	{Resource: "threads", Request: 12, Limit: 20},
}}

func TestYAML(t *testing.T) {
	var b bytes.Buffer
	if err := kube.WriteYAML(&b, rec); err != nil {
		t.Fatal(err)
	}
	want := "# web, method calibrated\nresources:\n  requests:\n    cpu: 251m\n    memory: 512Mi\n  limits:\n    memory: 600Mi\n"
	if b.String() != want {
		t.Errorf("yaml:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestPatch(t *testing.T) {
	p, err := kube.Patch("web", rec)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"spec":{"template":{"spec":{"containers":[{"name":"web","resources":{"requests":{"cpu":"251m","memory":"512Mi"},"limits":{"memory":"600Mi"}}}]}}}}`
	if string(p) != want {
		t.Errorf("patch %s, want %s", p, want)
	}
	var v map[string]any
	if err := json.Unmarshal(p, &v); err != nil {
		t.Error(err)
	}
	if _, err := kube.Patch("", rec); err == nil {
		t.Error("patch without a container accepted")
	}
}

func ExampleWriteYAML() {
	kube.WriteYAML(os.Stdout, usage.Recommendation{Service: "resize", Method: "vpa", Resources: []usage.ResourceRecommendation{
		{Resource: "cpu", Request: 0.2501, Limit: math.Inf(1)},
		{Resource: "memory", Request: 512 << 20, Limit: 1 << 30},
	}})
	// Output:
	// # resize, method vpa
	// resources:
	//   requests:
	//     cpu: 251m
	//     memory: 512Mi
	//   limits:
	//     memory: 1Gi
}

func TestWrite(t *testing.T) {
	r := usage.Report{Recommendations: []usage.Recommendation{rec}}
	for _, f := range kube.Formats {
		var b bytes.Buffer
		if err := kube.Write(&b, f, r, ""); err != nil || b.Len() == 0 {
			t.Errorf("%s: %q, %v", f, b.String(), err)
		}
	}
	var b bytes.Buffer
	if err := kube.Write(&b, "patch", r, ""); err != nil || !bytes.Contains(b.Bytes(), []byte(`"name":"web"`)) {
		t.Errorf("patch for the service's container: %s, %v", b.String(), err)
	}
	if err := kube.Write(&b, "xml", r, ""); err == nil {
		t.Error("unknown format accepted")
	}
	r.Recommendations = append(r.Recommendations, rec)
	if err := kube.Write(&b, "patch", r, "web"); err == nil {
		t.Error("a patch of two services accepted")
	}
}
