package predict_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/store"
)

var profileT0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// Both stores are what training task profiles needs.
var (
	_ predict.ProfileReader = (*store.SQLite)(nil)
	_ predict.ProfileReader = (*store.Postgres)(nil)
	_ predict.ProfileReader = store.Store(nil)
)

// synthetic returns n runs of a two-service task family whose usage is
// known: "shrink" (optional) then "work"; work holds 10 MiB + 8 bytes per
// pixel it receives (a quarter of them after shrink), 12 bytes per pixel
// for jpeg; everything with multiplicative noise of ±noise.
func synthetic(n int, sizes []int, noise float64, seed uint64) []predict.TaskRun {
	r := rand.New(rand.NewPCG(seed, 1))
	var runs []predict.TaskRun
	for i := range n {
		side := sizes[i%len(sizes)]
		px := float64(side * side)
		format := []string{"png", "jpeg"}[r.IntN(2)]
		services := []string{"work"}
		if r.IntN(2) == 0 {
			services = []string{"shrink", "work"}
		}
		t := rightsize.Task{ID: fmt.Sprintf("t%03d", i), Services: services,
			Params: map[string]string{"side": strconv.Itoa(side), "format": format, "bytes": strconv.Itoa(int(px * (0.5 + r.Float64())))},
			Start:  profileT0.Add(time.Duration(i) * time.Minute)}
		t.End = t.Start.Add(30 * time.Second)
		run := predict.TaskRun{Task: t}
		for pos, s := range services {
			in := px
			if s == "work" && pos == 1 {
				in = px / 4
			}
			perPx := 8.0
			if format == "jpeg" {
				perPx = 12
			}
			if s == "shrink" {
				perPx = 5
			}
			jitter := func() float64 { return 1 + noise*(2*r.Float64()-1) }
			run.Services = append(run.Services, predict.ServiceRun{Service: s, Position: pos,
				PeakMemory: (10<<20 + perPx*in) * jitter(), CPU: 0.9 * jitter(), Duration: (0.02 + in/2e6) * jitter(),
				Offset: float64(pos)})
		}
		runs = append(runs, run)
	}
	return runs
}

func TestRegressionProfilerLearnsSizesAndOrder(t *testing.T) {
	ctx := context.Background()
	train := synthetic(120, []int{100, 200, 400, 700, 1000, 1400}, 0.03, 1)
	test := synthetic(60, []int{300, 550, 850, 1200}, 0.03, 2) // sizes never seen
	m, err := predict.NewRegressionProfiler(predict.WithProfileFeatures("side*side", "bytes", "format"), predict.WithProfileGroups("side"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Profile(ctx, test[0].Task); !errors.Is(err, predict.ErrNotFitted) {
		t.Fatalf("before Fit: %v", err)
	}
	if err := m.Fit(ctx, train); err != nil {
		t.Fatal(err)
	}
	scores, err := predict.EvaluateProfiles(ctx, []predict.NamedProfiler{{Name: "regression", Profiler: m}}, train, test)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	predict.WriteProfileScores(&buf, scores, true)
	t.Logf("\n%s", buf.String())
	for _, s := range scores {
		if s.Service != "" {
			continue
		}
		if s.MAE > 0.05 {
			t.Errorf("%s: MAE %.1f %% on unseen sizes, want within 5 %% (noise ±3 %%)", s.Target, 100*s.MAE)
		}
		if s.UnderUpper > 0.10 {
			t.Errorf("%s: %.1f %% above the upper level", s.Target, 100*s.UnderUpper)
		}
	}
	// The upper level is above the point, by a margin of the noise's size.
	p, err := m.Profile(ctx, test[0].Task)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range p {
		for _, target := range predict.ProfileTargets {
			lv := sp.Level(target)
			if !(lv.Upper >= lv.Point && lv.Point > 0) || lv.Upper > 1.2*lv.Point {
				t.Errorf("%s %s: %+v", sp.Service, target, lv)
			}
		}
	}
}

func TestRegressionProfilerSaveLoadDeterministic(t *testing.T) {
	ctx := context.Background()
	runs := synthetic(80, []int{100, 300, 600, 900}, 0.05, 3)
	fit := func() *predict.RegressionProfiler {
		m, err := predict.NewRegressionProfiler(predict.WithProfileFeatures("side*side", "format"), predict.WithProfileGroups("side"))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Fit(ctx, runs); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := fit(), fit()
	var saved bytes.Buffer
	if err := predict.SaveProfiler(&saved, a); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	predict.SaveProfiler(&again, b)
	if saved.String() != again.String() {
		t.Error("two fits of the same runs saved differently")
	}
	loaded, err := predict.LoadProfiler(bytes.NewReader(saved.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range synthetic(20, []int{150, 450, 1100}, 0, 4) {
		pa, err1 := a.Profile(ctx, r.Task)
		pl, err2 := loaded.Profile(ctx, r.Task)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if fmt.Sprint(pa) != fmt.Sprint(pl) {
			t.Fatalf("reloaded model predicts %v, saved one %v", pl, pa)
		}
	}
	doc := strings.Replace(saved.String(), `"version": 1`, `"version": 99`, 1)
	if _, err := predict.LoadProfiler(strings.NewReader(doc)); !errors.Is(err, predict.ErrProfileVersion) {
		t.Errorf("newer version: %v", err)
	}
	if _, err := predict.LoadProfiler(strings.NewReader(`{"format":"something else","version":1}`)); !errors.Is(err, predict.ErrProfileVersion) {
		t.Errorf("other format: %v", err)
	}
	if err := predict.SaveProfiler(&saved, predict.NewMaxProfiler()); !errors.Is(err, predict.ErrNotFitted) {
		t.Errorf("saving an unfitted model: %v", err)
	}
	// The baselines save and reload too.
	for _, m := range []predict.TaskProfiler{predict.NewMaxProfiler(), predict.NewTimeTrendProfiler()} {
		if err := m.Fit(ctx, runs); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := predict.SaveProfiler(&buf, m); err != nil {
			t.Fatal(err)
		}
		l, err := predict.LoadProfiler(&buf)
		if err != nil {
			t.Fatal(err)
		}
		p1, _ := m.Profile(ctx, runs[0].Task)
		p2, _ := l.Profile(ctx, runs[0].Task)
		if fmt.Sprint(p1) != fmt.Sprint(p2) {
			t.Errorf("%T reloaded predicts %v, want %v", m, p2, p1)
		}
	}
}

func TestProfilerErrors(t *testing.T) {
	ctx := context.Background()
	runs := synthetic(30, []int{100, 300, 600}, 0.05, 5)
	m, _ := predict.NewRegressionProfiler(predict.WithProfileFeatures("side*side", "format"))
	for _, p := range []predict.TaskProfiler{m, predict.NewMaxProfiler(), predict.NewTimeTrendProfiler()} {
		if err := p.Fit(ctx, nil); !errors.Is(err, predict.ErrNoHistory) {
			t.Errorf("%T: empty history: %v", p, err)
		}
		if err := p.Fit(ctx, runs); err != nil {
			t.Fatal(err)
		}
		task := runs[0].Task
		task.Services = []string{"work", "unheard-of"}
		if _, err := p.Profile(ctx, task); !errors.Is(err, predict.ErrUnknownSeries) {
			t.Errorf("%T: unknown service: %v", p, err)
		}
		if _, err := predict.ProfileService(ctx, p, runs[0].Task, "absent"); err == nil {
			t.Errorf("%T: a service not in the task was profiled", p)
		}
		got, err := predict.ProfileService(ctx, p, runs[0].Task, "work")
		if err != nil || got.Service != "work" {
			t.Errorf("%T: ProfileService: %+v %v", p, got, err)
		}
	}
	task := runs[0].Task
	task.Params = map[string]string{"side": "100", "format": "webp"}
	if _, err := m.Profile(ctx, task); !errors.Is(err, predict.ErrUnknownSeries) {
		t.Errorf("unseen format: %v", err)
	}
	task.Params = map[string]string{"format": "png"}
	if _, err := m.Profile(ctx, task); !errors.Is(err, predict.ErrTaskRecord) {
		t.Errorf("missing parameter: %v", err)
	}
	nan := runs[0].Task
	nan.Params = map[string]string{"side": "NaN", "format": "png"}
	if _, err := m.Profile(ctx, nan); !errors.Is(err, predict.ErrTaskRecord) {
		t.Errorf("NaN parameter: %v", err)
	}
	// A run whose task lacks a categorical parameter is not learnt from.
	partial := append([]predict.TaskRun(nil), runs...)
	partial[0].Task.Params = map[string]string{"side": "100"}
	if err := m.Fit(ctx, partial); err != nil {
		t.Errorf("one task without its format: %v", err)
	}
	other, _ := predict.NewRegressionProfiler(predict.WithProfileFeatures("depth"))
	if err := other.Fit(ctx, runs); !errors.Is(err, predict.ErrNoHistory) || !strings.Contains(err.Error(), "depth") {
		t.Errorf("a feature no task has: %v", err)
	}
	for _, opt := range []predict.ProfileOption{predict.WithProfileQuantile(1), predict.WithProfileQuantile(0),
		predict.WithProfileFolds(1), predict.WithProfileFeatures("a**b")} {
		if _, err := predict.NewRegressionProfiler(opt); err == nil {
			t.Errorf("option %v accepted", opt)
		}
	}
	// A service seen once, values that cannot be learnt from: finite,
	// never negative, no panic.
	one := []predict.TaskRun{{Task: rightsize.Task{ID: "x", Services: []string{"a"}, Params: map[string]string{"side": "5", "format": "png"}},
		Services: []predict.ServiceRun{{Service: "a", PeakMemory: 100, CPU: math.NaN(), Duration: 1}}}}
	if err := m.Fit(ctx, one); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Profile(ctx, one[0].Task); !errors.Is(err, predict.ErrUnknownSeries) {
		t.Errorf("a target with no history: %v", err)
	}
	one[0].Services[0].CPU = 0.5
	m.Fit(ctx, one)
	p, err := m.Profile(ctx, one[0].Task)
	if err != nil || p[0].Memory.Point != 100 || p[0].CPU.Upper != 0.5 {
		t.Errorf("one run: %+v %v", p, err)
	}
}

func TestBaselines(t *testing.T) {
	ctx := context.Background()
	runs := synthetic(40, []int{100, 300, 600}, 0, 6)
	mx := predict.NewMaxProfiler()
	if _, err := mx.Profile(ctx, runs[0].Task); !errors.Is(err, predict.ErrNotFitted) {
		t.Fatal(err)
	}
	mx.Fit(ctx, runs)
	p, _ := predict.ProfileService(ctx, mx, runs[0].Task, "work")
	want := 0.0
	for _, r := range runs {
		for _, s := range r.Services {
			if s.Service == "work" {
				want = math.Max(want, s.PeakMemory)
			}
		}
	}
	if p.Memory.Point != want || p.Memory.Upper != want {
		t.Errorf("max: %+v, want %v", p.Memory, want)
	}
	// The seed's line through samples against the time since the task's
	// start: memory grows 1 MiB/s from 10 MiB, the service runs from 1 s
	// to 3 s, so its peak is the line at 3 s.
	var tr []predict.TaskRun
	for i := range 5 {
		start := profileT0.Add(time.Duration(i) * time.Hour)
		ser := rightsize.Series{Service: "s", Resource: rightsize.Memory}
		for k := range 5 {
			sec := 1 + 0.5*float64(k)
			ser.Times = append(ser.Times, start.Add(time.Duration(sec*float64(time.Second))))
			ser.Values = append(ser.Values, 10<<20+sec*(1<<20))
		}
		tr = append(tr, predict.TaskRun{Task: rightsize.Task{ID: strconv.Itoa(i), Services: []string{"s"}, Start: start},
			Services: []predict.ServiceRun{{Service: "s", PeakMemory: 13 << 20, CPU: 1, Duration: 2, Offset: 1, Series: []rightsize.Series{ser}}}})
	}
	tt := predict.NewTimeTrendProfiler()
	if err := tt.Fit(ctx, tr); err != nil {
		t.Fatal(err)
	}
	got, _ := predict.ProfileService(ctx, tt, tr[0].Task, "s")
	if math.Abs(got.Memory.Point-13<<20) > 1 || got.Duration.Point != 2 || got.CPU.Point != 1 {
		t.Errorf("time trend: %+v", got)
	}
}

// TestReadTaskRuns stores a task's samples and record in each store and
// reads them back as a run.
func TestReadTaskRuns(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := store.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "runs.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testReadTaskRuns(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := testenv.DatabaseURL(t)
		st, err := store.OpenPostgres(context.Background(), dsn, store.WithSchema(testenv.Schema(t, dsn, "rightsize_predict")))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		testReadTaskRuns(t, st)
	})
}

func testReadTaskRuns(t *testing.T, st store.Store) {
	ctx := context.Background()
	start := profileT0
	task := rightsize.Task{ID: "img-1", Services: []string{"decode", "blur", "never-ran"},
		Params: map[string]string{"width": "640", "height": "480"}, Start: start, End: start.Add(5 * time.Second)}
	running := rightsize.Task{ID: "img-2", Services: []string{"decode"}, Start: start}
	var samples []rightsize.Sample
	at := func(sec float64) time.Time { return start.Add(time.Duration(sec * float64(time.Second))) }
	add := func(svc, res string, sec, v float64) {
		samples = append(samples, rightsize.Sample{Task: "img-1", Service: svc, Resource: res, Value: v, Time: at(sec)})
	}
	add("decode", rightsize.Memory, 0.1, 5e6)
	add("decode", rightsize.Memory, 0.2, 9e6)
	add("decode", rightsize.CPU, 0.2, 0.8)
	add("decode", predict.PeakMemory, 0.3, 12e6)
	add("decode", predict.MeanCPU, 0.3, 0.7)
	add("blur", rightsize.Memory, 1.0, 20e6)
	add("blur", rightsize.Memory, 1.5, 30e6)
	add("blur", rightsize.CPU, 1.5, 0.9)
	add("blur", rightsize.CPU, 2.0, 1.1)
	samples = append(samples, rightsize.Sample{Task: "img-2", Service: "decode", Resource: rightsize.Memory, Value: 1, Time: at(1)})
	if err := st.Write(ctx, rightsize.Batch{Samples: samples}); err != nil {
		t.Fatal(err)
	}
	for _, tk := range []rightsize.Task{task, running} {
		if err := st.WriteTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := st.Tasks(ctx, store.TaskQuery{})
	if err != nil {
		t.Fatal(err)
	}
	runs, err := predict.ReadTaskRuns(ctx, st, tasks)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Task.ID != "img-1" || len(runs[0].Services) != 2 {
		t.Fatalf("runs: %+v", runs)
	}
	d, b := runs[0].Services[0], runs[0].Services[1]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if d.Service != "decode" || d.Position != 0 || d.PeakMemory != 12e6 || d.CPU != 0.7 || !near(d.Duration, 0.2) || !near(d.Offset, 0.1) {
		t.Errorf("decode (peak and mean from the exit record): %+v", d)
	}
	if b.Service != "blur" || b.Position != 1 || b.PeakMemory != 30e6 || !near(b.CPU, 1) || !near(b.Duration, 1) || !near(b.Offset, 1) || len(b.Series) != 2 {
		t.Errorf("blur (from the samples alone): %+v", b)
	}
}

// BenchmarkRegressionProfile is one profile of a four-service task.
func BenchmarkRegressionProfile(b *testing.B) {
	ctx := context.Background()
	runs := synthetic(200, []int{100, 300, 600, 900, 1200}, 0.05, 7)
	m, _ := predict.NewRegressionProfiler(predict.WithProfileFeatures("side*side", "bytes", "format"), predict.WithProfileGroups("side"))
	if err := m.Fit(ctx, runs); err != nil {
		b.Fatal(err)
	}
	task := runs[1].Task
	for b.Loop() {
		if _, err := m.Profile(ctx, task); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegressionFit fits 200 runs of two services.
func BenchmarkRegressionFit(b *testing.B) {
	ctx := context.Background()
	runs := synthetic(200, []int{100, 300, 600, 900, 1200}, 0.05, 7)
	m, _ := predict.NewRegressionProfiler(predict.WithProfileFeatures("side*side", "bytes", "format"), predict.WithProfileGroups("side"))
	for b.Loop() {
		if err := m.Fit(ctx, runs); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleRegressionProfiler() {
	// Ten tasks: memory is 50 MB plus 4 bytes per pixel.
	var runs []predict.TaskRun
	for i := 1; i <= 10; i++ {
		w := 200 * i
		t := rightsize.Task{ID: fmt.Sprint(i), Services: []string{"decode"},
			Params: map[string]string{"width": strconv.Itoa(w), "height": strconv.Itoa(w)}}
		runs = append(runs, predict.TaskRun{Task: t, Services: []predict.ServiceRun{{Service: "decode",
			PeakMemory: 50e6 + 4*float64(w*w), CPU: 1, Duration: 0.1 * float64(i)}}})
	}
	m, _ := predict.NewRegressionProfiler(predict.WithProfileFeatures("width*height"))
	if err := m.Fit(context.Background(), runs); err != nil {
		panic(err)
	}
	task := rightsize.Task{ID: "new", Services: []string{"decode"}, Params: map[string]string{"width": "1500", "height": "1500"}}
	p, _ := predict.ProfileService(context.Background(), m, task, "decode")
	fmt.Printf("decode of 1500x1500: %.0f MB\n", p.Memory.Point/1e6)
	// Output: decode of 1500x1500: 59 MB
}
