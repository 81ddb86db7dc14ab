// Package cli holds what the example programs share: the flags every one
// of them takes (with their environment fallbacks), how a DSN is shown
// without its password, and the signal handling of a program an operator
// stops with Ctrl-C.
//
// The shared flags, as the README lists them:
//
//	-brokers  RIGHTSIZE_BROKERS       Kafka seed brokers, comma-separated
//	-db       RIGHTSIZE_DATABASE_URL  postgres://... or sqlite:PATH (default sqlite:rightsize.db)
//	-topic                            Kafka topic (default resources)
//	-tls                              TLS with the system's certificate authorities
//	-tls-ca   RIGHTSIZE_TLS_CA        PEM file of the authorities to trust (implies -tls)
//	-tls-cert RIGHTSIZE_TLS_CERT      PEM file of a client certificate (implies -tls), with
//	-tls-key  RIGHTSIZE_TLS_KEY       PEM file of its private key
//	-sasl-mechanism RIGHTSIZE_SASL_MECHANISM  PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with
//	-sasl-user      RIGHTSIZE_SASL_USER       the user; the password only from
//	                RIGHTSIZE_SASL_PASSWORD   (no flag: a flag's value shows in ps)
//
// examples/broker takes the security flags from the broker's side
// (RegisterBrokerSecurity).
package cli

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Environment variables behind the shared flags.
const (
	EnvBrokers  = "RIGHTSIZE_BROKERS"
	EnvDatabase = "RIGHTSIZE_DATABASE_URL"
)

// Defaults of the shared flags.
const (
	DefaultBrokers = "127.0.0.1:9092"
	DefaultDB      = "sqlite:rightsize.db"
	DefaultTopic   = "resources"
)

// Env returns the environment variable name, or def when it is unset or
// empty.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Kafka is where a program finds Kafka and how it connects: the -brokers
// and -topic flags, and the TLS and SASL flags that Security reads.
type Kafka struct {
	Brokers string
	Topic   string

	// TLS switches TLS on with the system's certificate authorities;
	// TLSCA or TLSCert switch it on too.
	TLS bool
	// TLSCA, TLSCert and TLSKey are PEM files: the authorities to trust,
	// the client certificate and its key.
	TLSCA, TLSCert, TLSKey string
	// SASLMechanism and SASLUser authenticate with SASL; the password
	// comes from RIGHTSIZE_SASL_PASSWORD.
	SASLMechanism, SASLUser string
}

// RegisterKafka adds -brokers, -topic and the security flags (-tls,
// -tls-ca, -tls-cert, -tls-key, -sasl-mechanism, -sasl-user) to fs.
// defaultBrokers is used when RIGHTSIZE_BROKERS is unset too; the
// all-in-one programs pass "" (meaning: start an in-process broker), the
// others DefaultBrokers. ProducerOptions and ConsumerOptions turn the
// security flags into options.
func RegisterKafka(fs *flag.FlagSet, defaultBrokers string) *Kafka {
	k := &Kafka{}
	what := "Kafka seed brokers, comma-separated (env " + EnvBrokers + ")"
	if defaultBrokers == "" {
		what += "; empty starts an in-process broker"
	}
	fs.StringVar(&k.Brokers, "brokers", Env(EnvBrokers, defaultBrokers), what)
	fs.StringVar(&k.Topic, "topic", DefaultTopic, "Kafka topic")
	k.registerSecurity(fs)
	return k
}

// Addrs returns the seed brokers as a list; nil when none is given.
func (k *Kafka) Addrs() []string {
	var out []string
	for _, a := range strings.Split(k.Brokers, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// RegisterDB adds -db to fs and returns where its value goes.
func RegisterDB(fs *flag.FlagSet) *string {
	return fs.String("db", Env(EnvDatabase, DefaultDB), "store: postgres://user@host:5432/db or sqlite:PATH (env "+EnvDatabase+")")
}

// Redact returns dsn with any password replaced by "xxxxx", for
// messages. A DSN that does not parse as a URL is not shown at all.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "sqlite:") || strings.HasPrefix(dsn, "file:") {
		if i := strings.IndexAny(dsn, "?#"); i >= 0 {
			return dsn[:i] + "?..."
		}
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(a DSN that does not parse)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// SignalContext returns a context that ends at the first SIGINT or
// SIGTERM, so that the program can finish what it holds and exit; a
// second signal exits at once with status 130.
func SignalContext(parent context.Context, prog string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
		case <-ctx.Done():
			signal.Stop(ch)
			return
		}
		cancel()
		fmt.Fprintf(os.Stderr, "%s: stopping (signal again to exit at once)\n", prog)
		<-ch
		fmt.Fprintf(os.Stderr, "%s: exiting at once\n", prog)
		os.Exit(130)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

// Fail prints "prog: err" to standard error, one line, and exits with
// status 1.
func Fail(prog string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
	os.Exit(1)
}

// UsageError prints "prog: msg" and the flags' usage, and exits with
// status 2.
func UsageError(fs *flag.FlagSet, prog, msg string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", prog, msg)
	fs.Usage()
	os.Exit(2)
}
