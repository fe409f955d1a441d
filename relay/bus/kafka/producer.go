package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/mutualcoop/mutual/relay/bus"
)

// producer is the process's one idempotent producer. Append calls feed its
// input concurrently, so records from many callers share produce requests;
// each call waits for the acknowledgements of its own records, found by the
// *pending each ProducerMessage carries in Metadata.
type producer struct {
	client sarama.Client
	ap     sarama.AsyncProducer

	mu     sync.RWMutex // held for reading while feeding ap.Input()
	closed bool
	wg     sync.WaitGroup // the acknowledgement loop
}

// pending is one Append call waiting for its records.
type pending struct {
	mu        sync.Mutex
	remaining int
	err       error
	done      chan struct{}
}

func (p *pending) ack(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil && p.err == nil {
		p.err = err
	}
	p.remaining--
	if p.remaining == 0 {
		close(p.done)
	}
}

func newProducer(cfg Config) (*producer, error) {
	client, err := sarama.NewClient(cfg.Brokers, cfg.producerConfig())
	if err != nil {
		return nil, fmt.Errorf("producer client: %w", err)
	}
	ap, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("producer: %w", err)
	}
	p := &producer{client: client, ap: ap}
	p.wg.Go(p.acks)
	return p, nil
}

// acks routes every success and failure to its Append call until the
// producer is closed and both channels are drained.
func (p *producer) acks() {
	succ, errs := p.ap.Successes(), p.ap.Errors()
	for succ != nil || errs != nil {
		select {
		case m, ok := <-succ:
			if !ok {
				succ = nil
				continue
			}
			m.Metadata.(*pending).ack(nil)
		case e, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			e.Msg.Metadata.(*pending).ack(mapErr(e.Err))
		}
	}
}

func (p *producer) append(ctx context.Context, closing <-chan struct{}, prefix string, msgs []bus.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	for _, m := range msgs {
		if m.Topic == "" {
			return fmt.Errorf("append: %w: empty topic name", bus.ErrUnknownTopic)
		}
	}
	pend := &pending{remaining: len(msgs), done: make(chan struct{})}
	if err := p.feed(ctx, closing, pend, prefix, msgs); err != nil {
		return err
	}
	select {
	case <-pend.done:
		if pend.err != nil {
			return fmt.Errorf("append: %w", pend.err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closing:
		return bus.ErrClosed
	}
}

// feed hands msgs to the producer in order. Records already handed over
// when ctx ends are still produced; the caller retries and readers drop
// duplicates.
func (p *producer) feed(ctx context.Context, closing <-chan struct{}, pend *pending, prefix string, msgs []bus.Message) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return bus.ErrClosed
	}
	in := p.ap.Input()
	for _, m := range msgs {
		pm := &sarama.ProducerMessage{Topic: prefix + m.Topic, Value: sarama.ByteEncoder(m.Value), Metadata: pend}
		if m.Key != nil {
			pm.Key = sarama.ByteEncoder(m.Key)
		}
		select {
		case in <- pm:
		case <-ctx.Done():
			return ctx.Err()
		case <-closing:
			return bus.ErrClosed
		}
	}
	return nil
}

// close flushes what was handed over, then closes the producer's client.
func (p *producer) close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ap.AsyncClose()
	p.wg.Wait()
	err := p.client.Close()
	if errors.Is(err, sarama.ErrClosedClient) {
		err = nil
	}
	return err
}
