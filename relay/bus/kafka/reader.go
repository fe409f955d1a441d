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

// A topicPartition names one partition.
type topicPartition struct {
	topic     string
	partition int32
}

// reader serves every subscription of the process. It has one resolver
// goroutine, which answers leader and offset questions for many callers with
// one Metadata request and two ListOffsets requests per broker, and one
// fetcher goroutine per broker, which reads all subscribed partitions led by
// that broker through one incremental fetch session.
type reader struct {
	cfg  Config
	conf *sarama.Config
	meta func(topics []string) (*sarama.MetadataResponse, error)

	reqs     chan *resolveReq
	homeWake chan struct{} // a partition lost its broker
	done     chan struct{} // closed by close
	wg       sync.WaitGroup

	mu       sync.Mutex // guards everything below and every part and fetcher's parts
	closed   bool
	parts    map[topicPartition]*part
	homeless map[topicPartition]*part // waiting for a leader
	fetchers map[int32]*fetcher
	addrs    map[int32]string
	leaders  map[string][]int32 // topic → leader of each partition
	ctl      map[int32]*sarama.Broker
}

// part is one subscribed partition: its subscriptions and its place in a
// fetch session. Guarded by reader.mu.
type part struct {
	tp    topicPartition
	owner *fetcher // nil while homeless
	subs  []*subscription

	inSession  bool  // the owner's broker session holds this partition
	sessOffset int64 // the fetch offset the broker session holds
	hw         int64 // last high watermark seen, -1 unknown
	maxBytes   int32
}

func newReader(cfg Config, conf *sarama.Config, meta func([]string) (*sarama.MetadataResponse, error)) *reader {
	r := &reader{
		cfg:      cfg,
		conf:     conf,
		meta:     meta,
		reqs:     make(chan *resolveReq),
		homeWake: make(chan struct{}, 1),
		done:     make(chan struct{}),
		parts:    make(map[topicPartition]*part),
		homeless: make(map[topicPartition]*part),
		fetchers: make(map[int32]*fetcher),
		addrs:    make(map[int32]string),
		leaders:  make(map[string][]int32),
		ctl:      make(map[int32]*sarama.Broker),
	}
	r.wg.Go(r.resolver)
	return r
}

// close ends every subscription with bus.ErrClosed and waits for the
// resolver and fetchers.
func (r *reader) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	for _, p := range r.parts {
		for _, s := range p.subs {
			s.fail(bus.ErrClosed)
		}
		p.subs = nil
	}
	r.mu.Unlock()
	close(r.done)
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, c := range r.ctl {
		_ = c.Close()
		delete(r.ctl, id)
	}
}

// subscribe validates offset against the partition's bounds and attaches a
// new subscription to the partition's fetch.
func (r *reader) subscribe(ctx context.Context, topic string, partition int32, offset int64) (*subscription, error) {
	res, err := r.resolve(ctx, topic, partition)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if offset < res.oldest || offset > res.next {
		return nil, fmt.Errorf("subscribe: offset %d outside [%d, %d]: %w", offset, res.oldest, res.next, bus.ErrOutOfRange)
	}
	tp := topicPartition{topic, partition}
	s := &subscription{r: r, tp: tp, want: offset, sig: make(chan struct{})}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, bus.ErrClosed
	}
	p := r.parts[tp]
	if p == nil {
		p = &part{tp: tp, hw: -1, maxBytes: r.cfg.PartitionMaxBytes}
		r.parts[tp] = p
		r.assignLocked(p, res.leader)
	}
	p.subs = append(p.subs, s)
	owner := p.owner
	r.mu.Unlock()
	if owner != nil {
		owner.poke()
	}
	return s, nil
}

// assignLocked hands p to the fetcher of broker id, starting it if needed.
func (r *reader) assignLocked(p *part, id int32) {
	f := r.fetchers[id]
	if f == nil {
		f = newFetcher(r, id)
		r.fetchers[id] = f
		r.wg.Go(f.run)
	}
	delete(r.homeless, p.tp)
	p.owner = f
	p.inSession = false
	f.parts[p.tp] = p
}

// unhomeLocked takes p from its fetcher and queues it for the resolver,
// which finds its (possibly new) leader.
func (r *reader) unhomeLocked(p *part) {
	if p.owner != nil {
		delete(p.owner.parts, p.tp)
		p.owner = nil
	}
	p.inSession = false
	if len(p.subs) == 0 {
		r.dropLocked(p)
		return
	}
	r.homeless[p.tp] = p
	select {
	case r.homeWake <- struct{}{}:
	default:
	}
}

// dropLocked forgets p entirely.
func (r *reader) dropLocked(p *part) {
	if p.owner != nil {
		delete(p.owner.parts, p.tp)
		p.owner = nil
	}
	delete(r.homeless, p.tp)
	if r.parts[p.tp] == p {
		delete(r.parts, p.tp)
	}
}

// failLocked ends every subscription of p with err and forgets p.
func (r *reader) failLocked(p *part, err error) {
	for _, s := range p.subs {
		s.fail(err)
	}
	p.subs = nil
	if p.owner == nil {
		r.dropLocked(p)
	}
	// A part still owned leaves the broker's session at its owner's next
	// full fetch.
}

// detach removes s from its partition.
func (r *reader) detach(s *subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.parts[s.tp]
	if p == nil {
		return
	}
	for i, x := range p.subs {
		if x == s {
			p.subs = append(p.subs[:i], p.subs[i+1:]...)
			break
		}
	}
	if len(p.subs) == 0 && p.owner == nil {
		r.dropLocked(p)
	}
}

// wakeOwner tells the fetcher of tp that a subscription has room again.
func (r *reader) wakeOwner(tp topicPartition) {
	r.mu.Lock()
	var f *fetcher
	if p := r.parts[tp]; p != nil {
		f = p.owner
	}
	r.mu.Unlock()
	if f != nil {
		f.poke()
	}
}

// Resolution: the leader and the offset bounds of a partition.

type resolveReq struct {
	tp       topicPartition
	attempts int
	res      chan resolveRes // buffered: the resolver never blocks on it
}

type resolveRes struct {
	leader       int32
	oldest, next int64
	err          error
}

func (q *resolveReq) answer(res resolveRes) { q.res <- res }

const (
	maxResolveAttempts = 5
	resolveRetryDelay  = 100 * time.Millisecond
	maxResolveBatch    = 20000
)

// resolve returns the leader and bounds of one partition. Concurrent calls
// are answered together.
func (r *reader) resolve(ctx context.Context, topic string, partition int32) (resolveRes, error) {
	if topic == "" || partition < 0 {
		return resolveRes{}, fmt.Errorf("%w: %q partition %d", bus.ErrUnknownTopic, topic, partition)
	}
	q := &resolveReq{tp: topicPartition{topic, partition}, res: make(chan resolveRes, 1)}
	select {
	case r.reqs <- q:
	case <-ctx.Done():
		return resolveRes{}, ctx.Err()
	case <-r.done:
		return resolveRes{}, bus.ErrClosed
	}
	select {
	case res := <-q.res:
		return res, res.err
	case <-ctx.Done():
		return resolveRes{}, ctx.Err()
	case <-r.done:
		return resolveRes{}, bus.ErrClosed
	}
}

// resolver batches resolution requests: whatever queued while one batch
// was being answered forms the next one.
func (r *reader) resolver() {
	var (
		retry []*resolveReq
		timer *time.Timer
		tick  <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
		for _, q := range retry {
			q.answer(resolveRes{err: bus.ErrClosed})
		}
	}()
	for {
		var batch []*resolveReq
		select {
		case q := <-r.reqs:
			batch = append(batch, q)
		case <-r.homeWake:
		case <-tick:
			batch, retry, tick = retry, nil, nil
		case <-r.done:
			return
		}
	drain:
		for len(batch) < maxResolveBatch {
			select {
			case q := <-r.reqs:
				batch = append(batch, q)
			default:
				break drain
			}
		}
		again, homesLeft := r.resolveBatch(batch)
		retry = append(retry, again...)
		if (len(retry) > 0 || homesLeft) && tick == nil {
			if timer == nil {
				timer = time.NewTimer(resolveRetryDelay)
			} else {
				timer.Reset(resolveRetryDelay)
			}
			tick = timer.C
		}
	}
}

// retryOrFail queues q for another attempt, or answers err when it has had
// enough.
func retryOrFail(q *resolveReq, err error, retry *[]*resolveReq) {
	q.attempts++
	if q.attempts >= maxResolveAttempts {
		q.answer(resolveRes{err: err})
		return
	}
	*retry = append(*retry, q)
}

// resolveBatch answers reqs and rehomes the homeless partitions. It returns
// the requests to try again and whether partitions are still homeless.
func (r *reader) resolveBatch(reqs []*resolveReq) (retry []*resolveReq, homesLeft bool) {
	r.mu.Lock()
	homeless := make([]*part, 0, len(r.homeless))
	for _, p := range r.homeless {
		homeless = append(homeless, p)
	}
	need := make(map[string]bool)
	for _, q := range reqs {
		if ls, ok := r.leaders[q.tp.topic]; !ok || int(q.tp.partition) >= len(ls) || ls[q.tp.partition] < 0 {
			need[q.tp.topic] = true
		}
	}
	for _, p := range homeless {
		need[p.tp.topic] = true // its leader moved: ask again
	}
	r.mu.Unlock()

	unknown := make(map[string]bool)
	var metaErr error
	if len(need) > 0 {
		topics := make([]string, 0, len(need))
		for t := range need {
			topics = append(topics, t)
		}
		resp, err := r.meta(topics)
		if err != nil {
			metaErr = err
		} else {
			r.updateMeta(resp, unknown)
		}
	}

	byLeader := make(map[int32][]*resolveReq)
	r.mu.Lock()
	for _, q := range reqs {
		if unknown[q.tp.topic] {
			q.answer(resolveRes{err: fmt.Errorf("%w: %s", bus.ErrUnknownTopic, q.tp.topic)})
			continue
		}
		ls, ok := r.leaders[q.tp.topic]
		switch {
		case !ok && metaErr != nil:
			retryOrFail(q, metaErr, &retry)
		case !ok || int(q.tp.partition) >= len(ls):
			q.answer(resolveRes{err: fmt.Errorf("%w: %s partition %d", bus.ErrUnknownTopic, q.tp.topic, q.tp.partition)})
		case ls[q.tp.partition] < 0:
			retryOrFail(q, sarama.ErrLeaderNotAvailable, &retry)
		default:
			byLeader[ls[q.tp.partition]] = append(byLeader[ls[q.tp.partition]], q)
		}
	}
	if !r.closed {
		for _, p := range homeless {
			if r.homeless[p.tp] != p {
				continue // dropped meanwhile
			}
			ls, ok := r.leaders[p.tp.topic]
			switch {
			case unknown[p.tp.topic] || (ok && int(p.tp.partition) >= len(ls)):
				r.failLocked(p, fmt.Errorf("%w: %s", bus.ErrUnknownTopic, p.tp.topic))
			case !ok || ls[p.tp.partition] < 0:
				homesLeft = true
			default:
				r.assignLocked(p, ls[p.tp.partition])
				p.owner.poke()
			}
		}
	}
	r.mu.Unlock()

	var (
		wg      sync.WaitGroup
		retryMu sync.Mutex
	)
	for leader, qs := range byLeader {
		wg.Go(func() {
			again := r.listOffsets(leader, qs)
			retryMu.Lock()
			retry = append(retry, again...)
			retryMu.Unlock()
		})
	}
	wg.Wait()
	return retry, homesLeft
}

// updateMeta records brokers and partition leaders from resp, and the
// topics it says do not exist.
func (r *reader) updateMeta(resp *sarama.MetadataResponse, unknown map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range resp.Brokers {
		if r.addrs[b.ID()] != b.Addr() {
			r.addrs[b.ID()] = b.Addr()
			if c := r.ctl[b.ID()]; c != nil {
				_ = c.Close()
				delete(r.ctl, b.ID())
			}
		}
	}
	for _, t := range resp.Topics {
		switch {
		case errors.Is(t.Err, sarama.ErrUnknownTopicOrPartition), errors.Is(t.Err, sarama.ErrInvalidTopic):
			unknown[t.Name] = true
			delete(r.leaders, t.Name)
			continue
		case !errors.Is(t.Err, sarama.ErrNoError) && !errors.Is(t.Err, sarama.ErrLeaderNotAvailable):
			delete(r.leaders, t.Name)
			continue
		}
		ls := make([]int32, len(t.Partitions))
		for i := range ls {
			ls[i] = -1
		}
		for _, p := range t.Partitions {
			if p.ID >= 0 && int(p.ID) < len(ls) && errors.Is(p.Err, sarama.ErrNoError) {
				ls[p.ID] = p.Leader
			}
		}
		r.leaders[t.Name] = ls
	}
}

// forgetLeaderLocked drops the cached leaders of topic.
func (r *reader) forgetLeaderLocked(topic string) { delete(r.leaders, topic) }

// ctlConn returns the connection used for ListOffsets to broker id.
func (r *reader) ctlConn(id int32) (*sarama.Broker, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.ctl[id]; c != nil {
		return c, nil
	}
	addr := r.addrs[id]
	if addr == "" {
		return nil, fmt.Errorf("broker %d: %w", id, sarama.ErrBrokerNotFound)
	}
	c := sarama.NewBroker(addr)
	if err := c.Open(r.conf); err != nil && !errors.Is(err, sarama.ErrAlreadyConnected) {
		return nil, fmt.Errorf("connect to broker %d: %w", id, err)
	}
	r.ctl[id] = c
	return c, nil
}

func (r *reader) dropCtl(id int32, c *sarama.Broker) {
	r.mu.Lock()
	if r.ctl[id] == c {
		delete(r.ctl, id)
	}
	r.mu.Unlock()
	_ = c.Close()
}

// listOffsets answers qs, all led by broker leader, with one ListOffsets
// request for the oldest offsets and one for the next ones.
func (r *reader) listOffsets(leader int32, qs []*resolveReq) (retry []*resolveReq) {
	conn, err := r.ctlConn(leader)
	if err != nil {
		for _, q := range qs {
			retryOrFail(q, err, &retry)
		}
		return retry
	}
	oldestReq := sarama.NewOffsetRequest(r.conf.Version)
	nextReq := sarama.NewOffsetRequest(r.conf.Version)
	for _, q := range qs {
		oldestReq.AddBlock(q.tp.topic, q.tp.partition, sarama.OffsetOldest, 1)
		nextReq.AddBlock(q.tp.topic, q.tp.partition, sarama.OffsetNewest, 1)
	}
	oldest, err := conn.GetAvailableOffsets(oldestReq)
	var next *sarama.OffsetResponse
	if err == nil {
		next, err = conn.GetAvailableOffsets(nextReq)
	}
	if err != nil {
		r.dropCtl(leader, conn)
		for _, q := range qs {
			retryOrFail(q, fmt.Errorf("list offsets: %w", err), &retry)
		}
		return retry
	}
	for _, q := range qs {
		o, oerr := offsetOf(oldest, q.tp)
		n, nerr := offsetOf(next, q.tp)
		err := errors.Join(oerr, nerr)
		switch {
		case err == nil:
			q.answer(resolveRes{leader: leader, oldest: o, next: n})
		case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
			// The topic may be new to this broker, or gone: ask metadata again.
			r.mu.Lock()
			r.forgetLeaderLocked(q.tp.topic)
			r.mu.Unlock()
			retryOrFail(q, mapErr(err), &retry)
		case isLeaderErr(err):
			r.mu.Lock()
			r.forgetLeaderLocked(q.tp.topic)
			r.mu.Unlock()
			retryOrFail(q, err, &retry)
		default:
			q.answer(resolveRes{err: fmt.Errorf("list offsets: %w", err)})
		}
	}
	return retry
}

func offsetOf(resp *sarama.OffsetResponse, tp topicPartition) (int64, error) {
	b := resp.GetBlock(tp.topic, tp.partition)
	switch {
	case b == nil:
		return 0, sarama.ErrIncompleteResponse
	case !errors.Is(b.Err, sarama.ErrNoError):
		return 0, b.Err
	case resp.Version == 0:
		if len(b.Offsets) != 1 {
			return 0, sarama.ErrIncompleteResponse
		}
		return b.Offsets[0], nil
	}
	return b.Offset, nil
}

// isLeaderErr reports errors that mean the partition is to be read from
// another broker (or later).
func isLeaderErr(err error) bool {
	for _, e := range []error{
		sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable,
		sarama.ErrReplicaNotAvailable, sarama.ErrFencedLeaderEpoch,
		sarama.ErrUnknownLeaderEpoch, sarama.ErrKafkaStorageError,
		sarama.ErrOffsetNotAvailable,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
