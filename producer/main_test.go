package producer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The publisher and the sampling loop start goroutines (the Kafka client's
// among them); none may outlive Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
