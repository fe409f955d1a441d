package server_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind. The one
// exception is the ticker that sarama's metrics library starts once per
// process and never stops, which the cluster test's Kafka admin client
// brings in (relay/bus/kafka ignores it likewise).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}
