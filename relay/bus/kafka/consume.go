package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/mutualcoop/mutual/relay/bus"
)

// Consume reads every partition of topic as a member of consumer group
// group. Each call has its own client, so several members may run in one
// process. A batch's offset is committed (MarkOffset, then a synchronous
// Commit; automatic commits are off) only after handle returns nil for it;
// when handle fails, Consume stops and returns that error, and the batch is
// delivered again to whichever member reads the partition next.
func (b *Bus) Consume(ctx context.Context, group, topic string, handle func(ctx context.Context, batch []bus.Record) error) error {
	if group == "" {
		return errors.New("consume: empty group")
	}
	if !b.startConsumer() {
		return bus.ErrClosed
	}
	defer b.consumers.Done()
	name := topic
	topic = b.cfg.TopicPrefix + topic
	group = b.cfg.TopicPrefix + group
	// sarama would retry a missing topic for a while; ask once first.
	resp, err := b.metadata([]string{topic})
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	for _, t := range resp.Topics {
		if t.Name == topic && !errors.Is(t.Err, sarama.ErrNoError) {
			return fmt.Errorf("consume %s: %w", name, mapErr(t.Err))
		}
	}

	client, err := sarama.NewClient(b.cfg.Brokers, b.cfg.groupConfig())
	if err != nil {
		return fmt.Errorf("consume: connect: %w", err)
	}
	defer client.Close()
	cg, err := sarama.NewConsumerGroupFromClient(group, client)
	if err != nil {
		return fmt.Errorf("consume: join group: %w", err)
	}
	defer cg.Close()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	h := &groupHandler{ctx: ctx, cancel: cancel, handle: handle, max: b.cfg.BatchSize, prefix: len(b.cfg.TopicPrefix)}

	// Close ends the session too.
	closed := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(closed)
	wg.Go(func() {
		select {
		case <-b.closing:
			cancel()
		case <-closed:
		}
	})

	for {
		err := cg.Consume(runCtx, []string{topic}, h)
		if herr := h.failure(); herr != nil {
			return herr
		}
		if b.isClosing() {
			return bus.ErrClosed
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("consume %s: %w", name, mapErr(err))
		}
		// A rebalance ended the session: join the next one.
	}
}

// groupHandler hands each claim's messages to handle in batches.
type groupHandler struct {
	ctx    context.Context // the caller's: handle is not cut short by a rebalance
	cancel context.CancelFunc
	handle func(ctx context.Context, batch []bus.Record) error
	max    int
	prefix int // length of Config.TopicPrefix, cut from record topics

	mu  sync.Mutex
	err error
}

func (h *groupHandler) failure() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

func (h *groupHandler) fail(err error) {
	h.mu.Lock()
	if h.err == nil {
		h.err = err
	}
	h.mu.Unlock()
	h.cancel()
}

func (h *groupHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	msgs := claim.Messages()
	for {
		var m *sarama.ConsumerMessage
		var ok bool
		select {
		case m, ok = <-msgs:
			if !ok {
				return nil
			}
		case <-sess.Context().Done():
			return nil
		}
		batch := []bus.Record{h.record(m)}
		last := m
	fill:
		for len(batch) < h.max {
			select {
			case m, ok = <-msgs:
				if !ok {
					break fill
				}
				batch = append(batch, h.record(m))
				last = m
			default:
				break fill
			}
		}
		if h.failure() != nil || sess.Context().Err() != nil {
			// Another claim failed, or the session is ending: hand over
			// nothing more; the batch stays uncommitted.
			return nil
		}
		if err := h.handle(h.ctx, batch); err != nil {
			h.fail(err)
			return err
		}
		sess.MarkOffset(last.Topic, last.Partition, last.Offset+1, "")
		sess.Commit()
	}
}

func (h *groupHandler) record(m *sarama.ConsumerMessage) bus.Record {
	return bus.Record{
		Topic: m.Topic[h.prefix:], Partition: m.Partition, Offset: m.Offset,
		Key: m.Key, Value: m.Value, Time: m.Timestamp,
	}
}
