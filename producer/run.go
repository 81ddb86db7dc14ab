package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/sample"
)

type runConfig struct {
	interval time.Duration
	logger   *slog.Logger
	onTick   func([]rightsize.Sample)
}

// A RunOption changes a setting of Run.
type RunOption interface{ applyRun(*runConfig) }

type runOption func(*runConfig)

func (f runOption) applyRun(c *runConfig) { f(c) }

// WithInterval samples every d. Default 1 s.
func WithInterval(d time.Duration) RunOption { return runOption(func(c *runConfig) { c.interval = d }) }

// WithLogger logs sampler errors and drops to l. Default slog.Default().
func WithLogger(l *slog.Logger) RunOption { return runOption(func(c *runConfig) { c.logger = l }) }

// WithTickFunc calls fn with each tick's samples after they are published
// (for progress output). fn must not keep the slice.
func WithTickFunc(fn func([]rightsize.Sample)) RunOption {
	return runOption(func(c *runConfig) { c.onTick = fn })
}

// Run samples every interval until ctx ends and publishes what the samplers
// return. It does not close pub.
//
// A sampler's error does not stop the loop: the valid samples it returned
// are published anyway (an invalid one is dropped and logged) and the error is logged when it first appears and again
// only when it changes. A sampler whose target has gone (its error matches
// sample.ErrGone) is logged once and not called again; when no sampler is
// left, Run returns nil. Publish errors (a full buffer) are logged the same
// way. Run returns nil when ctx ends and an error only for bad arguments.
func Run(ctx context.Context, pub Publisher, samplers []sample.Sampler, opts ...RunOption) error {
	c := runConfig{interval: time.Second, logger: slog.Default()}
	for _, o := range opts {
		if o != nil {
			o.applyRun(&c)
		}
	}
	switch {
	case pub == nil:
		return errors.New("producer: run: nil publisher")
	case len(samplers) == 0:
		return errors.New("producer: run: no samplers")
	case c.interval <= 0:
		return fmt.Errorf("producer: run: interval %v, want > 0", c.interval)
	}
	type live struct {
		s       sample.Sampler
		name    string
		lastErr string
	}
	all := make([]*live, len(samplers))
	for i, s := range samplers {
		if s == nil {
			return fmt.Errorf("producer: run: sampler %d is nil", i)
		}
		name := fmt.Sprintf("sampler %d", i)
		if st, ok := s.(fmt.Stringer); ok {
			name = st.String()
		}
		all[i] = &live{s: s, name: name}
	}
	var lastPubErr string
	tick := time.NewTicker(c.interval)
	defer tick.Stop()
	var batch []rightsize.Sample
	for {
		batch = batch[:0]
		kept := all[:0]
		for _, l := range all {
			got, err := l.s.Sample(ctx)
			for _, smp := range got {
				// One sampler's bad value must not cost the others their tick.
				if verr := smp.Validate(); verr != nil {
					err = errors.Join(err, verr)
					continue
				}
				batch = append(batch, smp)
			}
			switch {
			case err == nil:
				l.lastErr = ""
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, sample.ErrGone):
				c.logger.Info("series ended", "sampler", l.name, "reason", err)
				continue
			case err.Error() != l.lastErr:
				l.lastErr = err.Error()
				c.logger.Warn("sampling", "sampler", l.name, "err", err)
			}
			kept = append(kept, l)
		}
		all = kept
		if len(batch) > 0 {
			// What was sampled is published even if ctx ended meanwhile: a
			// record given a cancelled context would fail, and the caller's
			// Close flushes what this tick hands over.
			if err := pub.Publish(context.WithoutCancel(ctx), batch...); err != nil {
				if msg := err.Error(); msg != lastPubErr {
					lastPubErr = msg
					c.logger.Warn("publishing", "samples", len(batch), "err", err)
				}
			} else {
				lastPubErr = ""
			}
			if c.onTick != nil {
				c.onTick(batch)
			}
		}
		if len(all) == 0 {
			c.logger.Info("every sampler's target is gone; stopping")
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
