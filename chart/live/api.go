package live

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart"
	"github.com/rightsize/rightsize/usage"
)

// listed are the resources the list of services shows, one column each;
// a service's own page shows every resource.
var listed = []string{rightsize.CPU, rightsize.Memory}

// sparkPoints is how many recent samples a row of the list draws.
const sparkPoints = 60

// servicesPage is the answer of /api/services: one page of the services
// matching the query, by name.
type servicesPage struct {
	// Known counts every service known (seen live or stored); Total those
	// matching Query.
	Known    int          `json:"known"`
	Total    int          `json:"total"`
	Page     int          `json:"page"`
	Pages    int          `json:"pages"`
	PerPage  int          `json:"per_page"`
	Query    string       `json:"query"`
	Services []serviceRow `json:"services"`
	Status   statusJSON   `json:"status"`
}

// serviceRow is one service: what the sink saw last, and what the store
// says it is expected to use and should request.
type serviceRow struct {
	Name string `json:"name"`
	// LastSeen is the time of the latest sample the live view saw (absent
	// for a service known only from the store).
	LastSeen *time.Time `json:"last_seen,omitempty"`
	// Pending is true until expected usage and the recommendation have
	// been read from the store.
	Pending bool `json:"pending"`
	// Method names the recommendation method.
	Method    string     `json:"method,omitempty"`
	Error     string     `json:"error,omitempty"`
	Resources []resource `json:"resources"`
}

// resource is one resource of a service. Values are in the resource's
// base unit (cores, bytes); the *_text fields are the same in units
// people read.
type resource struct {
	Resource    string       `json:"resource"`
	Current     *float64     `json:"current"`
	CurrentAt   *time.Time   `json:"current_at,omitempty"`
	CurrentText string       `json:"current_text"`
	Expected    *band        `json:"expected,omitempty"`
	Request     *float64     `json:"request,omitempty"`
	Limit       *float64     `json:"limit,omitempty"`
	RecText     string       `json:"recommendation_text"`
	Note        string       `json:"note,omitempty"`
	Recent      [][2]float64 `json:"recent"` // [Unix ms, value], oldest first
	Chart       string       `json:"chart,omitempty"`
}

// band is the expected band of a resource over its history.
type band struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	Max   float64 `json:"max"`
	Text  string  `json:"text"`
}

// serviceDetail is the answer of /api/service.
type serviceDetail struct {
	serviceRow
	ChartsFrom *time.Time `json:"charts_from,omitempty"`
}

func (s *Server) handleServices(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	names := s.allNames(r.Context())
	out := servicesPage{Known: len(names), PerPage: s.cfg.pageSize, Query: q, Services: []serviceRow{}, Status: s.statusJSON()}
	if q != "" {
		lq := strings.ToLower(q)
		names = slices.DeleteFunc(names, func(n string) bool { return !strings.Contains(strings.ToLower(n), lq) })
	}
	out.Total = len(names)
	out.Pages = max(1, (len(names)+s.cfg.pageSize-1)/s.cfg.pageSize)
	out.Page = min(max(page, 1), out.Pages)
	lo := (out.Page - 1) * s.cfg.pageSize
	for _, n := range names[lo:min(lo+s.cfg.pageSize, len(names))] {
		out.Services = append(out.Services, s.row(n, listed, sparkPoints))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleService(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "name the service: /api/service?name=..."})
		return
	}
	if !slices.Contains(s.allNames(r.Context()), name) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such service"})
		return
	}
	d := serviceDetail{serviceRow: s.row(name, nil, s.cfg.keep)}
	for i, x := range d.Resources {
		d.Resources[i].Chart = "/chart.svg?" + urlValues("service", name, "resource", x.Resource)
	}
	writeJSON(w, http.StatusOK, d)
}

// row assembles what is known of a service: the resources named in
// only, or every resource seen live or stored when only is nil.
func (s *Server) row(name string, only []string, points int) serviceRow {
	row := serviceRow{Name: name, Resources: []resource{}}
	last, live, seen := s.recent.service(name, points)
	if seen {
		row.LastSeen = &last
	}
	sum := s.sums.get(name)
	row.Pending = sum.at.IsZero()
	row.Method = sum.rec.Method
	if sum.err != nil {
		row.Error = sum.err.Error()
	}
	names := only
	if names == nil {
		for _, l := range live {
			names = append(names, l.Resource)
		}
		for _, u := range sum.expected.Resources {
			if u.Service == name && !slices.Contains(names, u.Resource) {
				names = append(names, u.Resource)
			}
		}
		slices.Sort(names)
	}
	for _, rn := range names {
		x := resource{Resource: rn, Recent: [][2]float64{}}
		for _, l := range live {
			if l.Resource == rn {
				v, at := l.Current, l.At
				x.Current, x.CurrentAt, x.CurrentText, x.Recent = &v, &at, chart.Quantity(rn, v), l.Recent
			}
		}
		if u, ok := sum.expected.Resource(rn); ok {
			x.Expected = &band{Count: u.Count, P50: u.P50, P95: u.P95, Max: u.Max, Text: rangeText(rn, u.P50, u.P95)}
			x.Note = u.Evidence.Note
		}
		if rec, ok := sum.rec.Resource(rn); ok {
			x.RecText = recText(rn, rec)
			if finite(rec.Request) {
				v := rec.Request
				x.Request = &v
			}
			if finite(rec.Limit) {
				v := rec.Limit
				x.Limit = &v
			}
			if rec.Evidence.Note != "" {
				x.Note = rec.Evidence.Note
			}
		}
		row.Resources = append(row.Resources, x)
	}
	return row
}

func finite(v float64) bool { return !math.IsInf(v, 0) && !math.IsNaN(v) }

// rangeText renders a band in one unit: "480–520 millicores", or "390 MiB"
// when both ends read the same.
func rangeText(res string, lo, hi float64) string {
	sc := chart.ScaleFor(res, hi)
	a, b := chart.Scale{Div: sc.Div}.Format(lo), chart.Scale{Div: sc.Div}.Format(hi)
	if a == b { // a steady resource: one figure
		return sc.Format(hi)
	}
	return a + "–" + sc.Format(hi)
}

// recText renders a recommendation: "request 251 millicores, limit 300
// millicores" (or "no limit").
func recText(res string, r usage.ResourceRecommendation) string {
	t := "request " + chart.Quantity(res, r.Request)
	if finite(r.Limit) && r.Limit > 0 {
		return t + ", limit " + chart.Quantity(res, r.Limit)
	}
	return t + ", no limit"
}

// allNames returns every service known, sorted: those the sink saw and
// those stored (the stored list is read at most once per refresh
// interval).
func (s *Server) allNames(ctx context.Context) []string {
	names := append(s.recent.names(), s.names.get(ctx, s.r, s.cfg.refresh, s.cfg.log)...)
	slices.Sort(names)
	return slices.Compact(names)
}

// nameCache holds the services stored, as last read.
type nameCache struct {
	mu    sync.Mutex
	at    time.Time
	names []string
}

func (c *nameCache) get(ctx context.Context, r Reader, every time.Duration, log interface {
	Warn(msg string, args ...any)
}) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > every {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		names, err := r.Services(ctx)
		if err != nil {
			log.Warn("live: reading the stored services", "err", err)
		} else {
			c.names = names
		}
		c.at = time.Now() // on failure too: retried after the interval, not on every request
	}
	return slices.Clone(c.names)
}

// statusJSON is the pipeline's health as the page shows it.
type statusJSON struct {
	// Watching is false when no consumer was given (Watch): the page
	// then shows no pipeline figures.
	Watching          bool             `json:"watching"`
	At                *time.Time       `json:"at,omitempty"`
	RecordsPerSec     float64          `json:"records_per_sec"`
	SamplesPerSec     float64          `json:"samples_per_sec"`
	Lag               int64            `json:"lag"`
	Records           int64            `json:"records"`
	NotStored         map[string]int64 `json:"not_stored"`
	DeadLettered      int64            `json:"dead_lettered"`
	BestEffortDropped int64            `json:"best_effort_dropped"`
	StalledSeconds    float64          `json:"stalled_seconds"`
	LastError         string           `json:"last_error,omitempty"`
	Line              string           `json:"line"`
	LiveServices      int              `json:"live_services"`
	LiveSamples       int64            `json:"live_samples"`
}

func (s *Server) statusJSON() statusJSON {
	out := statusJSON{NotStored: map[string]int64{}}
	out.LiveServices, out.LiveSamples, _, _ = s.recent.counts()
	out.Watching = s.pipe.Load() != nil
	if ps := s.status.Load(); ps != nil {
		at := ps.At
		out.At = &at
		st := ps.Status
		out.RecordsPerSec, out.SamplesPerSec, out.Lag = st.RecordsPerSec, st.SamplesPerSec, st.Lag
		out.Records = ps.Stats.Records
		for k, v := range st.NotStored {
			out.NotStored[string(k)] = v
		}
		out.DeadLettered, out.BestEffortDropped = st.DeadLettered, ps.Stats.BestEffortDropped
		out.StalledSeconds, out.LastError = st.Stalled.Seconds(), st.LastError
		out.Line = st.String()
	}
	return out
}

func (s *Server) handleStatus(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.statusJSON())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}
