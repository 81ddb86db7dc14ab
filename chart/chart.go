package chart

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"time"

	"github.com/rightsize/rightsize"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Panel is what one chart shows: one resource of one service over time.
// Values are in the resource's base unit (cores, bytes, bytes/s).
type Panel struct {
	Service, Resource string
	// Step is the width of the Band's buckets.
	Step time.Duration
	// Band holds, per bucket of Step (Summary.Start), the expected band:
	// P50 to P95 of the bucket's values.
	Band []rightsize.Summary
	// Usage is the observed usage: the raw samples, one series per task
	// and instance, or the bucket means when there were too many samples
	// to draw (UsageIsMean says so).
	Usage       []rightsize.Series
	UsageIsMean bool
	// Request and Limit are drawn as horizontal lines when positive and
	// finite (an infinite limit is no limit).
	Request, Limit float64
	// Forecast, if set, is drawn as a line (and a band, if it has
	// bounds).
	Forecast *Forecast
}

// Forecast is what a model expects a resource to use: Values[i] at
// Times[i], and optionally a band from Lower[i] to Upper[i]. Fill it
// from any predictor, e.g. predict.Predictor's Predict at future times.
type Forecast struct {
	// Name names the model in the legend ("forecast (linear trend)").
	Name         string
	Times        []time.Time
	Values       []float64
	Lower, Upper []float64
}

// Colours of the chart's elements.
var (
	bandColor     = color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0x55}
	usageColor    = color.NRGBA{R: 0x1f, G: 0x4e, B: 0x79, A: 0xff}
	requestColor  = color.NRGBA{R: 0xe0, G: 0x7b, B: 0x00, A: 0xff}
	limitColor    = color.NRGBA{R: 0xc0, G: 0x1c, B: 0x28, A: 0xff}
	forecastColor = color.NRGBA{R: 0x2a, G: 0x9d, B: 0x3c, A: 0xff}
	forecastBand  = color.NRGBA{R: 0x2a, G: 0x9d, B: 0x3c, A: 0x30}
)

// ErrEmpty is returned for a panel with nothing to draw.
var ErrEmpty = errors.New("chart: nothing to draw")

// Option changes how a chart is drawn.
type Option interface{ apply(*style) }

type optionFunc func(*style)

func (f optionFunc) apply(s *style) { f(s) }

type style struct {
	w, h vg.Length
	dpi  int
	loc  *time.Location
}

func newStyle(opts []Option) style {
	s := style{w: 8 * vg.Inch, h: 3.5 * vg.Inch, dpi: 120, loc: time.Local}
	for _, o := range opts {
		if o != nil {
			o.apply(&s)
		}
	}
	return s
}

// WithSize sets the chart's size. Default 8 × 3.5 inches.
func WithSize(w, h vg.Length) Option {
	return optionFunc(func(s *style) {
		if w > 0 && h > 0 {
			s.w, s.h = w, h
		}
	})
}

// WithDPI sets the resolution of PNG charts. Default 120 dots per inch
// (960 × 420 pixels at the default size).
func WithDPI(dpi int) Option {
	return optionFunc(func(s *style) {
		if dpi > 0 {
			s.dpi = dpi
		}
	})
}

// In shows times of day in loc. Default time.Local.
func In(loc *time.Location) Option {
	return optionFunc(func(s *style) {
		if loc != nil {
			s.loc = loc
		}
	})
}

// Write draws the panel to w as a PNG ("png") or SVG ("svg") image.
func Write(w io.Writer, format string, p Panel, opts ...Option) error {
	s := newStyle(opts)
	var c vg.CanvasWriterTo
	switch format {
	case "png":
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(s.w, s.h), vgimg.UseDPI(s.dpi))}
	case "svg":
		c = vgsvg.New(s.w, s.h)
	default:
		return fmt.Errorf("chart: format %q: want png or svg", format)
	}
	if err := draw1(draw.New(c), p, s); err != nil {
		return err
	}
	_, err := c.WriteTo(w)
	return err
}

// draw1 draws the panel's plot on the left of dc and its legend on the
// right.
func draw1(dc draw.Canvas, p Panel, s style) error {
	pl, legend, err := build(p, s)
	if err != nil {
		return err
	}
	// A white page first: PNGs are otherwise transparent.
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	// The legend goes in a strip right of the data, as wide as its
	// longest entry, so that it never hides a line.
	r := legend.Rectangle(dc)
	pad := 0.12 * vg.Inch
	plotArea := dc
	plotArea.Max.X -= r.Size().X + 2*pad
	pl.Draw(plotArea)
	legendArea := dc
	legendArea.Min.X = plotArea.Max.X + pad
	legendArea.Max.Y -= 0.42 * vg.Inch // level with the top of the data
	legend.Draw(legendArea)
	return nil
}

// build makes the plot and its legend.
func build(p Panel, s style) (*plot.Plot, *plot.Legend, error) {
	lo, hi, top := extent(p)
	if math.IsInf(lo, 0) {
		return nil, nil, fmt.Errorf("%w: %s %s has no samples", ErrEmpty, p.Service, p.Resource)
	}
	scale := ScaleFor(p.Resource, top)
	y := func(v float64) float64 { return v / scale.Div }

	pl := plot.New()
	sans := font.Font{Typeface: "Liberation", Variant: "Sans"}
	for _, st := range []*text.Style{&pl.Title.TextStyle, &pl.X.Label.TextStyle, &pl.Y.Label.TextStyle, &pl.X.Tick.Label, &pl.Y.Tick.Label} {
		st.Font.Typeface, st.Font.Variant = sans.Typeface, sans.Variant
	}
	pl.X.Label.TextStyle.Font.Size, pl.Y.Label.TextStyle.Font.Size = 11, 11
	pl.X.Tick.Label.Font.Size, pl.Y.Tick.Label.Font.Size = 10, 10
	pl.Title.Text = p.Service + " · " + p.Resource
	pl.Title.TextStyle.Font.Size = 13
	pl.Title.Padding = 6
	pl.X.Label.Text = zoneLabel(unixTime(lo).In(s.loc))
	pl.X.Tick.Marker = timeTicks{loc: s.loc}
	pl.Y.Label.Text = p.Resource
	if scale.Unit != "" {
		pl.Y.Label.Text += " (" + scale.Unit + ")"
	}
	pl.Y.Tick.Marker = plainTicks{}
	pl.X.Min, pl.X.Max = lo, hi
	pl.Y.Min, pl.Y.Max = 0, y(top)*1.08
	if pl.Y.Max <= 0 {
		pl.Y.Max = 1
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xe4}
	grid.Horizontal.Color = color.Gray{Y: 0xe4}
	pl.Add(grid)

	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font = font.Font{Typeface: sans.Typeface, Variant: sans.Variant, Size: 10}
	legend.Padding = 3
	legend.ThumbnailWidth = 0.35 * vg.Inch

	if p.Forecast != nil && len(p.Forecast.Lower) == len(p.Forecast.Times) && len(p.Forecast.Upper) == len(p.Forecast.Times) && len(p.Forecast.Times) > 0 {
		poly, err := rangePolygon(p.Forecast.Times, p.Forecast.Lower, p.Forecast.Upper, y)
		if err != nil {
			return nil, nil, err
		}
		poly.Color, poly.LineStyle.Width = forecastBand, 0
		pl.Add(poly)
	}
	if len(p.Band) > 0 {
		polys, err := bandPolygons(p.Band, p.Step, y)
		if err != nil {
			return nil, nil, err
		}
		for _, poly := range polys {
			pl.Add(poly)
		}
		if len(polys) > 0 {
			legend.Add("expected p50–p95 ("+stepText(p.Step)+")", polys[0])
		}
	}
	var usageLine *plotter.Line
	for _, xys := range usageRuns(p, y) {
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, nil, err
		}
		l.Color, l.Width = usageColor, vg.Points(1.4)
		if len(xys) > 150 { // dense: thin and see-through, so the band shows
			l.Color, l.Width = color.NRGBA{R: usageColor.R, G: usageColor.G, B: usageColor.B, A: 0xb0}, vg.Points(0.8)
		}
		pl.Add(l)
		if len(xys) == 1 {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: usageColor, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
			pl.Add(sc)
		}
		usageLine = l
	}
	if usageLine != nil {
		name := "usage"
		if p.UsageIsMean {
			name = "usage (mean, " + stepText(p.Step) + ")"
		}
		legend.Add(name, usageLine)
	}
	if p.Forecast != nil && len(p.Forecast.Times) > 0 && len(p.Forecast.Times) == len(p.Forecast.Values) {
		xys := make(plotter.XYs, len(p.Forecast.Times))
		for i, t := range p.Forecast.Times {
			xys[i] = plotter.XY{X: unixSeconds(t), Y: y(p.Forecast.Values[i])}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, nil, err
		}
		l.Color, l.Width, l.Dashes = forecastColor, vg.Points(1.6), []vg.Length{vg.Points(6), vg.Points(2), vg.Points(1.5), vg.Points(2)}
		pl.Add(l)
		name := "forecast"
		if p.Forecast.Name != "" {
			name += " (" + p.Forecast.Name + ")"
		}
		legend.Add(name, l)
	}
	for _, lv := range []struct {
		name string
		v    float64
		c    color.Color
		dash []vg.Length
	}{
		{"request", p.Request, requestColor, []vg.Length{vg.Points(7), vg.Points(3)}},
		{"limit", p.Limit, limitColor, []vg.Length{vg.Points(2), vg.Points(2)}},
	} {
		if !level(lv.v) {
			continue
		}
		l, err := plotter.NewLine(plotter.XYs{{X: lo, Y: y(lv.v)}, {X: hi, Y: y(lv.v)}})
		if err != nil {
			return nil, nil, err
		}
		l.Color, l.Width, l.Dashes = lv.c, vg.Points(1.6), lv.dash
		pl.Add(l)
		legend.Add(lv.name+" "+Quantity(p.Resource, lv.v), l)
	}
	return pl, &legend, nil
}

// usageRuns returns the usage as runs of points, cut where samples are
// missing (a gap wider than three times the usual interval, and than one
// and a half buckets), so that no line is drawn across a gap.
func usageRuns(p Panel, y func(float64) float64) []plotter.XYs {
	var out []plotter.XYs
	for _, ser := range p.Usage {
		if ser.Len() == 0 {
			continue
		}
		gaps := make([]float64, 0, ser.Len())
		for i := 1; i < len(ser.Times); i++ {
			gaps = append(gaps, ser.Times[i].Sub(ser.Times[i-1]).Seconds())
		}
		slices.Sort(gaps)
		limit := math.Inf(1)
		if len(gaps) > 0 {
			limit = math.Max(3*gaps[len(gaps)/2], 1.5*p.Step.Seconds())
		}
		run := plotter.XYs{}
		for i, t := range ser.Times {
			if i > 0 && t.Sub(ser.Times[i-1]).Seconds() > limit {
				out, run = append(out, run), plotter.XYs{}
			}
			run = append(run, plotter.XY{X: unixSeconds(t), Y: y(ser.Values[i])})
		}
		out = append(out, run)
	}
	return out
}

// level reports whether v is a level to draw.
func level(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }

// extent returns the time range (Unix seconds) and the largest value the
// panel shows; lo is +Inf when it shows nothing.
func extent(p Panel) (lo, hi, top float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	see := func(t time.Time, v float64) {
		x := unixSeconds(t)
		lo, hi = math.Min(lo, x), math.Max(hi, x)
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			top = math.Max(top, v)
		}
	}
	for _, b := range p.Band {
		x0, x1 := bucketSpan(b, p.Step)
		see(x0, b.P95)
		see(x1, b.P95)
	}
	for _, s := range p.Usage {
		for i, t := range s.Times {
			see(t, s.Values[i])
		}
	}
	if f := p.Forecast; f != nil && len(f.Times) == len(f.Values) {
		for i, t := range f.Times {
			see(t, f.Values[i])
			if len(f.Upper) == len(f.Times) {
				see(t, f.Upper[i])
			}
		}
	}
	if math.IsInf(lo, 0) {
		return lo, hi, 0
	}
	for _, v := range []float64{p.Request, p.Limit} {
		if level(v) {
			top = math.Max(top, v)
		}
	}
	if hi <= lo {
		lo, hi = lo-30, hi+30 // a single instant: a minute around it
	}
	return lo, hi, top
}

// bandPolygons draws the band as steps, one polygon per run of adjacent
// buckets (a gap in the data is a gap in the band).
func bandPolygons(band []rightsize.Summary, step time.Duration, y func(float64) float64) ([]*plotter.Polygon, error) {
	band = slices.Clone(band)
	slices.SortFunc(band, func(a, b rightsize.Summary) int { return a.Start.Compare(b.Start) })
	var out []*plotter.Polygon
	for i := 0; i < len(band); {
		j := i + 1
		for j < len(band) && !band[j].Start.After(band[j-1].Start.Add(step)) {
			j++
		}
		run := band[i:j]
		var upper, lower plotter.XYs
		for k, b := range run {
			t0, t1 := b.Start, b.Start.Add(step)
			// The ends of a run stop at its first and last samples, so the
			// band spans the data, not whole buckets past it.
			c0, c1 := bucketSpan(b, step)
			if k == 0 {
				t0 = c0
			}
			if k == len(run)-1 {
				t1 = c1
			}
			x0, x1 := unixSeconds(t0), unixSeconds(t1)
			upper = append(upper, plotter.XY{X: x0, Y: y(b.P95)}, plotter.XY{X: x1, Y: y(b.P95)})
			lower = append(lower, plotter.XY{X: x0, Y: y(b.P50)}, plotter.XY{X: x1, Y: y(b.P50)})
		}
		slices.Reverse(lower)
		poly, err := plotter.NewPolygon(append(upper, lower...))
		if err != nil {
			return nil, err
		}
		poly.Color = bandColor
		poly.LineStyle.Width = 0
		out = append(out, poly)
		i = j
	}
	return out, nil
}

// bucketSpan returns the times of a bucket's first and last samples,
// or its bounds when the summary does not say.
func bucketSpan(b rightsize.Summary, step time.Duration) (time.Time, time.Time) {
	t0, t1 := b.Start, b.Start.Add(step)
	if !b.First.IsZero() && !b.Last.IsZero() && !b.First.Before(t0) && !b.Last.After(t1) && !b.Last.Before(b.First) {
		return b.First, b.Last
	}
	return t0, t1
}

// rangePolygon is the area between lower and upper.
func rangePolygon(ts []time.Time, lower, upper []float64, y func(float64) float64) (*plotter.Polygon, error) {
	var pts plotter.XYs
	for i, t := range ts {
		pts = append(pts, plotter.XY{X: unixSeconds(t), Y: y(upper[i])})
	}
	for i := len(ts) - 1; i >= 0; i-- {
		pts = append(pts, plotter.XY{X: unixSeconds(ts[i]), Y: y(lower[i])})
	}
	return plotter.NewPolygon(pts)
}

// stepText renders a bucket width: "5s", "1m", "1h", "1d".
func stepText(d time.Duration) string {
	switch {
	case d <= 0:
		return "bucket"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// plainTicks labels a value axis with four to seven round numbers (1,
// 2, 2.5 or 5 times a power of ten apart), never in exponent notation, with
// minor ticks between them.
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) {
		return []plot.Tick{{Value: min, Label: trimFloat(min)}}
	}
	// The smallest round step that makes at most seven labels.
	mag := math.Pow(10, math.Floor(math.Log10((max-min)/10)))
	step, minor := 10*mag, 5
	for _, m := range []struct {
		f float64
		n int
	}{{1, 5}, {2, 4}, {2.5, 5}, {5, 5}, {10, 5}, {20, 4}, {25, 5}, {50, 5}} {
		st := m.f * mag
		if math.Floor(max/st+1e-9)-math.Ceil(min/st-1e-9)+1 <= 7 {
			step, minor = st, m.n
			break
		}
	}
	var ticks []plot.Tick
	first := math.Ceil(min/step) * step
	for i := 0; ; i++ {
		v := first + float64(i)*step
		if v > max+step*1e-9 {
			break
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: trimFloat(v)})
	}
	sub := step / float64(minor)
	for v := first - step; v <= max; v += sub {
		if v >= min && math.Abs(math.Remainder(v, step)) > sub/2 {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	return ticks
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.6f", v)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	if s == "-0" {
		s = "0"
	}
	return s
}
