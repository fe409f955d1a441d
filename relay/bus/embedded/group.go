package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
)

// Consumer groups.
//
// A group's committed positions in a topic (the next offset to read, per
// partition) live in one small file, groups/<group>/<topic>, replaced
// atomically (write to a temporary file, fsync, rename, fsync the
// directory). A position moves in memory after each batch its handler
// accepted and reaches the file at most every Config.GroupCommitInterval,
// when a member stops reading a partition, and at Close, as Kafka's
// consumers commit on an interval: a crash can make the group read the
// last interval's batches again (at-least-once; never a batch skipped),
// and the fsyncs do not stall every batch. Concurrent commits are gathered:
// whoever writes the file writes every position committed so far.
//
// Members of a group are the Consume calls in this process. Partition p
// goes to the member at index p mod n in joining order; when members come
// or go, a member stops reading the partitions it no longer owns (after the
// batch in hand is handled and committed) and the new owner starts from the
// committed position. A partition is never read by two members at once.

type groupKey struct{ group, topic string }

type groupTopic struct {
	b    *Bus
	dir  string
	name string // file name in dir

	mu      sync.Mutex
	offsets []int64 // committed positions, -1 for none
	gen     uint64  // bumped by every commit
	members []*member
	owner   []*member
	changed chan struct{} // closed and replaced when membership or ownership changes

	writeMu   sync.Mutex
	written   uint64    // gen of the state last written
	lastWrite time.Time // when it was written
}

// groupTopic returns the state of group on topic, loading its positions.
func (b *Bus) groupTopic(group, topic string, partitions int) (*groupTopic, error) {
	b.groupsMu.Lock()
	defer b.groupsMu.Unlock()
	k := groupKey{group, topic}
	if g := b.groups[k]; g != nil {
		return g, nil
	}
	g := &groupTopic{
		b:       b,
		dir:     filepath.Join(b.groupsDir, group),
		name:    topic,
		owner:   make([]*member, partitions),
		changed: make(chan struct{}),
	}
	data, err := os.ReadFile(filepath.Join(g.dir, g.name))
	switch {
	case err == nil:
		offs, err := decodeOffsets(data)
		if err != nil {
			return nil, fmt.Errorf("load group %s on %s: %w", group, topic, err)
		}
		g.offsets = offs
	case errors.Is(err, os.ErrNotExist):
	default:
		return nil, fmt.Errorf("load group %s on %s: %w", group, topic, err)
	}
	for len(g.offsets) < partitions {
		g.offsets = append(g.offsets, -1)
	}
	g.offsets = g.offsets[:partitions]
	if err := os.MkdirAll(g.dir, dirMode); err != nil {
		return nil, fmt.Errorf("load group %s on %s: %w", group, topic, err)
	}
	if err := syncDir(b.groupsDir); err != nil {
		return nil, fmt.Errorf("load group %s on %s: %w", group, topic, err)
	}
	b.groups[k] = g
	return g, nil
}

// broadcast wakes every member. Called with mu held.
func (g *groupTopic) broadcast() {
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *groupTopic) position(p int32) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.offsets[p]
}

// commit records next as the group's position in partition p. It writes
// the positions file when the last write is older than the commit
// interval; otherwise flush (or a later commit) writes it.
func (g *groupTopic) commit(p int32, next int64) error {
	g.mu.Lock()
	g.offsets[p] = next
	g.gen++
	g.mu.Unlock()

	g.b.closeMu.RLock()
	defer g.b.closeMu.RUnlock()
	if g.b.closed {
		return bus.ErrClosed
	}
	if iv := g.b.cfg.GroupCommitInterval; iv > 0 {
		g.writeMu.Lock()
		recent := time.Since(g.lastWrite) < iv
		g.writeMu.Unlock()
		if recent {
			return nil
		}
	}
	return g.flush()
}

// flush makes every position committed so far durable.
func (g *groupTopic) flush() error {
	g.mu.Lock()
	gen := g.gen
	g.mu.Unlock()
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	if g.written >= gen {
		return nil // a later write covered ours
	}
	g.mu.Lock()
	offs := slices.Clone(g.offsets)
	latest := g.gen
	g.mu.Unlock()
	if err := replaceFile(g.dir, g.name, encodeOffsets(offs)); err != nil {
		return fmt.Errorf("commit group position: %w", err)
	}
	g.written, g.lastWrite = latest, time.Now()
	return nil
}

// replaceFile atomically replaces dir/name with data, durably.
func replaceFile(dir, name string, data []byte) error {
	path := filepath.Join(dir, name)
	tmp := path + "~" // '~' is not allowed in names, so this is no one's file
	if err := writeFileSync(tmp, data); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// The offsets file: "MGO1", a count N (uint32), N positions (int64, -1 for
// none), CRC-32C of all that. Big-endian.
const offsetsMagic = "MGO1"

func encodeOffsets(offs []int64) []byte {
	b := make([]byte, 0, 12+8*len(offs))
	b = append(b, offsetsMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(offs)))
	for _, o := range offs {
		b = binary.BigEndian.AppendUint64(b, uint64(o))
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeOffsets(b []byte) ([]int64, error) {
	if len(b) < 12 || string(b[:4]) != offsetsMagic {
		return nil, errors.New("bad offsets file")
	}
	n := binary.BigEndian.Uint32(b[4:])
	if n > maxPartitions || len(b) != 12+8*int(n) {
		return nil, errors.New("bad offsets file length")
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.BigEndian.Uint32(b[len(body):]) {
		return nil, errors.New("bad offsets file checksum")
	}
	offs := make([]int64, n)
	for i := range offs {
		offs[i] = int64(binary.BigEndian.Uint64(b[8+8*i:]))
		if offs[i] < -1 {
			return nil, errors.New("bad offset in offsets file")
		}
	}
	return offs, nil
}

// Consume reads every partition of topic as a member of group until ctx is
// done (then it returns ctx.Err()), the bus is closed (bus.ErrClosed) or
// handle fails (that error, unchanged). Handle is called from one goroutine
// per partition this member owns, so calls for different partitions may run
// concurrently; calls for one partition are sequential and in offset order.
// A batch's position is committed durably after handle returns nil and
// before the next batch of that partition is read. A group with no
// committed position starts at the oldest retained record; one whose
// position retention has passed resumes at the oldest retained record.
func (b *Bus) Consume(ctx context.Context, group, topic string, handle func(ctx context.Context, batch []bus.Record) error) error {
	if err := validName("group", group); err != nil {
		return err
	}
	if b.isClosed() {
		return bus.ErrClosed
	}
	ps, err := b.topicPartitions(topic)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	g, err := b.groupTopic(group, topic, len(ps))
	if err != nil {
		return err
	}
	m := &member{
		g:       g,
		ps:      ps,
		handle:  handle,
		workers: make(map[int32]*worker),
	}
	return m.run(ctx)
}

type member struct {
	g       *groupTopic
	ps      []*partition
	handle  func(context.Context, []bus.Record) error
	workers map[int32]*worker // owned by run
	wg      sync.WaitGroup
	err     error // the first worker failure; under g.mu
}

type worker struct {
	stop     context.CancelFunc
	stopping bool
	done     chan struct{}
}

func (m *member) run(ctx context.Context) error {
	g := m.g
	g.mu.Lock()
	g.members = append(g.members, m)
	g.broadcast()
	g.mu.Unlock()
	defer func() {
		for _, w := range m.workers {
			w.stop()
		}
		m.wg.Wait()
		g.mu.Lock()
		g.members = slices.DeleteFunc(g.members, func(x *member) bool { return x == m })
		g.broadcast()
		g.mu.Unlock()
	}()

	for {
		g.mu.Lock()
		if err := m.err; err != nil {
			g.mu.Unlock()
			return err
		}
		if err := ctx.Err(); err != nil {
			g.mu.Unlock()
			return err
		}
		if g.b.isClosed() {
			g.mu.Unlock()
			return bus.ErrClosed
		}
		me := slices.Index(g.members, m)
		n := len(g.members)
		for i, p := range m.ps {
			id := int32(i)
			w := m.workers[id]
			if w != nil {
				select {
				case <-w.done:
					delete(m.workers, id)
					w = nil
				default:
				}
			}
			mine := i%n == me
			switch {
			case mine && w == nil && g.owner[i] == nil:
				g.owner[i] = m
				m.start(ctx, p)
			case !mine && w != nil && !w.stopping:
				w.stopping = true
				w.stop()
			}
		}
		changed := g.changed
		g.mu.Unlock()

		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-g.b.done:
			return bus.ErrClosed
		}
	}
}

// start runs a worker on partition p, which the member now owns. Called
// with g.mu held.
func (m *member) start(ctx context.Context, p *partition) {
	wctx, stop := context.WithCancel(ctx)
	w := &worker{stop: stop, done: make(chan struct{})}
	m.workers[p.id] = w
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := m.work(ctx, wctx, p)
		stop()
		close(w.done)
		m.g.mu.Lock()
		if err != nil && m.err == nil {
			m.err = err // before the partition is free, so no one rereads it first
		}
		m.g.owner[p.id] = nil
		m.g.broadcast()
		m.g.mu.Unlock()
	}()
}

// work reads partition p from the group's position, handing batches to
// the handler, until stopped (wctx done) or failing. ctx is the Consume
// call's, given to the handler so that revoking a partition does not
// cancel a batch in hand.
func (m *member) work(ctx, wctx context.Context, p *partition) (err error) {
	defer func() {
		// The next owner starts from the file: make our position durable.
		if ferr := m.g.flush(); err == nil && ferr != nil && !m.g.b.isClosed() {
			err = ferr
		}
	}()
	pos := m.g.position(p.id)
	var sub *subscription
	defer func() {
		if sub != nil {
			sub.Close()
		}
	}()
	for {
		if sub == nil {
			oldest, next := p.bounds()
			if pos < oldest {
				pos = oldest
			}
			if pos > next {
				pos = next // records were lost: wait for new ones
			}
			sub = newSubscription(p, pos)
		}
		recs, err := sub.Next(wctx)
		if errors.Is(err, bus.ErrOutOfRange) {
			// Retention passed the position while we read: skip ahead.
			sub.Close()
			sub = nil
			continue
		}
		if err != nil {
			if wctx.Err() != nil {
				return nil // stopped, or ctx done: run reports that
			}
			return err
		}
		if err := m.handle(ctx, recs); err != nil {
			return err
		}
		pos = recs[len(recs)-1].Offset + 1
		if err := m.g.commit(p.id, pos); err != nil {
			return err
		}
		if wctx.Err() != nil {
			return nil
		}
	}
}
