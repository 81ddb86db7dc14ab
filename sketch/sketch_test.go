package sketch_test

import (
	"bufio"
	"compress/gzip"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat"

	"github.com/rightsize/rightsize/sketch"
)

var quantiles = []float64{0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1}

// checkAccuracy compares every quantile of s with the exact one of
// values and returns the largest relative error.
func checkAccuracy(t *testing.T, name string, s *sketch.Sketch, values []float64) float64 {
	t.Helper()
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	worst := 0.0
	for _, q := range quantiles {
		exact := stat.Quantile(q, stat.Empirical, sorted, nil)
		got := s.Quantile(q)
		var rel float64
		switch {
		case exact == 0 && got != 0:
			t.Errorf("%s: q%v = %g, exact 0 (zeros must be exact)", name, q, got)
			continue
		case exact != 0:
			rel = math.Abs(got-exact) / exact
		}
		if rel > sketch.RelativeAccuracy*(1+1e-9) {
			t.Errorf("%s: q%v = %g, exact %g: relative error %.4f > %v", name, q, got, exact, rel, sketch.RelativeAccuracy)
		}
		worst = max(worst, rel)
	}
	if got, want := s.Quantile(0), sorted[0]; got != want {
		t.Errorf("%s: q0 = %g, want the exact minimum %g", name, got, want)
	}
	if got, want := s.Quantile(1), sorted[len(sorted)-1]; got != want {
		t.Errorf("%s: q1 = %g, want the exact maximum %g", name, got, want)
	}
	return worst
}

func TestAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	gen := map[string]func() float64{
		"uniform cores":   func() float64 { return 4 * rng.Float64() },
		"memory bytes":    func() float64 { return math.Round(6e9 + 5e6*rng.NormFloat64()) },
		"lognormal":       func() float64 { return math.Exp(3 * rng.NormFloat64()) },
		"mostly zeros":    func() float64 { return float64(rng.IntN(10)/9) * rng.ExpFloat64() },
		"constant":        func() float64 { return 12 },
		"huge and tiny":   func() float64 { return []float64{math.MaxFloat64, 5e-324, 1e-300, 1e300, 0}[rng.IntN(5)] },
		"few distinct":    func() float64 { return float64(rng.IntN(3)) },
		"heavy right end": func() float64 { return 1 / (rng.Float64() + 1e-9) },
	}
	for name, g := range gen {
		for _, n := range []int{1, 2, 7, 100, 10_000} {
			values := make([]float64, n)
			s := sketch.New()
			for i := range values {
				values[i] = g()
				s.Add(values[i])
			}
			if name == "huge and tiny" {
				// Subnormals count as zeros: only the extremes are checked.
				if s.Quantile(0) != slices.Min(values) || s.Quantile(1) != slices.Max(values) {
					t.Errorf("%s: extremes %g, %g, want %g, %g", name, s.Quantile(0), s.Quantile(1), slices.Min(values), slices.Max(values))
				}
				continue
			}
			worst := checkAccuracy(t, name+"/"+strconv.Itoa(n), s, values)
			if n == 10_000 {
				t.Logf("%-16s n=%d: worst relative error %.5f", name, n, worst)
			}
		}
	}
}

// TestAccuracyTrace compares the sketch of every series of the shared
// trace with gonum's exact quantiles.
func TestAccuracyTrace(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "traces", "bitbrains-rnd-2013-07.csv.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("the shared trace is not here: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	series := map[string][]float64{}
	sc := bufio.NewScanner(zr)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ",")
		v, err := strconv.ParseFloat(fields[3], 64)
		if err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		k := fields[1] + "/" + fields[2]
		series[k] = append(series[k], v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	worst, rows := 0.0, 0
	for k, values := range series {
		s := sketch.New()
		for _, v := range values {
			s.Add(v)
		}
		worst = max(worst, checkAccuracy(t, k, s, values))
		rows += len(values)
	}
	t.Logf("%d series, %d values: worst relative error of q in %v: %.5f (bound %v)", len(series), rows, quantiles, worst, sketch.RelativeAccuracy)
}

func TestZerosExact(t *testing.T) {
	s := sketch.New()
	for range 97 {
		s.Add(0)
	}
	s.Add(3)
	s.Add(5)
	s.Add(1e-3)
	for _, q := range []float64{0, 0.5, 0.9, 0.97} {
		if got := s.Quantile(q); got != 0 {
			t.Errorf("q%v = %g, want exactly 0", q, got)
		}
	}
	if got := s.Quantile(0.98); math.Abs(got-1e-3) > 1e-5 {
		t.Errorf("q0.98 = %g, want 1e-3 within 1%%", got)
	}
	if got := s.Quantile(1); got != 5 {
		t.Errorf("q1 = %g, want 5", got)
	}
}

func TestMergeAndWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	whole, a, b := sketch.New(), sketch.New(), sketch.New()
	for i := range 5000 {
		v := rng.ExpFloat64()
		whole.Add(v)
		if i%3 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
	}
	a.Merge(b)
	for _, q := range quantiles {
		if a.Quantile(q) != whole.Quantile(q) {
			t.Errorf("q%v: merged %g, whole %g", q, a.Quantile(q), whole.Quantile(q))
		}
	}
	if a.Count() != 5000 || a.Min() != whole.Min() || a.Max() != whole.Max() {
		t.Errorf("merged count/min/max %v %v %v, want %v %v %v", a.Count(), a.Min(), a.Max(), whole.Count(), whole.Min(), whole.Max())
	}
	// A weight of 3 is three adds.
	w, three := sketch.New(), sketch.New()
	for _, v := range []float64{1, 2, 10} {
		w.AddWeighted(v, 3)
		for range 3 {
			three.Add(v)
		}
	}
	for _, q := range quantiles {
		if w.Quantile(q) != three.Quantile(q) {
			t.Errorf("q%v: weighted %g, repeated %g", q, w.Quantile(q), three.Quantile(q))
		}
	}
	var bins, total float64
	w.Bins(func(value, count float64) { bins++; total += count })
	if bins != 3 || total != 9 {
		t.Errorf("bins %v holding %v, want 3 holding 9", bins, total)
	}
}

func TestEncoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := sketch.New()
	for range 3600 {
		s.Add(float64(rng.IntN(4)) * rng.Float64())
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("3600 values, %d bins: %d bytes", countBins(s), len(b))
	d, err := sketch.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range quantiles {
		if d.Quantile(q) != s.Quantile(q) {
			t.Errorf("q%v: decoded %g, encoded %g", q, d.Quantile(q), s.Quantile(q))
		}
	}
	// MergeBinary twice doubles every weight.
	if err := d.MergeBinary(b); err != nil {
		t.Fatal(err)
	}
	if d.Count() != 2*s.Count() || d.Quantile(0.5) != s.Quantile(0.5) {
		t.Errorf("merged twice: count %v, median %v; want %v, %v", d.Count(), d.Quantile(0.5), 2*s.Count(), s.Quantile(0.5))
	}
	// The empty sketch.
	e, _ := sketch.New().MarshalBinary()
	if d, err := sketch.Decode(e); err != nil || d.Count() != 0 || !math.IsNaN(d.Quantile(0.5)) {
		t.Errorf("empty sketch decoded as %v, %v", d, err)
	}
	var u sketch.Sketch
	if err := u.UnmarshalBinary(b); err != nil || u.Count() != s.Count() {
		t.Errorf("UnmarshalBinary into a zero Sketch: %v, count %v", err, u.Count())
	}
	for _, bad := range [][]byte{nil, {9}, {1, 2, 3}, append([]byte{1}, make([]byte, 24)...), b[:len(b)/2]} {
		if _, err := sketch.Decode(bad); !errors.Is(err, sketch.ErrCorrupt) {
			t.Errorf("Decode(%x) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func countBins(s *sketch.Sketch) int {
	n := 0
	s.Bins(func(float64, float64) { n++ })
	return n
}

func TestPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"NaN":             func() { sketch.New().Add(math.NaN()) },
		"negative weight": func() { sketch.New().AddWeighted(1, -1) },
		"quantile 2":      func() { sketch.New().Quantile(2) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "sketch: ") {
					t.Errorf("%s: recovered %v, want a panic starting with sketch:", name, r)
				}
			}()
			fn()
		}()
	}
}

func BenchmarkAdd(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	vals := make([]float64, 4096)
	for i := range vals {
		vals[i] = 4 * rng.Float64()
	}
	s := sketch.New()
	for i := 0; b.Loop(); i++ {
		s.Add(vals[i&4095])
	}
}

// BenchmarkMergeBinary decodes and merges an hour of 10 s CPU readings:
// what a read does per stored bucket.
func BenchmarkMergeBinary(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	s := sketch.New()
	for range 360 {
		s.Add(0.5 + 0.2*rng.NormFloat64()*rng.Float64())
	}
	enc, _ := s.MarshalBinary()
	b.ReportMetric(float64(len(enc)), "bytes")
	acc := sketch.New()
	for b.Loop() {
		if err := acc.MergeBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}
