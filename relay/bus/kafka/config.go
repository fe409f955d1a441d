package kafka

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// Defaults for Config.
const (
	DefaultInPartitions       = 12
	DefaultClientID           = "mutual"
	DefaultVersion            = "4.1.0"
	DefaultFetchMaxWait       = 100 * time.Millisecond
	DefaultFetchMaxBytes      = 16 << 20
	DefaultPartitionMaxBytes  = 1 << 20
	DefaultSubscriptionBuffer = 2048
	DefaultBatchSize          = 500
	DefaultCreateTimeout      = 30 * time.Second
	DefaultDialTimeout        = 10 * time.Second
	DefaultSessionTimeout     = 10 * time.Second
	DefaultProduceRetries     = 10
)

// Config configures a Kafka bus. The zero value of every field but Brokers
// means its default.
type Config struct {
	// Brokers lists bootstrap addresses (host:port).
	Brokers []string
	// ClientID names this process to the brokers (their logs and quotas).
	ClientID string
	// Version is the Kafka version the brokers run, such as "4.1.0". Request
	// versions are further narrowed per broker by ApiVersions.
	Version string
	// TopicPrefix is put before every topic and consumer group name on the
	// brokers, so several deployments (or test runs) can share a cluster.
	// Records carry the names without it.
	TopicPrefix string

	// InPartitions is the number of partitions EnsureInTopic gives bus.InTopic.
	InPartitions int32
	// ReplicationFactor for new topics; 0 means the broker's
	// default.replication.factor.
	ReplicationFactor int16
	// TopicConfig is added to the configuration of every topic this bus
	// creates (for example retention.ms). message.timestamp.type is always
	// LogAppendTime so Record.Time is when the broker appended the record.
	TopicConfig map[string]string
	// CreateTimeout bounds how long CreateTopic waits for a new topic's
	// metadata to become visible.
	CreateTimeout time.Duration

	// FetchMaxWait is how long a broker holds a subscription fetch when no
	// subscribed partition has new records. It also bounds how long a new
	// subscription waits before its partition joins the fetch.
	FetchMaxWait time.Duration
	// FetchMaxBytes caps one fetch response; PartitionMaxBytes caps one
	// partition's share of it (a larger record batch is still returned whole).
	FetchMaxBytes     int32
	PartitionMaxBytes int32
	// SubscriptionBuffer is how many records a subscription buffers ahead of
	// Next before its partition stops being fetched.
	SubscriptionBuffer int
	// BatchSize caps the records returned by one Subscription.Next and the
	// size of one Consume batch.
	BatchSize int

	// DialTimeout bounds connecting to a broker.
	DialTimeout time.Duration
	// SessionTimeout is the consumer-group session timeout: how long after a
	// consuming process dies its partitions move to another member.
	SessionTimeout time.Duration
	// ProduceRetries is how often the producer retries a failed request.
	ProduceRetries int
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	if c.Version == "" {
		c.Version = DefaultVersion
	}
	if c.InPartitions == 0 {
		c.InPartitions = DefaultInPartitions
	}
	if c.CreateTimeout == 0 {
		c.CreateTimeout = DefaultCreateTimeout
	}
	if c.FetchMaxWait == 0 {
		c.FetchMaxWait = DefaultFetchMaxWait
	}
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if c.PartitionMaxBytes == 0 {
		c.PartitionMaxBytes = DefaultPartitionMaxBytes
	}
	if c.SubscriptionBuffer == 0 {
		c.SubscriptionBuffer = DefaultSubscriptionBuffer
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.ProduceRetries == 0 {
		c.ProduceRetries = DefaultProduceRetries
	}
	return c
}

// Validate reports the first problem with c (after defaults are applied).
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case len(c.Brokers) == 0:
		return errors.New("kafka config: no brokers")
	case c.InPartitions < 1:
		return errors.New("kafka config: InPartitions must be at least 1")
	case c.ReplicationFactor < 0:
		return errors.New("kafka config: ReplicationFactor must not be negative")
	case c.CreateTimeout < 0, c.FetchMaxWait < 0, c.DialTimeout < 0, c.SessionTimeout < 0:
		return errors.New("kafka config: durations must not be negative")
	case c.FetchMaxWait > 10*time.Second:
		return errors.New("kafka config: FetchMaxWait above 10s delays new subscriptions too long")
	case c.FetchMaxBytes < 1024, c.PartitionMaxBytes < 1024:
		return errors.New("kafka config: fetch sizes must be at least 1 KiB")
	case c.PartitionMaxBytes > c.FetchMaxBytes:
		return errors.New("kafka config: PartitionMaxBytes exceeds FetchMaxBytes")
	case c.SubscriptionBuffer < 1, c.BatchSize < 1:
		return errors.New("kafka config: SubscriptionBuffer and BatchSize must be positive")
	case c.ProduceRetries < 1:
		return errors.New("kafka config: ProduceRetries must be positive")
	}
	for _, b := range c.Brokers {
		if b == "" {
			return errors.New("kafka config: empty broker address")
		}
	}
	v, err := sarama.ParseKafkaVersion(c.Version)
	if err != nil {
		return fmt.Errorf("kafka config: version: %w", err)
	}
	if !v.IsAtLeast(sarama.V2_8_0_0) {
		return fmt.Errorf("kafka config: version %s: need 2.8 or newer (Fetch v12, Metadata v11)", c.Version)
	}
	for k := range c.TopicConfig {
		if k == "message.timestamp.type" {
			return errors.New("kafka config: message.timestamp.type is fixed to LogAppendTime")
		}
	}
	return nil
}

// sarama returns the base sarama configuration shared by every client of
// the bus: no automatic topic creation, metadata only for the topics used.
func (c Config) sarama() *sarama.Config {
	v, _ := sarama.ParseKafkaVersion(c.Version) // checked by Validate
	sc := sarama.NewConfig()
	sc.ClientID = c.ClientID
	sc.Version = v
	sc.ApiVersionsRequest = true
	sc.Net.DialTimeout = c.DialTimeout
	// A subscription fetch is held by the broker for up to FetchMaxWait.
	sc.Net.ReadTimeout = 30*time.Second + c.FetchMaxWait
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Metadata.Full = false
	sc.Metadata.Retry.Max = 3
	sc.Metadata.Retry.Backoff = 100 * time.Millisecond
	sc.Consumer.Fetch.Default = c.PartitionMaxBytes
	sc.Consumer.Fetch.Max = c.FetchMaxBytes
	sc.Consumer.MaxWaitTime = c.FetchMaxWait
	return sc
}

// producerConfig is the idempotent, acks=all producer's configuration.
func (c Config) producerConfig() *sarama.Config {
	sc := c.sarama()
	sc.ClientID = c.ClientID + "-producer"
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Retry.Max = c.ProduceRetries
	sc.Producer.Retry.Backoff = 100 * time.Millisecond
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Partitioner = sarama.NewHashPartitioner
	sc.Producer.Compression = sarama.CompressionNone // ciphertext does not compress
	return sc
}

// groupConfig is a consumer group member's configuration: offsets are
// committed by hand after each handled batch, never automatically.
func (c Config) groupConfig() *sarama.Config {
	sc := c.sarama()
	sc.ClientID = c.ClientID + "-group"
	sc.Consumer.Offsets.AutoCommit.Enable = false
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Return.Errors = false
	sc.Consumer.Group.Session.Timeout = c.SessionTimeout
	sc.Consumer.Group.Heartbeat.Interval = c.SessionTimeout / 3
	sc.ChannelBufferSize = c.BatchSize
	return sc
}
