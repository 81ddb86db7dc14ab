// Package sample measures what services consume.
//
// A [Sampler] returns the current values of the resources it measures for one
// service. The producer package calls every sampler once per tick and
// publishes what they return.
package sample

import (
	"context"
	"errors"

	"github.com/rightsize/rightsize"
)

// Sampler measures one service.
//
// Sample returns the service's current values, all with the same Time. It
// returns what it could collect together with an error that says what it
// could not: a sampler that reads four resources and fails on one returns
// three samples and an error naming the fourth. Counters (CPU time, bytes
// read) are turned into rates over the real time elapsed since the previous
// call, so the first call after construction may return no rate at all.
//
// When what the sampler measures has gone for good (the process exited, the
// cgroup was removed) Sample returns an error matching ErrGone and its
// caller stops calling it.
//
// Sample is called from one goroutine at a time; implementations need not be
// safe for concurrent use.
type Sampler interface {
	Sample(ctx context.Context) ([]rightsize.Sample, error)
}

// SamplerFunc adapts a function to the Sampler interface.
type SamplerFunc func(ctx context.Context) ([]rightsize.Sample, error)

// Sample calls f(ctx).
func (f SamplerFunc) Sample(ctx context.Context) ([]rightsize.Sample, error) { return f(ctx) }

// ErrGone is matched (with errors.Is) by the error a Sampler returns once
// what it measures no longer exists: its series has ended.
var ErrGone = errors.New("sample: target is gone")
