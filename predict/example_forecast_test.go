package predict_test

import (
	"context"
	"fmt"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/predict"
)

// The seed's model, a line through (time, value): fine for a straight
// line, and only for that.
func ExampleLinearTrend() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := rightsize.Series{Service: "resize", Resource: "cpu"}
	for i := range 10 {
		s.Times = append(s.Times, t0.Add(time.Duration(i)*time.Minute))
		s.Values = append(s.Values, 0.1*float64(i))
	}
	m, err := predict.NewLinearTrend(predict.WithHorizon(time.Minute))
	if err != nil {
		panic(err)
	}
	if err := m.Fit(context.Background(), predict.FromSeries(s)); err != nil {
		panic(err)
	}
	p, _ := m.Predict(context.Background(), predict.Query{Service: "resize", From: t0.Add(20 * time.Minute)})
	cpu, _ := p.Resource("cpu")
	fmt.Printf("cpu over the minute from t0+20m: %.2f cores\n", cpu.Point)
	// Output: cpu over the minute from t0+20m: 2.05 cores
}

// What should a service request for the next hour? The selector answers
// per resource with a point forecast (a request) and an upper level (a
// limit) that at most 2 % of the hour's samples should exceed.
func ExampleSelector() {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var samples []rightsize.Sample
	for i := range 3 * 24 * 60 { // three days, one sample a minute
		at := t0.Add(time.Duration(i) * time.Minute)
		samples = append(samples,
			rightsize.Sample{Service: "web", Resource: "cpu", Value: 0.2 + 0.05*float64(i%10)/10, Time: at},
			rightsize.Sample{Service: "web", Resource: "memory", Value: 300 << 20, Time: at})
	}
	m, err := predict.NewSelector()
	if err != nil {
		panic(err)
	}
	if err := m.Fit(context.Background(), predict.FromSamples(samples)); err != nil {
		panic(err)
	}
	p, err := m.Predict(context.Background(), predict.Query{Service: "web"})
	if err != nil {
		panic(err)
	}
	for _, r := range p.Resources {
		fmt.Printf("%s: request %.3g, limit %.3g\n", r.Resource, r.Point, r.Upper)
	}
	// Output:
	// cpu: request 0.223, limit 0.245
	// memory: request 3.15e+08, limit 3.15e+08
}
