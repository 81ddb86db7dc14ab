package broker_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/goleak"

	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/broker/brokertest"
)

// The broker starts goroutines (kfake's, one pair per connection); none
// may outlive Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func start(t *testing.T, opts ...broker.Option) *broker.Broker {
	t.Helper()
	b, err := broker.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func client(t *testing.T, addrs []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func partitions(t *testing.T, cl *kgo.Client) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	topics, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for name, d := range topics {
		out[name] = len(d.Partitions)
	}
	return out
}

// roundTrip produces value to topic and reads it back from the start.
func roundTrip(t *testing.T, addrs []string, topic, value string, opts ...kgo.Opt) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub := client(t, addrs, opts...)
	if err := pub.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatalf("produce to %s: %v", topic, err)
	}
	sub := client(t, addrs, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	for {
		fs := sub.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s back: %v", topic, err)
		}
		if err := fs.Err0(); err != nil {
			t.Fatalf("read %s back: %v", topic, err)
		}
		for _, r := range fs.Records() {
			if string(r.Value) == value {
				return
			}
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDefaultTopicAndItsDeadLetterTopicAreCreatedAtStart(t *testing.T) {
	b, err := broker.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got, want := b.Topics(), []string{"resources", "resources.dlq"}; !slices.Equal(got, want) {
		t.Errorf("Topics() = %v, want %v", got, want)
	}
	if a := b.Addrs(); len(a) != 1 || !strings.HasPrefix(a[0], "127.0.0.1:") {
		t.Errorf("Addrs() = %v, want one loopback address", a)
	}
	got := partitions(t, client(t, b.Addrs()))
	for _, topic := range []string{broker.DefaultTopic, broker.DefaultTopic + broker.DeadLetterSuffix} {
		if got[topic] != broker.DefaultPartitions {
			t.Errorf("%s: %d partitions, want %d (topics: %v)", topic, got[topic], broker.DefaultPartitions, got)
		}
	}
	b.Close()
	b.Close() // twice is safe
	var nilBroker *broker.Broker
	nilBroker.Close()
}

func TestTopicsGivenReplaceTheDefault(t *testing.T) {
	b := start(t, broker.WithTopic("a", 2), broker.WithTopic("b", 7))
	got := partitions(t, client(t, b.Addrs()))
	want := map[string]int{"a": 2, "a.dlq": 2, "b": 7, "b.dlq": 7}
	for topic, n := range want {
		if got[topic] != n {
			t.Errorf("%s: %d partitions, want %d", topic, got[topic], n)
		}
	}
	if _, ok := got[broker.DefaultTopic]; ok {
		t.Errorf("%s created although topics were given: %v", broker.DefaultTopic, got)
	}
}

func TestAddrAndDataDir(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	restart := func(opts ...broker.Option) *broker.Broker {
		b, err := broker.Start(append([]broker.Option{broker.WithAddr(addr), broker.WithDataDir(dir)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.Addrs(); len(got) != 1 || got[0] != addr {
			t.Fatalf("listening on %v, want %s", got, addr)
		}
		return b
	}
	b := restart(broker.WithTopic("kept", 1))
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "kept", Value: []byte("survives a restart")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	b.Close()

	// Restarted with one more topic: the kept one keeps its records,
	// the new one is created.
	b = restart(broker.WithTopic("kept", 1), broker.WithTopic("new", 3))
	defer b.Close()
	if got := partitions(t, client(t, b.Addrs())); got["kept"] != 1 || got["new"] != 3 || got["new.dlq"] != 3 {
		t.Errorf("after restart: %v", got)
	}
	cl = client(t, b.Addrs(), kgo.ConsumeTopics("kept"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	recs := cl.PollFetches(pctx).Records()
	if len(recs) != 1 || string(recs[0].Value) != "survives a restart" {
		t.Fatalf("after restart read %d records", len(recs))
	}
}

func TestPortInUseNamesTheAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	_, err = broker.Start(broker.WithAddr(addr))
	if err == nil {
		t.Fatalf("listening on %s, which is in use", addr)
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), addr) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line naming %s, matching EADDRINUSE", err, addr)
	}
}

func TestBadOptions(t *testing.T) {
	certs, err := brokertest.NewCerts()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opt  broker.Option
		want string
	}{
		{broker.WithAddr("127.0.0.1"), "host:port"},
		{broker.WithAddr("127.0.0.1:70000"), "port"},
		{broker.WithAddr("127.0.0.1:http"), "port"},
		{broker.WithTopic("t", 0), "partitions"},
		{broker.WithTopic("", 1), "name"},
		{broker.WithTopic("t", 1_000_000), "partitions"},
		{broker.WithTLS(&tls.Config{RootCAs: certs.Client.RootCAs}), "certificate"},
		{broker.WithSASLUser("GSSAPI", "alice", "pw"), "mechanism"},
		{broker.WithSASLUser("PLAIN", "", "pw"), "name"},
		{broker.WithSASLUser("PLAIN", "alice", ""), "password"},
	} {
		b, err := broker.Start(tc.opt)
		if err == nil {
			b.Close()
			t.Errorf("option wanting %q accepted", tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %q does not mention %q", err, tc.want)
		}
	}
	for _, opts := range [][]broker.Option{
		{broker.WithTopic("t", 1), broker.WithTopic("t", 2)},
		{broker.WithTopic("t", 1), broker.WithTopic("t.dlq", 1)},
	} {
		if b, err := broker.Start(opts...); err == nil {
			b.Close()
			t.Errorf("topics clashing accepted")
		}
	}
}

func TestTLSWithClientCertificate(t *testing.T) {
	certs, err := brokertest.NewCerts()
	if err != nil {
		t.Fatal(err)
	}
	b := start(t, broker.WithTLS(certs.Server))
	roundTrip(t, b.Addrs(), broker.DefaultTopic, "over TLS", kgo.DialTLSConfig(certs.Client))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	noCert := certs.Client.Clone()
	noCert.Certificates = nil
	if err := client(t, b.Addrs(), kgo.DialTLSConfig(noCert)).Ping(ctx); err == nil {
		t.Error("a client without a certificate was served")
	}
	if err := client(t, b.Addrs(), kgo.DialTLSConfig(&tls.Config{Certificates: certs.Client.Certificates})).Ping(ctx); err == nil {
		t.Error("a client that does not trust the broker's authority connected")
	}
}

func TestSASLUsers(t *testing.T) {
	mechanisms := map[string]func(user, pass string) sasl.Mechanism{
		broker.Plain:       func(u, p string) sasl.Mechanism { return plain.Auth{User: u, Pass: p}.AsMechanism() },
		broker.ScramSHA256: func(u, p string) sasl.Mechanism { return scram.Auth{User: u, Pass: p}.AsSha256Mechanism() },
		broker.ScramSHA512: func(u, p string) sasl.Mechanism { return scram.Auth{User: u, Pass: p}.AsSha512Mechanism() },
	}
	certs, err := brokertest.NewCerts()
	if err != nil {
		t.Fatal(err)
	}
	for name, mech := range mechanisms {
		t.Run(name, func(t *testing.T) {
			// Over TLS too for one mechanism: the refusal is written
			// inside TLS.
			tlsModes := []bool{false}
			if name == broker.ScramSHA256 {
				tlsModes = append(tlsModes, true)
			}
			for _, tlsOn := range tlsModes {
				opts := []broker.Option{broker.WithSASLUser(strings.ToLower(name), "alice", "alice-secret"), broker.WithSASLUser(name, "bob", "bob-secret")}
				var copts []kgo.Opt
				if tlsOn {
					opts = append(opts, broker.WithTLS(certs.Server))
					copts = append(copts, kgo.DialTLSConfig(certs.Client))
				}
				b := start(t, opts...)
				roundTrip(t, b.Addrs(), broker.DefaultTopic, "as alice, TLS "+strconv.FormatBool(tlsOn), append(copts, kgo.SASL(mech("alice", "alice-secret")))...)
				roundTrip(t, b.Addrs(), broker.DefaultTopic, "as bob, TLS "+strconv.FormatBool(tlsOn), append(copts, kgo.SASL(mech("bob", "bob-secret")))...)

				// As Kafka does, the broker answers refused credentials
				// with SASL_AUTHENTICATION_FAILED rather than only
				// closing the connection.
				for _, creds := range [][2]string{{"alice", "bob-secret"}, {"carol", "alice-secret"}} {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err := client(t, b.Addrs(), append(copts, kgo.SASL(mech(creds[0], creds[1])))...).Ping(ctx)
					cancel()
					if !errors.Is(err, kerr.SaslAuthenticationFailed) {
						t.Errorf("TLS %v, %s with %s's password: %v, want SASL_AUTHENTICATION_FAILED", tlsOn, creds[0], creds[1], err)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				if err := client(t, b.Addrs(), copts...).Ping(ctx); err == nil {
					t.Errorf("TLS %v: a client without SASL was served", tlsOn)
				}
				cancel()

				// As Kafka does, it advertises SASLHandshake from version
				// 0, which librdkafka (kcat) needs to speak SCRAM.
				ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
				vs, err := kadm.NewClient(client(t, b.Addrs(), append(copts, kgo.SASL(mech("alice", "alice-secret")))...)).ApiVersions(ctx)
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				for _, bv := range vs {
					if lo, hi, ok := bv.KeyVersions(17); !ok || lo != 0 || hi < 1 || bv.Err != nil {
						t.Errorf("TLS %v: SASLHandshake versions %d to %d (%v, %v), want 0 to 1", tlsOn, lo, hi, ok, bv.Err)
					}
				}
			}
		})
	}
}
