package store_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the stores'
// pools and iterators must be closed by Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
