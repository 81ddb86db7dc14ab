package predict_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/predict"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestLinearTrendRecoversLine(t *testing.T) {
	var h []rightsize.Sample
	for i := range 100 {
		// memory grows 1 KiB per second from 100 MiB; cpu is flat 0.5
		h = append(h,
			rightsize.Sample{Service: "svc", Resource: "memory", Value: 100<<20 + 1024*float64(i), Time: t0.Add(time.Duration(i) * time.Second)},
			rightsize.Sample{Service: "svc", Resource: "cpu", Value: 0.5, Time: t0.Add(time.Duration(i) * time.Second)})
	}
	m := predict.NewLinearTrend()
	ctx := context.Background()
	if _, err := m.Predict(ctx, predict.Query{Service: "svc", Resource: "cpu"}); !errors.Is(err, predict.ErrNotFitted) {
		t.Fatalf("before Fit: %v", err)
	}
	if err := m.Fit(ctx, h); err != nil {
		t.Fatal(err)
	}
	got, err := m.Predict(ctx, predict.Query{Service: "svc", Resource: "memory", At: []time.Time{t0.Add(200 * time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	if want := float64(100<<20 + 1024*200); math.Abs(got[0]-want) > 1e-3 {
		t.Errorf("memory at +200s = %v, want %v", got[0], want)
	}
	got, _ = m.Predict(ctx, predict.Query{Service: "svc", Resource: "cpu", At: []time.Time{t0.Add(time.Hour)}})
	if math.Abs(got[0]-0.5) > 1e-12 {
		t.Errorf("cpu = %v", got[0])
	}
	if _, err := m.Predict(ctx, predict.Query{Service: "other", Resource: "cpu"}); !errors.Is(err, predict.ErrUnknownSeries) {
		t.Errorf("unknown series: %v", err)
	}
}

func TestLinearTrendClampsAndSinglePoint(t *testing.T) {
	m := predict.NewLinearTrend()
	h := []rightsize.Sample{
		{Service: "s", Resource: "cpu", Value: 2, Time: t0},
		{Service: "s", Resource: "cpu", Value: 1, Time: t0.Add(time.Minute)},
		{Service: "s", Resource: "memory", Value: 42, Time: t0},
	}
	if err := m.Fit(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	got, _ := m.Predict(context.Background(), predict.Query{Service: "s", Resource: "cpu", At: []time.Time{t0.Add(time.Hour)}})
	if got[0] != 0 {
		t.Errorf("falling line not clamped at 0: %v", got[0])
	}
	got, _ = m.Predict(context.Background(), predict.Query{Service: "s", Resource: "memory", At: []time.Time{t0.Add(time.Hour)}})
	if got[0] != 42 {
		t.Errorf("single point: %v", got[0])
	}
	if err := m.Fit(context.Background(), nil); !errors.Is(err, predict.ErrNoHistory) {
		t.Errorf("empty history: %v", err)
	}
	bad := []rightsize.Sample{{Service: "s", Resource: "cpu", Value: math.NaN(), Time: t0}}
	if err := m.Fit(context.Background(), bad); !errors.Is(err, rightsize.ErrInvalidSample) {
		t.Errorf("NaN history: %v", err)
	}
}

func ExampleLinearTrend() {
	var h []rightsize.Sample
	for i := range 10 {
		h = append(h, rightsize.Sample{Service: "resize", Resource: "cpu", Value: 0.1 * float64(i),
			Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	m := predict.NewLinearTrend()
	if err := m.Fit(context.Background(), h); err != nil {
		panic(err)
	}
	v, _ := m.Predict(context.Background(), predict.Query{Service: "resize", Resource: "cpu",
		At: []time.Time{t0.Add(20 * time.Minute)}})
	fmt.Printf("cpu in 20 minutes: %.2f cores\n", v[0])
	// Output: cpu in 20 minutes: 2.00 cores
}
