package kafkaconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/rightsize/rightsize"
)

// SASL mechanisms the producer and consumer speak.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// Security is how a client proves itself to the brokers and protects its
// connections. The zero value is plaintext without authentication.
type Security struct {
	// TLS, if set, makes every connection TLS with this configuration.
	TLS *tls.Config
	// Mechanism, User and Password authenticate with SASL when Mechanism
	// is set: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism, User, Password string
}

// Opts returns the franz-go options that set s up, or an error naming an
// unknown mechanism or a missing user. The password never appears in an
// error.
func (s Security) Opts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if s.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(s.TLS.Clone()))
	}
	if s.Mechanism == "" {
		if s.User != "" || s.Password != "" {
			return nil, errors.New("a SASL user or password is given without a SASL mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
		return opts, nil
	}
	if s.User == "" {
		return nil, fmt.Errorf("SASL %s needs a user", s.Mechanism)
	}
	switch strings.ToUpper(s.Mechanism) {
	case Plain:
		opts = append(opts, kgo.SASL(plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()))
	case ScramSHA256:
		opts = append(opts, kgo.SASL(scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()))
	case ScramSHA512:
		opts = append(opts, kgo.SASL(scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("unknown SASL mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.Mechanism)
	}
	return opts, nil
}

// AuthError says which mechanism and user the brokers refused. It never
// holds the password.
type AuthError struct {
	Mechanism, User string
	// Hint says what is most likely wrong.
	Hint string
	Err  error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("Kafka refused SASL %s authentication as user %q (%s): %v", e.Mechanism, e.User, e.Hint, e.Err)
}

// Unwrap returns rightsize.ErrAuthentication and the cause.
func (e *AuthError) Unwrap() []error { return []error{rightsize.ErrAuthentication, e.Err} }

// authFailure turns the brokers' refusal of s's credentials into an
// *AuthError; other errors are returned as they are.
func (s Security) authFailure(err error) error {
	if s.Mechanism == "" {
		return scrub(err, s.Password)
	}
	m := strings.ToUpper(s.Mechanism)
	var eof *kgo.ErrFirstReadEOF
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return &AuthError{Mechanism: m, User: s.User, Hint: "wrong user or password?", Err: scrub(err, s.Password)}
	case errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		return &AuthError{Mechanism: m, User: s.User, Hint: "the brokers do not offer " + m + " on this listener", Err: scrub(err, s.Password)}
	case errors.As(err, &eof) && strings.Contains(eof.Error(), "SASL"):
		// Some brokers close the connection instead of answering (the
		// client guesses why; its other guesses, TLS, pass through).
		return &AuthError{Mechanism: m, User: s.User, Hint: "the broker closed the connection: SASL not enabled on this listener, or the credentials refused", Err: scrub(err, s.Password)}
	}
	return scrub(err, s.Password)
}

// scrub makes sure the password cannot leak through an error's text: an
// error that shows it keeps its chain (errors.Is still works) but not its
// text. franz-go never puts a password in an error; this guards what it
// wraps. Passwords under four bytes match too much text to be looked for.
func scrub(err error, password string) error {
	if err == nil || len(password) < 4 || !strings.Contains(err.Error(), password) {
		return err
	}
	return withheld{err}
}

type withheld struct{ err error }

func (w withheld) Error() string { return "(the error's text is withheld: it contained the password)" }
func (w withheld) Unwrap() error { return w.err }
