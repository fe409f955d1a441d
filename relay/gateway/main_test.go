package gateway_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: every
// connection's reader, writer, sender and deliverer, and the offset
// flusher, must have ended once the gateway is shut down.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
