package rightsize

import "errors"

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
