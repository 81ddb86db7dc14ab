// Package kube renders recommendations for Kubernetes: resource
// quantities (cpu "251m", memory "512Mi"), a resources: block in YAML,
// and a strategic merge patch of a Deployment's container that kubectl
// patch accepts.
//
// Quantities round up, never down: a request rounded down would be
// below what the recommendation says is needed.
package kube

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/usage"
)

// CPU renders cores as a Kubernetes quantity in millicores, rounded up:
// 0.2501 → "251m", 2 → "2", 0 → "0".
func CPU(cores float64) string {
	m := int64(math.Ceil(cores*1000 - 1e-9))
	if m <= 0 {
		return "0"
	}
	if m%1000 == 0 {
		return strconv.FormatInt(m/1000, 10)
	}
	return strconv.FormatInt(m, 10) + "m"
}

// Memory renders bytes as a Kubernetes quantity in the largest binary
// unit that keeps it whole after rounding up to a whole mebibyte (Ki for
// less than a MiB): 536870912 → "512Mi", 1.5 GiB → "1536Mi", 2 GiB →
// "2Gi".
func Memory(bytes float64) string {
	if bytes <= 0 {
		return "0"
	}
	if bytes < 1<<20 {
		return strconv.FormatInt(int64(math.Ceil(bytes/1024)), 10) + "Ki"
	}
	mi := int64(math.Ceil(bytes/(1<<20) - 1e-9))
	if mi%(1<<10) == 0 {
		return strconv.FormatInt(mi>>10, 10) + "Gi"
	}
	return strconv.FormatInt(mi, 10) + "Mi"
}

// Quantity renders a value of resource: cpu and memory as above, any
// other resource as a whole number rounded up.
func Quantity(resource string, v float64) string {
	switch resource {
	case rightsize.CPU:
		return CPU(v)
	case rightsize.Memory:
		return Memory(v)
	}
	return strconv.FormatFloat(math.Ceil(v), 'f', 0, 64)
}

// Resources is a container's resources block: requests and limits by
// resource name, as quantities.
type Resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// ResourcesOf returns the requests and limits of a recommendation; an
// infinite limit (no limit) is left out. Only cpu, memory and resources
// whose names hold a '/' (extended resources such as nvidia.com/gpu) are
// included: the others are not Kubernetes resources.
func ResourcesOf(r usage.Recommendation) Resources {
	out := Resources{Requests: map[string]string{}, Limits: map[string]string{}}
	for _, x := range r.Resources {
		if x.Resource != rightsize.CPU && x.Resource != rightsize.Memory && !strings.Contains(x.Resource, "/") {
			continue
		}
		out.Requests[x.Resource] = Quantity(x.Resource, x.Request)
		if !math.IsInf(x.Limit, 0) && x.Limit > 0 {
			out.Limits[x.Resource] = Quantity(x.Resource, x.Limit)
		}
	}
	return out
}

// WriteYAML writes a resources: block for r, keys sorted:
//
//	resources:
//	  requests:
//	    cpu: 251m
//	    memory: 512Mi
//	  limits:
//	    memory: 600Mi
func WriteYAML(w io.Writer, r usage.Recommendation) error {
	res := ResourcesOf(r)
	var b strings.Builder
	fmt.Fprintf(&b, "# %s, method %s\n", r.Service, r.Method)
	b.WriteString("resources:\n")
	for _, part := range []struct {
		name string
		m    map[string]string
	}{{"requests", res.Requests}, {"limits", res.Limits}} {
		if len(part.m) == 0 {
			continue
		}
		fmt.Fprintf(&b, "  %s:\n", part.name)
		for _, k := range sortedKeys(part.m) {
			fmt.Fprintf(&b, "    %s: %s\n", yamlKey(k), part.m[k])
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func yamlKey(k string) string {
	if strings.ContainsAny(k, ":#/ ") {
		return strconv.Quote(k)
	}
	return k
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Patch returns a strategic merge patch (JSON) that sets the resources of
// the named container of a Deployment (or any pod template owner):
//
//	kubectl patch deployment web --patch "$(go run ./examples/usage -o patch -container web web)"
//
// Containers are merged by name, so the other containers and fields are
// left as they are.
func Patch(container string, r usage.Recommendation) ([]byte, error) {
	if container == "" {
		return nil, fmt.Errorf("kube: patch: no container name")
	}
	type c struct {
		Name      string    `json:"name"`
		Resources Resources `json:"resources"`
	}
	var p struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []c `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	p.Spec.Template.Spec.Containers = []c{{container, ResourcesOf(r)}}
	return json.Marshal(p)
}

// WriteTable writes one row per service and resource: request, limit,
// lower and upper bound as quantities, the evidence, and its note.
func WriteTable(w io.Writer, recs ...usage.Recommendation) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tRESOURCE\tREQUEST\tLIMIT\tLOWER\tUPPER\tSAMPLES\tHISTORY\tCONFIDENCE\tMETHOD\tNOTE")
	q := func(res string, v float64) string {
		if math.IsInf(v, 1) {
			return "none"
		}
		return Quantity(res, v)
	}
	for _, r := range recs {
		for _, x := range r.Resources {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%.2f\t%s\t%s\n", r.Service, x.Resource,
				q(x.Resource, x.Request), q(x.Resource, x.Limit), q(x.Resource, x.Lower), q(x.Resource, x.Upper),
				x.Evidence.Samples, x.Evidence.Span.Round(time.Second), x.Evidence.Confidence, r.Method, x.Evidence.Note)
		}
	}
	return tw.Flush()
}

// Formats are the formats Write knows.
var Formats = []string{"table", "json", "yaml", "patch"}

// Write writes a report in format: "table" (the expected usage, then the
// recommendations, for people), "json" (the report as one object), "yaml"
// (a resources: block per service) or "patch" (a strategic merge patch of
// the named container, the service's name if empty; the report must hold
// one service). It returns an error for any other format.
func Write(w io.Writer, format string, r usage.Report, container string) error {
	switch format {
	case "table":
		if _, err := fmt.Fprintln(w, "expected usage:"); err != nil {
			return err
		}
		if err := usage.WriteTable(w, r.Expected...); err != nil {
			return err
		}
		fmt.Fprintln(w, "\nrecommended requests and limits:")
		return WriteTable(w, r.Recommendations...)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "yaml":
		for _, rec := range r.Recommendations {
			if err := WriteYAML(w, rec); err != nil {
				return err
			}
		}
		return nil
	case "patch":
		if len(r.Recommendations) != 1 {
			return fmt.Errorf("kube: a patch is for one service, the report has %d", len(r.Recommendations))
		}
		if container == "" {
			container = r.Recommendations[0].Service
		}
		p, err := Patch(container, r.Recommendations[0])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", p)
		return err
	}
	return fmt.Errorf("kube: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}
