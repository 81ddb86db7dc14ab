package kafkaconn

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/rightsize/rightsize"
)

func TestScrubKeepsTheChainNotTheText(t *testing.T) {
	cause := errors.New("dial failed")
	leaky := fmt.Errorf("hello s3cret-pw: %w", cause)
	err := scrub(leaky, "s3cret-pw")
	if strings.Contains(err.Error(), "s3cret-pw") || !errors.Is(err, cause) {
		t.Errorf("scrub: %q (Is cause: %v)", err, errors.Is(err, cause))
	}
	// A short password matches ordinary text: the error is left alone.
	plain := errors.New("invalid username or password")
	if got := scrub(plain, "p"); got != plain {
		t.Errorf("scrub with a one-letter password changed %q into %q", plain, got)
	}
}

func TestAuthFailureNamesMechanismAndUser(t *testing.T) {
	s := Security{Mechanism: "scram-sha-512", User: "bob", Password: "hunter22"}
	err := s.authFailure(fmt.Errorf("sasl: %w", kerr.SaslAuthenticationFailed))
	if !errors.Is(err, rightsize.ErrAuthentication) || !strings.Contains(err.Error(), `SCRAM-SHA-512`) || !strings.Contains(err.Error(), `"bob"`) || strings.Contains(err.Error(), "hunter22") {
		t.Errorf("authFailure: %v", err)
	}
	if err := s.authFailure(errors.New("dial tcp: refused")); errors.Is(err, rightsize.ErrAuthentication) {
		t.Errorf("a refused dial reported as an authentication failure: %v", err)
	}
}
