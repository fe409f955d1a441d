package kafka

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/IBM/sarama"

	"github.com/mutualcoop/mutual/relay/bus"
)

// fetcher reads every subscribed partition led by one broker with a single
// fetch request at a time on its own connection, using an incremental fetch
// session (KIP-227): after one full request naming every partition, each
// request names only the partitions whose fetch offset changed, and each
// response carries only the partitions with news. A partition added while a
// request is outstanding joins the next request, at most Config.FetchMaxWait
// later.
//
// sarama's FetchRequest cannot name partitions to forget, so partitions
// leave the session only when it is rebuilt by a full request; until then a
// partition nobody reads is parked at its high watermark, where the broker
// sends it only when new records arrive.
type fetcher struct {
	r    *reader
	id   int32
	wake chan struct{}

	// guarded by r.mu
	parts    map[topicPartition]*part
	needFull bool

	// owned by run
	conn    *sarama.Broker
	session int32
	epoch   int32
	fails   int
}

func newFetcher(r *reader, id int32) *fetcher {
	return &fetcher{r: r, id: id, wake: make(chan struct{}, 1), parts: make(map[topicPartition]*part)}
}

// poke wakes the fetcher if it is idle or backing off.
func (f *fetcher) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) run() {
	defer f.closeConn()
	for {
		select {
		case <-f.r.done:
			return
		default:
		}
		req := f.build()
		if req == nil {
			f.endSession()
			select {
			case <-f.wake:
				continue
			case <-f.r.done:
				return
			}
		}
		resp, err := f.fetch(req)
		if err != nil {
			f.lost()
			if !f.backoff() {
				return
			}
			continue
		}
		f.fails = 0
		f.process(resp)
	}
}

// fetch sends req on the fetcher's own connection, opening it if needed.
func (f *fetcher) fetch(req *sarama.FetchRequest) (*sarama.FetchResponse, error) {
	if f.conn == nil {
		f.r.mu.Lock()
		addr := f.r.addrs[f.id]
		f.r.mu.Unlock()
		if addr == "" {
			return nil, sarama.ErrBrokerNotFound
		}
		c := sarama.NewBroker(addr)
		if err := c.Open(f.r.conf); err != nil {
			return nil, err
		}
		f.conn = c
	}
	resp, err := f.conn.Fetch(req)
	if err != nil {
		return nil, fmt.Errorf("fetch from broker %d: %w", f.id, err)
	}
	return resp, nil
}

func (f *fetcher) closeConn() {
	if f.conn != nil {
		_ = f.conn.Close()
		f.conn = nil
	}
}

// lost handles a failed connection: the session is gone with it, and every
// partition goes back to the resolver, which finds its leader again.
func (f *fetcher) lost() {
	f.closeConn()
	f.session, f.epoch = 0, 0
	f.fails++
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	for _, p := range f.parts {
		f.r.unhomeLocked(p)
	}
}

// backoff waits before reconnecting; false means the reader is closing.
func (f *fetcher) backoff() bool {
	d := min(50*time.Millisecond<<min(f.fails, 7), 5*time.Second)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-f.r.done:
		return false
	}
}

// endSession closes the broker's session when there is nothing to read.
func (f *fetcher) endSession() {
	if f.session == 0 || f.conn == nil {
		f.session, f.epoch = 0, 0
		return
	}
	req := f.newRequest()
	req.MaxWaitTime = 0
	req.SessionID, req.SessionEpoch = f.session, -1 // final epoch: close it
	f.session, f.epoch = 0, 0
	if _, err := f.conn.Fetch(req); err != nil {
		f.closeConn()
	}
}

func (f *fetcher) newRequest() *sarama.FetchRequest {
	return &sarama.FetchRequest{
		Version:     12,
		MaxWaitTime: int32(f.r.cfg.FetchMaxWait / time.Millisecond),
		MinBytes:    1,
		MaxBytes:    f.r.cfg.FetchMaxBytes,
		Isolation:   sarama.ReadUncommitted,
	}
}

// build makes the next request, or returns nil if there is nothing to read.
func (f *fetcher) build() *sarama.FetchRequest {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	live := 0
	for _, p := range f.parts {
		if len(p.subs) > 0 {
			live++
		}
	}
	stale := len(f.parts) - live
	full := f.session == 0 || f.needFull || live == 0 || (stale > 64 && stale > live/4)
	req := f.newRequest()
	if full {
		for _, p := range f.parts {
			if len(p.subs) == 0 {
				f.r.dropLocked(p)
				continue
			}
			p.inSession = false
		}
		if len(f.parts) == 0 {
			return nil
		}
		f.needFull = false
		req.SessionID, req.SessionEpoch = f.session, 0 // closes the old session, opens a new one
		f.epoch = 0
	} else {
		req.SessionID, req.SessionEpoch = f.session, f.epoch
	}
	for _, p := range f.parts {
		off := p.fetchOffset()
		if !p.inSession || off != p.sessOffset {
			req.AddBlock(p.tp.topic, p.tp.partition, off, p.maxBytes, -1)
			p.inSession, p.sessOffset = true, off
		}
	}
	return req
}

// fetchOffset is where the partition should be read from: the lowest offset
// a subscription still wants, or, parked, the high watermark.
func (p *part) fetchOffset() int64 {
	off := int64(-1)
	for _, s := range p.subs {
		if s.parked() {
			return p.parkOffset()
		}
		s.mu.Lock()
		w := s.want
		s.mu.Unlock()
		if off < 0 || w < off {
			off = w
		}
	}
	if off < 0 {
		return p.parkOffset()
	}
	return off
}

func (p *part) parkOffset() int64 {
	if p.hw >= 0 {
		return p.hw
	}
	return p.sessOffset
}

// process applies one response: session bookkeeping, then each partition.
func (f *fetcher) process(resp *sarama.FetchResponse) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if resp.ErrorCode != 0 {
		// FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH and the
		// like: start a new session.
		f.session, f.epoch = 0, 0
		for _, p := range f.parts {
			p.inSession = false
		}
		return
	}
	f.session = resp.SessionID
	if f.session != 0 {
		if f.epoch == math.MaxInt32 {
			f.epoch = 1
		} else {
			f.epoch++
		}
	}
	for topic, blocks := range resp.Blocks {
		for partition, blk := range blocks {
			p := f.parts[topicPartition{topic, partition}]
			if p == nil || !p.inSession {
				continue
			}
			f.processBlock(p, blk)
		}
	}
}

func (f *fetcher) processBlock(p *part, blk *sarama.FetchResponseBlock) {
	switch {
	case errors.Is(blk.Err, sarama.ErrNoError):
	case errors.Is(blk.Err, sarama.ErrOffsetOutOfRange):
		f.needFull = true
		f.r.failLocked(p, fmt.Errorf("fetch %s/%d: %w", p.tp.topic, p.tp.partition, bus.ErrOutOfRange))
		return
	case isLeaderErr(blk.Err), errors.Is(blk.Err, sarama.ErrUnknownTopicOrPartition):
		f.needFull = true
		f.r.forgetLeaderLocked(p.tp.topic)
		f.r.unhomeLocked(p)
		return
	default:
		f.needFull = true
		f.r.failLocked(p, fmt.Errorf("fetch %s/%d: %w", p.tp.topic, p.tp.partition, blk.Err))
		return
	}
	if blk.HighWaterMarkOffset >= 0 {
		p.hw = blk.HighWaterMarkOffset
	}
	if len(p.subs) == 0 {
		return
	}
	// Records start at p.sessOffset: only subscriptions that want from
	// there on can take them without a gap.
	complete := false
	for _, rs := range blk.RecordsSet {
		batch := rs.RecordBatch
		if batch == nil || batch.PartialTrailingRecord {
			continue
		}
		complete = true
		next := batch.LastOffset() + 1
		var recs []bus.Record
		if !batch.Control {
			recs = make([]bus.Record, 0, len(batch.Records))
			for _, rec := range batch.Records {
				off := batch.FirstOffset + rec.OffsetDelta
				if off < p.sessOffset {
					continue
				}
				ts := batch.FirstTimestamp.Add(rec.TimestampDelta)
				if batch.LogAppendTime {
					ts = batch.MaxTimestamp
				}
				recs = append(recs, bus.Record{
					Topic: p.tp.topic[len(f.r.cfg.TopicPrefix):], Partition: p.tp.partition, Offset: off,
					Key: rec.Key, Value: rec.Value, Time: ts,
				})
			}
		}
		for _, s := range p.subs {
			s.deliver(p.sessOffset, recs, next, f.r.cfg.SubscriptionBuffer)
		}
	}
	switch {
	case complete:
		p.maxBytes = f.r.cfg.PartitionMaxBytes
	case blk.Partial:
		// A record batch larger than maxBytes: ask for more next time.
		p.maxBytes = min(p.maxBytes*2, f.r.cfg.FetchMaxBytes)
	}
}

// deliver appends the records of one batch that s has not seen, if s reads
// contiguously from from, and moves s past the batch (next).
func (s *subscription) deliver(from int64, recs []bus.Record, next int64, limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.err != nil || s.want < from || s.want >= next {
		return
	}
	n := len(s.buf)
	for _, rec := range recs {
		if rec.Offset >= s.want {
			s.buf = append(s.buf, rec)
		}
	}
	s.want = next
	if len(s.buf) >= limit {
		s.full = true
	}
	if len(s.buf) > n {
		s.signalLocked()
	}
}
