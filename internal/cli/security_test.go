package cli_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rightsize/rightsize"
	"github.com/rightsize/rightsize/broker"
	"github.com/rightsize/rightsize/broker/brokertest"
	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/cli"
	"github.com/rightsize/rightsize/producer"
)

// Producers and consumers start goroutines; none may outlive Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const password = "pa55-Word-in-env"

// parse registers the Kafka flags on a new flag set and parses args.
func parse(t *testing.T, args ...string) *cli.Kafka {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(bytes.Buffer))
	k := cli.RegisterKafka(fs, cli.DefaultBrokers)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSecurityFlagsConnectProducerAndConsumer(t *testing.T) {
	certs, files := brokertest.CertFiles(t)
	b, err := broker.Start(broker.WithTLS(certs.Server), broker.WithSASLUser(broker.ScramSHA512, "svc", password))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Setenv(cli.EnvSASLPassword, password)
	k := parse(t, "-brokers", strings.Join(b.Addrs(), ","),
		"-tls-ca", files.CA, "-tls-cert", files.ClientCert, "-tls-key", files.ClientKey,
		"-sasl-mechanism", "scram-sha-512", "-sasl-user", "svc")
	sec, err := k.Security()
	if err != nil {
		t.Fatal(err)
	}
	if got := sec.String(); got != "TLS, SASL SCRAM-SHA-512 as svc" {
		t.Errorf("Security.String() = %q", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	popts, err := k.ProducerOptions()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := producer.Connect(ctx, k.Addrs(), popts...)
	if err != nil {
		t.Fatal(err)
	}
	want := rightsize.Sample{Task: "img7", Service: "resize", Resource: "cpu", Value: 0.5, Time: time.Now().UTC().Truncate(time.Millisecond)}
	if err := pub.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := pub.Close(ctx); err != nil {
		t.Fatal(err)
	}

	copts, err := k.ConsumerOptions()
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		got []rightsize.Sample
	)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	sink := consumer.SinkFunc(func(_ context.Context, batch rightsize.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, batch.Samples...)
		if len(got) > 0 {
			stop()
		}
		return nil
	})
	c, err := consumer.New(ctx, k.Addrs(), []consumer.Sink{sink}, copts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Run(runCtx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ctx.Err() != nil || len(got) != 1 || got[0].Service != want.Service || got[0].Value != want.Value {
		t.Fatalf("consumed %v, want %v", got, want)
	}
}

func TestPlaintextWithoutSecurityFlags(t *testing.T) {
	t.Setenv(cli.EnvSASLPassword, "")
	k := parse(t)
	sec, err := k.Security()
	if err != nil || sec.TLS != nil || sec.Mechanism != "" {
		t.Fatalf("Security() = %v, %v; want plaintext", sec, err)
	}
	if p, err := k.ProducerOptions(); err != nil || len(p) != 0 {
		t.Errorf("ProducerOptions() = %d options, %v", len(p), err)
	}
	if c, err := k.ConsumerOptions(); err != nil || len(c) != 0 {
		t.Errorf("ConsumerOptions() = %d options, %v", len(c), err)
	}
	k = parse(t, "-tls")
	if sec, err := k.Security(); err != nil || sec.TLS == nil || sec.TLS.RootCAs != nil {
		t.Errorf("-tls: Security() = %v, %v; want TLS with the system's authorities", sec, err)
	}
}

func TestSecurityFlagsFromEnvironment(t *testing.T) {
	_, files := brokertest.CertFiles(t)
	t.Setenv(cli.EnvTLSCA, files.CA)
	t.Setenv(cli.EnvSASLMechanism, "PLAIN")
	t.Setenv(cli.EnvSASLUser, "alice")
	t.Setenv(cli.EnvSASLPassword, password)
	sec, err := parse(t).Security()
	if err != nil {
		t.Fatal(err)
	}
	if sec.TLS == nil || sec.TLS.RootCAs == nil || sec.Mechanism != "PLAIN" || sec.User != "alice" || sec.Password != password {
		t.Errorf("from the environment: %v", sec)
	}
	// A flag wins over the environment.
	if sec, err := parse(t, "-sasl-user", "bob").Security(); err != nil || sec.User != "bob" {
		t.Errorf("-sasl-user bob: %v, %v", sec, err)
	}
}

func TestSecurityFlagErrors(t *testing.T) {
	certs, err := brokertest.NewCerts()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files, err := certs.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	unreadable := filepath.Join(dir, "unreadable") // a directory: unreadable as a file, even as root
	if err := os.Mkdir(unreadable, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args     []string
		password string
		want     []string // each must appear in the error
	}{
		{args: []string{"-tls-key", files.ClientKey}, want: []string{"-tls-key needs -tls-cert"}},
		{args: []string{"-tls-cert", files.ClientCert}, want: []string{"-tls-cert needs -tls-key"}},
		{args: []string{"-tls-ca", missing}, want: []string{"-tls-ca", missing, "no such file"}},
		{args: []string{"-tls-ca", unreadable}, want: []string{"-tls-ca", unreadable}},
		{args: []string{"-tls-ca", garbage}, want: []string{"-tls-ca", garbage, "no PEM certificate"}},
		{args: []string{"-tls-cert", missing, "-tls-key", files.ClientKey}, want: []string{"-tls-cert", missing}},
		{args: []string{"-tls-cert", files.ClientCert, "-tls-key", missing}, want: []string{"-tls-key", missing}},
		{args: []string{"-tls-cert", files.ClientCert, "-tls-key", garbage}, want: []string{files.ClientCert, garbage}},
		{args: []string{"-tls-cert", files.ClientCert, "-tls-key", files.ServerKey}, want: []string{files.ClientCert, files.ServerKey}},
		{args: []string{"-sasl-user", "alice"}, password: password, want: []string{"-sasl-user needs -sasl-mechanism"}},
		{password: password, want: []string{cli.EnvSASLPassword, "-sasl-mechanism"}},
		{args: []string{"-sasl-mechanism", "GSSAPI", "-sasl-user", "alice"}, password: password, want: []string{`"GSSAPI"`, "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"}},
		{args: []string{"-sasl-mechanism", "PLAIN"}, password: password, want: []string{"PLAIN needs -sasl-user"}},
		{args: []string{"-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "alice"}, want: []string{"SCRAM-SHA-256 needs a password", cli.EnvSASLPassword}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Setenv(cli.EnvSASLPassword, tc.password)
			k := parse(t, tc.args...)
			_, err := k.Security()
			_, perr := k.ProducerOptions()
			_, cerr := k.ConsumerOptions()
			if err == nil || perr == nil || cerr == nil {
				t.Fatalf("accepted: %v, %v, %v", err, perr, cerr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line, without the password", err)
			}
		})
	}
}

func TestSecurityNeverShowsThePassword(t *testing.T) {
	t.Setenv(cli.EnvSASLPassword, password)
	sec, err := parse(t, "-tls", "-sasl-mechanism", "PLAIN", "-sasl-user", "alice").Security()
	if err != nil {
		t.Fatal(err)
	}
	if sec.Password != password {
		t.Fatalf("password %q not read from %s", sec.Password, cli.EnvSASLPassword)
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("connecting", "security", sec)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("connecting", "security", sec)
	for _, s := range []string{fmt.Sprint(sec), fmt.Sprintf("%v %+v %#v %s", sec, sec, sec, sec), logged.String()} {
		if strings.Contains(s, password) {
			t.Errorf("the password shows in %q", s)
		}
		if !strings.Contains(s, "SASL PLAIN as alice") {
			t.Errorf("%q does not say how it connects", s)
		}
	}
}

func TestWrongPasswordIsAnAuthenticationError(t *testing.T) {
	b, err := broker.Start(broker.WithSASLUser(broker.Plain, "alice", "the-right-one"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Setenv(cli.EnvSASLPassword, password)
	k := parse(t, "-brokers", strings.Join(b.Addrs(), ","), "-sasl-mechanism", "plain", "-sasl-user", "alice")
	popts, err := k.ProducerOptions()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, err := producer.Connect(ctx, k.Addrs(), popts...)
	if err == nil {
		pub.Close(ctx)
		t.Fatal("connected with a wrong password")
	}
	if !errors.Is(err, rightsize.ErrAuthentication) || !strings.Contains(err.Error(), "PLAIN") || strings.Contains(err.Error(), password) {
		t.Errorf("error %q: want an authentication error naming PLAIN, without the password", err)
	}
}

func TestBrokerSecurityFlags(t *testing.T) {
	_, files := brokertest.CertFiles(t)
	t.Setenv(cli.EnvSASLPassword, password)
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	bs := cli.RegisterBrokerSecurity(fs)
	if err := fs.Parse([]string{"-tls-cert", files.ServerCert, "-tls-key", files.ServerKey, "-tls-ca", files.CA,
		"-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "svc"}); err != nil {
		t.Fatal(err)
	}
	opts, err := bs.Options()
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	connect := func(args ...string) error {
		k := parse(t, append([]string{"-brokers", strings.Join(b.Addrs(), ",")}, args...)...)
		popts, err := k.ProducerOptions()
		if err != nil {
			t.Fatal(err)
		}
		pub, err := producer.Connect(ctx, k.Addrs(), append(popts, producer.WithConnectTimeout(2*time.Second))...)
		if err == nil {
			pub.Close(ctx)
		}
		return err
	}
	if err := connect("-tls-ca", files.CA, "-tls-cert", files.ClientCert, "-tls-key", files.ClientKey, "-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "svc"); err != nil {
		t.Errorf("with the client certificate and the password: %v", err)
	}
	if err := connect("-tls-ca", files.CA, "-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "svc"); err == nil {
		t.Error("served a client without a certificate")
	}
	if err := connect("-tls-ca", files.CA, "-tls-cert", files.ClientCert, "-tls-key", files.ClientKey, "-sasl-mechanism", "SCRAM-SHA-256", "-sasl-user", "eve"); !errors.Is(err, rightsize.ErrAuthentication) {
		t.Errorf("an unknown user: %v, want an authentication error", err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-tls-cert", files.ServerCert}, "-tls-cert needs -tls-key"},
		{[]string{"-tls-key", files.ServerKey}, "-tls-key needs -tls-cert"},
		{[]string{"-tls-ca", files.CA}, "-tls-ca needs -tls-cert"},
		{[]string{"-tls-cert", files.ServerCert, "-tls-key", files.ServerKey, "-tls-ca", files.ServerKey}, "no PEM certificate"},
		{[]string{"-tls-cert", files.ServerCert, "-tls-key", files.ClientKey}, files.ClientKey},
		{[]string{"-sasl-user", "svc"}, "-sasl-user needs -sasl-mechanism"},
		{[]string{"-sasl-mechanism", "OAUTHBEARER", "-sasl-user", "svc"}, "OAUTHBEARER"},
	} {
		fs := flag.NewFlagSet("broker", flag.ContinueOnError)
		bs := cli.RegisterBrokerSecurity(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		_, err := bs.Options()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), password) {
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
	}
	t.Setenv(cli.EnvSASLPassword, "")
	fs = flag.NewFlagSet("broker", flag.ContinueOnError)
	bs = cli.RegisterBrokerSecurity(fs)
	if err := fs.Parse([]string{"-sasl-mechanism", "PLAIN", "-sasl-user", "svc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bs.Options(); err == nil || !strings.Contains(err.Error(), cli.EnvSASLPassword) {
		t.Errorf("no password: %v, want an error naming %s", err, cli.EnvSASLPassword)
	}
}

func TestPipelineOptionsRefuseSecurityWithoutBrokers(t *testing.T) {
	k := &cli.Kafka{SASLMechanism: "PLAIN", SASLUser: "u"}
	t.Setenv(cli.EnvSASLPassword, "secret-password")
	if _, err := k.PipelineOptions(); err == nil || !strings.Contains(err.Error(), "need -brokers") {
		t.Errorf("SASL flags with the in-process broker: %v", err)
	}
	k.Brokers = "kafka:9092"
	if opts, err := k.PipelineOptions(); err != nil || len(opts) == 0 {
		t.Errorf("with -brokers: %v, %d options", err, len(opts))
	}
	t.Setenv(cli.EnvSASLPassword, "")
	if opts, err := (&cli.Kafka{}).PipelineOptions(); err != nil || len(opts) == 0 {
		t.Errorf("no flags at all: %v", err)
	}
}
