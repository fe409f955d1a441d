package embedded

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
)

// A partition is one log: a directory of segment files. The bus's writer
// appends to it (after the records are durable in the write-ahead log) and
// then makes them visible; readers only ever see durable records.
type partition struct {
	b     *Bus
	topic string
	id    int32
	dir   string

	// wmu serialises changes to files: the writer's cycles and the
	// janitor. Held while doing I/O; never taken under mu.
	wmu sync.Mutex
	// idxStale (under wmu) means the active segment changed since its
	// index file was last written.
	idxStale bool
	// batch is this partition's share of the writer's current cycle.
	// Owned by the writer goroutine.
	batch *partBatch

	// mu guards the fields below and the mutable fields of the active
	// segment. Held only briefly.
	mu     sync.Mutex
	segs   []*segment // ascending by base; the last is active; replaced, never edited
	next   int64      // next offset; every offset below it is durable
	start  int64      // no record below it is readable (DeleteRecords); 0 if none
	notify chan struct{}
	failed error // sticky: set when writing to the segment files fails
}

func (p *partition) segPath(base int64) string {
	return filepath.Join(p.dir, segmentName(base, logSuffix))
}

// loadPartition opens the partition in dir and recovers its active segment.
func loadPartition(b *Bus, topic string, id int32, dir string) (*partition, error) {
	p := &partition{b: b, topic: topic, id: id, dir: dir}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load partition %s/%d: %w", topic, id, err)
	}
	var bases []int64
	logs := make(map[int64]bool)
	for _, e := range entries {
		name := e.Name()
		if base, ok := parseSegmentName(name); ok {
			bases = append(bases, base)
			logs[base] = true
		}
	}
	for _, e := range entries {
		// Leftovers: temporary index files and indexes of removed segments.
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(filepath.Join(dir, name))
		} else if s, ok := strings.CutSuffix(name, idxSuffix); ok {
			if base, ok := parseSegmentName(s + logSuffix); ok && !logs[base] {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}
	if len(bases) == 0 {
		return nil, fmt.Errorf("load partition %s/%d: no segment files", topic, id)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	p.segs = make([]*segment, len(bases))
	for i, base := range bases[:len(bases)-1] {
		p.segs[i] = &segment{base: base, sealed: true, size: -1, next: bases[i+1], lastPos: -1}
	}
	act, stale, err := p.recoverActive(bases[len(bases)-1])
	if err != nil {
		return nil, fmt.Errorf("load partition %s/%d: %w", topic, id, err)
	}
	p.segs[len(bases)-1] = act
	p.next = act.next
	p.idxStale = stale
	if p.start, err = readStart(dir); err != nil {
		return nil, fmt.Errorf("load partition %s/%d: %w", topic, id, err)
	}
	return p, nil
}

// recoverActive loads the last segment: from its index file if that was
// written at a clean close and still matches, otherwise by scanning it and
// truncating a torn tail. It reports whether the index file is stale.
func (p *partition) recoverActive(base int64) (*segment, bool, error) {
	f, err := os.OpenFile(p.segPath(base), os.O_RDWR, 0)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	size := st.Size()
	s := &segment{base: base, next: base, lastPos: -1}
	if x, err := readIdx(p.dir, base, size); err == nil &&
		(size == 0 && x.next == base || size > 0 && checkLastFrame(f, x.lastPos, size, x.next-1)) {
		s.size, s.next, s.minTime, s.maxTime, s.lastPos, s.index = x.size, x.next, x.minTime, x.maxTime, x.lastPos, x.index
		if n := len(x.index); n > 0 {
			s.lastIdx = int64(x.index[n-1].pos)
		}
		return s, false, nil
	}
	res, err := scanSegment(f, size, base, p.b.cfg.IndexIntervalBytes)
	if err != nil {
		return nil, false, fmt.Errorf("scan segment %d: %w", base, err)
	}
	if res.torn {
		if err := f.Truncate(res.size); err != nil {
			return nil, false, fmt.Errorf("truncate torn tail: %w", err)
		}
		if err := syncData(f); err != nil {
			return nil, false, fmt.Errorf("truncate torn tail: %w", err)
		}
	}
	s.size, s.next, s.minTime, s.maxTime, s.lastPos, s.lastIdx, s.index = res.size, res.next, res.minTime, res.maxTime, res.lastPos, res.lastIdx, res.index
	return s, true, nil
}

// fail makes the partition refuse further appends until the bus is
// reopened: the state of its files is unknown, and recovery (which replays
// the write-ahead log) will set it right.
func (p *partition) fail(err error) error {
	err = fmt.Errorf("append to %s/%d: %w", p.topic, p.id, err)
	p.mu.Lock()
	if p.failed == nil {
		p.failed = err
	}
	p.mu.Unlock()
	return err
}

// roll seals act and starts a new, empty active segment. Called with wmu held.
func (p *partition) roll(act *segment) (*segment, error) {
	// The index file is a cache; if writing it fails, readers rebuild it.
	_ = writeIdx(p.dir, idxFile{
		base: act.base, size: act.size, next: act.next,
		minTime: act.minTime, maxTime: act.maxTime, lastPos: act.lastPos, index: act.index,
	})
	ns := &segment{base: act.next, next: act.next, lastPos: -1}
	f, err := os.OpenFile(p.segPath(ns.base), os.O_RDWR|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return nil, fmt.Errorf("roll segment: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("roll segment: %w", err)
	}
	if err := syncDir(p.dir); err != nil {
		return nil, fmt.Errorf("roll segment: %w", err)
	}
	p.mu.Lock()
	segs := make([]*segment, len(p.segs)+1)
	copy(segs, p.segs)
	segs[len(p.segs)] = ns
	p.segs = segs
	act.sealed = true
	act.index = nil
	p.mu.Unlock()
	p.idxStale = false
	return ns, nil
}

// writeActiveIndex saves the active segment's index file at a clean close,
// so that the next open need not scan it.
func (p *partition) writeActiveIndex() error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if !p.idxStale {
		return nil
	}
	p.mu.Lock()
	failed := p.failed
	p.mu.Unlock()
	if failed != nil {
		return nil
	}
	act := p.segs[len(p.segs)-1]
	if err := writeIdx(p.dir, idxFile{
		base: act.base, size: act.size, next: act.next,
		minTime: act.minTime, maxTime: act.maxTime, lastPos: act.lastPos, index: act.index,
	}); err != nil {
		return err
	}
	p.idxStale = false
	return nil
}

func (p *partition) bounds() (oldest, next int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.oldest(), p.next
}

// oldest is the oldest readable offset. Called with mu held.
func (p *partition) oldest() int64 {
	return max(p.segs[0].base, p.start)
}

// readHint remembers where a reader stopped: the record at offset of the
// segment at base starts at file position pos.
type readHint struct {
	base, offset, pos int64
}

// read returns up to a batch of records from offset on. If offset is the
// end of the partition it returns no records and a channel closed when
// more arrive.
func (p *partition) read(offset int64, hint *readHint) ([]bus.Record, <-chan struct{}, error) {
	for attempt := 0; ; attempt++ {
		recs, wait, err := p.readOnce(offset, hint)
		if !errors.Is(err, fs.ErrNotExist) || attempt > 0 {
			return recs, wait, err
		}
		// Retention removed the segment after we chose it: check again.
	}
}

func (p *partition) readOnce(offset int64, hint *readHint) ([]bus.Record, <-chan struct{}, error) {
	p.mu.Lock()
	oldest := p.oldest()
	if offset < oldest || offset > p.next {
		next := p.next
		p.mu.Unlock()
		return nil, nil, fmt.Errorf("read %s/%d at %d (retained %d to %d): %w", p.topic, p.id, offset, oldest, next, bus.ErrOutOfRange)
	}
	if offset == p.next {
		if p.notify == nil {
			p.notify = make(chan struct{})
		}
		wait := p.notify
		p.mu.Unlock()
		return nil, wait, nil
	}
	i := sort.Search(len(p.segs), func(i int) bool { return p.segs[i].base > offset }) - 1
	s := p.segs[i]
	base, end, sealed, index := s.base, s.size, s.sealed, s.index
	segNext := p.next
	if i+1 < len(p.segs) {
		segNext = p.segs[i+1].base
	}
	p.mu.Unlock()

	cf, err := p.b.files.acquire(p.segPath(base))
	if err != nil {
		return nil, nil, p.readErr(offset, err)
	}
	defer p.b.files.release(cf)
	if end < 0 {
		st, err := cf.f.Stat()
		if err != nil {
			return nil, nil, p.readErr(offset, err)
		}
		end = st.Size()
		p.mu.Lock()
		s.size = end
		p.mu.Unlock()
	}

	var pos int64
	switch {
	case hint != nil && hint.base == base && hint.offset == offset:
		pos = hint.pos
	case sealed:
		x, err := p.sealedIndex(cf.f, base, end, segNext, false)
		if err != nil {
			return nil, nil, p.readErr(offset, err)
		}
		pos = lookup(x.index, base, offset)
	default:
		pos = lookup(index, base, offset)
	}

	cfg := &p.b.cfg
	fr := newFrameReader(cf.f, pos, end, 64<<10, true)
	var recs []bus.Record
	bytes := 0
	want := offset
	for want < segNext && len(recs) < cfg.MaxBatchRecords {
		f, at, err := fr.next()
		if err == nil && f.offset < want {
			continue
		}
		if err == nil && f.offset != want {
			err = fmt.Errorf("found offset %d where %d belongs: %w", f.offset, want, errBadFrame)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, errTornFrame) {
			err = fmt.Errorf("segment %d ends before offset %d: %w", base, want, errBadFrame)
		}
		if err != nil {
			if len(recs) > 0 {
				break // return what is good; the next read reports the damage
			}
			return nil, nil, p.readErr(offset, err)
		}
		size := len(f.key) + len(f.value)
		if len(recs) > 0 && bytes+size > cfg.MaxBatchBytes {
			break
		}
		if recs == nil {
			recs = make([]bus.Record, 0, min(segNext-offset, int64(cfg.MaxBatchRecords)))
		}
		recs = append(recs, bus.Record{
			Topic:     p.topic,
			Partition: p.id,
			Offset:    f.offset,
			Key:       nilIfEmpty(f.key),
			Value:     f.value,
			Time:      time.Unix(0, f.time),
		})
		bytes += size
		want++
		if hint != nil {
			*hint = readHint{base: base, offset: want, pos: at + int64(frameLen(len(f.key), len(f.value)))}
		}
	}
	return recs, nil, nil
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// readErr wraps a read failure; a segment removed under the reader becomes
// ErrOutOfRange when the offset is no longer retained.
func (p *partition) readErr(offset int64, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		if oldest, _ := p.bounds(); offset < oldest {
			return fmt.Errorf("read %s/%d at %d: %w", p.topic, p.id, offset, bus.ErrOutOfRange)
		}
		return err
	}
	if errors.Is(err, bus.ErrClosed) {
		return err
	}
	return fmt.Errorf("read %s/%d at %d: %w", p.topic, p.id, offset, err)
}

// sealedIndex returns the index of a sealed segment from its index file,
// rebuilding the file by a scan if it is missing or does not match. With
// headerOnly, the entries are not read when the file is good.
func (p *partition) sealedIndex(r io.ReaderAt, base, size, next int64, headerOnly bool) (idxFile, error) {
	var x idxFile
	var err error
	if headerOnly {
		x, err = readIdxHeader(p.dir, base, size)
	} else {
		x, err = readIdx(p.dir, base, size)
	}
	if err == nil && x.next == next {
		return x, nil
	}
	res, err := scanSegment(r, size, base, p.b.cfg.IndexIntervalBytes)
	if err != nil {
		return idxFile{}, fmt.Errorf("scan segment %d: %w", base, err)
	}
	if res.torn || res.next != next {
		return idxFile{}, fmt.Errorf("sealed segment %d holds offsets to %d, want %d: %w", base, res.next, next, errBadFrame)
	}
	x = idxFile{base: base, size: res.size, next: res.next, minTime: res.minTime, maxTime: res.maxTime, lastPos: res.lastPos, index: res.index}
	_ = writeIdx(p.dir, x) // a cache: a failure means another scan later
	return x, nil
}

// expire removes the segments whose newest record is older than cutoff.
// The active segment, if expired, is first sealed so that it can go too;
// the partition's next offset is kept by the new, empty active segment.
func (p *partition) expire(cutoff int64) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	failed := p.failed
	p.mu.Unlock()
	act := p.segs[len(p.segs)-1]
	if failed == nil && act.size > 0 && act.maxTime < cutoff {
		if _, err := p.roll(act); err != nil {
			return p.fail(err)
		}
	}
	segs := p.segs
	k := 0
	for ; k < len(segs)-1; k++ {
		s := segs[k]
		if s.maxTime == 0 {
			t, err := p.sealedMaxTime(s, segs[k+1].base)
			if err != nil {
				return fmt.Errorf("retention of %s/%d: %w", p.topic, p.id, err)
			}
			s.maxTime = t
		}
		if s.maxTime >= cutoff {
			break
		}
	}
	if k == 0 {
		return nil
	}
	p.mu.Lock()
	p.segs = append([]*segment(nil), segs[k:]...)
	p.mu.Unlock()
	if err := p.removeSegments(segs[:k]); err != nil {
		return fmt.Errorf("retention of %s/%d: %w", p.topic, p.id, err)
	}
	return nil
}

// removeSegments deletes the files of segments already taken out of
// p.segs. Called with wmu held.
func (p *partition) removeSegments(old []*segment) error {
	var errs []error
	for _, s := range old {
		path := p.segPath(s.base)
		p.b.files.forget(path)
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
		if err := os.Remove(filepath.Join(p.dir, segmentName(s.base, idxSuffix))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := syncDir(p.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sealedMaxTime returns the newest record time of a sealed segment, or 1 if
// it holds no records (so it counts as expired).
func (p *partition) sealedMaxTime(s *segment, next int64) (int64, error) {
	f, err := os.Open(p.segPath(s.base))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	x, err := p.sealedIndex(f, s.base, st.Size(), next, true)
	if err != nil {
		return 0, err
	}
	return max(x.maxTime, 1), nil
}

// syncDir makes the creation, renaming or removal of entries in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	return errors.Join(serr, cerr)
}
