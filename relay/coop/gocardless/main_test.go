package gocardless_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the
// stand-in's webhook sender and its server's, and the HTTP clients'
// connections, must have ended once the servers are closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
