package producer_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/producer"
)

// TestBrokerAway publishes a tick every 10 ms through a connection that is
// cut for 10 s and restored. With room for the outage, every record
// arrives, once; with a small buffer, the drop count the publisher reports
// is exactly what did not arrive. Either way the publisher says, during
// the cut, that the broker is unreachable.
func TestBrokerAway(t *testing.T) {
	for _, c := range []struct {
		name   string
		buffer int
	}{{"room for the outage", 100_000}, {"small buffer", 200}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := startBroker(t)
			px := testenv.NewProxy(t, b.Addrs()[0])
			ctx := context.Background()
			topic := "away"
			pub, err := producer.Connect(ctx, []string{px.Addr}, producer.WithTopic(topic), producer.WithMaxBuffered(c.buffer),
				producer.WithKafkaOptions(kgo.Dialer(px.Dial)))
			if err != nil {
				t.Fatal(err)
			}
			var attempted atomic.Int64
			stop := make(chan struct{})
			published := make(chan struct{})
			go func() {
				defer close(published)
				base := time.Now().Truncate(time.Second)
				for tick := 0; ; tick++ {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
					}
					s := rightsize.Sample{Service: "steady", Resource: "cpu", Value: float64(tick), Time: base.Add(time.Duration(tick) * time.Millisecond)}
					attempted.Add(1)
					pub.Publish(ctx, s) // a full buffer is counted in Stats
				}
			}()
			time.Sleep(time.Second)
			px.Cut()
			time.Sleep(2 * time.Second)
			during := pub.Stats()
			time.Sleep(8 * time.Second)
			px.Restore(t)
			time.Sleep(time.Second)
			close(stop)
			<-published
			fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			if err := pub.Close(fctx); err != nil {
				t.Fatal(err)
			}
			st := pub.Stats()

			recs := testenv.Records(t, b.Addrs(), topic, int(st.Acked))
			seen := map[string]int{}
			for _, r := range recs {
				seen[string(r.Value)]++
			}
			dups := len(recs) - len(seen)
			arrived := int64(len(seen))
			shortfall := attempted.Load() - arrived
			t.Logf("attempted %d records; arrived %d (%d twice); shortfall %d; reported dropped %d, failed %d; during the cut: unreachable %v, %q",
				attempted.Load(), arrived, dups, shortfall, st.Dropped, st.Failed, !during.Unreachable.IsZero(), during.BrokerError)
			if dups != 0 {
				t.Errorf("%d records arrived twice", dups)
			}
			if shortfall != st.Dropped+st.Failed {
				t.Errorf("shortfall %d, but %d reported dropped and %d failed", shortfall, st.Dropped, st.Failed)
			}
			if c.buffer >= 100_000 && shortfall != 0 {
				t.Errorf("%d records lost although the buffer had room for the outage", shortfall)
			}
			if c.buffer < 1000 && st.Dropped == 0 {
				t.Errorf("no drop reported with a buffer of %d records over a 10 s outage", c.buffer)
			}
			if during.Unreachable.IsZero() || !strings.Contains(during.BrokerError, px.Addr) {
				t.Errorf("during the cut the publisher did not say the broker was unreachable: %+v", during)
			}
			if !st.Unreachable.IsZero() {
				t.Errorf("after the outage the publisher still says unreachable: %+v", st)
			}
		})
	}
}
