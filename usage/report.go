package usage

import (
	"context"
	"fmt"
	"strings"
)

// Report is what some services are expected to use and what they should
// request: the seed's service_usage.py, for people and tools.
type Report struct {
	Expected        []Usage          `json:"expected"`
	Recommendations []Recommendation `json:"recommendations"`
}

// Report returns the expected usage and the recommendation of each of
// services, in order, with the options applied to both (UsingMethod only
// to the recommendations). It stops at the first service that fails.
func (e *Estimator) Report(ctx context.Context, services []string, opts ...Option) (Report, error) {
	var r Report
	for _, svc := range services {
		u, err := e.Expected(ctx, svc, opts...)
		if err != nil {
			return Report{}, err
		}
		rec, err := e.Recommend(ctx, svc, opts...)
		if err != nil {
			return Report{}, err
		}
		r.Expected, r.Recommendations = append(r.Expected, u), append(r.Recommendations, rec)
	}
	return r, nil
}

// MethodNames are the names MethodNamed knows, the default first.
var MethodNames = []string{"calibrated", "vpa", "krr-simple", "seed-max"}

// MethodNamed returns the method a name stands for, with its defaults:
// "calibrated" (the default method, configured by opts), "vpa",
// "krr-simple" or "seed-max" (the seed's max + 10 %). It returns an error
// naming the known methods for any other name.
func MethodNamed(name string, opts ...CalibratedOption) (Method, error) {
	switch name {
	case "calibrated":
		return Calibrated(opts...)
	case "vpa":
		return VPA()
	case "krr-simple":
		return KRRSimple(), nil
	case "seed-max":
		return SeedMax(0.1)
	}
	return nil, fmt.Errorf("usage: unknown method %q (want %s)", name, strings.Join(MethodNames, ", "))
}
