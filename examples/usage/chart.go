package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart/live"
	"github.com/rightsize/rightsize/store"
	"github.com/rightsize/rightsize/usage"
)

// chartDir is where -chart writes each service's charts ("": none).
var chartDir string

// registerChart adds -chart to fs.
func registerChart(fs *flag.FlagSet) {
	fs.StringVar(&chartDir, "chart", "", "also write each service's charts into `dir`: a PNG and an SVG per resource, with the request and limit drawn, and an index.html")
}

// writeCharts writes the charts of the report's services into chartDir,
// when -chart was given, and says where on msgs (stderr, so that -o json
// or yaml on stdout stays clean).
func writeCharts(ctx context.Context, msgs io.Writer, st store.Store, r usage.Report) error {
	if chartDir == "" {
		return nil
	}
	paths, err := live.WriteCharts(ctx, chartDir, st, r.Recommendations, rightsize.Filter{})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(msgs, prog+": "+live.ChartsWritten(chartDir, paths))
	return err
}
