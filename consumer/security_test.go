package consumer_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/broker/brokertest"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/producer"
)

// secOptions are the consumer options that connect as m says, with
// password, logging to log.
func secOptions(t *testing.T, m brokertest.Mode, password string, log *brokertest.Log) []consumer.Option {
	opts := []consumer.Option{consumer.WithConnectTimeout(5 * time.Second), consumer.WithLogger(log.Logger())}
	if m.TLS {
		opts = append(opts, consumer.WithTLS(brokertest.SharedCerts(t).Client))
	}
	if m.Mechanism != "" {
		opts = append(opts, consumer.WithSASL(m.Mechanism, "rightsize", password))
	}
	return opts
}

// secSink keeps the samples it is given.
type secSink struct {
	mu      sync.Mutex
	samples []rightsize.Sample
}

func (s *secSink) Write(_ context.Context, b rightsize.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, b.Samples...)
	return nil
}

func (s *secSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples)
}

func TestSecurityConsumes(t *testing.T) {
	for _, m := range brokertest.Modes {
		t.Run(m.Name, func(t *testing.T) {
			b := brokertest.Start(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			// Published through the producer, connected the same way.
			popts := []producer.ConnectOption{}
			if m.TLS {
				popts = append(popts, producer.WithTLS(brokertest.SharedCerts(t).Client))
			}
			if m.Mechanism != "" {
				popts = append(popts, producer.WithSASL(m.Mechanism, "rightsize", brokertest.Password))
			}
			pub, err := producer.Connect(ctx, b.Addrs(), popts...)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			var want []rightsize.Sample
			for i := range 5 {
				want = append(want, rightsize.Sample{Task: "img7", Service: "resize", Resource: "cpu", Value: float64(i), Time: now.Add(time.Duration(i) * time.Second)})
			}
			if err := pub.Publish(ctx, want...); err != nil {
				t.Fatal(err)
			}
			if err := pub.Close(ctx); err != nil {
				t.Fatal(err)
			}
			// And one malformed record, which the consumer logs and
			// dead-letters through its authenticated client.
			raw := brokertest.Client(t, b, m)
			if err := raw.ProduceSync(ctx, &kgo.Record{Topic: consumer.DefaultTopic, Key: []byte("resize"), Value: []byte("not a sample")}).FirstErr(); err != nil {
				t.Fatal(err)
			}

			var log brokertest.Log
			sink := &secSink{}
			c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{sink}, secOptions(t, m, brokertest.Password, &log)...)
			if err != nil {
				t.Fatal(err)
			}
			runCtx, stop := context.WithCancel(ctx)
			ran := make(chan error, 1)
			go func() { ran <- c.Run(runCtx) }()
			for (sink.count() < len(want) || c.Stats().DeadLettered < 1) && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			stop()
			if err := <-ran; err != nil {
				t.Error(err)
			}
			c.Close()
			if n := sink.count(); n != len(want) {
				t.Errorf("consumed %d samples, want %d", n, len(want))
			}
			if st := c.Stats(); st.DeadLettered != 1 {
				t.Errorf("dead-lettered %d records, want 1 (stats %+v)", st.DeadLettered, st)
			}
			dead := brokertest.Client(t, b, m, kgo.ConsumeTopics(consumer.DefaultTopic+".dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if recs := dead.PollFetches(ctx).Records(); len(recs) != 1 || string(recs[0].Value) != "not a sample" {
				t.Errorf("dead-letter topic holds %d records, want the malformed one", len(recs))
			}
			logged := log.String()
			if !strings.Contains(logged, "level=") {
				t.Errorf("nothing logged (the malformed record should be): %q", logged)
			}
			brokertest.NoPassword(t, "the log", logged)
		})
	}
}

func TestSecurityWrongPasswordNamesTheMechanism(t *testing.T) {
	for _, m := range brokertest.Modes {
		if m.Mechanism == "" {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			b := brokertest.Start(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var log brokertest.Log
			start := time.Now()
			// The wrong password holds the right one, so that a leak of
			// either shows.
			c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{&secSink{}}, secOptions(t, m, "not-"+brokertest.Password, &log)...)
			if err == nil {
				c.Close()
				t.Fatal("connected with a wrong password")
			}
			t.Logf("%v (in %v)", err, time.Since(start).Round(time.Millisecond))
			if !errors.Is(err, rightsize.ErrAuthentication) || errors.Is(err, rightsize.ErrUnreachable) {
				t.Errorf("error %q: want one matching rightsize.ErrAuthentication, not ErrUnreachable", err)
			}
			for _, want := range []string{m.Mechanism, `"rightsize"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			brokertest.NoPassword(t, "the error", err.Error())
			brokertest.NoPassword(t, "the log", log.String())
			if time.Since(start) > 4*time.Second {
				t.Errorf("a refusal took %v: it should not wait for the connect timeout", time.Since(start))
			}
		})
	}
}

func TestSecurityRefusedConnectionsSayWhy(t *testing.T) {
	certs := brokertest.SharedCerts(t)
	b := brokertest.Start(t, brokertest.Mode{Name: "TLS and SASL", TLS: true, Mechanism: broker.ScramSHA256})
	noCert := certs.Client.Clone()
	noCert.Certificates = nil
	for _, tc := range []struct {
		name string
		opts []consumer.Option
		want string
	}{
		{"no client certificate", []consumer.Option{consumer.WithTLS(noCert), consumer.WithSASL(broker.ScramSHA256, "rightsize", brokertest.Password)}, "certificate"},
		{"SASL without TLS", []consumer.Option{consumer.WithSASL(broker.ScramSHA256, "rightsize", brokertest.Password)}, b.Addrs()[0]},
		{"password without a mechanism", []consumer.Option{consumer.WithTLS(certs.Client), consumer.WithSASL("", "rightsize", brokertest.Password)}, "mechanism"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var log brokertest.Log
			opts := append([]consumer.Option{consumer.WithConnectTimeout(2 * time.Second), consumer.WithLogger(log.Logger())}, tc.opts...)
			c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{&secSink{}}, opts...)
			if err == nil {
				c.Close()
				t.Fatal("connected")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			brokertest.NoPassword(t, "the error", err.Error())
			brokertest.NoPassword(t, "the log", log.String())
		})
	}
}
