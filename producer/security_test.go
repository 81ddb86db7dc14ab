package producer_test

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
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
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

// secOptions are the producer options that connect as m says, with
// password.
func secOptions(t *testing.T, m secMode, password string) []producer.ConnectOption {
	opts := []producer.ConnectOption{producer.WithConnectTimeout(5 * time.Second)}
	if m.tls {
		opts = append(opts, producer.WithTLS(secCerts(t).Client))
	}
	if m.mechanism != "" {
		opts = append(opts, producer.WithSASL(m.mechanism, "rightsize", password))
	}
	return opts
}

// secReader is a plain franz-go client, set up by hand, that reads what
// the producer published.
func secReader(t *testing.T, b *broker.Broker, m secMode) *kgo.Client {
	t.Helper()
	opts := []kgo.Opt{kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics(producer.DefaultTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
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

func TestSecurityPublishes(t *testing.T) {
	for _, m := range secModes {
		t.Run(m.name, func(t *testing.T) {
			b := secBroker(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pub, err := producer.Connect(ctx, b.Addrs(), secOptions(t, m, secPassword)...)
			if err != nil {
				t.Fatal(err)
			}
			// The sampling loop, logging to a log we read back.
			var log secLog
			tick := 0
			s := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
				tick++
				return []rightsize.Sample{{Task: "img7", Service: "resize", Resource: "cpu", Value: float64(tick), Time: time.Now()}}, nil
			})
			runCtx, stop := context.WithTimeout(ctx, 250*time.Millisecond)
			err = producer.Run(runCtx, pub, []sample.Sampler{s}, producer.WithInterval(50*time.Millisecond), producer.WithLogger(log.logger()))
			stop()
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Close(ctx); err != nil {
				t.Fatal(err)
			}
			st := pub.Stats()
			if st.Published == 0 || st.Acked != st.Published || st.LastError != "" {
				t.Fatalf("stats %+v: want every record acknowledged", st)
			}
			recs := testRecordsWith(t, secReader(t, b, m), int(st.Acked))
			if len(recs) != int(st.Acked) || string(recs[0].Key) != "resize" {
				t.Errorf("read %d records back (first key %q), want %d keyed resize", len(recs), recs[0].Key, st.Acked)
			}
			secNoPassword(t, "the log", log.String())
		})
	}
}

// testRecordsWith reads n records with cl, or fails after 20 s.
func testRecordsWith(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records in 20 s", len(out), n)
		}
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		out = append(out, fs.Records()...)
	}
	return out
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
			start := time.Now()
			// The wrong password holds the right one, so that a leak of
			// either shows.
			pub, err := producer.Connect(ctx, b.Addrs(), secOptions(t, m, "not-"+secPassword)...)
			if err == nil {
				pub.Close(ctx)
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
			if time.Since(start) > 4*time.Second {
				t.Errorf("a refusal took %v: it should not wait for the connect timeout", time.Since(start))
			}
		})
	}
}

func TestSecurityRefusedConnectionsSayWhy(t *testing.T) {
	certs := secCerts(t)
	tlsSASL := secMode{"TLS and SASL", true, broker.ScramSHA256}
	b := secBroker(t, tlsSASL)
	noCert := certs.Client.Clone()
	noCert.Certificates = nil
	untrusting := certs.Client.Clone()
	untrusting.RootCAs = nil
	for _, tc := range []struct {
		name string
		opts []producer.ConnectOption
		want string
	}{
		{"no client certificate", []producer.ConnectOption{producer.WithTLS(noCert), producer.WithSASL(broker.ScramSHA256, "rightsize", secPassword)}, "certificate"},
		{"broker's authority not trusted", []producer.ConnectOption{producer.WithTLS(untrusting), producer.WithSASL(broker.ScramSHA256, "rightsize", secPassword)}, "certificate"},
		{"SASL without TLS", []producer.ConnectOption{producer.WithSASL(broker.ScramSHA256, "rightsize", secPassword)}, b.Addrs()[0]},
		{"unknown mechanism", []producer.ConnectOption{producer.WithTLS(certs.Client), producer.WithSASL("GSSAPI", "rightsize", secPassword)}, "GSSAPI"},
		{"no user", []producer.ConnectOption{producer.WithTLS(certs.Client), producer.WithSASL(broker.Plain, "", secPassword)}, "user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			opts := append([]producer.ConnectOption{producer.WithConnectTimeout(2 * time.Second)}, tc.opts...)
			pub, err := producer.Connect(ctx, b.Addrs(), opts...)
			if err == nil {
				pub.Close(ctx)
				t.Fatal("connected")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			secNoPassword(t, "the error", err.Error())
		})
	}
}

func TestSecurityBrokerGoneNeverShowsThePassword(t *testing.T) {
	m := secMode{"SASL PLAIN", false, broker.Plain}
	b := secBroker(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub, err := producer.Connect(ctx, b.Addrs(), append(secOptions(t, m, secPassword), producer.WithDeliveryTimeout(time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	addrs := b.Addrs()
	b.Close()
	var log secLog
	s := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
		return []rightsize.Sample{{Service: "resize", Resource: "cpu", Value: 1, Time: time.Now()}}, nil
	})
	runCtx, stop := context.WithTimeout(ctx, 1500*time.Millisecond)
	_ = producer.Run(runCtx, pub, []sample.Sampler{s}, producer.WithInterval(100*time.Millisecond), producer.WithLogger(log.logger()))
	stop()
	cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
	closeErr := pub.Close(cctx)
	ccancel()
	st := pub.Stats()
	t.Logf("stats %+v, close: %v", st, closeErr)
	secNoPassword(t, "the log", log.String())
	secNoPassword(t, "Stats().LastError", st.LastError)
	if closeErr != nil {
		secNoPassword(t, "Close's error", closeErr.Error())
	}
	// And reconnecting to where it was says where, not how.
	_, err = producer.Connect(ctx, addrs, append(secOptions(t, m, secPassword), producer.WithConnectTimeout(time.Second))...)
	if !errors.Is(err, rightsize.ErrUnreachable) || !strings.Contains(err.Error(), addrs[0]) {
		t.Errorf("error %v: want ErrUnreachable naming %s", err, addrs[0])
	}
	secNoPassword(t, "the error", err.Error())
}
