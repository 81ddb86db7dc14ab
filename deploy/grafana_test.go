package deploy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// grafanaQuery is what Grafana knows when it sends a panel's SQL to its
// PostgreSQL datasource: the time range, the panel's interval and the
// dashboard's template variables.
type grafanaQuery struct {
	From, To time.Time
	Interval time.Duration
	// Vars holds the values of each template variable; Multi names the
	// variables that are multi-value or include All (Grafana quotes their
	// values; a single-value variable's value is pasted as it is, with
	// its quotes doubled).
	Vars  map[string][]string
	Multi map[string]bool
	// All names the variables set to All whose allValue is given: Grafana
	// pastes that value as it is, without quoting it.
	All map[string]string
}

// expandGrafana expands sql as Grafana does for a PostgreSQL datasource
// with timescaledb off, in Grafana's order: the frontend replaces template
// variables and $__interval, then the backend ($__interval_ms and
// $__interval again, then the macros: $__timeFilter, $__timeFrom,
// $__timeTo, $__timeGroup, $__timeGroupAlias, $__time, $__timeEpoch,
// $__unixEpochFilter). A macro it does not know, a variable left over or
// a malformed argument is an error, so a dashboard cannot use what this
// has not been checked to expand.
func expandGrafana(sql string, q grafanaQuery) (string, error) {
	sql = strings.ReplaceAll(sql, "$__interval_ms", strconv.FormatInt(q.Interval.Milliseconds(), 10))
	sql = strings.ReplaceAll(sql, "$__interval", formatGrafanaInterval(q.Interval))
	names := make([]string, 0, len(q.Vars)+len(q.All))
	for name := range q.Vars {
		names = append(names, name)
	}
	for name := range q.All {
		names = append(names, name)
	}
	// Longest first, so that $service_group is not taken for $service.
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	for _, name := range names {
		v, all := q.All[name]
		if !all {
			v = interpolateVariable(q.Vars[name], q.Multi[name])
		}
		sql = strings.ReplaceAll(sql, "${"+name+"}", v)
		sql = strings.ReplaceAll(sql, "[["+name+"]]", v)
		sql = regexp.MustCompile(`\$`+regexp.QuoteMeta(name)+`\b`).ReplaceAllLiteralString(sql, v)
	}

	var err error
	out := grafanaMacro.ReplaceAllStringFunc(sql, func(m string) string {
		g := grafanaMacro.FindStringSubmatch(m)
		args := strings.Split(g[2], ",")
		for i := range args {
			args[i] = strings.TrimSpace(args[i])
		}
		res, merr := evaluateMacro(g[1], args, q)
		if merr != nil && err == nil {
			err = merr
		}
		return res
	})
	if err != nil {
		return "", err
	}
	if left := leftOver.FindString(out); left != "" {
		return "", fmt.Errorf("%s is left unexpanded", left)
	}
	return out, nil
}

// grafanaMacro is the pattern Grafana's PostgreSQL macro engine uses.
var grafanaMacro = regexp.MustCompile(`\$([_a-zA-Z0-9]+)\(([^\)]*)\)`)

var leftOver = regexp.MustCompile(`\$\{?[_a-zA-Z][_a-zA-Z0-9]*|\[\[[_a-zA-Z0-9]+\]\]`)

func evaluateMacro(name string, args []string, q grafanaQuery) (string, error) {
	ts := func(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339Nano) + "'" }
	column := func() (string, error) {
		if len(args) == 0 || args[0] == "" {
			return "", fmt.Errorf("$%s needs a column", name)
		}
		return args[0], nil
	}
	switch name {
	case "__time":
		c, err := column()
		return c + ` AS "time"`, err
	case "__timeEpoch":
		c, err := column()
		return "extract(epoch from " + c + `) as "time"`, err
	case "__timeFilter":
		c, err := column()
		return c + " BETWEEN " + ts(q.From) + " AND " + ts(q.To), err
	case "__timeFrom":
		return ts(q.From), nil
	case "__timeTo":
		return ts(q.To), nil
	case "__unixEpochFilter":
		c, err := column()
		return fmt.Sprintf("%s >= %d AND %s <= %d", c, q.From.Unix(), c, q.To.Unix()), err
	case "__timeGroup", "__timeGroupAlias":
		if len(args) < 2 || len(args) > 3 {
			return "", fmt.Errorf("$%s needs a column, an interval and an optional fill", name)
		}
		d, err := parseGrafanaInterval(strings.Trim(args[1], "'"))
		if err != nil {
			return "", fmt.Errorf("$%s: %w", name, err)
		}
		s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		g := "floor(extract(epoch from " + args[0] + ")/" + s + ")*" + s
		if name == "__timeGroupAlias" {
			g += ` AS "time"`
		}
		return g, nil
	}
	return "", fmt.Errorf("macro $%s is not one this test expands", name)
}

// interpolateVariable formats a template variable's value as Grafana's
// SQL datasources do.
func interpolateVariable(values []string, multi bool) string {
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	if !multi && len(values) == 1 {
		return strings.ReplaceAll(values[0], "'", "''")
	}
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = quote(v)
	}
	return strings.Join(q, ",")
}

var intervalUnits = []struct {
	suffix string
	d      time.Duration
}{
	{"y", 365 * 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"d", 24 * time.Hour},
	{"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}, {"ms", time.Millisecond},
}

// formatGrafanaInterval writes d as Grafana writes $__interval
// (gtime.FormatInterval): a whole number of the largest unit not above
// it, truncated. Grafana's interval calculator makes the panel's interval
// a round value first, so nothing is lost in practice.
func formatGrafanaInterval(d time.Duration) string {
	for _, u := range intervalUnits {
		if d >= u.d {
			return strconv.FormatInt(int64(d/u.d), 10) + u.suffix
		}
	}
	return "1ms"
}

// parseGrafanaInterval reads "5m", "1h", "2d", "500ms" as Grafana's
// gtime.ParseInterval does.
func parseGrafanaInterval(s string) (time.Duration, error) {
	for _, u := range []string{"ms", "y", "w", "d", "h", "m", "s"} {
		if n, ok := strings.CutSuffix(s, u); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v <= 0 {
				break
			}
			for _, x := range intervalUnits {
				if x.suffix == u {
					return time.Duration(v) * x.d, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("interval %q does not parse", s)
}

func TestExpandGrafana(t *testing.T) {
	from := time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)
	q := grafanaQuery{From: from, To: from.Add(time.Hour), Interval: 5 * time.Minute,
		Vars:  map[string][]string{"service": {"resize", "it's"}, "resource": {"cpu"}},
		Multi: map[string]bool{"service": true}, All: map[string]string{"everything": "'__all'"}}
	for _, c := range []struct{ in, want, err string }{
		{in: "WHERE $__timeFilter(time)", want: "WHERE time BETWEEN '2026-01-05T01:00:00Z' AND '2026-01-05T02:00:00Z'"},
		{in: "SELECT $__timeGroupAlias(time, $__interval)", want: `SELECT floor(extract(epoch from time)/300)*300 AS "time"`},
		{in: "GROUP BY $__timeGroup(time, '1h')", want: "GROUP BY floor(extract(epoch from time)/3600)*3600"},
		{in: "$__timeFrom()::timestamptz < $__timeTo()", want: "'2026-01-05T01:00:00Z'::timestamptz < '2026-01-05T02:00:00Z'"},
		{in: "service IN ($service) AND resource = '$resource'", want: "service IN ('resize','it''s') AND resource = 'cpu'"},
		{in: "${service} [[resource]] $__interval_ms", want: "'resize','it''s' cpu 300000"},
		{in: "$everything IN ($everything)", want: "'__all' IN ('__all')"},
		{in: "$__unixEpochGroup(t, 5m)", err: "not one this test expands"},
		{in: "$host", err: "$host is left unexpanded"},
		{in: "$__timeGroup(time, five)", err: "does not parse"},
	} {
		got, err := expandGrafana(c.in, q)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one saying %q", c.in, err, c.err)
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.err == "" && got != c.want:
			t.Errorf("%s:\n got %s\nwant %s", c.in, got, c.want)
		}
	}
	if got := formatGrafanaInterval(90 * time.Second); got != "1m" {
		t.Errorf("formatGrafanaInterval(90s) = %s, want 1m (truncated, as Grafana does)", got)
	}
	for d, want := range map[time.Duration]string{500 * time.Millisecond: "500ms", 30 * time.Second: "30s",
		2 * time.Minute: "2m", time.Hour: "1h", 48 * time.Hour: "2d"} {
		if got := formatGrafanaInterval(d); got != want {
			t.Errorf("formatGrafanaInterval(%v) = %s, want %s", d, got, want)
		}
		if back, err := parseGrafanaInterval(want); err != nil || back != d {
			t.Errorf("parseGrafanaInterval(%s) = %v, %v; want %v", want, back, err, d)
		}
	}
}
