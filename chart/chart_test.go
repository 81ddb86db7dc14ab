package chart_test

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart"
	"gonum.org/v1/plot/cmpimg" // registers -regen: go test ./chart -regen rewrites the golden files
)

// cet is a fixed zone, so that the time axis reads the same on every
// machine.
var cet = time.FixedZone("CET", 3600)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC) // 10:00 CET

// cpuPanel is two hours of a service sampled every 15 s, busier in its
// second hour, with a recommendation and a forecast.
func cpuPanel() chart.Panel {
	rng := rand.New(rand.NewPCG(1, 2))
	s := rightsize.Series{Service: "resize", Resource: rightsize.CPU}
	for i := range 480 {
		t := t0.Add(time.Duration(i) * 15 * time.Second)
		base := 0.30
		if i >= 240 {
			base = 0.45
		}
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, base+0.12*rng.NormFloat64()*0.5+0.1*math.Max(0, rng.NormFloat64()))
	}
	p := chart.Panel{Service: "resize", Resource: rightsize.CPU, Step: 5 * time.Minute, Usage: []rightsize.Series{s},
		Band: bucketsOf(s, 5*time.Minute), Request: 0.62, Limit: 0.81}
	f := &chart.Forecast{Name: "linear trend"}
	for i := range 12 {
		t := t0.Add(2*time.Hour + time.Duration(i)*5*time.Minute)
		v := 0.5 + 0.004*float64(i)
		f.Times, f.Values = append(f.Times, t), append(f.Values, v)
		f.Lower, f.Upper = append(f.Lower, v-0.1), append(f.Upper, v+0.15)
	}
	p.Forecast = f
	return p
}

// memoryPanel is three days of hourly means in GiB with a gap of a
// day in the middle, a request and no limit.
func memoryPanel() chart.Panel {
	s := rightsize.Series{Service: "thumbnail", Resource: rightsize.Memory}
	var band []rightsize.Summary
	for h := range 72 {
		if h >= 24 && h < 40 {
			continue
		}
		start := t0.Add(time.Duration(h) * time.Hour)
		mean := (1.2 + 0.4*math.Sin(float64(h)/24*2*math.Pi)) * (1 << 30)
		s.Times, s.Values = append(s.Times, start.Add(30*time.Minute)), append(s.Values, mean)
		band = append(band, rightsize.Summary{Start: start, Count: 360, Mean: mean, P50: mean * 0.97, P95: mean * 1.15})
	}
	return chart.Panel{Service: "thumbnail", Resource: rightsize.Memory, Step: time.Hour, Band: band,
		Usage: []rightsize.Series{s}, UsageIsMean: true, Request: 1.9 * (1 << 30), Limit: math.Inf(1)}
}

// shortPanel is a quickstart's run: 20 s at one sample a second.
func shortPanel() chart.Panel {
	s := rightsize.Series{Service: "thumbnail", Resource: rightsize.CPU}
	for i := range 20 {
		s.Times = append(s.Times, t0.Add(time.Duration(i)*time.Second))
		s.Values = append(s.Values, 0.25+0.01*math.Sin(float64(i)))
	}
	return chart.Panel{Service: "thumbnail", Resource: rightsize.CPU, Step: 5 * time.Second, Usage: []rightsize.Series{s},
		Band: bucketsOf(s, 5*time.Second), Request: 0.288, Limit: 0.3}
}

// bucketsOf computes exact per-bucket P50 and P95, as a store would
// within its sketch's error.
func bucketsOf(s rightsize.Series, step time.Duration) []rightsize.Summary {
	var out []rightsize.Summary
	var vals []float64
	var start time.Time
	flush := func() {
		if len(vals) == 0 {
			return
		}
		sorted := append([]float64(nil), vals...)
		sortFloats(sorted)
		q := func(p float64) float64 { return sorted[int(math.Ceil(p*float64(len(sorted))))-1] }
		out = append(out, rightsize.Summary{Start: start, Count: int64(len(vals)), P50: q(0.5), P95: q(0.95)})
		vals = vals[:0]
	}
	for i, t := range s.Times {
		b := t.Truncate(step)
		if !b.Equal(start) {
			flush()
			start = b
		}
		vals = append(vals, s.Values[i])
	}
	flush()
	return out
}

func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j] < v[j-1]; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// TestGolden draws each fixture as PNG and SVG and compares them with
// testdata/*_golden.*; go test ./chart -regen rewrites those after a
// deliberate change (look at them before committing).
func TestGolden(t *testing.T) {
	for name, p := range map[string]chart.Panel{"cpu": cpuPanel(), "memory": memoryPanel(), "short": shortPanel()} {
		for _, format := range []string{"png", "svg"} {
			t.Run(name+"."+format, func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				if err := chart.Write(&buf, format, p, chart.In(cet)); err != nil {
					t.Fatal(err)
				}
				golden := filepath.Join("testdata", name+"_golden."+format)
				if *cmpimg.GenerateTestData {
					if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./chart -regen to create it)", err)
				}
				if bytes.Equal(buf.Bytes(), want) {
					return
				}
				// PNGs may differ by rounding between CPU architectures.
				ok, err := cmpimg.EqualApprox(format, buf.Bytes(), want, 0.02)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					got := filepath.Join(os.TempDir(), "rightsize-chart-"+name+"."+format)
					os.WriteFile(got, buf.Bytes(), 0o644)
					t.Errorf("%s differs from %s; the new one is %s (go test ./chart -regen accepts it)", format, golden, got)
				}
			})
		}
	}
}

// The SVG carries the title, axis labels and legend as text a person
// reads, with the units chosen by magnitude.
func TestLabels(t *testing.T) {
	for _, c := range []struct {
		p    chart.Panel
		want []string
	}{
		{cpuPanel(), []string{"resize · cpu", "cpu (millicores)", "local time (CET, UTC+01:00)", "10:00", "11:30",
			"expected p50–p95 (5m)", "usage", "request 620 millicores", "limit 810 millicores", "forecast (linear trend)"}},
		{memoryPanel(), []string{"memory (GiB)", "usage (mean, 1h)", "request 1.90 GiB", "Tue 00:00", "Wed 12:00"}},
		{shortPanel(), []string{"10:00:05", "10:00:15", "expected p50–p95 (5s)"}},
	} {
		var buf bytes.Buffer
		if err := chart.Write(&buf, "svg", c.p, chart.In(cet)); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s %s: no %q in the SVG", c.p.Service, c.p.Resource, w)
			}
		}
	}
	var buf bytes.Buffer
	if err := chart.Write(&buf, "svg", memoryPanel(), chart.In(cet)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "limit") {
		t.Error("an infinite limit is drawn")
	}
}

func TestEscapesNames(t *testing.T) {
	p := shortPanel()
	p.Service = `<img src=x onerror=alert(1)>`
	var buf bytes.Buffer
	if err := chart.Write(&buf, "svg", p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "<img") || !strings.Contains(buf.String(), "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the service name is not escaped in the SVG")
	}
}

func TestEmptyAndBadFormat(t *testing.T) {
	var buf bytes.Buffer
	if err := chart.Write(&buf, "svg", chart.Panel{Service: "a", Resource: "cpu"}); err == nil || !strings.Contains(err.Error(), "nothing to draw") {
		t.Errorf("empty panel: %v", err)
	}
	if err := chart.Write(&buf, "gif", cpuPanel()); err == nil {
		t.Error("gif accepted")
	}
}

func TestScale(t *testing.T) {
	for _, c := range []struct {
		res  string
		v    float64
		want string
	}{
		{"cpu", 0.2501, "250 millicores"},
		{"cpu", 1.5, "1.50 cores"},
		{"memory", 512 << 20, "512 MiB"},
		{"memory", 3 << 30, "3.00 GiB"},
		{"memory", 800, "800 B"},
		{"disk.write", 12.5 * (1 << 20), "12.5 MiB/s"},
		{"threads", 5, "5.00 count"},
		{"nvidia.com/gpu", 1, "1.00"},
	} {
		if got := chart.Quantity(c.res, c.v); got != c.want {
			t.Errorf("Quantity(%s, %g) = %q, want %q", c.res, c.v, got, c.want)
		}
	}
}

func TestFileName(t *testing.T) {
	if got := chart.FileName("resize", "cpu"); got != "resize_cpu" {
		t.Errorf("FileName = %q", got)
	}
	a, b := chart.FileName("a/b", "cpu"), chart.FileName("a b", "cpu")
	if a == b || strings.ContainsAny(a+b, "/ ") {
		t.Errorf("FileName: %q and %q", a, b)
	}
	if got := chart.FileName("..", "nvidia.com/gpu"); strings.HasPrefix(got, ".") || strings.Contains(got, "/") {
		t.Errorf("FileName = %q", got)
	}
}
