package backtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/backtest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixedLevel holds one level throughout.
type fixedLevel float64

func (f fixedLevel) Name() string { return "fixed" }
func (f fixedLevel) New(backtest.Labels) (backtest.Model, error) {
	return &lastValue{level: float64(f)}, nil
}

// lastValue says the last value observed (or its fixed level), with the
// last value as its point forecast.
type lastValue struct {
	level, last float64
	seen        bool
}

func (m *lastValue) Observe(_ []time.Time, v []float64) { m.last, m.seen = v[len(v)-1], true }
func (m *lastValue) Forecast(time.Time, time.Duration) backtest.Forecast {
	if m.level > 0 {
		return backtest.Forecast{Level: m.level, Point: math.NaN()}
	}
	return backtest.Forecast{Level: m.last, Point: m.last}
}

type last struct{}

func (last) Name() string                                { return "last" }
func (last) New(backtest.Labels) (backtest.Model, error) { return &lastValue{}, nil }

// series: one value an hour; hour i has value v[i].
func series(service string, v ...float64) rightsize.Series {
	s := rightsize.Series{Service: service, Resource: "cpu"}
	for i, x := range v {
		s.Times = append(s.Times, t0.Add(time.Duration(i)*time.Hour))
		s.Values = append(s.Values, x)
	}
	return s
}

// Two-hour steps after a two-hour warm-up over 1 2 | 3 4 | 5 6 | 1 1:
// a level of 4 has 5 and 6 above it (2 of 6 scored samples), leaves
// (1 + 0) + (3 + 3) unused = 7 of 4 × 6 = 24 reserved.
func TestFigures(t *testing.T) {
	s := series("a", 1, 2, 3, 4, 5, 6, 1, 1)
	rep, err := backtest.Run(context.Background(), []rightsize.Series{s}, []backtest.Method{fixedLevel(4), last{}},
		backtest.WithStep(2*time.Hour), backtest.WithWarmup(2*time.Hour), backtest.WithWorkers(1))
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Rows[0]
	if r.Method != "fixed" || r.Samples != 6 || r.Steps != 3 || r.Series != 1 {
		t.Fatalf("row %+v", r)
	}
	near(t, "under", r.UnderProvisioning, 100*2.0/6)
	near(t, "slack", r.Slack, 100*7.0/24)
	// Oracle at under ≤ 1/3: each step of two at q has its top value
	// above unless q = 1; two steps of three must have none above, so
	// q = 1 (levels 4, 6, 1) would give 0; the smallest q with at most 2
	// samples above: the levels 3+q, 5+q, 1 put one above in each of the
	// first two steps for q < 1: 2/6 allowed, so q → 0: levels 3, 5, 1,
	// unused 0+0+0, slack 0.
	near(t, "oracle slack", r.OracleSlack, 0)
	near(t, "excess", r.ExcessSlack, 100*7.0/24)
	if r.MAE != nil {
		t.Error("a method without point forecasts has an MAE")
	}

	// last value: levels 2, 4, 6 over 3 4 | 5 6 | 1 1: above 3,4? 3>2,
	// 4>2, 5>4, 6>4: 4 of 6; unused (6−1)+(6−1) = 10 of 2·2+4·2+6·2 = 24.
	r = rep.Rows[1]
	near(t, "last under", r.UnderProvisioning, 100*4.0/6)
	near(t, "last slack", r.Slack, 100*10.0/24)
	if r.MAE == nil || math.Abs(*r.MAE-(1+2+1+2+5+5)/6.0) > 1e-12 {
		t.Errorf("MAE %v", r.MAE)
	}
	if len(rep.Series) != 2 || rep.Series[1].Method != "last" || rep.Series[1].Service != "a" {
		t.Errorf("series rows %+v", rep.Series)
	}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// The oracle's under-provisioning is matched by bisection: on many
// steps of distinct values it lands within a sample of the target.
func TestOracleMatchesUnderProvisioning(t *testing.T) {
	var v []float64
	for i := range 24 * 30 {
		v = append(v, float64(i%24)+float64(i%7)/10)
	}
	rep, err := backtest.Run(context.Background(), []rightsize.Series{series("a", v...)}, []backtest.Method{fixedLevel(20)})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Rows[0]
	// level 20 leaves 21, 22, 23 (and 20.x) above: about 4/24 of samples.
	if r.UnderProvisioning < 12 || r.UnderProvisioning > 17 {
		t.Fatalf("under %v", r.UnderProvisioning)
	}
	// Every day is alike, so the fixed level is what a daily oracle at
	// that under-provisioning holds too: their slack is about the same
	// (the oracle's under-provisioning is at most the method's, so its
	// slack may be a little higher).
	if math.Abs(r.OracleSlack-r.Slack) > 1 || r.OracleQuantile <= 0 || r.OracleQuantile >= 1 {
		t.Errorf("oracle %v (q %v) against slack %v", r.OracleSlack, r.OracleQuantile, r.Slack)
	}
}

func TestRunRefuses(t *testing.T) {
	s := []rightsize.Series{series("a", 1, 2, 3)}
	ctx := context.Background()
	if _, err := backtest.Run(ctx, s, nil); err == nil {
		t.Error("no methods accepted")
	}
	if _, err := backtest.Run(ctx, s, []backtest.Method{last{}}, backtest.WithStep(0)); err == nil {
		t.Error("zero step accepted")
	}
	bad := series("b", 1, 2)
	bad.Times[0], bad.Times[1] = bad.Times[1], bad.Times[0]
	if _, err := backtest.Run(ctx, []rightsize.Series{bad}, []backtest.Method{last{}}); err == nil {
		t.Error("series out of order accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := backtest.Run(cctx, s, []backtest.Method{last{}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestAllocation(t *testing.T) {
	a, err := backtest.ReadAllocation(strings.NewReader("service,samples,cpu_cores_provisioned_max,memory_provisioned_bytes_max\nvm1,5,2,4096\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := []rightsize.Series{series("vm1", 1, 1, 3, 1), series("vm9", 1, 2, 3)}
	rep, err := backtest.Run(context.Background(), s, []backtest.Method{a}, backtest.WithStep(time.Hour), backtest.WithWarmup(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Rows[0]
	if r.Method != "allocated" || r.Series != 1 || r.Skipped != 1 || r.Samples != 3 {
		t.Fatalf("row %+v", r)
	}
	near(t, "under", r.UnderProvisioning, 100.0/3)
	var out bytes.Buffer
	if err := rep.WriteJSON(&out, true); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back.Rows[0]["under_provisioning"] == nil || back.Rows[0]["excess_slack"] == nil {
		t.Errorf("json %s: %v", out.String(), err)
	}
	out.Reset()
	if err := rep.WriteCSV(&out); err != nil || !strings.HasPrefix(out.String(), strings.Join(backtest.Columns, ",")+"\n") {
		t.Errorf("csv %q: %v", out.String(), err)
	}
}
