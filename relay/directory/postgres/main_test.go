package postgres

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: every pool
// and connection must be closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
