package live

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/rightsize/rightsize/usage"
)

// summaries caches, per service, what the store says of it — expected
// usage and the recommendation — so that a page asks the store at most
// once per refresh interval per service, and never waits for it: a stale
// or missing entry is queued for the refresher and the page shows what
// is cached meanwhile.
type summaries struct {
	est   usage.UsageEstimator
	every time.Duration

	mu      sync.Mutex
	entries map[string]*summary
	queue   chan string
}

type summary struct {
	at       time.Time // when it was computed; zero: never yet
	queued   bool
	expected usage.Usage
	rec      usage.Recommendation
	err      error // a failure other than no data
}

func newSummaries(est usage.UsageEstimator, every time.Duration) *summaries {
	return &summaries{est: est, every: every, entries: map[string]*summary{}, queue: make(chan string, 1024)}
}

// get returns the cached summary of service (zero when none yet), and
// queues a refresh when it is missing or stale.
func (s *summaries) get(service string) summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[service]
	if e == nil {
		e = &summary{}
		s.entries[service] = e
	}
	if !e.queued && time.Since(e.at) > s.every {
		select {
		case s.queue <- service:
			e.queued = true
		default: // the refresher is busy: asked again on the next read
		}
	}
	return *e
}

// run refreshes queued services until ctx ends.
func (s *summaries) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case svc := <-s.queue:
			s.refresh(ctx, svc)
		}
	}
}

func (s *summaries) refresh(ctx context.Context, service string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var next summary
	u, err := s.est.Expected(ctx, service)
	if err == nil {
		next.expected = u
		next.rec, err = s.est.Recommend(ctx, service)
	}
	if err != nil && !errors.Is(err, usage.ErrNoData) {
		next.err = err
	}
	next.at = time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[service] = &next
}
