package main

// The forecast subcommand: "what should service S request for the next
// hour?", in Kubernetes quantities.
//
//	go run ./examples/predict forecast -model model.rsf -service vm041
//	go run ./examples/predict forecast -db sqlite:rightsize.db -service web -o table

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/predict"
	"github.com/rightsize/rightsize/usage"
	"github.com/rightsize/rightsize/usage/kube"
)

func forecastCommand(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := newFlagSet("forecast", stderr, "usage: predict forecast [-model FILE | -db DSN | -csv PATH] [-service S1,S2] [-o yaml|json|table] [flags]",
		"What each service should request (the point forecast) and be limited at (the upper level) over the next horizon.")
	tr := registerTraining(fs)
	load := fs.String("model", "", "use this saved model (from fit -save) instead of training one")
	services := fs.String("service", "", "the services to size, comma-separated (default: every service the model knows)")
	from := fs.String("from", "", "start of the horizon, RFC 3339 (default: just after each series' last sample)")
	output := fs.String("o", "yaml", "output: yaml (a resources: block per service), json or table")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if !slices.Contains([]string{"yaml", "json", "table"}, *output) {
		return fmt.Errorf("forecast: -o %s: want yaml, json or table", *output)
	}
	q := predict.Query{}
	if *from != "" {
		t, err := time.Parse(time.RFC3339, *from)
		if err != nil {
			return fmt.Errorf("forecast: -from %q is not RFC 3339", *from)
		}
		q.From = t
	}
	var m predict.Model
	if *load != "" {
		var err error
		if m, err = loadModel(*load); err != nil {
			return fmt.Errorf("forecast: %w", err)
		}
	} else {
		var (
			took time.Duration
			err  error
		)
		if m, took, err = tr.train(ctx, stderr); err != nil {
			return fmt.Errorf("forecast: %w", err)
		}
		fmt.Fprintf(stderr, "%s: %s\n", m.Name(), learnt(m, took))
	}
	names := splitList(*services)
	if len(names) == 0 {
		for _, s := range m.Series() {
			if !slices.Contains(names, s.Service) {
				names = append(names, s.Service)
			}
		}
	}
	var preds []predict.Prediction
	for _, svc := range names {
		q.Service = svc
		p, err := m.Predict(ctx, q)
		if err != nil {
			return fmt.Errorf("forecast: %w", err)
		}
		preds = append(preds, p)
	}
	return writeForecasts(stdout, *output, preds)
}

// recommendationOf turns a prediction into requests (the point
// forecasts) and limits (the upper levels).
func recommendationOf(p predict.Prediction) usage.Recommendation {
	r := usage.Recommendation{Service: p.Service, Method: fmt.Sprintf("%s, next %v, limits at q=%g", p.Model, p.Horizon, p.Quantile)}
	for _, res := range []string{rightsize.CPU, rightsize.Memory} {
		if x, ok := p.Resource(res); ok {
			r.Resources = append(r.Resources, usage.ResourceRecommendation{Resource: res, Request: x.Point, Limit: x.Upper, Lower: x.Point, Upper: x.Upper})
		}
	}
	return r
}

func writeForecasts(w io.Writer, format string, preds []predict.Prediction) error {
	switch format {
	case "json":
		type entry struct {
			predict.Prediction
			Kubernetes kube.Resources `json:"kubernetes"`
		}
		out := make([]entry, 0, len(preds))
		for _, p := range preds {
			out = append(out, entry{p, kube.ResourcesOf(recommendationOf(p))})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case "table":
		tw := newTable(w)
		fmt.Fprintln(tw, "SERVICE\tRESOURCE\tFROM\tPOINT\tUPPER\tREQUEST\tLIMIT\tSAMPLES\tMETHOD\tNOTE\t")
		for _, p := range preds {
			for _, r := range p.Resources {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%.4g\t%.4g\t%s\t%s\t%d\t%s\t%s\t\n", p.Service, r.Resource, r.From.Format(time.RFC3339),
					r.Point, r.Upper, kube.Quantity(r.Resource, r.Point), kube.Quantity(r.Resource, r.Upper), r.Samples, r.Method, r.Note)
			}
		}
		return tw.Flush()
	}
	for i, p := range preds {
		if i > 0 {
			fmt.Fprintln(w, "---")
		}
		if err := kube.WriteYAML(w, recommendationOf(p)); err != nil {
			return err
		}
	}
	return nil
}
