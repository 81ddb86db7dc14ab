package backtest

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// Columns are the names of the figures of a Row, as WriteCSV and the
// JSON encoding of a Report name them.
var Columns = []string{"method", "resource", "series", "skipped", "samples", "steps",
	"under_provisioning", "slack", "oracle_slack", "excess_slack", "oracle_quantile",
	"under_provisioning_p50", "under_provisioning_p90", "excess_slack_p50", "excess_slack_p90", "mae", "smape"}

func (r Row) fields() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f(*v)
	}
	return []string{r.Method, r.Resource, strconv.Itoa(r.Series), strconv.Itoa(r.Skipped),
		strconv.FormatInt(r.Samples, 10), strconv.Itoa(r.Steps),
		f(r.UnderProvisioning), f(r.Slack), f(r.OracleSlack), f(r.ExcessSlack), f(r.OracleQuantile),
		f(r.UnderProvisioningP50), f(r.UnderProvisioningP90), f(r.ExcessSlackP50), f(r.ExcessSlackP90),
		opt(r.MAE), opt(r.SMAPE)}
}

// WriteCSV writes one line per row under a header of Columns.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for _, r := range rep.Rows {
		if err := cw.Write(r.fields()); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the report as one JSON object: the step and warm-up
// (as Go durations), the rows and, if perSeries, the per-series rows.
func (rep *Report) WriteJSON(w io.Writer, perSeries bool) error {
	out := struct {
		Step   string      `json:"step"`
		Warmup string      `json:"warmup"`
		Rows   []Row       `json:"rows"`
		Series []SeriesRow `json:"series,omitempty"`
	}{rep.Step.String(), rep.Warmup.String(), rep.Rows, nil}
	if perSeries {
		out.Series = rep.Series
	}
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(out)
}

// WriteTable writes the rows for people: per resource, every method side
// by side, figures in percent (excess slack and spreads in points).
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "RESOURCE\tMETHOD\tUNDER %\tSLACK %\tORACLE %\tEXCESS\tUNDER p50/p90\tEXCESS p50/p90\tSERIES\t")
	byRes := map[string][]Row{}
	var order []string
	for _, r := range rep.Rows {
		if _, ok := byRes[r.Resource]; !ok {
			order = append(order, r.Resource)
		}
		byRes[r.Resource] = append(byRes[r.Resource], r)
	}
	for _, res := range order {
		for _, r := range byRes[res] {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.1f\t%.1f\t%.1f\t%.2f / %.2f\t%.1f / %.1f\t%d\t\n", r.Resource, r.Method,
				r.UnderProvisioning, r.Slack, r.OracleSlack, r.ExcessSlack,
				r.UnderProvisioningP50, r.UnderProvisioningP90, r.ExcessSlackP50, r.ExcessSlackP90, r.Series)
		}
	}
	return tw.Flush()
}

// SeriesColumns are the names of the figures of a SeriesRow.
var SeriesColumns = []string{"method", "task", "service", "instance", "resource", "samples",
	"under_provisioning", "slack", "oracle_slack", "excess_slack", "mean_level"}

// WriteSeriesCSV writes one line per method and series under a header of
// SeriesColumns.
func (rep *Report) WriteSeriesCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(SeriesColumns); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, s := range rep.Series {
		if err := cw.Write([]string{s.Method, s.Task, s.Service, s.Instance, s.Resource, strconv.FormatInt(s.Samples, 10),
			f(s.UnderProvisioning), f(s.Slack), f(s.OracleSlack), f(s.ExcessSlack), strconv.FormatFloat(s.MeanLevel, 'g', 6, 64)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
