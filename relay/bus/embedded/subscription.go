package embedded

import (
	"context"
	"sync"

	"github.com/mutualcoop/mutual/relay/bus"
)

// subscription reads one partition. It owns no goroutine: Next reads what
// is durable and, at the end of the log, waits on the partition's notify
// channel, which the writer closes after each sync.
type subscription struct {
	p *partition

	mu     sync.Mutex // one Next at a time
	offset int64
	hint   readHint

	closeOnce sync.Once
	closed    chan struct{}
}

func newSubscription(p *partition, offset int64) *subscription {
	return &subscription{p: p, offset: offset, hint: readHint{base: -1}, closed: make(chan struct{})}
}

// Next returns the next records, waiting for them if needed. At most
// Config.MaxBatchRecords records or about Config.MaxBatchBytes bytes are
// returned. If retention has removed the next record, it returns
// bus.ErrOutOfRange. Key and Value of the records are the caller's.
func (s *subscription) Next(ctx context.Context) ([]bus.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	done := s.p.b.done
	for {
		select {
		case <-s.closed:
			return nil, bus.ErrClosed
		case <-done:
			return nil, bus.ErrClosed
		default:
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		recs, wait, err := s.p.read(s.offset, &s.hint)
		if err != nil {
			return nil, err
		}
		if len(recs) > 0 {
			s.offset = recs[len(recs)-1].Offset + 1
			return recs, nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.closed:
			return nil, bus.ErrClosed
		case <-done:
			return nil, bus.ErrClosed
		}
	}
}

// Close ends the subscription; a Next in progress returns bus.ErrClosed.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}
