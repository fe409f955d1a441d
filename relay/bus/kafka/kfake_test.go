package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// startKfake runs an in-process Kafka (franz-go's kfake) for the test.
func startKfake(t *testing.T) []string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatalf("start kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func TestKfake(t *testing.T) {
	testBus(t, openWith(startKfake(t), false))
}

func TestKfakeConformance(t *testing.T) {
	conformance(t, startKfake(t), false)
}
