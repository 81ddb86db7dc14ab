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

// Summaries with percentiles, per hour, from the rollups the store keeps;
// then one series streamed back in time order.
func ExampleSQLite_Aggregate() {
	dir, err := os.MkdirTemp("", "rightsize-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	s, err := store.OpenSQLite(ctx, filepath.Join(dir, "rightsize.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var samples []rightsize.Sample
	for i := range 120 { // two hours, a sample a minute: busy one minute in ten
		v := 0.0
		if i%10 == 0 {
			v = 1.5
		}
		samples = append(samples, rightsize.Sample{Service: "resize", Resource: rightsize.CPU, Value: v, Time: t0.Add(time.Duration(i) * time.Minute)})
	}
	if err := s.Write(ctx, rightsize.Batch{Samples: samples}); err != nil {
		log.Fatal(err)
	}
	sums, err := s.Aggregate(ctx, rightsize.Aggregation{
		Filter:    rightsize.Filter{Services: []string{"resize"}},
		Step:      time.Hour,
		Quantiles: []float64{0.95},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, x := range sums {
		fmt.Printf("%s %s n=%d mean=%.2f p50=%g p90=%g max=%g q0.95=%g\n", x.Start.Format("15:04"), x.Resource, x.Count, x.Mean, x.P50, x.P90, x.Max, x.Quantiles[0].Value)
	}
	rows, err := s.Stream(ctx, rightsize.Filter{Services: []string{"resize"}, From: t0.Add(30 * time.Minute), To: t0.Add(33 * time.Minute)})
	if err != nil {
		log.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		fmt.Println(rows.Sample().Time.Format("15:04"), rows.Sample().Value)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 12:00 cpu n=60 mean=0.15 p50=0 p90=0 max=1.5 q0.95=1.5
	// 13:00 cpu n=60 mean=0.15 p50=0 p90=0 max=1.5 q0.95=1.5
	// 12:30 1.5
	// 12:31 0
	// 12:32 0
}
