package embedded

import (
	"fmt"
	"slices"

	"github.com/mutualcoop/mutual/relay/bus"
)

// appendReq is the part of one Append call that goes to one partition,
// or, with no partition, a Checkpoint call.
type appendReq struct {
	p      *partition // nil for a checkpoint
	msgs   []bus.Message
	size   int        // bytes of keys and values
	done   chan error // buffered; receives exactly one result
	waited bool       // a large request that already gave way once (see take)
}

// maxCycleBytes bounds what one write cycle takes from the queue (at least
// one request), and so the writer's buffer.
const maxCycleBytes = 8 << 20

// largeReq is the size from which a request gives way, once, to the
// smaller ones queued with it: a cycle lasts as long as its write and
// sync, and a message of a few hundred bytes should not wait for someone
// else's half megabyte. Requests of concurrent Appends have no order
// between them, so this reorders nothing anyone relies on.
const largeReq = 64 << 10

// take removes from the queue the requests of the next cycle and appends
// them to reqs: the queue's head up to maxCycleBytes (at least one
// request), except that large requests that have not given way yet do so
// when small ones are queued too. Called with qmu held.
func (b *Bus) take(reqs []*appendReq) []*appendReq {
	small, large := 0, false
	for _, r := range b.queue {
		if r.size >= largeReq && !r.waited {
			large = true
		} else {
			small++
		}
	}
	if large && small > 0 {
		size := 0
		rest := b.queue[:0]
		for _, r := range b.queue {
			switch {
			case r.size >= largeReq && !r.waited:
				r.waited = true
				rest = append(rest, r)
			case size+r.size <= maxCycleBytes || len(reqs) == 0:
				size += r.size
				reqs = append(reqs, r)
			default:
				rest = append(rest, r)
			}
		}
		clear(b.queue[len(rest):])
		b.queue = rest
		return reqs
	}
	n, size := 0, 0
	for n < len(b.queue) && (n == 0 || size+b.queue[n].size <= maxCycleBytes) {
		size += b.queue[n].size
		n++
	}
	reqs = append(reqs, b.queue[:n]...)
	rest := copy(b.queue, b.queue[n:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	return reqs
}

// enqueue queues requests for the writer, starting it if it is not running.
// The caller holds closeMu for reading.
func (b *Bus) enqueue(reqs []*appendReq) error {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	if b.failed != nil {
		return b.failed
	}
	b.queue = append(b.queue, reqs...)
	if !b.writing {
		b.writing = true
		b.wg.Add(1)
		go b.runWriter()
	}
	return nil
}

// withdraw removes r from the queue if the writer has not taken it yet.
func (b *Bus) withdraw(r *appendReq) bool {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	if i := slices.Index(b.queue, r); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
		return true
	}
	return false
}

// failBus makes every later Append fail until the bus is reopened.
func (b *Bus) failBus(err error) {
	b.qmu.Lock()
	defer b.qmu.Unlock()
	if b.failed == nil {
		b.failed = err
	}
}

// runWriter runs write cycles while requests are queued. Requests that
// arrive during a cycle are all taken by the next one: that is the group
// commit, one log write and one fdatasync for everything gathered.
func (b *Bus) runWriter() {
	defer b.wg.Done()
	var reqs []*appendReq
	for {
		b.qmu.Lock()
		if len(b.queue) == 0 {
			b.writing = false
			b.queue = nil
			b.qmu.Unlock()
			return
		}
		reqs = b.take(reqs[:0])
		b.qmu.Unlock()
		b.cycle(reqs)
		clear(reqs)
	}
}

// partBatch is what one cycle appends to one partition.
type partBatch struct {
	reqs []*appendReq
	w    partWriter
	err  error
}

// cycle appends reqs: it encodes every record once, into one buffer that is
// both the write-ahead log entry of each partition and the bytes of its
// segment files; writes and syncs the log; then writes each partition's
// segment and makes its records visible.
func (b *Bus) cycle(reqs []*appendReq) {
	if !b.roomFor(reqs) {
		for _, r := range reqs {
			r.done <- errNoSpace
		}
		return
	}
	now := b.cfg.Now().UnixNano()
	var batches []*partBatch
	var ckpts []chan error
	for _, r := range reqs {
		if r.p == nil {
			ckpts = append(ckpts, r.done)
			continue
		}
		pb := r.p.batch
		if pb == nil {
			pb = &partBatch{}
			r.p.batch = pb
			batches = append(batches, pb)
		}
		pb.reqs = append(pb.reqs, r)
	}

	bp := b.bufs.Get().(*[]byte)
	buf := (*bp)[:0]
	for _, pb := range batches {
		p := pb.reqs[0].p
		p.batch = nil
		p.wmu.Lock() // until the records are visible
		p.mu.Lock()
		pb.err = p.failed
		p.mu.Unlock()
		if pb.err != nil {
			continue
		}
		start := len(buf)
		buf = appendWALHeader(buf, p.topic, p.id)
		pb.w.begin(p)
		for _, r := range pb.reqs {
			for i := range r.msgs {
				buf = pb.w.add(buf, r.msgs[i].Key, r.msgs[i].Value, now)
			}
		}
		finishWALEntry(buf[start:])
	}

	var err error
	if len(buf) > 0 {
		if err = b.reserve(batches); err == nil {
			err = b.walAppend(buf)
		}
	}
	for _, pb := range batches {
		p := pb.reqs[0].p
		if pb.err == nil {
			if err != nil {
				pb.err = err
			} else if pb.err = pb.w.apply(buf, b.wal.dirty); pb.err != nil {
				// The log holds records the segment may lack. Stop, so that
				// this log file is never checkpointed and recovery replays it.
				b.failBus(pb.err)
			}
		}
		p.wmu.Unlock()
		for _, r := range pb.reqs {
			r.done <- pb.err
		}
	}
	if cap(buf) <= 16<<20 {
		*bp = buf[:0]
		b.bufs.Put(bp)
	}
	switch {
	case err == nil && b.wal != nil && (b.wal.size >= b.cfg.WALBytes || len(ckpts) > 0 && b.wal.size > 0):
		b.wal.waiters = ckpts
		b.rotateWAL()
	default:
		for _, done := range ckpts {
			done <- err
		}
	}
}

// reserve allocates, before anything is logged, the segment space the
// cycle's records will take, so that a full disk fails the cycle while
// nothing is written rather than after the log holds records a segment
// lacks. New segment files are not reserved: the free-space floor covers
// them.
func (b *Bus) reserve(batches []*partBatch) error {
	for _, pb := range batches {
		if pb.err != nil {
			continue
		}
		if err := pb.w.reserve(); err != nil {
			return fmt.Errorf("append: reserve segment space: %w", err)
		}
	}
	return nil
}

// A run is a stretch of one cycle's records for one partition that goes to
// one segment file.
type run struct {
	base     int64 // the segment
	roll     bool  // the segment is new: create it first
	pos      int64 // file position of the first byte
	from, to int   // the bytes, in the cycle's buffer
	index    []indexEntry
	next     int64
	lastIdx  int64
	lastPos  int64
	minTime  int64
	maxTime  int64
}

// partWriter plans where records go in a partition (offsets, segment
// rolls, index entries) while they are encoded, and applies the plan once
// they are durable. Called with the partition's wmu held.
type partWriter struct {
	p    *partition
	runs []run
	// The segment records currently go to, as it will be.
	base, pos, next, lastIdx, lastPos, minTime int64
}

func (w *partWriter) begin(p *partition) {
	act := p.segs[len(p.segs)-1]
	w.p = p
	w.runs = w.runs[:0]
	w.base, w.pos, w.next = act.base, act.size, act.next
	w.lastIdx, w.lastPos, w.minTime = act.lastIdx, act.lastPos, act.minTime
}

// add appends the frame of the next record, appended at time t, to buf.
func (w *partWriter) add(buf, key, value []byte, t int64) []byte {
	cfg := &w.p.b.cfg
	n := int64(frameLen(len(key), len(value)))
	switch {
	case w.pos > 0 && (w.pos+n > cfg.SegmentBytes || w.minTime != 0 && t-w.minTime >= int64(cfg.SegmentAge)):
		w.base, w.pos, w.lastIdx, w.lastPos, w.minTime = w.next, 0, 0, -1, 0
		w.runs = append(w.runs, run{base: w.base, roll: true, from: len(buf)})
	case len(w.runs) == 0:
		w.runs = append(w.runs, run{base: w.base, pos: w.pos, from: len(buf)})
	}
	r := &w.runs[len(w.runs)-1]
	if w.pos == 0 || w.pos-w.lastIdx >= int64(cfg.IndexIntervalBytes) {
		r.index = append(r.index, indexEntry{rel: uint32(w.next - w.base), pos: uint32(w.pos)})
		w.lastIdx = w.pos
	}
	buf = appendFrame(buf, w.next, t, key, value)
	w.lastPos = w.pos
	w.pos += n
	w.next++
	if w.minTime == 0 {
		w.minTime = t
	}
	r.to = len(buf)
	r.next, r.lastIdx, r.lastPos, r.minTime = w.next, w.lastIdx, w.lastPos, w.minTime
	r.maxTime = max(r.maxTime, t)
	return buf
}

// reserve allocates the space of the runs that go to the active segment.
func (w *partWriter) reserve() error {
	for i := range w.runs {
		r := &w.runs[i]
		if r.roll {
			return nil
		}
		cf, err := w.p.b.files.acquire(w.p.segPath(r.base))
		if err != nil {
			return nil // apply will say
		}
		err = reserveSpace(cf.f, r.pos, int64(r.to-r.from))
		w.p.b.files.release(cf)
		if err != nil {
			return err
		}
	}
	return nil
}

// apply writes the planned runs to the segment files (rolling where
// planned) and makes them visible. Segment files are not synced here: the
// records are already durable in the log, and a checkpoint syncs the files
// before the log is dropped. Each file written is added to dirty.
func (w *partWriter) apply(buf []byte, dirty map[string]struct{}) error {
	p := w.p
	act := p.segs[len(p.segs)-1]
	for i := range w.runs {
		r := &w.runs[i]
		if r.roll {
			ns, err := p.roll(act)
			if err != nil {
				return p.fail(err)
			}
			act = ns
		}
		if act.base != r.base {
			return p.fail(fmt.Errorf("segment %d is active, records planned for %d", act.base, r.base))
		}
		path := p.segPath(act.base)
		cf, err := p.b.files.acquire(path)
		if err != nil {
			return p.fail(err)
		}
		_, err = cf.f.WriteAt(buf[r.from:r.to], r.pos)
		p.b.files.release(cf)
		if err != nil {
			return p.fail(err)
		}
		dirty[path] = struct{}{}

		p.mu.Lock()
		act.size = r.pos + int64(r.to-r.from)
		act.next = r.next
		act.index = append(act.index, r.index...)
		act.lastIdx, act.lastPos, act.minTime = r.lastIdx, r.lastPos, r.minTime
		act.maxTime = max(act.maxTime, r.maxTime)
		p.next = r.next
		if p.notify != nil {
			close(p.notify)
			p.notify = nil
		}
		p.mu.Unlock()
		p.idxStale = true
	}
	return nil
}
