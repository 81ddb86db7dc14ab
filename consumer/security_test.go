package consumer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/broker/brokertest"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/producer"
)

// secPassword is the password of every SASL user of these tests; no error
// or log line may ever hold it.
const secPassword = "Hunter2-never-shown"

// secMode is one way of connecting to the brokers.
type secMode struct {
	name      string
	tls       bool
	mechanism string // "" for no SASL
}

var secModes = []secMode{
	{"TLS with a client certificate", true, ""},
	{"SASL PLAIN", false, broker.Plain},
	{"SASL SCRAM-SHA-256", false, broker.ScramSHA256},
	{"SASL SCRAM-SHA-512", false, broker.ScramSHA512},
	{"TLS and SASL SCRAM-SHA-512", true, broker.ScramSHA512},
}

var (
	secCertsOnce sync.Once
	secCertsVal  *brokertest.Certs
	secCertsErr  error
)

func secCerts(t *testing.T) *brokertest.Certs {
	t.Helper()
	secCertsOnce.Do(func() { secCertsVal, secCertsErr = brokertest.NewCerts() })
	if secCertsErr != nil {
		t.Fatal(secCertsErr)
	}
	return secCertsVal
}

// secBroker starts a broker that accepts only m's connections, user
// "rightsize" with secPassword.
func secBroker(t *testing.T, m secMode) *broker.Broker {
	t.Helper()
	var opts []broker.Option
	if m.tls {
		opts = append(opts, broker.WithTLS(secCerts(t).Server))
	}
	if m.mechanism != "" {
		opts = append(opts, broker.WithSASLUser(m.mechanism, "rightsize", secPassword))
	}
	b, err := broker.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// secOptions are the consumer options that connect as m says, with
// password, logging to log.
func secOptions(t *testing.T, m secMode, password string, log *secLog) []consumer.Option {
	opts := []consumer.Option{consumer.WithConnectTimeout(5 * time.Second), consumer.WithLogger(log.logger())}
	if m.tls {
		opts = append(opts, consumer.WithTLS(secCerts(t).Client))
	}
	if m.mechanism != "" {
		opts = append(opts, consumer.WithSASL(m.mechanism, "rightsize", password))
	}
	return opts
}

// secClient is a plain franz-go client, set up by hand, to write and read
// raw records beside the consumer.
func secClient(t *testing.T, b *broker.Broker, m secMode, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(b.Addrs()...)}, opts...)
	if m.tls {
		opts = append(opts, kgo.DialTLSConfig(secCerts(t).Client))
	}
	var mech sasl.Mechanism
	switch m.mechanism {
	case broker.Plain:
		mech = plain.Auth{User: "rightsize", Pass: secPassword}.AsMechanism()
	case broker.ScramSHA256:
		mech = scram.Auth{User: "rightsize", Pass: secPassword}.AsSha256Mechanism()
	case broker.ScramSHA512:
		mech = scram.Auth{User: "rightsize", Pass: secPassword}.AsSha512Mechanism()
	}
	if mech != nil {
		opts = append(opts, kgo.SASL(mech))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// secLog is a log that tests read back.
type secLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *secLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *secLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *secLog) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func secNoPassword(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, secPassword) {
		t.Errorf("the password shows in %s: %q", what, text)
	}
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
	for _, m := range secModes {
		t.Run(m.name, func(t *testing.T) {
			b := secBroker(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			// Published through the producer, connected the same way.
			popts := []producer.ConnectOption{}
			if m.tls {
				popts = append(popts, producer.WithTLS(secCerts(t).Client))
			}
			if m.mechanism != "" {
				popts = append(popts, producer.WithSASL(m.mechanism, "rightsize", secPassword))
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
			raw := secClient(t, b, m)
			if err := raw.ProduceSync(ctx, &kgo.Record{Topic: consumer.DefaultTopic, Key: []byte("resize"), Value: []byte("not a sample")}).FirstErr(); err != nil {
				t.Fatal(err)
			}

			var log secLog
			sink := &secSink{}
			c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{sink}, secOptions(t, m, secPassword, &log)...)
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
			dead := secClient(t, b, m, kgo.ConsumeTopics(consumer.DefaultTopic+".dlq"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			if recs := dead.PollFetches(ctx).Records(); len(recs) != 1 || string(recs[0].Value) != "not a sample" {
				t.Errorf("dead-letter topic holds %d records, want the malformed one", len(recs))
			}
			logged := log.String()
			if !strings.Contains(logged, "level=") {
				t.Errorf("nothing logged (the malformed record should be): %q", logged)
			}
			secNoPassword(t, "the log", logged)
		})
	}
}

func TestSecurityWrongPasswordNamesTheMechanism(t *testing.T) {
	for _, m := range secModes {
		if m.mechanism == "" {
			continue
		}
		t.Run(m.name, func(t *testing.T) {
			b := secBroker(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var log secLog
			start := time.Now()
			// The wrong password holds the right one, so that a leak of
			// either shows.
			c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{&secSink{}}, secOptions(t, m, "not-"+secPassword, &log)...)
			if err == nil {
				c.Close()
				t.Fatal("connected with a wrong password")
			}
			t.Logf("%v (in %v)", err, time.Since(start).Round(time.Millisecond))
			if !errors.Is(err, rightsize.ErrAuthentication) || errors.Is(err, rightsize.ErrUnreachable) {
				t.Errorf("error %q: want one matching rightsize.ErrAuthentication, not ErrUnreachable", err)
			}
			for _, want := range []string{m.mechanism, `"rightsize"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
			secNoPassword(t, "the error", err.Error())
			secNoPassword(t, "the log", log.String())
			if time.Since(start) > 4*time.Second {
				t.Errorf("a refusal took %v: it should not wait for the connect timeout", time.Since(start))
			}
		})
	}
}

func TestSecurityRefusedConnectionsSayWhy(t *testing.T) {
	certs := secCerts(t)
	b := secBroker(t, secMode{"TLS and SASL", true, broker.ScramSHA256})
	noCert := certs.Client.Clone()
	noCert.Certificates = nil
	for _, tc := range []struct {
		name string
		opts []consumer.Option
		want string
	}{
		{"no client certificate", []consumer.Option{consumer.WithTLS(noCert), consumer.WithSASL(broker.ScramSHA256, "rightsize", secPassword)}, "certificate"},
		{"SASL without TLS", []consumer.Option{consumer.WithSASL(broker.ScramSHA256, "rightsize", secPassword)}, b.Addrs()[0]},
		{"password without a mechanism", []consumer.Option{consumer.WithTLS(certs.Client), consumer.WithSASL("", "rightsize", secPassword)}, "mechanism"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var log secLog
			opts := append([]consumer.Option{consumer.WithConnectTimeout(2 * time.Second), consumer.WithLogger(log.logger())}, tc.opts...)
			c, err := consumer.New(ctx, b.Addrs(), []consumer.Sink{&secSink{}}, opts...)
			if err == nil {
				c.Close()
				t.Fatal("connected")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			secNoPassword(t, "the error", err.Error())
			secNoPassword(t, "the log", log.String())
		})
	}
}
