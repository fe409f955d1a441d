package kafka

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if they leave goroutines behind.
// go-metrics, which sarama uses, runs one ticker goroutine per process.
func TestMain(m *testing.M) {
	if os.Getenv(crashEnv) != "" {
		crashMember()
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}
