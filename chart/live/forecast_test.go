package live_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart"
	"github.com/rightsize/rightsize/chart/live"
	"github.com/rightsize/rightsize/predict"
)

// A model's forecast draws after the history: a line at its point
// forecast over the horizon and a band up to its upper level.
func TestForecast(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	s := rightsize.Series{Service: "resize", Resource: rightsize.CPU}
	for i := range 240 {
		s.Times = append(s.Times, t0.Add(time.Duration(i)*time.Minute))
		s.Values = append(s.Values, 0.4+0.1*float64(i%7)/7)
	}
	m, err := predict.New("window-max", predict.WithHorizon(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Fit(ctx, predict.FromSeries(s)); err != nil {
		t.Fatal(err)
	}
	pred, err := m.Predict(ctx, predict.Query{Service: "resize"})
	if err != nil {
		t.Fatal(err)
	}
	f := live.Forecast(pred, rightsize.CPU)
	if f == nil || len(f.Times) != 2 || f.Times[1].Sub(f.Times[0]) != time.Hour || f.Upper[0] < f.Values[0] || !f.Times[0].After(t0) {
		t.Fatalf("forecast: %+v", f)
	}
	if live.Forecast(pred, rightsize.Memory) != nil {
		t.Error("a forecast of a resource not predicted")
	}
	var buf bytes.Buffer
	p := chart.Panel{Service: "resize", Resource: rightsize.CPU, Usage: []rightsize.Series{s}, Forecast: f}
	if err := chart.Write(&buf, "svg", p, chart.In(time.UTC)); err != nil {
		t.Fatal(err)
	}
	if want := "forecast (" + pred.Model + ")"; !strings.Contains(buf.String(), want) {
		t.Errorf("no %q in the chart", want)
	}
}
