package live

import (
	"context"
	"time"

	"github.com/rightsize/rightsize/consumer"
)

// pipelineStatus is the consumer's health as last taken: its counters
// and, over the last interval, its rates.
type pipelineStatus struct {
	At     time.Time
	Stats  consumer.Stats
	Status consumer.Status
}

// watchStatus takes the pipeline's status every interval until ctx ends.
func (s *Server) watchStatus(ctx context.Context) {
	tick := time.NewTicker(s.cfg.statusEvery)
	defer tick.Stop()
	var prev consumer.Stats
	var prevAt time.Time
	for {
		if pp := s.pipe.Load(); pp != nil {
			p := *pp
			lctx, cancel := context.WithTimeout(ctx, s.cfg.statusEvery)
			lag, err := p.Lag(lctx)
			cancel()
			if err != nil {
				lag = -1
			}
			cur, now := p.Stats(), time.Now()
			var st consumer.Status
			if prevAt.IsZero() {
				st = consumer.StatusOf(cur, cur, 0, lag)
			} else {
				st = consumer.StatusOf(prev, cur, now.Sub(prevAt), lag)
			}
			s.status.Store(&pipelineStatus{At: now, Stats: cur, Status: st})
			prev, prevAt = cur, now
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
