package rightsize

import (
	"errors"
	"fmt"
	"strings"
)

// ErrPermanent is matched (with errors.Is) by an error that retrying
// cannot fix: the data itself is refused (a sample a store cannot hold, a
// record that will never decode). The consumer moves such records to its
// dead-letter topic and goes on; any other error from a sink is retryable
// (the database is down: back off, resume, lose nothing).
var ErrPermanent = errors.New("permanent error")

// Permanent marks err as permanent: the result matches ErrPermanent and
// still matches, and unwraps to, err. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type permanentError struct{ err error }

func (e permanentError) Error() string   { return e.err.Error() }
func (e permanentError) Unwrap() []error { return []error{e.err, ErrPermanent} }

// IsPermanent reports whether err matches ErrPermanent.
func IsPermanent(err error) bool { return errors.Is(err, ErrPermanent) }

// ErrUnreachable is matched by the error a constructor returns when the
// server it needs does not answer: no Kafka broker (producer.Connect,
// consumer.New) or no database server. The error is an
// *UnreachableError naming the addresses tried.
var ErrUnreachable = errors.New("unreachable")

// UnreachableError says which server did not answer, where, and why.
type UnreachableError struct {
	// What is the kind of server: "Kafka broker", "PostgreSQL".
	What string
	// Addrs are the addresses tried.
	Addrs []string
	Err   error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("no %s reachable at %s: %v", e.What, strings.Join(e.Addrs, ","), e.Err)
}

// Unwrap returns ErrUnreachable and the cause.
func (e *UnreachableError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// ErrAuthentication is matched by the error a constructor returns when a
// server refuses the credentials it was given (Kafka SASL). The error
// names the mechanism and user, never the password.
var ErrAuthentication = errors.New("authentication failed")
