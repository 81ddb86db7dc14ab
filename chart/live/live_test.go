package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart/live"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/store"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// xssName is a service name a page that wrote names as HTML would run.
const xssName = `<img src=x onerror=alert(1)>`

// rig is the whole path the live page sits on: the in-process broker, an
// embedded store, a consumer storing into it with the server as its
// best-effort sink, a publisher, and the server on a loopback port.
type rig struct {
	st   store.Store
	srv  *live.Server
	pub  *producer.Kafka
	url  string
	stop func()
}

func newRig(t *testing.T, opts ...live.Option) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := testenv.Broker(t)
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "rightsize.db"))
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]live.Option{live.WithRefresh(300 * time.Millisecond), live.WithStatusInterval(200 * time.Millisecond), live.In(time.UTC)}, opts...)
	srv, err := live.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{st, srv}, consumer.WithTopics("resources"), consumer.WithGroup("live-test"),
		consumer.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Watch(c)
	ran := make(chan error, 1)
	go func() { ran <- c.Run(ctx) }()
	ln, err := live.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Run(ctx, ln) }()
	pub, err := producer.Connect(ctx, b.Addrs(), producer.WithTopic("resources"))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, srv: srv, pub: pub, url: "http://" + ln.Addr().String()}
	var stopped bool
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		pub.Close(context.Background())
		cancel()
		if err := <-ran; err != nil && ctx.Err() == nil {
			t.Errorf("consumer: %v", err)
		}
		c.Close()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
		st.Close()
	}
	t.Cleanup(r.stop)
	return r
}

// publish sends n ticks of each service, a second apart, ending now.
func (r *rig) publish(t *testing.T, services []string, n int, cpu func(svc string, i int) float64) {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	var samples []rightsize.Sample
	for i := range n {
		at := now.Add(time.Duration(i-n+1) * time.Second)
		for k, svc := range services {
			samples = append(samples,
				rightsize.Sample{Service: svc, Resource: rightsize.CPU, Value: cpu(svc, i), Time: at},
				rightsize.Sample{Service: svc, Resource: rightsize.Memory, Value: float64(128+64*k)*(1<<20) + float64(i%7)*(1<<20), Time: at})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.pub.Publish(ctx, samples...); err != nil {
		t.Fatal(err)
	}
	if err := r.pub.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return res.StatusCode
}

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type listPage struct {
	Known, Total, Page, Pages int
	Services                  []struct {
		Name      string
		Pending   bool
		LastSeen  *time.Time `json:"last_seen"`
		Resources []struct {
			Resource    string
			Current     *float64
			CurrentText string `json:"current_text"`
			Expected    *struct {
				P50, P95 float64
				Text     string
			}
			Request *float64
			RecText string `json:"recommendation_text"`
			Recent  [][2]float64
			Chart   string
		}
	}
	Status struct {
		Watching bool
		Records  int64
		Line     string
	}
}

func TestAPI(t *testing.T) {
	r := newRig(t)
	var p listPage
	getJSON(t, r.url+"/api/services", &p)
	if p.Known != 0 || len(p.Services) != 0 || !p.Status.Watching {
		t.Fatalf("before any sample: %+v", p)
	}
	services := []string{"resize", "thumbnail", xssName}
	r.publish(t, services, 30, func(svc string, i int) float64 { return 0.25 + 0.01*float64(i%5) })
	waitFor(t, 20*time.Second, "three services with expected usage", func() bool {
		getJSON(t, r.url+"/api/services", &p)
		if p.Known != 3 {
			return false
		}
		for _, s := range p.Services {
			if s.Pending || s.Resources[0].Expected == nil || s.Resources[0].Request == nil {
				return false
			}
		}
		return true
	})
	if p.Services[0].Name != xssName || p.Services[1].Name != "resize" {
		t.Errorf("services not sorted by name: %q, %q", p.Services[0].Name, p.Services[1].Name)
	}
	cpu := p.Services[1].Resources[0]
	if cpu.Resource != "cpu" || len(cpu.Recent) != 30 || cpu.CurrentText == "" || !strings.Contains(cpu.Expected.Text, "millicores") ||
		!strings.HasPrefix(cpu.RecText, "request ") {
		t.Errorf("resize cpu: %+v", cpu)
	}

	// Filter and pages.
	getJSON(t, r.url+"/api/services?q=THUMB", &p)
	if p.Total != 1 || p.Known != 3 || p.Services[0].Name != "thumbnail" {
		t.Errorf("filter: %+v", p)
	}
	getJSON(t, r.url+"/api/services?page=9", &p)
	if p.Page != 1 || p.Pages != 1 {
		t.Errorf("page 9 of 1: %+v", p)
	}

	// One service, its charts.
	var d listPage
	var one struct {
		Name      string
		Resources []struct{ Resource, Chart string }
	}
	if code := getJSON(t, r.url+"/api/service?name="+urlEscape(xssName), &one); code != 200 || one.Name != xssName || len(one.Resources) != 2 {
		t.Fatalf("service: %d %+v", code, one)
	}
	code, ctype, svg := get(t, r.url+one.Resources[0].Chart)
	if code != 200 || ctype != "image/svg+xml" || !strings.Contains(svg, "&lt;img src=x onerror=alert(1)&gt;") || strings.Contains(svg, "<img") {
		t.Errorf("chart: %d %s, escaped name in it: %v", code, ctype, strings.Contains(svg, "&lt;img"))
	}
	if code := getJSON(t, r.url+"/api/service?name=absent", &d); code != 404 {
		t.Errorf("absent service: %d", code)
	}
	if code, _, _ := get(t, r.url+"/chart.svg?service=resize&resource=BAD"); code != 400 {
		t.Errorf("bad resource: %d", code)
	}
	if code, _, _ := get(t, r.url+"/chart.svg?service=resize&resource=disk.read"); code != 404 {
		t.Errorf("resource without samples: %d", code)
	}

	// The page and its files are served by the binary.
	for _, path := range []string{"/", "/app.js", "/style.css"} {
		code, _, body := get(t, r.url+path)
		if code != 200 || strings.Contains(body, "http://") && path != "/app.js" || strings.Contains(body, "https://") {
			t.Errorf("%s: %d, or it refers to another site", path, code)
		}
	}

	// Updates arrive: more samples, more recent points.
	r.publish(t, []string{"resize"}, 5, func(string, int) float64 { return 0.9 })
	waitFor(t, 10*time.Second, "new samples on the page", func() bool {
		getJSON(t, r.url+"/api/services?q=resize", &p)
		c := p.Services[0].Resources[0]
		return len(c.Recent) > 30 && *c.Current == 0.9
	})
}

func urlEscape(s string) string {
	return strings.NewReplacer("<", "%3C", ">", "%3E", " ", "%20", "=", "%3D", "(", "%28", ")", "%29").Replace(s)
}

// metricLine is a sample line of Prometheus' text format.
var metricLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+]?([0-9.eE+-]+|NaN|Inf)$`)

func TestMetrics(t *testing.T) {
	r := newRig(t)
	r.publish(t, []string{"resize"}, 10, func(string, int) float64 { return 0.5 })
	var body string
	waitFor(t, 20*time.Second, "the consumer's counters in /metrics", func() bool {
		_, _, body = get(t, r.url+"/metrics")
		return strings.Contains(body, "rightsize_consumer_records_total 10\n") && strings.Contains(body, "rightsize_consumer_lag_records 0\n")
	})
	code, ctype, _ := get(t, r.url+"/metrics")
	if code != 200 || !strings.HasPrefix(ctype, "text/plain; version=0.0.4") {
		t.Errorf("metrics: %d %s", code, ctype)
	}
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] == "TYPE" {
			typed[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		if !metricLine.MatchString(line) {
			t.Errorf("not the text format: %q", line)
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		if !typed[name] {
			t.Errorf("%s has no TYPE before it", name)
		}
	}
	for _, want := range []string{"rightsize_consumer_records_per_second", "rightsize_consumer_not_stored_total", "rightsize_consumer_dead_lettered_total",
		"rightsize_consumer_best_effort_dropped_total", "rightsize_consumer_stalled_seconds", "rightsize_live_samples_total"} {
		if !typed[want] {
			t.Errorf("no %s", want)
		}
	}
	if !strings.Contains(body, "rightsize_live_samples_total 20\n") {
		t.Errorf("live samples:\n%s", body)
	}
}

func TestListenInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = live.Listen(ln.Addr().String())
	want := fmt.Sprintf("live: %s is in use by another program; choose another address", ln.Addr())
	if err == nil || err.Error() != want {
		t.Errorf("Listen on a port in use: %v, want %q", err, want)
	}
	if _, err := live.Listen("nonsense"); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("Listen(nonsense): %v", err)
	}
}

// TestManyServices fills the live view with 200 services and measures
// what one poll of the page costs the server.
func TestManyServices(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "rightsize.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := live.New(st)
	if err != nil {
		t.Fatal(err)
	}
	srv.Write(ctx, manyServices(200, 120))
	h := srv.Handler()
	start := time.Now()
	const polls = 20
	var size int
	for i := range polls {
		rec := &recorder{header: http.Header{}}
		req, _ := http.NewRequest("GET", fmt.Sprintf("/api/services?page=%d", i%8+1), nil)
		h.ServeHTTP(rec, req)
		if rec.code != 200 {
			t.Fatalf("poll: %d", rec.code)
		}
		size = len(rec.body)
	}
	per := time.Since(start) / polls
	t.Logf("200 services: one page of 25 in %v, %d KiB of JSON", per, size>>10)
	if per > 100*time.Millisecond {
		t.Errorf("a poll takes %v", per)
	}
}

// manyServices is n services with k samples each, a second apart.
func manyServices(n, k int) rightsize.Batch {
	var b rightsize.Batch
	now := time.Now().Truncate(time.Second)
	for s := range n {
		svc := fmt.Sprintf("service-%03d", s)
		for i := range k {
			at := now.Add(time.Duration(i-k) * time.Second)
			b.Samples = append(b.Samples,
				rightsize.Sample{Service: svc, Resource: rightsize.CPU, Value: 0.1 + 0.002*float64(s) + 0.05*float64(i%10)/10, Time: at},
				rightsize.Sample{Service: svc, Resource: rightsize.Memory, Value: float64(100+s) * (1 << 20), Time: at})
		}
	}
	return b
}

type recorder struct {
	header http.Header
	code   int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	r.body = append(r.body, b...)
	return len(b), nil
}
func (r *recorder) WriteHeader(code int) { r.code = code }
