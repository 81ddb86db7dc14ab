package deploy

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"sigs.k8s.io/yaml"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/store"
)

const (
	dashboardFile  = "grafana/dashboards/rightsize.json"
	datasourceFile = "grafana/provisioning/datasources/rightsize.yaml"
	readerScript   = "timescaledb/initdb/10-grafana-reader.sh"
)

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboardTarget struct {
	RefID      string `json:"refId"`
	Datasource *dsRef `json:"datasource"`
	RawSQL     string `json:"rawSql"`
	RawQuery   bool   `json:"rawQuery"`
	Format     string `json:"format"`
}

type dashboardPanel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Repeat     string            `json:"repeat"`
	Datasource *dsRef            `json:"datasource"`
	Targets    []dashboardTarget `json:"targets"`
	Panels     []dashboardPanel  `json:"panels"`
}

type dashboardVariable struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Datasource *dsRef `json:"datasource"`
	Query      string `json:"query"`
	Multi      bool   `json:"multi"`
	IncludeAll bool   `json:"includeAll"`
	AllValue   string `json:"allValue"`
}

type dashboard struct {
	UID        string           `json:"uid"`
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []dashboardVariable `json:"list"`
	} `json:"templating"`
}

type provisionedDatasources struct {
	Datasources []struct {
		Name     string `json:"name"`
		UID      string `json:"uid"`
		Type     string `json:"type"`
		URL      string `json:"url"`
		User     string `json:"user"`
		JSONData struct {
			Database    string `json:"database"`
			TimescaleDB bool   `json:"timescaledb"`
		} `json:"jsonData"`
		SecureJSONData map[string]string `json:"secureJsonData"`
	} `json:"datasources"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

func loadDatasources(t *testing.T) provisionedDatasources {
	t.Helper()
	b, err := os.ReadFile(datasourceFile)
	if err != nil {
		t.Fatal(err)
	}
	// Not strict: the struct names only the keys the tests rely on.
	var p provisionedDatasources
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", datasourceFile, err)
	}
	if len(p.Datasources) != 1 {
		t.Fatalf("%s: %d datasources, want 1", datasourceFile, len(p.Datasources))
	}
	return p
}

// dashboardQuery is one SQL query of the dashboard, with where it is.
type dashboardQuery struct {
	where, sql, format string
}

// dashboardQueries returns every SQL query of the dashboard — each
// target of each panel (repeated rows' panels included) and each query
// variable — after checking that all of them use the provisioned
// datasource.
func dashboardQueries(t *testing.T, d dashboard, ds dsRef) []dashboardQuery {
	t.Helper()
	checkDS := func(where string, r *dsRef) {
		if r == nil || *r != ds {
			t.Errorf("%s: datasource %+v, want the provisioned %+v", where, r, ds)
		}
	}
	var out []dashboardQuery
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			checkDS(where, p.Datasource)
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			for _, tg := range p.Targets {
				w := where + " query " + tg.RefID
				checkDS(w, tg.Datasource)
				if !tg.RawQuery || tg.RawSQL == "" {
					t.Errorf("%s: not a raw SQL query", w)
				}
				out = append(out, dashboardQuery{w, tg.RawSQL, tg.Format})
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		w := "variable $" + v.Name
		if v.Type != "query" {
			continue
		}
		checkDS(w, v.Datasource)
		out = append(out, dashboardQuery{w, v.Query, "table"})
	}
	return out
}

func TestDashboardUsesProvisionedDatasource(t *testing.T) {
	p := loadDatasources(t).Datasources[0]
	if p.Type != "grafana-postgresql-datasource" {
		t.Errorf("datasource type %q, want grafana-postgresql-datasource", p.Type)
	}
	if p.JSONData.TimescaleDB {
		t.Error("datasource has timescaledb on: Grafana would write $__timeGroup as time_bucket(), which this test does not run and plain PostgreSQL lacks")
	}
	if p.SecureJSONData["password"] != "$GRAFANA_DB_PASSWORD" {
		t.Errorf("datasource password %q, want it from Grafana's environment ($GRAFANA_DB_PASSWORD)", p.SecureJSONData["password"])
	}
	d := loadDashboard(t)
	qs := dashboardQueries(t, d, dsRef{p.Type, p.UID})
	if len(qs) < 5 {
		t.Errorf("%d queries found in the dashboard; expected the usage, band, I/O, other, table and variable queries", len(qs))
	}
	var repeated bool
	for _, pn := range d.Panels {
		repeated = repeated || (pn.Type == "row" && pn.Repeat == "service")
	}
	if !repeated {
		t.Error("no row repeats per $service")
	}
}

// The known samples: three services over three days, one sample a minute,
// values that differ by minute and by day.
var (
	sampleStart = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	sampleDays  = 3
	services    = []string{"resize", "blur", "it's"} // a quote, to check Grafana's quoting
)

func knownSamples() []rightsize.Sample {
	var out []rightsize.Sample
	add := func(svc, res string, i int, v float64) {
		out = append(out, rightsize.Sample{Task: fmt.Sprintf("img-%d", i/60), Service: svc, Instance: "node-1",
			Resource: res, Value: v, Time: sampleStart.Add(time.Duration(i) * time.Minute)})
	}
	const mib = 1 << 20
	for i := range sampleDays * 24 * 60 {
		day := float64(i / (24 * 60))
		wave := math.Sin(2 * math.Pi * float64(i) / 360)
		add("resize", rightsize.CPU, i, 0.30+0.20*wave+0.01*float64(i%7))
		add("resize", rightsize.Memory, i, 200*mib+float64((i*37)%100)*mib/4+day*10*mib)
		add("resize", rightsize.DiskRead, i, float64(i%13)*4096)
		add("resize", rightsize.DiskWrite, i, float64(i%5)*65536)
		add("resize", rightsize.Threads, i, float64(4+i%3))
		add("resize", "queue.depth", i, float64(i%10))
		add("blur", rightsize.CPU, i, 0.80+0.10*math.Cos(2*math.Pi*float64(i)/90))
		add("blur", rightsize.Memory, i, 600*mib+float64((i*13)%64)*mib-day*20*mib)
	}
	for i := 2000; i < 2100; i++ {
		add("it's", rightsize.CPU, i, 0.05*float64(i%4))
	}
	return out
}

// The dashboard's time range in the test: not aligned to its interval,
// cutting the first and last days.
var (
	rangeFrom     = sampleStart.Add(90*time.Minute + 30*time.Second)
	rangeTo       = sampleStart.Add(2*24*time.Hour + 20*time.Hour + 10*time.Minute)
	rangeInterval = 5 * time.Minute
)

func inRange(s rightsize.Sample) bool { return !s.Time.Before(rangeFrom) && !s.Time.After(rangeTo) }

// percentileCont is PostgreSQL's percentile_cont.
func percentileCont(sorted []float64, p float64) float64 {
	pos := p * float64(len(sorted)-1)
	lo, hi := math.Floor(pos), math.Ceil(pos)
	a, b := sorted[int(lo)], sorted[int(hi)]
	return a + (b-a)*(pos-lo)
}

func values(samples []rightsize.Sample, keep func(rightsize.Sample) bool) []float64 {
	var v []float64
	for _, s := range samples {
		if inRange(s) && keep(s) {
			v = append(v, s.Value)
		}
	}
	sort.Float64s(v)
	return v
}

func dailyPeaks(samples []rightsize.Sample, keep func(rightsize.Sample) bool) []float64 {
	peaks := map[time.Time]float64{}
	for _, s := range samples {
		if inRange(s) && keep(s) {
			d := s.Time.UTC().Truncate(24 * time.Hour)
			peaks[d] = max(peaks[d], s.Value)
		}
	}
	var v []float64
	for _, p := range peaks {
		v = append(v, p)
	}
	sort.Float64s(v)
	return v
}

// TestDashboardQueries runs every SQL query of the dashboard, expanded as
// Grafana expands it, against a store in a database of its own holding
// the known samples, as the read-only role Grafana uses (made by the same
// script the TimescaleDB container runs), and checks the answers against
// the samples.
func TestDashboardQueries(t *testing.T) {
	dsn := testenv.DatabaseURL(t)
	db := testenv.Database(t, dsn, "deploy_dashboard")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	samples := knownSamples()
	if err := st.Write(ctx, rightsize.Batch{Samples: samples}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	conn := connectAsGrafana(t, ctx, db)

	ds := loadDatasources(t).Datasources[0]
	d := loadDashboard(t)
	qs := dashboardQueries(t, d, dsRef{ds.Type, ds.UID})
	multi := map[string]bool{}
	var allValue string
	for _, v := range d.Templating.List {
		multi[v.Name] = v.Multi || v.IncludeAll
		if v.Name == "service" {
			allValue = v.AllValue
		}
	}
	if !multi["service"] || allValue == "" {
		t.Fatal("$service is not multi-value with an allValue: the queries and this test assume it is")
	}
	// In a row repeated per service, $service is that row's service; the
	// table outside the rows sees the selection: All (by default), or
	// some services.
	base := grafanaQuery{From: rangeFrom, To: rangeTo, Interval: rangeInterval, Multi: multi}
	one, all, some := base, base, base
	one.Vars = map[string][]string{"service": {"resize"}}
	all.All = map[string]string{"service": allValue}
	some.Vars = map[string][]string{"service": {"it's", "resize"}}

	checked := map[string]bool{}
	for _, q := range qs {
		kind := queryKind(q)
		selections := map[string]grafanaQuery{"resize": one}
		if kind == "table" || kind == "variable" {
			selections = map[string]grafanaQuery{"All": all, "it's and resize": some}
		}
		for what, qv := range selections {
			where := q.where + ", $service " + what
			sql, err := expandGrafana(q.sql, qv)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			rows, err := queryRows(ctx, conn, sql)
			if err != nil {
				t.Errorf("%s: %v\n%s", where, err, sql)
				continue
			}
			checked[kind] = true
			want := services
			if what != "All" && kind == "table" {
				want = qv.Vars["service"]
			}
			if err := checkAnswer(kind, rows, samples, want); err != nil {
				t.Errorf("%s (%s): %v\n%s", where, kind, err, sql)
			}
		}
	}
	for _, k := range []string{"variable", "table", "usage cpu", "usage memory", "band cpu", "band memory", "per resource io", "per resource other"} {
		if !checked[k] {
			t.Errorf("no %s query was found in the dashboard to check", k)
		}
	}
}

// connectAsGrafana makes Grafana's role in db with the TimescaleDB
// container's script (psql, as the image runs it) and connects as it.
func connectAsGrafana(t *testing.T, ctx context.Context, db string) *pgx.Conn {
	t.Helper()
	psql, err := exec.LookPath("psql")
	if err != nil {
		if testenv.CI() {
			t.Fatal("psql is not installed; under CI this is a failure")
		}
		t.Skip("psql is not installed (apt-get install postgresql-client)")
	}
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	role := fmt.Sprintf("deploy_grafana_%016x", rand.Uint64())
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), db)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	cmd := exec.CommandContext(ctx, "sh", readerScript)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(psql)+":"+os.Getenv("PATH"),
		"PGHOST="+cfg.Host, fmt.Sprintf("PGPORT=%d", cfg.Port), "PGPASSWORD="+cfg.Password,
		"POSTGRES_USER="+cfg.User, "POSTGRES_DB="+cfg.Database,
		"GRAFANA_DB_USER="+role, "GRAFANA_DB_PASSWORD=not-checked-by-trust-auth")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", readerScript, err, out)
	}
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "not-checked-by-trust-auth")
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	// The role reads and cannot write.
	if _, err := conn.Exec(ctx, "CREATE TABLE grafana_was_here (x int)"); err == nil {
		t.Error("Grafana's role could create a table")
	}
	return conn
}

// queryKind says which of the dashboard's queries q is, from its text.
func queryKind(q dashboardQuery) string {
	switch {
	case strings.HasPrefix(q.where, "variable"):
		return "variable"
	case q.format == "table":
		return "table"
	case strings.Contains(q.sql, "resource AS metric") && strings.Contains(q.sql, "NOT IN"):
		return "per resource other"
	case strings.Contains(q.sql, "resource AS metric"):
		return "per resource io"
	}
	res := "cpu"
	if strings.Contains(q.sql, "resource = 'memory'") {
		res = "memory"
	}
	if strings.Contains(q.sql, "percentile_cont") {
		return "band " + res
	}
	return "usage " + res
}

func queryRows(ctx context.Context, conn *pgx.Conn, sql string) ([][]any, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case pgtype.Numeric:
		f, err := x.Float64Value()
		return f.Float64, err
	case time.Time:
		return float64(x.Unix()), nil
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// checkAnswer checks the rows a query of kind returned; selected is the
// services the table is to show.
func checkAnswer(kind string, rows [][]any, samples []rightsize.Sample, selected []string) error {
	is := func(svc string, res ...string) func(rightsize.Sample) bool {
		return func(s rightsize.Sample) bool { return s.Service == svc && slices.Contains(res, s.Resource) }
	}
	switch kind {
	case "variable":
		var got []string
		for _, r := range rows {
			got = append(got, r[0].(string))
		}
		if want := []string{"blur", "it's", "resize"}; !slices.Equal(got, want) {
			return fmt.Errorf("services %q, want %q", got, want)
		}
		return nil
	case "usage cpu", "usage memory":
		return checkBuckets(rows, samples, is("resize", strings.TrimPrefix(kind, "usage ")), false)
	case "per resource io":
		return checkBuckets(rows, samples, is("resize", "disk.read", "disk.write", "net.rx", "net.tx"), true)
	case "per resource other":
		return checkBuckets(rows, samples, is("resize", "threads", "queue.depth"), true)
	case "band cpu", "band memory":
		res := strings.TrimPrefix(kind, "band ")
		v := values(samples, is("resize", res))
		of := v
		if res == "memory" {
			of = dailyPeaks(samples, is("resize", res))
			if len(of) != 3 {
				return fmt.Errorf("the range holds %d days, the test wants 3", len(of))
			}
		}
		want := []float64{percentileCont(v, 0.5), percentileCont(v, 0.95), 1.15 * percentileCont(of, 0.9), 1.15 * percentileCont(of, 0.95)}
		if len(rows) != 2 {
			return fmt.Errorf("%d rows, want 2 (the range's ends)", len(rows))
		}
		for i, at := range []time.Time{rangeFrom, rangeTo} {
			if got := rows[i][0].(time.Time); !got.Equal(at) {
				return fmt.Errorf("row %d at %v, want %v", i, got, at)
			}
			for j, w := range want {
				g, err := toFloat(rows[i][j+1])
				if err != nil || !near(g, w) {
					return fmt.Errorf("row %d column %d = %v (%v), want %v", i, j+1, rows[i][j+1], err, w)
				}
			}
		}
		return nil
	case "table":
		return checkTable(rows, samples, is, selected)
	}
	return fmt.Errorf("no check for %s", kind)
}

// checkBuckets compares (time, mean, max) rows — or, with byResource,
// (time, resource, mean) rows — with the samples keep selects, grouped as
// $__timeGroup groups them.
func checkBuckets(rows [][]any, samples []rightsize.Sample, keep func(rightsize.Sample) bool, byResource bool) error {
	type key struct {
		bucket   int64
		resource string
	}
	type acc struct{ sum, max, n float64 }
	want := map[key]*acc{}
	width := int64(rangeInterval / time.Second)
	for _, s := range samples {
		if !inRange(s) || !keep(s) {
			continue
		}
		k := key{bucket: s.Time.Unix() / width * width}
		if byResource {
			k.resource = s.Resource
		}
		a := want[k]
		if a == nil {
			a = &acc{max: math.Inf(-1)}
			want[k] = a
		}
		a.sum, a.n, a.max = a.sum+s.Value, a.n+1, max(a.max, s.Value)
	}
	if len(rows) != len(want) {
		return fmt.Errorf("%d rows, want %d", len(rows), len(want))
	}
	var prev float64
	for i, r := range rows {
		b, err := toFloat(r[0])
		if err != nil {
			return fmt.Errorf("row %d: time: %v", i, err)
		}
		if b < prev {
			return fmt.Errorf("row %d: not in time order", i)
		}
		prev = b
		k := key{bucket: int64(b)}
		vals := r[1:]
		if byResource {
			k.resource, vals = r[1].(string), r[2:]
		}
		a := want[k]
		if a == nil {
			return fmt.Errorf("row %d: %v, a bucket with no sample", i, r)
		}
		exp := []float64{a.sum / a.n, a.max}[:len(vals)]
		for j, w := range exp {
			g, err := toFloat(vals[j])
			if err != nil || !near(g, w) {
				return fmt.Errorf("row %d (%v): value %d = %v (%v), want %v", i, k, j, vals[j], err, w)
			}
		}
	}
	return nil
}

func checkTable(rows [][]any, samples []rightsize.Sample, is func(string, ...string) func(rightsize.Sample) bool, selected []string) error {
	quantity := func(res string, v float64) string {
		if res == rightsize.CPU {
			return fmt.Sprintf("%dm", int64(math.Ceil(v*1000/1-1e-9)))
		}
		return fmt.Sprintf("%dMi", int64(math.Ceil(v*1/(1<<20)-1e-9)))
	}
	var want [][]string
	for _, svc := range selected {
		for _, res := range []string{rightsize.CPU, rightsize.Memory} {
			v := values(samples, is(svc, res))
			if len(v) == 0 {
				continue
			}
			of := v
			if res == rightsize.Memory {
				of = dailyPeaks(samples, is(svc, res))
			}
			want = append(want, []string{svc, res, fmt.Sprint(len(v)),
				quantity(res, percentileCont(v, 0.5)), quantity(res, percentileCont(v, 0.95)), quantity(res, v[len(v)-1]),
				quantity(res, 1.15*percentileCont(of, 0.9)), quantity(res, 1.15*percentileCont(of, 0.95))})
		}
	}
	slices.SortFunc(want, func(a, b []string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	var got [][]string
	for _, r := range rows {
		row := make([]string, len(r))
		for i, v := range r {
			row[i] = fmt.Sprint(v)
		}
		got = append(got, row)
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		return fmt.Errorf("table\n got %q\nwant %q", got, want)
	}
	return nil
}
