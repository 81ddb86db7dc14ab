package store

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
)

// TestMakeRows checks that rows come out sorted by series id, then time,
// whatever order the samples arrive in, and that none is lost.
func TestMakeRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var samples []rightsize.Sample
	for i := range 5000 {
		samples = append(samples, rightsize.Sample{
			Service:  []string{"a", "b", "c"}[rng.IntN(3)],
			Resource: []string{"cpu", "memory"}[rng.IntN(2)],
			Task:     []string{"", "t"}[rng.IntN(2)],
			Value:    float64(i),
			// Mostly in time order, sometimes not.
			Time: t0.Add(time.Duration(i+rng.IntN(20)-10) * time.Millisecond),
		})
	}
	keys, idx := distinctSeries(samples)
	ids := make([]int64, len(keys))
	for i, id := range rng.Perm(len(keys)) {
		ids[i] = int64(100 - id) // ids in no particular order
	}
	rows := makeRows(samples, idx, ids)
	if !slices.IsSortedFunc(rows, func(a, b row) int { return cmp.Or(cmp.Compare(a.series, b.series), cmp.Compare(a.time, b.time)) }) {
		t.Error("rows are not sorted by series and time")
	}
	seen := make([]bool, len(samples))
	for _, r := range rows {
		i := int(r.value)
		if seen[i] {
			t.Fatalf("sample %d appears twice", i)
		}
		seen[i] = true
		if r.series != ids[idx[i]] || r.time != samples[i].Time.UnixNano() {
			t.Fatalf("sample %d became %+v", i, r)
		}
	}
}
