package consumer_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/testenv"
	"github.com/rightsize/rightsize/internal/wire"
	"github.com/rightsize/rightsize/store"
)

// refusing is a real store that refuses, for good, any batch holding a
// sample of the service "refuse-me": a record the decoder accepts and
// the store never will.
type refusing struct{ store.Store }

func (r refusing) Write(ctx context.Context, b rightsize.Batch) error {
	for _, s := range b.Samples {
		if s.Service == "refuse-me" {
			return fmt.Errorf("refusing: %w", rightsize.Permanent(fmt.Errorf("service %q is not wanted here", s.Service)))
		}
	}
	return r.Store.Write(ctx, b)
}

// poison is one kind of record that can never be stored.
type poison struct {
	name   string
	reason consumer.Reason
	rec    func(at time.Time) *kgo.Record
}

func jsonRecord(value string) func(time.Time) *kgo.Record {
	return func(time.Time) *kgo.Record {
		return &kgo.Record{Key: []byte("bad"), Value: []byte(value),
			Headers: []kgo.RecordHeader{{Key: wire.HeaderContentType, Value: []byte(wire.ContentType)}}}
	}
}

func legacyRecord(key, value string, ts time.Time) func(time.Time) *kgo.Record {
	return func(at time.Time) *kgo.Record {
		if ts.IsZero() {
			ts = at
		}
		return &kgo.Record{Key: []byte(key), Value: []byte(value), Timestamp: ts}
	}
}

var poisons = []poison{
	{"year 1", consumer.ReasonInvalid, jsonRecord(`{"v":1,"service":"p","time":"0001-01-01T00:00:01Z","values":{"cpu":1}}`)},
	{"year 9999", consumer.ReasonInvalid, jsonRecord(`{"v":1,"service":"p","time":"9999-12-31T23:59:59Z","values":{"cpu":1}}`)},
	{"year 2300", consumer.ReasonInvalid, jsonRecord(`{"v":1,"service":"p","time":"2300-01-01T00:00:00Z","values":{"cpu":1}}`)},
	{"legacy key not UTF-8", consumer.ReasonInvalid, legacyRecord("img\xff\xfe resize CPU", "37.5", time.Time{})},
	{"legacy not a number", consumer.ReasonLegacy, legacyRecord("img7 resize CPU", "lots", time.Time{})},
	{"legacy NaN", consumer.ReasonLegacy, legacyRecord("img7 resize RAM", "NaN", time.Time{})},
	{"legacy negative", consumer.ReasonInvalid, legacyRecord("img7 resize DISK", "-3", time.Time{})},
	{"not JSON", consumer.ReasonSyntax, jsonRecord(`{"v":1,"service":`)},
	{"JSON array", consumer.ReasonSyntax, jsonRecord(`[1,2,3]`)},
	{"unknown version", consumer.ReasonVersion, jsonRecord(`{"v":99,"service":"p","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`)},
	{"negative value", consumer.ReasonInvalid, jsonRecord(`{"v":1,"service":"p","time":"2026-11-24T12:00:00Z","values":{"cpu":-1}}`)},
	{"huge value", consumer.ReasonSyntax, jsonRecord(`{"v":1,"service":"p","time":"2026-11-24T12:00:00Z","values":{"cpu":1e999}}`)},
	{"upper-case resource", consumer.ReasonInvalid, jsonRecord(`{"v":1,"service":"p","time":"2026-11-24T12:00:00Z","values":{"CPU":1}}`)},
	{"service too long", consumer.ReasonInvalid, jsonRecord(`{"v":1,"service":"` + strings.Repeat("s", 300) + `","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`)},
	{"control character", consumer.ReasonInvalid, jsonRecord(`{"v":1,"service":"a\u0000b","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`)},
	{"no values", consumer.ReasonSyntax, jsonRecord(`{"v":1,"service":"p","time":"2026-11-24T12:00:00Z","values":{}}`)},
	{"unknown content type", consumer.ReasonContentType, func(time.Time) *kgo.Record {
		return &kgo.Record{Key: []byte("x"), Value: []byte(`{}`), Headers: []kgo.RecordHeader{{Key: "content-type", Value: []byte("text/csv")}}}
	}},
	{"empty", consumer.ReasonUnrecognized, func(time.Time) *kgo.Record { return &kgo.Record{} }},
	{"512 KiB of noise", consumer.ReasonUnrecognized, func(time.Time) *kgo.Record {
		return &kgo.Record{Key: []byte("noise"), Value: bytes.Repeat([]byte{0xfe}, 512<<10)}
	}},
	{"refused by the store", consumer.ReasonRefused, jsonRecord(`{"v":1,"service":"refuse-me","time":"2026-11-24T12:00:00Z","values":{"cpu":1}}`)},
}

// TestPoisonPillsNeverStopAPartition interleaves every kind of record that
// can never be stored with good ones, on every partition: each good sample
// is stored once, each bad record is in the dead-letter topic with its
// reason, and nothing of a bad record is stored.
func TestPoisonPillsNeverStopAPartition(t *testing.T) {
	for _, backend := range []string{"postgres", "sqlite"} {
		t.Run(backend, func(t *testing.T) {
			var st store.Store
			if backend == "postgres" {
				dsn, schema := pgStore(t)
				st = openPG(t, dsn, schema)
			} else {
				s, err := store.OpenSQLite(context.Background(), t.TempDir()+"/poison.db")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				st = s
			}
			testPoisonPills(t, st)
		})
	}
}

func testPoisonPills(t *testing.T, st store.Store) {
	b := startBroker(t)
	ctx := context.Background()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	// Three rounds of every poison, each on a random partition, between
	// good records of 8 services on every partition.
	const services, rounds, partitions = 8, 3, 4
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	want := map[sampleKey]bool{}
	wantDead := map[consumer.Reason]int{}
	var recs []*kgo.Record
	tick := 0
	good := func() {
		for s := range services {
			at := base.Add(time.Duration(tick) * time.Second)
			svc := fmt.Sprintf("svc-%02d", s)
			batch := []rightsize.Sample{
				{Service: svc, Resource: "cpu", Value: float64(tick) / 1000, Time: at},
				{Service: svc, Resource: "memory", Value: float64(tick*1000 + s), Time: at},
			}
			enc, err := wire.Encode(batch)
			if err != nil {
				t.Fatal(err)
			}
			r := enc[0]
			recs = append(recs, &kgo.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Partition: int32(s % partitions),
				Headers: []kgo.RecordHeader{{Key: r.Headers[0].Key, Value: r.Headers[0].Value}}})
			for _, x := range batch {
				want[keyOf(x)] = true
			}
		}
		tick++
	}
	for range rounds {
		for _, p := range poisons {
			good()
			r := p.rec(base.Add(time.Duration(tick) * time.Second))
			r.Partition = int32(rng.IntN(partitions))
			recs = append(recs, r)
			wantDead[p.reason]++
		}
	}
	good()
	for _, r := range recs {
		r.Topic = consumer.DefaultTopic
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// And, on every partition, a legacy record timestamped 9999-12-31 by
	// its producer (timestamp_ms=253402300799000), which the Kafka client
	// reads as a time in 1816.
	for p := range int32(partitions) {
		produceRawTimestamp(t, b.Addrs(), consumer.DefaultTopic, p, []byte("img7 resize CPU"), []byte("37.5"), 253402300799000)
		wantDead[consumer.ReasonInvalid]++
	}

	var logs bytes.Buffer
	c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{refusing{st}}, consumer.WithLogger(quietLogger(&logs)), consumer.WithMaxRecords(37))
	if err != nil {
		t.Fatal(err)
	}
	run(t, c)
	waitLag0(t, c)
	checkExactlyOnce(t, st, want, services)

	st0 := c.Stats()
	deadTotal := 0
	for _, n := range wantDead {
		deadTotal += n
	}
	if testing.Verbose() {
		defer func() { t.Log(logs.String()) }()
	}
	dead := testenv.Records(t, b.Addrs(), consumer.DefaultTopic+".dlq", deadTotal)
	gotDead := map[consumer.Reason]int{}
	farFuture := 0
	for _, r := range dead {
		for _, h := range r.Headers {
			switch {
			case h.Key == "rightsize-reason":
				gotDead[consumer.Reason(h.Value)]++
			case h.Key == "rightsize-error" && strings.Contains(string(h.Value), "9999-12-31T23:59:59Z is outside the years 1678 to 2262"):
				farFuture++
			}
		}
	}
	if farFuture != 3+partitions {
		t.Errorf("%d dead letters say their time is 9999-12-31T23:59:59Z, want %d (not a wrapped time in 1816)", farFuture, 3+partitions)
	}
	t.Logf("published %d good samples and %d bad records; dead letters %d (%v); malformed %v", len(want), deadTotal, len(dead), gotDead, st0.Malformed)
	for reason, n := range wantDead {
		if gotDead[reason] != n || st0.Malformed[reason] != int64(n) {
			t.Errorf("reason %s: %d dead letters and %d counted, want %d", reason, gotDead[reason], st0.Malformed[reason], n)
		}
	}
	if len(dead) != deadTotal || st0.DeadLettered != int64(deadTotal) {
		t.Errorf("%d dead letters (%d counted), want %d", len(dead), st0.DeadLettered, deadTotal)
	}
	// Nothing of a bad record was stored.
	for _, svc := range []string{"p", "refuse-me", "resize"} {
		err := st.Scan(ctx, rightsize.Filter{Services: []string{svc}}, func(s rightsize.Sample) error {
			return fmt.Errorf("a sample of a bad record was stored: %+v", s)
		})
		if err != nil {
			t.Error(err)
		}
	}
}
