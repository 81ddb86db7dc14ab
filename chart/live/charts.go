package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart"
	"github.com/rightsize/rightsize/usage"
	"github.com/rightsize/rightsize/usage/kube"
	"gonum.org/v1/plot/vg"
)

// Panels returns the charts of service — one per resource, from the
// store r — with the request and limit of rec drawn on them, for the
// samples f selects (its Services aside: service alone).
func Panels(ctx context.Context, r chart.Reader, service string, rec usage.Recommendation, f rightsize.Filter, opts ...chart.GatherOption) ([]chart.Panel, error) {
	f.Services = []string{service}
	panels, err := chart.Gather(ctx, r, f, opts...)
	if err != nil {
		return nil, err
	}
	for i, p := range panels {
		if x, ok := rec.Resource(p.Resource); ok {
			panels[i].Request, panels[i].Limit = x.Request, x.Limit
		}
	}
	return panels, nil
}

// WriteCharts writes the charts of each recommendation's service into
// dir — a PNG and an SVG per resource, with the recommended request and
// limit drawn, and an index.html showing them all — and returns the paths
// of the images. Only samples matching f (its Services aside: each
// service in turn) are drawn, so a filter on a task charts that run
// alone. A Recommendation with a Service and no Resources draws the
// service's usage alone.
func WriteCharts(ctx context.Context, dir string, r chart.Reader, recs []usage.Recommendation, f rightsize.Filter, opts ...chart.Option) ([]string, error) {
	var paths []string
	type entry struct{ Service, Resource, PNG, SVG string }
	index := []entry{}
	for _, rec := range recs {
		panels, err := Panels(ctx, r, rec.Service, rec, f)
		if err != nil {
			return paths, err
		}
		written, err := chart.WriteFiles(dir, panels, opts...)
		paths = append(paths, written...)
		if err != nil {
			return paths, err
		}
		for _, p := range panels {
			base := chart.FileName(p.Service, p.Resource)
			index = append(index, entry{p.Service, p.Resource, base + ".png", base + ".svg"})
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return paths, fmt.Errorf("live: %w", err)
	}
	var buf bytes.Buffer
	if err := indexPage.Execute(&buf, index); err != nil {
		return paths, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), buf.Bytes(), 0o644); err != nil {
		return paths, fmt.Errorf("live: %w", err)
	}
	return paths, nil
}

var indexPage = template.Must(template.New("index").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rightsize charts</title>
<style>body{font:15px system-ui,sans-serif;margin:1.5em;color:#222}img{max-width:100%;border:1px solid #ddd;margin:.3em 0 1.2em}</style>
</head><body><h1>rightsize charts</h1>
{{range .}}<h2>{{.Service}} · {{.Resource}}</h2>
<a href="{{.SVG}}"><img src="{{.PNG}}" alt="{{.Service}} {{.Resource}}"></a>
{{else}}<p>No samples to chart.</p>{{end}}
</body></html>
`))

// Report writes a report to w as kube.Write's "table" format shows it —
// expected usage, then the recommended requests and limits — writes its
// services' charts into dir (see WriteCharts; f narrows the samples), and
// ends by saying where they are.
func Report(ctx context.Context, w io.Writer, dir string, r chart.Reader, rep usage.Report, f rightsize.Filter) error {
	if err := kube.Write(w, "table", rep, ""); err != nil {
		return err
	}
	paths, err := WriteCharts(ctx, dir, r, rep.Recommendations, f)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, "\n"+ChartsWritten(dir, paths))
	return err
}

// ChartsWritten says where WriteCharts put its files: "charts: 4 images
// in /abs/dir (open /abs/dir/index.html)".
func ChartsWritten(dir string, paths []string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return fmt.Sprintf("charts: %d images in %s (open %s)", len(paths), abs, filepath.Join(abs, "index.html"))
}

// chartCache keeps rendered charts for a while, so that a page refreshing
// its charts does not read the store each time.
type chartCache struct {
	mu      sync.Mutex
	entries map[chartKey]cachedChart
}

type chartKey struct{ service, resource string }

type cachedChart struct {
	at  time.Time
	svg []byte
}

// chartWindow is how much history the page's charts show: the last hour
// before the service's latest sample.
const chartWindow = time.Hour

func (s *Server) handleChart(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	k := chartKey{q.Get("service"), q.Get("resource")}
	if k.service == "" || rightsize.ValidResourceName(k.resource) != nil {
		http.Error(w, "want /chart.svg?service=NAME&resource=NAME", http.StatusBadRequest)
		return
	}
	s.charts.mu.Lock()
	c, ok := s.charts.entries[k]
	s.charts.mu.Unlock()
	if !ok || time.Since(c.at) > s.cfg.refresh/2 {
		svg, err := s.renderChart(r.Context(), k)
		if errors.Is(err, chart.ErrEmpty) {
			http.Error(w, "no samples of "+k.resource+" for this service", http.StatusNotFound)
			return
		}
		if err != nil {
			s.cfg.log.Warn("live: chart", "service", k.service, "resource", k.resource, "err", err)
			http.Error(w, "the chart could not be drawn; see the server's log", http.StatusInternalServerError)
			return
		}
		c = cachedChart{at: time.Now(), svg: svg}
		s.charts.mu.Lock()
		if len(s.charts.entries) > 4*s.cfg.pageSize { // only the charts of one service's page are wanted at once
			clear(s.charts.entries)
		}
		s.charts.entries[k] = c
		s.charts.mu.Unlock()
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(c.svg)
}

func (s *Server) renderChart(ctx context.Context, k chartKey) ([]byte, error) {
	sum := s.sums.get(k.service)
	f := rightsize.Filter{Resources: []string{k.resource}}
	last, _, seen := s.recent.service(k.service, 0)
	if u, ok := sum.expected.Resource(k.resource); ok && u.Last.After(last) {
		last, seen = u.Last, true
	}
	if seen {
		f.From = last.Add(-chartWindow)
	}
	panels, err := Panels(ctx, s.r, k.service, sum.rec, f)
	if err != nil {
		return nil, err
	}
	if len(panels) == 0 {
		return nil, chart.ErrEmpty
	}
	var buf bytes.Buffer
	// Drawn at about the size the page shows it, so its text reads at
	// the size it was set in.
	err = chart.Write(&buf, "svg", panels[0], chart.In(s.cfg.loc), chart.WithSize(6.4*vg.Inch, 3*vg.Inch))
	return buf.Bytes(), err
}

func urlValues(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}
