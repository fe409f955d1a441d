package kafka

import (
	"context"
	"sync"

	"github.com/mutualcoop/mutual/relay/bus"
)

// subscription is a reader on one partition. Its fetcher appends records to
// buf; Next takes them. When buf holds Config.SubscriptionBuffer records the
// partition is parked (see fetcher) until Next has taken half of them.
type subscription struct {
	r  *reader
	tp topicPartition

	mu     sync.Mutex
	buf    []bus.Record
	want   int64 // offset of the next record to append to buf
	full   bool  // buf reached the limit; cleared below half of it
	err    error // set once: the subscription has ended
	closed bool
	sig    chan struct{} // closed and replaced when buf or err changes
}

var _ bus.Subscription = (*subscription)(nil)

// Next returns the buffered records in offset order, waiting for some if
// there are none.
func (s *subscription) Next(ctx context.Context) ([]bus.Record, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, bus.ErrClosed
		}
		if n := len(s.buf); n > 0 {
			n = min(n, s.r.cfg.BatchSize)
			out := make([]bus.Record, n)
			copy(out, s.buf)
			clear(s.buf[:n])
			s.buf = s.buf[n:]
			resume := s.full && len(s.buf) <= s.r.cfg.SubscriptionBuffer/2
			if resume {
				s.full = false
			}
			s.mu.Unlock()
			if resume {
				s.r.wakeOwner(s.tp)
			}
			return out, nil
		}
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return nil, err
		}
		sig := s.sig
		s.mu.Unlock()
		select {
		case <-sig:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Close ends the subscription. Its partition stays in the broker's fetch
// session, parked, until the session is next rebuilt.
func (s *subscription) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.buf = nil
	s.signalLocked()
	s.mu.Unlock()
	s.r.detach(s)
	return nil
}

// fail ends the subscription with err once the buffered records are read.
func (s *subscription) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.signalLocked()
	}
}

func (s *subscription) signalLocked() {
	close(s.sig)
	s.sig = make(chan struct{})
}

// parked reports whether the fetcher should stop reading for s.
func (s *subscription) parked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.full || s.err != nil || s.closed
}
