package predict_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Fit learns series on goroutines of its own: none may outlive it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
