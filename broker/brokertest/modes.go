package brokertest

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/rightsize/rightsize/broker"
)

// User and Password are the SASL credentials of the brokers Start makes.
// No error or log line may ever hold the password.
const (
	User     = "rightsize"
	Password = "Hunter2-never-shown"
)

// Mode is one way of connecting to the brokers.
type Mode struct {
	Name      string
	TLS       bool
	Mechanism string // "" for no SASL
}

// Modes are the ways the producer and consumer tests connect.
var Modes = []Mode{
	{"TLS with a client certificate", true, ""},
	{"SASL PLAIN", false, broker.Plain},
	{"SASL SCRAM-SHA-256", false, broker.ScramSHA256},
	{"SASL SCRAM-SHA-512", false, broker.ScramSHA512},
	{"TLS and SASL SCRAM-SHA-512", true, broker.ScramSHA512},
}

var (
	sharedOnce  sync.Once
	sharedCerts *Certs
	sharedErr   error
)

// SharedCerts returns certificates made once for the whole test binary.
func SharedCerts(t testing.TB) *Certs {
	t.Helper()
	sharedOnce.Do(func() { sharedCerts, sharedErr = NewCerts() })
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedCerts
}

// Start starts a broker that accepts only m's connections, as User with
// Password; it is closed when the test ends.
func Start(t testing.TB, m Mode) *broker.Broker {
	t.Helper()
	var opts []broker.Option
	if m.TLS {
		opts = append(opts, broker.WithTLS(SharedCerts(t).Server))
	}
	if m.Mechanism != "" {
		opts = append(opts, broker.WithSASLUser(m.Mechanism, User, Password))
	}
	b, err := broker.Start(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// Client is a plain franz-go client of b connected as m says, set up by
// hand (not through rightsize's options), to write and read raw records
// beside the code under test; it is closed when the test ends.
func Client(t testing.TB, b *broker.Broker, m Mode, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts = append([]kgo.Opt{kgo.SeedBrokers(b.Addrs()...)}, opts...)
	if m.TLS {
		opts = append(opts, kgo.DialTLSConfig(SharedCerts(t).Client))
	}
	var mech sasl.Mechanism
	switch m.Mechanism {
	case broker.Plain:
		mech = plain.Auth{User: User, Pass: Password}.AsMechanism()
	case broker.ScramSHA256:
		mech = scram.Auth{User: User, Pass: Password}.AsSha256Mechanism()
	case broker.ScramSHA512:
		mech = scram.Auth{User: User, Pass: Password}.AsSha512Mechanism()
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

// Log is a log that tests read back.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger logs everything, debug included, to l.
func (l *Log) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// NoPassword fails the test if text, found in what, holds Password.
func NoPassword(t testing.TB, what, text string) {
	t.Helper()
	if strings.Contains(text, Password) {
		t.Errorf("the password shows in %s: %q", what, text)
	}
}

// CertFiles returns the shared certificates and their PEM files, written
// into a temporary directory of the test's own.
func CertFiles(t testing.TB) (*Certs, Files) {
	t.Helper()
	c := SharedCerts(t)
	files, err := c.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return c, files
}
