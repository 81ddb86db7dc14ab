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

	"github.com/rightsize/rightsize/broker"
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
	if s.Mechanism, s.Password, err = sasl(k.SASLMechanism, k.SASLUser); err != nil {
		return Security{}, err
	}
	if s.Mechanism != "" {
		s.User = k.SASLUser
	}
	return s, nil
}

// sasl checks the -sasl-mechanism and -sasl-user flags and reads the
// password; mechanism is "" without SASL.
func sasl(mechanismFlag, user string) (mechanism, password string, err error) {
	password = os.Getenv(EnvSASLPassword)
	mechanism = strings.ToUpper(strings.TrimSpace(mechanismFlag))
	switch {
	case mechanism == "" && user != "":
		return "", "", errors.New("-sasl-user needs -sasl-mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
	case mechanism == "" && password != "":
		return "", "", fmt.Errorf("%s is set but -sasl-mechanism is not: give -sasl-mechanism and -sasl-user, or unset it", EnvSASLPassword)
	case mechanism == "":
		return "", "", nil
	case mechanism != kafkaconn.Plain && mechanism != kafkaconn.ScramSHA256 && mechanism != kafkaconn.ScramSHA512:
		return "", "", fmt.Errorf("-sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", mechanismFlag)
	case user == "":
		return "", "", fmt.Errorf("-sasl-mechanism %s needs -sasl-user", mechanism)
	case password == "":
		return "", "", fmt.Errorf("-sasl-mechanism %s needs a password: set %s (there is no flag for it, so that it never shows in ps)", mechanism, EnvSASLPassword)
	}
	return mechanism, password, nil
}

func (k *Kafka) tlsConfig() (*tls.Config, error) {
	if err := pairGiven(k.TLSCert, k.TLSKey); err != nil {
		return nil, err
	}
	if !k.TLS && k.TLSCA == "" && k.TLSCert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if k.TLSCA != "" {
		pool, err := loadPool(k.TLSCA)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	if k.TLSCert != "" {
		pair, err := loadKeyPair(k.TLSCert, k.TLSKey)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// pairGiven checks that -tls-cert and -tls-key come together.
func pairGiven(cert, key string) error {
	switch {
	case key != "" && cert == "":
		return errors.New("-tls-key needs -tls-cert (the certificate the key belongs to)")
	case cert != "" && key == "":
		return errors.New("-tls-cert needs -tls-key (the certificate's private key)")
	}
	return nil
}

// loadPool reads the -tls-ca file.
func loadPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-tls-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-tls-ca %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// loadKeyPair reads the -tls-cert and -tls-key files.
func loadKeyPair(certPath, keyPath string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("-tls-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("-tls-key: %w", err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", certPath, keyPath, err)
	}
	return pair, nil
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

// BrokerSecurity is the security flags of the in-process broker that
// examples/broker serves: the same names as the clients', from the
// server's side.
type BrokerSecurity struct {
	// TLSCert and TLSKey are the broker's certificate and key (PEM
	// files): given, the broker serves TLS only.
	TLSCert, TLSKey string
	// TLSCA, with TLS, requires client certificates signed by the
	// authorities in this PEM file.
	TLSCA string
	// SASLMechanism and SASLUser, given, require SASL and let this user
	// in with the password in RIGHTSIZE_SASL_PASSWORD.
	SASLMechanism, SASLUser string
}

// RegisterBrokerSecurity adds -tls-cert, -tls-key, -tls-ca,
// -sasl-mechanism and -sasl-user, in their broker's meaning, to fs.
func RegisterBrokerSecurity(fs *flag.FlagSet) *BrokerSecurity {
	s := &BrokerSecurity{}
	fs.StringVar(&s.TLSCert, "tls-cert", "", "serve TLS only, with the certificate in this PEM `file` (and -tls-key)")
	fs.StringVar(&s.TLSKey, "tls-key", "", "PEM `file` of the broker certificate's private key")
	fs.StringVar(&s.TLSCA, "tls-ca", "", "with TLS, require client certificates signed by the authorities in this PEM `file`")
	fs.StringVar(&s.SASLMechanism, "sasl-mechanism", "", "require SASL: let -sasl-user in over `mechanism` PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, with the password in "+EnvSASLPassword)
	fs.StringVar(&s.SASLUser, "sasl-user", "", "the SASL `user` to let in")
	return s
}

// Options returns the broker options the flags ask for, reading the files
// and the password. Its errors name the flag and the file at fault, never
// the password.
func (s *BrokerSecurity) Options() ([]broker.Option, error) {
	var opts []broker.Option
	if err := pairGiven(s.TLSCert, s.TLSKey); err != nil {
		return nil, err
	}
	if s.TLSCA != "" && s.TLSCert == "" {
		return nil, errors.New("-tls-ca needs -tls-cert and -tls-key (client certificates are checked over TLS)")
	}
	if s.TLSCert != "" {
		pair, err := loadKeyPair(s.TLSCert, s.TLSKey)
		if err != nil {
			return nil, err
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		if s.TLSCA != "" {
			if cfg.ClientCAs, err = loadPool(s.TLSCA); err != nil {
				return nil, err
			}
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
		opts = append(opts, broker.WithTLS(cfg))
	}
	mechanism, password, err := sasl(s.SASLMechanism, s.SASLUser)
	if err != nil {
		return nil, err
	}
	if mechanism != "" {
		opts = append(opts, broker.WithSASLUser(mechanism, s.SASLUser, password))
	}
	return opts, nil
}

// String describes what the broker asks of its clients, never the
// password: "plaintext", "TLS with client certificates, SASL PLAIN as svc".
func (s *BrokerSecurity) String() string {
	var parts []string
	switch {
	case s.TLSCert != "" && s.TLSCA != "":
		parts = append(parts, "TLS with client certificates")
	case s.TLSCert != "":
		parts = append(parts, "TLS")
	}
	if s.SASLMechanism != "" {
		parts = append(parts, fmt.Sprintf("SASL %s as %s", strings.ToUpper(s.SASLMechanism), s.SASLUser))
	}
	if len(parts) == 0 {
		return "plaintext"
	}
	return strings.Join(parts, ", ")
}
