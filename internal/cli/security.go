package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/rightsize/rightsize/consumer"
	"github.com/rightsize/rightsize/internal/kafkaconn"
	"github.com/rightsize/rightsize/producer"
)

// Environment variables behind the security flags. The SASL password has
// no flag: a flag's value shows in ps and in shell history.
const (
	EnvTLSCA         = "RIGHTSIZE_TLS_CA"
	EnvTLSCert       = "RIGHTSIZE_TLS_CERT"
	EnvTLSKey        = "RIGHTSIZE_TLS_KEY"
	EnvSASLMechanism = "RIGHTSIZE_SASL_MECHANISM"
	EnvSASLUser      = "RIGHTSIZE_SASL_USER"
	EnvSASLPassword  = "RIGHTSIZE_SASL_PASSWORD"
)

// registerSecurity adds the TLS and SASL flags to fs.
func (k *Kafka) registerSecurity(fs *flag.FlagSet) {
	fs.BoolVar(&k.TLS, "tls", false, "connect to Kafka with TLS, trusting the system's certificate authorities (implied by -tls-ca and -tls-cert)")
	fs.StringVar(&k.TLSCA, "tls-ca", Env(EnvTLSCA, ""), "PEM `file` of the certificate authorities to trust for Kafka's brokers (env "+EnvTLSCA+")")
	fs.StringVar(&k.TLSCert, "tls-cert", Env(EnvTLSCert, ""), "PEM `file` of the client certificate to present to Kafka, with -tls-key (env "+EnvTLSCert+")")
	fs.StringVar(&k.TLSKey, "tls-key", Env(EnvTLSKey, ""), "PEM `file` of the client certificate's private key (env "+EnvTLSKey+")")
	fs.StringVar(&k.SASLMechanism, "sasl-mechanism", Env(EnvSASLMechanism, ""), "authenticate to Kafka with SASL `mechanism` PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; the password is read from "+EnvSASLPassword+" (env "+EnvSASLMechanism+")")
	fs.StringVar(&k.SASLUser, "sasl-user", Env(EnvSASLUser, ""), "SASL `user` (env "+EnvSASLUser+")")
}

// Security is how a program connects to Kafka: TLS, SASL, both or neither.
// Its String and LogValue never show the password.
type Security struct {
	// TLS is nil for plaintext.
	TLS *tls.Config
	// Mechanism is "" without SASL; otherwise PLAIN, SCRAM-SHA-256 or
	// SCRAM-SHA-512, with User and Password.
	Mechanism, User, Password string
}

// String describes s for messages: "TLS, SASL SCRAM-SHA-256 as alice".
func (s Security) String() string {
	var parts []string
	if s.TLS != nil {
		parts = append(parts, "TLS")
	}
	if s.Mechanism != "" {
		parts = append(parts, fmt.Sprintf("SASL %s as %s", s.Mechanism, s.User))
	}
	if len(parts) == 0 {
		return "plaintext"
	}
	return strings.Join(parts, ", ")
}

// LogValue is s's String, so that logging s never shows the password.
func (s Security) LogValue() slog.Value { return slog.StringValue(s.String()) }

// GoString is s's String, so that %#v never shows the password either.
func (s Security) GoString() string { return s.String() }

// Security reads the TLS files and the SASL password
// (RIGHTSIZE_SASL_PASSWORD) the flags name. Its errors name the flag and
// the file at fault, never the password.
func (k *Kafka) Security() (Security, error) {
	var s Security
	var err error
	if s.TLS, err = k.tlsConfig(); err != nil {
		return Security{}, err
	}
	password := os.Getenv(EnvSASLPassword)
	mechanism := strings.ToUpper(strings.TrimSpace(k.SASLMechanism))
	switch {
	case mechanism == "" && k.SASLUser != "":
		return Security{}, errors.New("-sasl-user needs -sasl-mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
	case mechanism == "" && password != "":
		return Security{}, fmt.Errorf("%s is set but -sasl-mechanism is not: give -sasl-mechanism and -sasl-user, or unset it", EnvSASLPassword)
	case mechanism == "":
		return s, nil
	case mechanism != kafkaconn.Plain && mechanism != kafkaconn.ScramSHA256 && mechanism != kafkaconn.ScramSHA512:
		return Security{}, fmt.Errorf("-sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", k.SASLMechanism)
	case k.SASLUser == "":
		return Security{}, fmt.Errorf("-sasl-mechanism %s needs -sasl-user", mechanism)
	case password == "":
		return Security{}, fmt.Errorf("-sasl-mechanism %s needs a password: set %s (there is no flag for it, so that it never shows in ps)", mechanism, EnvSASLPassword)
	}
	s.Mechanism, s.User, s.Password = mechanism, k.SASLUser, password
	return s, nil
}

func (k *Kafka) tlsConfig() (*tls.Config, error) {
	switch {
	case k.TLSKey != "" && k.TLSCert == "":
		return nil, errors.New("-tls-key needs -tls-cert (the certificate the key belongs to)")
	case k.TLSCert != "" && k.TLSKey == "":
		return nil, errors.New("-tls-cert needs -tls-key (the certificate's private key)")
	case !k.TLS && k.TLSCA == "" && k.TLSCert == "":
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if k.TLSCA != "" {
		pem, err := os.ReadFile(k.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-tls-ca %s: no PEM certificate in it", k.TLSCA)
		}
	}
	if k.TLSCert != "" {
		certPEM, err := os.ReadFile(k.TLSCert)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert: %w", err)
		}
		keyPEM, err := os.ReadFile(k.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("-tls-key: %w", err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", k.TLSCert, k.TLSKey, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// ProducerOptions returns the producer options that connect as the flags
// say (none for plaintext without SASL).
func (k *Kafka) ProducerOptions() ([]producer.ConnectOption, error) {
	s, err := k.Security()
	if err != nil {
		return nil, err
	}
	var opts []producer.ConnectOption
	if s.TLS != nil {
		opts = append(opts, producer.WithTLS(s.TLS))
	}
	if s.Mechanism != "" {
		opts = append(opts, producer.WithSASL(s.Mechanism, s.User, s.Password))
	}
	return opts, nil
}

// ConsumerOptions returns the consumer options that connect as the flags
// say (none for plaintext without SASL).
func (k *Kafka) ConsumerOptions() ([]consumer.Option, error) {
	s, err := k.Security()
	if err != nil {
		return nil, err
	}
	var opts []consumer.Option
	if s.TLS != nil {
		opts = append(opts, consumer.WithTLS(s.TLS))
	}
	if s.Mechanism != "" {
		opts = append(opts, consumer.WithSASL(s.Mechanism, s.User, s.Password))
	}
	return opts, nil
}
