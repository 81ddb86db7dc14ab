package producer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/broker/brokertest"
	"github.com/rightsize/rightsize/producer"
	"github.com/rightsize/rightsize/sample"
)

// secOptions are the producer options that connect as m says, with
// password.
func secOptions(t *testing.T, m brokertest.Mode, password string) []producer.ConnectOption {
	opts := []producer.ConnectOption{producer.WithConnectTimeout(5 * time.Second)}
	if m.TLS {
		opts = append(opts, producer.WithTLS(brokertest.SharedCerts(t).Client))
	}
	if m.Mechanism != "" {
		opts = append(opts, producer.WithSASL(m.Mechanism, "rightsize", password))
	}
	return opts
}

func TestSecurityPublishes(t *testing.T) {
	for _, m := range brokertest.Modes {
		t.Run(m.Name, func(t *testing.T) {
			b := brokertest.Start(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			pub, err := producer.Connect(ctx, b.Addrs(), secOptions(t, m, brokertest.Password)...)
			if err != nil {
				t.Fatal(err)
			}
			// The sampling loop, logging to a log we read back.
			var log brokertest.Log
			tick := 0
			s := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
				tick++
				return []rightsize.Sample{{Task: "img7", Service: "resize", Resource: "cpu", Value: float64(tick), Time: time.Now()}}, nil
			})
			runCtx, stop := context.WithTimeout(ctx, 250*time.Millisecond)
			err = producer.Run(runCtx, pub, []sample.Sampler{s}, producer.WithInterval(50*time.Millisecond), producer.WithLogger(log.Logger()))
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
			recs := testRecordsWith(t, brokertest.Client(t, b, m, kgo.ConsumeTopics(producer.DefaultTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())), int(st.Acked))
			if len(recs) != int(st.Acked) || string(recs[0].Key) != "resize" {
				t.Errorf("read %d records back (first key %q), want %d keyed resize", len(recs), recs[0].Key, st.Acked)
			}
			brokertest.NoPassword(t, "the log", log.String())
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
	for _, m := range brokertest.Modes {
		if m.Mechanism == "" {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			b := brokertest.Start(t, m)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start := time.Now()
			// The wrong password holds the right one, so that a leak of
			// either shows.
			pub, err := producer.Connect(ctx, b.Addrs(), secOptions(t, m, "not-"+brokertest.Password)...)
			if err == nil {
				pub.Close(ctx)
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
			if time.Since(start) > 4*time.Second {
				t.Errorf("a refusal took %v: it should not wait for the connect timeout", time.Since(start))
			}
		})
	}
}

func TestSecurityRefusedConnectionsSayWhy(t *testing.T) {
	certs := brokertest.SharedCerts(t)
	tlsSASL := brokertest.Mode{Name: "TLS and SASL", TLS: true, Mechanism: broker.ScramSHA256}
	b := brokertest.Start(t, tlsSASL)
	noCert := certs.Client.Clone()
	noCert.Certificates = nil
	untrusting := certs.Client.Clone()
	untrusting.RootCAs = nil
	for _, tc := range []struct {
		name string
		opts []producer.ConnectOption
		want string
	}{
		{"no client certificate", []producer.ConnectOption{producer.WithTLS(noCert), producer.WithSASL(broker.ScramSHA256, "rightsize", brokertest.Password)}, "certificate"},
		{"broker's authority not trusted", []producer.ConnectOption{producer.WithTLS(untrusting), producer.WithSASL(broker.ScramSHA256, "rightsize", brokertest.Password)}, "certificate"},
		{"SASL without TLS", []producer.ConnectOption{producer.WithSASL(broker.ScramSHA256, "rightsize", brokertest.Password)}, b.Addrs()[0]},
		{"unknown mechanism", []producer.ConnectOption{producer.WithTLS(certs.Client), producer.WithSASL("GSSAPI", "rightsize", brokertest.Password)}, "GSSAPI"},
		{"no user", []producer.ConnectOption{producer.WithTLS(certs.Client), producer.WithSASL(broker.Plain, "", brokertest.Password)}, "user"},
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
			brokertest.NoPassword(t, "the error", err.Error())
		})
	}
}

func TestSecurityBrokerGoneNeverShowsThePassword(t *testing.T) {
	m := brokertest.Mode{Name: "SASL PLAIN", Mechanism: broker.Plain}
	b := brokertest.Start(t, m)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub, err := producer.Connect(ctx, b.Addrs(), append(secOptions(t, m, brokertest.Password), producer.WithDeliveryTimeout(time.Second))...)
	if err != nil {
		t.Fatal(err)
	}
	addrs := b.Addrs()
	b.Close()
	var log brokertest.Log
	s := sample.SamplerFunc(func(context.Context) ([]rightsize.Sample, error) {
		return []rightsize.Sample{{Service: "resize", Resource: "cpu", Value: 1, Time: time.Now()}}, nil
	})
	runCtx, stop := context.WithTimeout(ctx, 1500*time.Millisecond)
	_ = producer.Run(runCtx, pub, []sample.Sampler{s}, producer.WithInterval(100*time.Millisecond), producer.WithLogger(log.Logger()))
	stop()
	cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
	closeErr := pub.Close(cctx)
	ccancel()
	st := pub.Stats()
	t.Logf("stats %+v, close: %v", st, closeErr)
	brokertest.NoPassword(t, "the log", log.String())
	brokertest.NoPassword(t, "Stats().LastError", st.LastError)
	if closeErr != nil {
		brokertest.NoPassword(t, "Close's error", closeErr.Error())
	}
	// And reconnecting to where it was says where, not how.
	_, err = producer.Connect(ctx, addrs, append(secOptions(t, m, brokertest.Password), producer.WithConnectTimeout(time.Second))...)
	if !errors.Is(err, rightsize.ErrUnreachable) || !strings.Contains(err.Error(), addrs[0]) {
		t.Errorf("error %v: want ErrUnreachable naming %s", err, addrs[0])
	}
	brokertest.NoPassword(t, "the error", err.Error())
}
