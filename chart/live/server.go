package live

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/chart"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/usage"
)

// Reader is what the server reads from a store: the services stored, what
// charts need and what the estimator needs. store.Store satisfies it.
type Reader interface {
	chart.Reader
	usage.Reader
	Services(ctx context.Context) ([]string, error)
}

// Pipeline is what the server reports of the consumer feeding it:
// *consumer.Consumer satisfies it.
type Pipeline interface {
	Stats() consumer.Stats
	Lag(ctx context.Context) (int64, error)
}

// Server is the live page, its JSON endpoints and /metrics, and the
// best-effort sink that feeds them. Create it with New, give it to the
// consumer among its sinks, tell it about the consumer with Watch, and
// serve it with Run.
type Server struct {
	r      Reader
	cfg    config
	recent *recent
	sums   *summaries
	pipe   atomic.Pointer[Pipeline]
	status atomic.Pointer[pipelineStatus]
	charts chartCache
	names  nameCache
	mux    *http.ServeMux
}

var _ consumer.Sink = (*Server)(nil)

//go:embed web
var webFiles embed.FS

// Option changes a setting of New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	est         usage.UsageEstimator
	keep        int
	maxServices int
	pageSize    int
	refresh     time.Duration
	statusEvery time.Duration
	loc         *time.Location
	log         *slog.Logger
}

// WithEstimator computes expected usage and recommendations with e.
// Default: usage.New on the Reader, with the default method.
func WithEstimator(e usage.UsageEstimator) Option {
	return optionFunc(func(c *config) { c.est = e })
}

// WithRecent keeps the last n samples of each service and resource for
// the page's live lines. Default 120.
func WithRecent(n int) Option { return optionFunc(func(c *config) { c.keep = n }) }

// WithMaxServices bounds how many services the sink keeps samples of
// (samples of any more are counted, not kept). Default 10000.
func WithMaxServices(n int) Option { return optionFunc(func(c *config) { c.maxServices = n }) }

// WithPageSize sets how many services a page lists. Default 25.
func WithPageSize(n int) Option { return optionFunc(func(c *config) { c.pageSize = n }) }

// WithRefresh sets how long expected usage, recommendations, charts and
// the list of stored services are reused before the store is asked
// again. Default 10 s.
func WithRefresh(d time.Duration) Option { return optionFunc(func(c *config) { c.refresh = d }) }

// WithStatusInterval sets how often the pipeline's status (rates, lag)
// is taken. Default 2 s.
func WithStatusInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.statusEvery = d })
}

// In shows chart times of day in loc. Default time.Local.
func In(loc *time.Location) Option { return optionFunc(func(c *config) { c.loc = loc }) }

// WithLogger logs failures to l. Default slog.Default().
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.log = l }) }

// New returns a server reading from r.
func New(r Reader, opts ...Option) (*Server, error) {
	if r == nil {
		return nil, errors.New("live: nil reader")
	}
	c := config{keep: 120, maxServices: 10000, pageSize: 25, refresh: 10 * time.Second,
		statusEvery: 2 * time.Second, loc: time.Local, log: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	switch {
	case c.keep <= 0, c.maxServices <= 0, c.pageSize <= 0:
		return nil, errors.New("live: recent, max services and page size must be positive")
	case c.refresh <= 0, c.statusEvery <= 0:
		return nil, errors.New("live: refresh and status interval must be positive")
	case c.loc == nil || c.log == nil:
		return nil, errors.New("live: nil location or logger")
	}
	if c.est == nil {
		e, err := usage.New(r)
		if err != nil {
			return nil, fmt.Errorf("live: %w", err)
		}
		c.est = e
	}
	s := &Server{r: r, cfg: c, recent: newRecent(c.keep, c.maxServices), sums: newSummaries(c.est, c.refresh)}
	s.charts.entries = map[chartKey]cachedChart{}
	s.routes()
	return s, nil
}

// Write takes a batch for the live view. It only copies the samples into
// memory (a few microseconds), and the consumer calls it from a queue of
// its own, so it never slows the store.
func (s *Server) Write(_ context.Context, b rightsize.Batch) error {
	s.recent.add(b.Samples)
	return nil
}

// Watch makes the server report p's health on the page and in /metrics.
// Call it once the consumer exists (it is created after its sinks).
func (s *Server) Watch(p Pipeline) {
	if p != nil {
		s.pipe.Store(&p)
	}
}

// Handler returns the server's routes: the page (/), /api/services,
// /api/service, /api/status, /chart.svg and /metrics. Expected usage,
// recommendations and the pipeline's status are filled in while Run
// runs.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	static, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic("live: " + err.Error()) // the embedded tree is part of the binary
	}
	files := http.FileServerFS(static)
	s.mux.Handle("GET /", noStore(files))
	s.mux.HandleFunc("GET /api/services", s.handleServices)
	s.mux.HandleFunc("GET /api/service", s.handleService)
	s.mux.HandleFunc("GET /api/status", s.handleStatus)
	s.mux.HandleFunc("GET /chart.svg", s.handleChart)
	s.mux.HandleFunc("GET /metrics", s.handleMetrics)
}

// noStore keeps browsers from caching the page across versions of the
// binary, and forbids what the page never needs (scripts from elsewhere,
// framing).
func noStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// Listen listens on addr (host:port, or :port for every interface). An
// address in use is one clear line: "live: :8080 is in use by another
// program; choose another address".
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("live: %s is in use by another program; choose another address", addr)
		}
		var ae *net.AddrError
		if errors.As(err, &ae) {
			return nil, fmt.Errorf("live: %s is not an address to listen on (want host:port or :port): %v", addr, ae.Err)
		}
		return nil, fmt.Errorf("live: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Run serves on ln until ctx ends, refreshing expected usage and
// recommendations and taking the pipeline's status meanwhile; then it
// shuts the HTTP server down (waiting up to 5 s for requests in hand) and
// returns nil. It closes ln.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv := &http.Server{Handler: s.mux, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.sums.run(ctx) }()
	go func() { defer wg.Done(); s.watchStatus(ctx) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
		served <- nil
	}
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer scancel()
	srv.Shutdown(sctx)
	<-served
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("live: %w", err)
	}
	return nil
}
