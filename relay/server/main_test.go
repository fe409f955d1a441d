package server_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind. The one
// exception is the ticker that sarama's metrics library starts once per
// process and never stops, which the cluster test's Kafka admin client
// brings in (relay/bus/kafka ignores it likewise). Started by
// TestBlobMemory, the binary is a relay instead (runBlobChild).
func TestMain(m *testing.M) {
	if sizes := os.Getenv(blobChildEnv); sizes != "" {
		os.Exit(runBlobChild(sizes))
	}
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}
