package store_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/store"
)

// Write a batch twice, as a consumer restarted after a crash would, and
// summarise what was stored: once.
func Example() {
	dir, err := os.MkdirTemp("", "rightsize-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "rightsize.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	b := rightsize.Batch{
		Samples: []rightsize.Sample{
			{Task: "img-1", Service: "resize", Resource: rightsize.CPU, Value: 0.5, Time: t0},
			{Task: "img-1", Service: "resize", Resource: rightsize.CPU, Value: 1.5, Time: t0.Add(time.Second)},
			{Task: "img-1", Service: "resize", Resource: rightsize.Memory, Value: 256 << 20, Time: t0},
		},
		Ranges: []rightsize.OffsetRange{{Topic: "resources", Partition: 0, From: 40, To: 42, Samples: 3}},
	}
	for range 2 {
		if err := s.Write(ctx, b); err != nil {
			log.Fatal(err)
		}
	}

	summaries, err := s.Summarize(ctx, rightsize.Filter{Services: []string{"resize"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, sum := range summaries {
		fmt.Printf("%s %s: n=%d mean=%g max=%g\n", sum.Service, sum.Resource, sum.Count, sum.Mean, sum.Max)
	}
	offsets, err := s.Offsets(ctx, "resources", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("partition 0 resumes at offset", offsets[0])
	// Output:
	// resize cpu: n=2 mean=1 max=1.5
	// resize memory: n=1 mean=2.68435456e+08 max=2.68435456e+08
	// partition 0 resumes at offset 42
}
