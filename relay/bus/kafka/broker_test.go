//go:build kafka

package kafka

import (
	"os"
	"strings"
	"testing"
)

// brokerAddrs returns the bootstrap addresses of the real broker the tests
// run against (scripts/kafka.sh start; MUTUAL_TEST_KAFKA=$(scripts/kafka.sh bootstrap)).
func brokerAddrs(tb testing.TB) []string {
	tb.Helper()
	v := os.Getenv("MUTUAL_TEST_KAFKA")
	if v == "" {
		tb.Fatal("MUTUAL_TEST_KAFKA is not set: start a broker with scripts/kafka.sh start and set it to $(scripts/kafka.sh bootstrap)")
	}
	return strings.Split(v, ",")
}

func TestBroker(t *testing.T) {
	testBus(t, openWith(brokerAddrs(t), true))
}

func TestBrokerConformance(t *testing.T) {
	conformance(t, brokerAddrs(t), true)
}

func TestBrokerConsumerCrash(t *testing.T) {
	testConsumerCrash(t, brokerAddrs(t), true)
}
