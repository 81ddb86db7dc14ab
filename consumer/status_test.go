package consumer

import (
	"testing"
	"time"
)

func TestStatusLine(t *testing.T) {
	prev := Stats{Records: 100, Samples: 500, Batches: 2, WriteTime: 10 * time.Millisecond}
	cur := Stats{Records: 1100, Samples: 5500, Batches: 12, WriteTime: 40 * time.Millisecond,
		Malformed: map[Reason]int64{ReasonSyntax: 1, ReasonInvalid: 2}, DeadLettered: 3}
	s := StatusOf(prev, cur, 2*time.Second, 7)
	want := "500 records/s, 2500 samples/s, lag 7, write 3ms; not stored: invalid=2 syntax=1 (3 dead-lettered)"
	if got := s.String(); got != want {
		t.Errorf("status\n got %q\nwant %q", got, want)
	}
	cur.Stalled, cur.LastError = 12*time.Second, "connection refused"
	if got := StatusOf(cur, cur, time.Second, -1).String(); got != "0 records/s, 0 samples/s, lag ?; not stored: invalid=2 syntax=1 (3 dead-lettered); STALLED 12s: connection refused" {
		t.Errorf("stalled status %q", got)
	}
}
