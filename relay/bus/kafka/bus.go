package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/mutualcoop/mutual/relay/bus"
)

var _ bus.Bus = (*Bus)(nil)

// Bus is the Kafka implementation of bus.Bus. It holds two long-lived
// sarama clients (control and admin; the producer), connections of its own
// to each broker for subscriptions, and one more client per running
// Consume.
type Bus struct {
	cfg  Config
	base *sarama.Config

	ctl   sarama.Client // metadata and admin requests
	admin sarama.ClusterAdmin
	// topicConfig is given to every new topic: Config.TopicConfig, plus
	// message.timestamp.type=LogAppendTime unless the brokers default to it.
	topicConfig map[string]*string
	prod        *producer
	rd          *reader

	closing   chan struct{} // closed when Close starts
	closeOnce sync.Once
	closeErr  error

	mu        sync.Mutex // orders consumers.Add before Close's Wait
	closed    bool
	consumers sync.WaitGroup // running Consume calls
}

// New connects to the cluster named by cfg.Brokers.
func New(ctx context.Context, cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	b := &Bus{cfg: cfg, base: cfg.sarama(), closing: make(chan struct{})}

	ok := false
	defer func() {
		if !ok {
			b.closeClients()
		}
	}()

	ctlConf := cfg.sarama()
	ctlConf.ClientID = cfg.ClientID + "-control"
	// The control client only asks about topics it names; a missing topic
	// is an answer, not something to retry.
	ctlConf.Metadata.Retry.Max = 0
	ctl, err := sarama.NewClient(cfg.Brokers, ctlConf)
	if err != nil {
		return nil, fmt.Errorf("connect to kafka: %w", err)
	}
	b.ctl = ctl
	// With Metadata.Full off the client learns the controller (which the
	// admin client needs) only from a metadata answer about some topic.
	if err := ctl.RefreshMetadata(bus.InTopic); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return nil, fmt.Errorf("kafka metadata: %w", err)
	}
	admin, err := sarama.NewClusterAdminFromClient(ctl)
	if err != nil {
		return nil, fmt.Errorf("kafka admin: %w", err)
	}
	b.admin = admin
	b.topicConfig = map[string]*string{}
	for k, v := range cfg.TopicConfig {
		b.topicConfig[k] = ptr(v)
	}
	if !b.brokersAppendTime() {
		b.topicConfig["message.timestamp.type"] = ptr("LogAppendTime")
	}

	prod, err := newProducer(cfg)
	if err != nil {
		return nil, err
	}
	b.prod = prod

	b.rd = newReader(cfg, b.base, b.metadata)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ok = true
	return b, nil
}

// brokersAppendTime reports whether the brokers stamp records with
// LogAppendTime by default (log.message.timestamp.type). Then topics need no
// override of their own, which costs the broker memory for every topic.
func (b *Bus) brokersAppendTime() bool {
	brokers := b.ctl.Brokers()
	if len(brokers) == 0 {
		return false
	}
	for _, br := range brokers {
		entries, err := b.admin.DescribeConfig(sarama.ConfigResource{
			Type: sarama.BrokerResource, Name: fmt.Sprint(br.ID()),
			ConfigNames: []string{"log.message.timestamp.type"},
		})
		if err != nil {
			return false
		}
		found := false
		for _, e := range entries {
			if e.Name == "log.message.timestamp.type" {
				found = e.Value == "LogAppendTime"
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// EnsureInTopic creates bus.InTopic with Config.InPartitions partitions if
// it does not exist.
func (b *Bus) EnsureInTopic(ctx context.Context) error {
	return b.CreateTopic(ctx, bus.InTopic, b.cfg.InPartitions)
}

// CreateTopic creates topic through the cluster's admin API and returns once
// the metadata shows a leader for every partition and each leader answers
// for its partition. A topic that already exists is not an error (whatever
// its partition count).
func (b *Bus) CreateTopic(ctx context.Context, topic string, partitions int32) error {
	if b.isClosing() {
		return bus.ErrClosed
	}
	if partitions < 1 {
		return fmt.Errorf("create topic: %d partitions", partitions)
	}
	if topic == "" {
		return errors.New("create topic: empty name")
	}
	topic = b.cfg.TopicPrefix + topic
	rf := b.cfg.ReplicationFactor
	if rf == 0 {
		rf = -1 // the broker's default.replication.factor
	}
	detail := &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: rf, ConfigEntries: b.topicConfig}

	if err := ctx.Err(); err != nil {
		return err
	}
	// The admin call is bounded by the admin client's timeout and retries.
	if err := b.admin.CreateTopic(topic, detail, false); err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("create topic: %w", err)
	}
	return b.waitTopic(ctx, topic)
}

// waitTopic polls until topic has a leader for every partition in the
// metadata and each leader answers for its partition: in KRaft a broker
// publishes metadata a moment before its replica manager takes the
// partition on.
func (b *Bus) waitTopic(ctx context.Context, topic string) error {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.CreateTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := b.metadata([]string{topic})
		if err == nil {
			if n := topicReady(resp, topic); n > 0 {
				if err = b.leadersServe(ctx, topic, n); err == nil {
					return nil
				}
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("create topic: wait for leaders: %w", err)
		case <-b.closing:
			return bus.ErrClosed
		}
	}
}

// leadersServe asks each partition's leader for its offsets.
func (b *Bus) leadersServe(ctx context.Context, topic string, partitions int32) error {
	errs := make([]error, partitions)
	var wg sync.WaitGroup
	for p := range partitions {
		wg.Go(func() { _, errs[p] = b.rd.resolve(ctx, topic, p) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// topicReady returns the number of partitions of topic if every one has a
// leader, else 0.
func topicReady(resp *sarama.MetadataResponse, topic string) int32 {
	for _, t := range resp.Topics {
		if t.Name != topic {
			continue
		}
		if !errors.Is(t.Err, sarama.ErrNoError) {
			return 0
		}
		for _, p := range t.Partitions {
			if !errors.Is(p.Err, sarama.ErrNoError) || p.Leader < 0 {
				return 0
			}
		}
		return int32(len(t.Partitions))
	}
	return 0
}

// metadata asks one broker about topics (never about all topics) without
// sarama's retries, trying each known broker once.
func (b *Bus) metadata(topics []string) (*sarama.MetadataResponse, error) {
	if len(topics) == 0 {
		return nil, errors.New("metadata: no topics")
	}
	var lastErr error
	for range 3 {
		br := b.ctl.LeastLoadedBroker()
		if br == nil {
			break
		}
		req := sarama.NewMetadataRequest(b.base.Version, topics)
		req.AllowAutoTopicCreation = false
		resp, err := br.GetMetadata(req)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		_ = br.Close() // reconnects on next use
	}
	if lastErr == nil {
		lastErr = sarama.ErrOutOfBrokers
	}
	return nil, fmt.Errorf("metadata: %w", lastErr)
}

// Append produces msgs with the idempotent producer and returns once Kafka
// has acknowledged every one of them from all in-sync replicas.
func (b *Bus) Append(ctx context.Context, msgs ...bus.Message) error {
	if b.isClosing() {
		return bus.ErrClosed
	}
	return b.prod.append(ctx, b.closing, b.cfg.TopicPrefix, msgs)
}

// Subscribe reads one partition from offset onward. See the package
// documentation for how many subscriptions share fetches.
func (b *Bus) Subscribe(ctx context.Context, topic string, partition int32, offset int64) (bus.Subscription, error) {
	if b.isClosing() {
		return nil, bus.ErrClosed
	}
	s, err := b.rd.subscribe(ctx, b.cfg.TopicPrefix+topic, partition, offset)
	if err != nil {
		return nil, err // not a nil *subscription in a non-nil interface
	}
	return s, nil
}

// Bounds returns the oldest retained offset and the next offset to be
// written of one partition. Concurrent calls share ListOffsets requests.
func (b *Bus) Bounds(ctx context.Context, topic string, partition int32) (oldest, next int64, err error) {
	if b.isClosing() {
		return 0, 0, bus.ErrClosed
	}
	res, err := b.rd.resolve(ctx, b.cfg.TopicPrefix+topic, partition)
	if err != nil {
		return 0, 0, fmt.Errorf("bounds: %w", err)
	}
	return res.oldest, res.next, nil
}

// Close stops every subscription and running Consume, waits for them, and
// closes the clients. Appends not yet acknowledged fail with bus.ErrClosed.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		close(b.closing)
		b.mu.Unlock()
		b.consumers.Wait()
		b.closeErr = b.closeClients()
	})
	return b.closeErr
}

func (b *Bus) closeClients() error {
	var errs []error
	if b.rd != nil {
		b.rd.close()
	}
	if b.prod != nil {
		errs = append(errs, b.prod.close())
	}
	if b.admin != nil {
		errs = append(errs, b.admin.Close()) // closes b.ctl
	} else if b.ctl != nil {
		errs = append(errs, b.ctl.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close kafka bus: %w", err)
	}
	return nil
}

// startConsumer registers a running Consume; false once Close has begun.
func (b *Bus) startConsumer() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.consumers.Add(1)
	return true
}

func (b *Bus) isClosing() bool {
	select {
	case <-b.closing:
		return true
	default:
		return false
	}
}

func ptr[T any](v T) *T { return &v }

// mapErr turns sarama's errors into the bus's sentinels where callers
// branch on them.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sarama.ErrUnknownTopicOrPartition), errors.Is(err, sarama.ErrInvalidTopic):
		return fmt.Errorf("%w: %w", bus.ErrUnknownTopic, err)
	case errors.Is(err, sarama.ErrOffsetOutOfRange):
		return fmt.Errorf("%w: %w", bus.ErrOutOfRange, err)
	case errors.Is(err, sarama.ErrClosedClient), errors.Is(err, sarama.ErrShuttingDown):
		return fmt.Errorf("%w: %w", bus.ErrClosed, err)
	}
	return err
}
