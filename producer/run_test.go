package producer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
)

// recorder is a Publisher that keeps what it is given.
type recorder struct {
	mu  sync.Mutex
	got []rightsize.Sample
}

func (r *recorder) Publish(_ context.Context, s ...rightsize.Sample) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, s...)
	return nil
}
func (r *recorder) Close(context.Context) error { return nil }

func TestRunKeepsGoingWhenSamplersFailOrGo(t *testing.T) {
	var ticks int
	steady := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
		ticks++
		return []rightsize.Sample{{Service: "steady", Resource: "cpu", Value: 1, Time: time.Now()}}, nil
	})
	dying := 0
	dies := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
		dying++
		if dying > 2 {
			return nil, fmt.Errorf("pid 42: %w", sample.ErrGone)
		}
		return []rightsize.Sample{{Service: "dies", Resource: "cpu", Value: 1, Time: time.Now()}}, nil
	})
	partial := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
		return []rightsize.Sample{
			{Service: "partial", Resource: "memory", Value: 10, Time: time.Now()},
			{Service: "partial", Resource: "cpu", Value: math.NaN(), Time: time.Now()},
		}, errors.New("disk counters unreadable")
	})
	var logs bytes.Buffer
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- producer.Run(ctx, rec, []sample.Sampler{steady, dies, partial},
			producer.WithInterval(20*time.Millisecond),
			producer.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
			producer.WithTickFunc(func([]rightsize.Sample) {
				if ticks == 6 {
					cancel()
				}
			}))
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	count := map[string]int{}
	for _, s := range rec.got {
		count[s.Service+"/"+s.Resource]++
	}
	if count["steady/cpu"] != 6 || count["dies/cpu"] != 2 || count["partial/memory"] != 6 || count["partial/cpu"] != 0 {
		t.Errorf("published %v", count)
	}
	l := logs.String()
	if strings.Count(l, "series ended") != 1 || strings.Count(l, "disk counters unreadable") != 1 || !strings.Contains(l, "NaN") {
		t.Errorf("logs:\n%s", l)
	}
}

func TestRunStopsWhenEveryTargetIsGone(t *testing.T) {
	gone := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) { return nil, sample.ErrGone })
	err := producer.Run(context.Background(), &recorder{}, []sample.Sampler{gone},
		producer.WithLogger(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))))
	if err != nil {
		t.Fatal(err)
	}
}

func TestRunRejectsBadArguments(t *testing.T) {
	s := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) { return nil, nil })
	if err := producer.Run(context.Background(), nil, []sample.Sampler{s}); err == nil {
		t.Error("nil publisher accepted")
	}
	if err := producer.Run(context.Background(), &recorder{}, nil); err == nil {
		t.Error("no samplers accepted")
	}
	if err := producer.Run(context.Background(), &recorder{}, []sample.Sampler{s}, producer.WithInterval(0)); err == nil || !strings.Contains(err.Error(), "interval") {
		t.Errorf("zero interval: %v", err)
	}
}
