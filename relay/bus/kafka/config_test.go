package kafka

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{Brokers: []string{"127.0.0.1:9092"}}
	tests := []struct {
		name   string
		change func(*Config)
		valid  bool
	}{
		{"defaults", func(*Config) {}, true},
		{"no brokers", func(c *Config) { c.Brokers = nil }, false},
		{"empty broker", func(c *Config) { c.Brokers = []string{""} }, false},
		{"bad version", func(c *Config) { c.Version = "four" }, false},
		{"old version", func(c *Config) { c.Version = "2.1.0" }, false},
		{"newest version", func(c *Config) { c.Version = sarama.MaxVersion.String() }, true},
		{"negative in partitions", func(c *Config) { c.InPartitions = -1 }, false},
		{"negative replication", func(c *Config) { c.ReplicationFactor = -2 }, false},
		{"long fetch wait", func(c *Config) { c.FetchMaxWait = time.Minute }, false},
		{"tiny fetch", func(c *Config) { c.FetchMaxBytes = 10 }, false},
		{"partition above fetch", func(c *Config) { c.PartitionMaxBytes = 2 << 20; c.FetchMaxBytes = 1 << 20 }, false},
		{"negative buffer", func(c *Config) { c.SubscriptionBuffer = -1 }, false},
		{"timestamp type", func(c *Config) { c.TopicConfig = map[string]string{"message.timestamp.type": "CreateTime"} }, false},
		{"retention", func(c *Config) { c.TopicConfig = map[string]string{"retention.ms": "604800000"} }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.change(&c)
			if err := c.Validate(); (err == nil) != tc.valid {
				t.Fatalf("Validate() = %v, want valid %v", err, tc.valid)
			}
		})
	}
}

func TestConfigClients(t *testing.T) {
	c := Config{Brokers: []string{"127.0.0.1:9092"}}.withDefaults()
	base := c.sarama()
	if base.Metadata.Full || base.Metadata.AllowAutoTopicCreation {
		t.Errorf("base client asks for all metadata (%v) or topic creation (%v)", base.Metadata.Full, base.Metadata.AllowAutoTopicCreation)
	}
	if base.Version != sarama.V4_1_0_0 {
		t.Errorf("version %v, want %v", base.Version, sarama.V4_1_0_0)
	}
	p := c.producerConfig()
	if !p.Producer.Idempotent || p.Producer.RequiredAcks != sarama.WaitForAll || p.Net.MaxOpenRequests != 1 ||
		!p.Producer.Return.Successes || !p.Producer.Return.Errors {
		t.Errorf("producer is not idempotent with acks=all and one request in flight")
	}
	if err := p.Validate(); err != nil {
		t.Errorf("producer config: %v", err)
	}
	g := c.groupConfig()
	if g.Consumer.Offsets.AutoCommit.Enable || g.Consumer.Offsets.Initial != sarama.OffsetOldest {
		t.Errorf("group commits automatically or starts at the newest offset")
	}
	if err := g.Validate(); err != nil {
		t.Errorf("group config: %v", err)
	}
}
