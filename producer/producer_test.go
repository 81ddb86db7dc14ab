package producer_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/internal/wire"
	"github.com/rightsize/rightsize/producer"
)

func startBroker(t *testing.T) *broker.Broker { return testenv.Broker(t) }

func TestPublishOneRecordPerServiceTick(t *testing.T) {
	b := startBroker(t)
	ctx := context.Background()
	p, err := producer.Connect(ctx, b.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Microsecond)
	in := []rightsize.Sample{
		{Task: "img-1", Service: "resize", Instance: "n1", Resource: "cpu", Value: 0.5, Time: now},
		{Task: "img-1", Service: "resize", Instance: "n1", Resource: "memory", Value: 1 << 27, Time: now},
		{Service: "encode", Resource: "cpu", Value: 1.25, Time: now},
	}
	if err := p.Publish(ctx, in...); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); st.Published != 2 || st.Acked != 2 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats %+v, want 2 published and acked", st)
	}
	recs := testenv.Records(t, b.Addrs(), producer.DefaultTopic, 2)
	if len(recs) != 2 {
		t.Fatalf("%d records on the topic, want 2", len(recs))
	}
	var got []rightsize.Sample
	for _, r := range recs {
		if string(r.Key) != "resize" && string(r.Key) != "encode" {
			t.Errorf("key %q", r.Key)
		}
		if len(r.Headers) != 1 || r.Headers[0].Key != "content-type" || string(r.Headers[0].Value) != wire.ContentType {
			t.Errorf("headers %+v", r.Headers)
		}
		got, err = wire.Decode(got, wire.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 3 {
		t.Fatalf("got %d samples", len(got))
	}
	for _, g := range got {
		found := false
		for _, w := range in {
			if g.Service == w.Service && g.Resource == w.Resource && g.Value == w.Value && g.Time.Equal(w.Time) && g.Task == w.Task && g.Instance == w.Instance {
				found = true
			}
		}
		if !found {
			t.Errorf("unexpected sample %+v", g)
		}
	}
	if err := p.Publish(ctx, in...); !errors.Is(err, producer.ErrClosed) {
		t.Errorf("publish after close: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestPublishRejectsInvalidSamples(t *testing.T) {
	b := startBroker(t)
	ctx := context.Background()
	p, err := producer.Connect(ctx, b.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	err = p.Publish(ctx,
		rightsize.Sample{Service: "ok", Resource: "cpu", Value: 1, Time: time.Now()},
		rightsize.Sample{Service: "bad", Resource: "cpu", Value: math.Inf(1), Time: time.Now()})
	if !errors.Is(err, rightsize.ErrInvalidSample) || !strings.Contains(err.Error(), "infinite") {
		t.Fatalf("err %v", err)
	}
	if st := p.Stats(); st.Published != 0 {
		t.Errorf("published %d records of an invalid batch", st.Published)
	}
}

func TestConnectUnreachableBroker(t *testing.T) {
	_, err := producer.Connect(context.Background(), []string{"127.0.0.1:1"}, producer.WithConnectTimeout(3*time.Second))
	if !errors.Is(err, rightsize.ErrUnreachable) {
		t.Fatalf("err %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error does not name the address: %v", err)
	}
	t.Log(err)
}

func TestBufferBoundedWhileBrokerAway(t *testing.T) {
	b := startBroker(t)
	ctx := context.Background()
	p, err := producer.Connect(ctx, b.Addrs(), producer.WithMaxBuffered(5))
	if err != nil {
		t.Fatal(err)
	}
	b.Close() // the broker goes away
	s := func(svc string) rightsize.Sample {
		return rightsize.Sample{Service: svc, Resource: "cpu", Value: 1, Time: time.Now()}
	}
	for _, svc := range []string{"a", "b", "c", "d", "e"} {
		if err := p.Publish(ctx, s(svc)); err != nil {
			t.Fatalf("publish %s into a buffer with room: %v", svc, err)
		}
	}
	err = p.Publish(ctx, s("f"), s("g"))
	if !errors.Is(err, producer.ErrDropped) || !strings.Contains(err.Error(), "2 of 2") {
		t.Fatalf("publish into full buffer: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := p.Close(cctx); err == nil || !strings.Contains(err.Error(), "5 records still buffered") {
		t.Errorf("close with undeliverable records: %v", err)
	}
	st := p.Stats()
	if st.Dropped != 2 || st.Published != 5 || st.Acked != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestKcatReadsRecords proves an independent Kafka client reads our records
// and that their JSON needs nothing from this library to decode.
func TestKcatReadsRecords(t *testing.T) {
	kcat := testenv.Kcat(t)
	b := startBroker(t)
	ctx := context.Background()
	p, err := producer.Connect(ctx, b.Addrs(), producer.WithTopic("kcat-check"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if err := p.Publish(ctx, rightsize.Sample{Task: "img-7", Service: "resize", Resource: "cpu", Value: 0.75, Time: now},
		rightsize.Sample{Task: "img-7", Service: "resize", Resource: "memory", Value: 2048, Time: now}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(kcat, "-C", "-b", b.Addrs()[0], "-t", "kcat-check", "-e", "-q", "-J").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	var env struct {
		Key     string   `json:"key"`
		Payload string   `json:"payload"`
		Headers []string `json:"headers"`
	}
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatalf("kcat output %q: %v", out, err)
	}
	if env.Key != "resize" || len(env.Headers) != 2 || env.Headers[0] != "content-type" || env.Headers[1] != wire.ContentType {
		t.Errorf("kcat saw key %q headers %q", env.Key, env.Headers)
	}
	var rec struct {
		V       int                `json:"v"`
		Task    string             `json:"task"`
		Service string             `json:"service"`
		Time    time.Time          `json:"time"`
		Values  map[string]float64 `json:"values"`
	}
	if err := json.Unmarshal([]byte(env.Payload), &rec); err != nil {
		t.Fatalf("payload %q: %v", env.Payload, err)
	}
	if rec.V != 1 || rec.Task != "img-7" || rec.Service != "resize" || !rec.Time.Equal(now) || rec.Values["cpu"] != 0.75 || rec.Values["memory"] != 2048 {
		t.Errorf("payload %+v", rec)
	}
}
