package main

import (
	"context"
	"path/filepath"
	"testing"

	"time"

	"github.com/rightsize/rightsize/internal/cli"
)

// TestCustomResourcesGoThroughThePipeline runs the example on the
// in-process broker and a fresh embedded store: the custom resources come
// out of the store as they went in.
func TestCustomResourcesGoThroughThePipeline(t *testing.T) {
	u, err := run(context.Background(), &cli.Kafka{}, "sqlite:"+filepath.Join(t.TempDir(), "c.db"), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := u.Resource("go.goroutines")
	if !ok || g.Count < 4 || g.Min < 1 || g.Max < 20 {
		t.Errorf("go.goroutines %+v: want several samples, some with the worker pool running", g)
	}
	// The live heap is known once a collection has run: the first tick
	// may have no reading, never a zero one.
	h, ok := u.Resource("go.heap.live")
	if !ok || h.Count < g.Count-1 || h.Min <= 0 {
		t.Errorf("go.heap.live %+v", h)
	}
}
