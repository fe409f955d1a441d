package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The write-ahead log.
//
// Every cycle of the writer appends one entry per partition it touches to
// the current log file (<dir>/wal/<seq>.wal) and syncs that one file; then
// it writes the same frames to the partitions' segment files without
// syncing them. When a log file reaches Config.WALBytes the writer starts
// the next one and hands the old one to the checkpointer, which syncs every
// segment file written while it was current and then deletes it. So at any
// moment, every record not yet synced in its segment file is in a log file
// that still exists; log files are deleted strictly in order, so those
// that exist are the latest, unbroken; and recovery replays them.
//
// A log entry:
//
//	0   4  body length L
//	4   4  CRC-32C of the body
//	8   2  topic length T
//	10  T  topic
//	    4  partition
//	       frames, exactly as in segment files
const (
	walSuffix      = ".wal"
	walEntryHeader = 8
	walFixed       = 2 + 4
)

func appendWALHeader(buf []byte, topic string, partition int32) []byte {
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(topic)))
	buf = append(buf, topic...)
	return binary.BigEndian.AppendUint32(buf, uint32(partition))
}

// finishWALEntry fills in the length and checksum of the entry in e.
func finishWALEntry(e []byte) {
	binary.BigEndian.PutUint32(e, uint32(len(e)-walEntryHeader))
	binary.BigEndian.PutUint32(e[4:], crc32.Checksum(e[walEntryHeader:], castagnoli))
}

type walEntry struct {
	topic     string
	partition int32
	frames    []byte
}

var errBadWAL = errors.New("bad log entry")

// decodeWALEntry decodes the entry at the start of b and returns its length.
// errShortFrame means b ends inside the entry.
func decodeWALEntry(b []byte) (walEntry, int, error) {
	if len(b) < walEntryHeader {
		return walEntry{}, 0, errShortFrame
	}
	body := binary.BigEndian.Uint32(b)
	if body < walFixed || body > 1<<31 {
		return walEntry{}, 0, errBadWAL
	}
	n := walEntryHeader + int(body)
	if len(b) < n {
		return walEntry{}, 0, errShortFrame
	}
	data := b[walEntryHeader:n]
	if crc32.Checksum(data, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
		return walEntry{}, 0, errBadWAL
	}
	tl := int(binary.BigEndian.Uint16(data))
	if len(data) < walFixed+tl {
		return walEntry{}, 0, errBadWAL
	}
	e := walEntry{
		topic:     string(data[2 : 2+tl]),
		partition: int32(binary.BigEndian.Uint32(data[2+tl:])),
		frames:    data[walFixed+tl:],
	}
	if validName("topic", e.topic) != nil || e.partition < 0 {
		return walEntry{}, 0, errBadWAL
	}
	return e, n, nil
}

// walFile is the current log file. Owned by the writer (and by Close and
// recovery when the writer is not running).
type walFile struct {
	path  string
	f     *os.File
	size  int64
	dirty map[string]struct{} // segment files written since this file began
	// waiters are told when this file has been checkpointed (Checkpoint).
	waiters []chan error
}

func walName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, walSuffix) }

// walAppend appends buf to the current log file and syncs it. A failure
// fails the bus, since the file's state is unknown, except a full disk:
// then the file is cut back to what was synced before (nothing of buf
// was acknowledged) and the bus goes on (see space.go).
func (b *Bus) walAppend(buf []byte) error {
	if b.wal == nil {
		path := filepath.Join(b.walDir, walName(b.walSeq))
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
		if isNoSpace(err) {
			return fmt.Errorf("append: start log file: %w", err)
		}
		if err == nil {
			err = syncDir(b.walDir)
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			err = fmt.Errorf("append: start log file: %w", err)
			b.failBus(err)
			return err
		}
		b.walSeq++
		b.wal = &walFile{path: path, f: f, dirty: make(map[string]struct{})}
	}
	if _, err := b.wal.f.WriteAt(buf, b.wal.size); err != nil {
		err = fmt.Errorf("append: write log: %w", err)
		if isNoSpace(err) {
			if terr := b.wal.f.Truncate(b.wal.size); terr == nil {
				return err
			}
		}
		b.failBus(err)
		return err
	}
	if err := syncData(b.wal.f); err != nil {
		err = fmt.Errorf("append: sync log: %w", err)
		b.failBus(err)
		return err
	}
	b.wal.size += int64(len(buf))
	return nil
}

// rotateWAL closes the current log file and hands it to the checkpointer;
// the next cycle starts a new one. It blocks while the checkpointer is
// more than a few files behind.
func (b *Bus) rotateWAL() {
	w := b.wal
	b.wal = nil
	w.f.Close()
	b.ckpts <- w
}

// runCheckpointer checkpoints rotated log files, in order, until Close
// closes ckpts. After a failure it deletes no more log files: recovery
// relies on the remaining ones being an unbroken run of the latest.
func (b *Bus) runCheckpointer() {
	defer b.ckptWG.Done()
	var failed error
	for w := range b.ckpts {
		if failed == nil {
			if err := b.checkpoint(w); err != nil {
				failed = err
				b.failBus(err)
				b.cfg.Logger.Error("bus checkpoint", "err", err)
			}
		}
		for _, done := range w.waiters {
			done <- failed
		}
	}
}

// checkpoint syncs every segment file written while w was current, then
// deletes w. If a sync fails, w stays for recovery to replay.
func (b *Bus) checkpoint(w *walFile) error {
	if err := syncAll(w.dirty); err != nil {
		return fmt.Errorf("checkpoint %s: %w", filepath.Base(w.path), err)
	}
	if err := os.Remove(w.path); err != nil {
		return fmt.Errorf("checkpoint %s: %w", filepath.Base(w.path), err)
	}
	return syncDir(b.walDir)
}

// syncAll syncs the files at paths, several at a time.
func syncAll(paths map[string]struct{}) error {
	ch := make(chan string)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range min(16, max(1, len(paths))) {
		wg.Go(func() {
			for path := range ch {
				if err := syncPath(path); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for path := range paths {
		ch <- path
	}
	close(ch)
	wg.Wait()
	return errors.Join(errs...)
}

// syncPath syncs the file at path; a file retention has removed is fine.
func syncPath(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	serr := syncData(f)
	cerr := f.Close()
	return errors.Join(serr, cerr)
}

// listWAL returns the sequence numbers of the log files, in order.
func listWAL(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range entries {
		s, ok := strings.CutSuffix(e.Name(), walSuffix)
		if !ok || len(s) != 20 {
			continue
		}
		seq, err := strconv.ParseUint(s, 10, 64)
		if err == nil {
			seqs = append(seqs, seq)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	return seqs, nil
}

// replayWAL brings the segment files up to date with the log files left by
// a process that did not close cleanly, then deletes them. For each
// partition in the logs, with m its lowest offset there: everything below m
// was synced in the segment files by an earlier checkpoint; from m on the
// segment files may have lost or torn anything, so they are cut at m and
// the logged records appended again.
func (b *Bus) replayWAL() error {
	seqs, err := listWAL(b.walDir)
	if err != nil {
		return fmt.Errorf("replay log: %w", err)
	}
	if len(seqs) == 0 {
		return nil
	}
	b.walSeq = seqs[len(seqs)-1] + 1

	// Pass 1: the lowest logged offset of each partition.
	type tp struct {
		topic     string
		partition int32
	}
	lowest := make(map[tp]int64)
	var order []tp
	err = forEachWALEntry(b.walDir, seqs, func(e walEntry) error {
		f, _, err := decodeFrame(e.frames)
		if err != nil {
			return fmt.Errorf("log entry for %s/%d: %w", e.topic, e.partition, err)
		}
		k := tp{e.topic, e.partition}
		if m, ok := lowest[k]; !ok || f.offset < m {
			if !ok {
				order = append(order, k)
			}
			lowest[k] = f.offset
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay log: %w", err)
	}

	// Pass 2: cut the segment files where the log takes over.
	for _, k := range order {
		dir := filepath.Join(b.topicsDir, k.topic, strconv.Itoa(int(k.partition)))
		if err := cutForReplay(dir, lowest[k]); err != nil {
			return fmt.Errorf("replay log into %s/%d: %w", k.topic, k.partition, err)
		}
	}

	// Pass 3: append the logged records again.
	dirty := make(map[string]struct{})
	var w partWriter
	var buf []byte
	err = forEachWALEntry(b.walDir, seqs, func(e walEntry) error {
		p, err := b.partition(e.topic, e.partition)
		if err != nil {
			return err
		}
		p.wmu.Lock()
		defer p.wmu.Unlock()
		w.begin(p)
		buf = buf[:0]
		for rest := e.frames; len(rest) > 0; {
			f, n, err := decodeFrame(rest)
			if err != nil {
				return fmt.Errorf("log entry for %s/%d: %w", e.topic, e.partition, err)
			}
			rest = rest[n:]
			if f.offset < w.next {
				continue // already there
			}
			if f.offset != w.next {
				return fmt.Errorf("log entry for %s/%d has offset %d where %d belongs", e.topic, e.partition, f.offset, w.next)
			}
			buf = w.add(buf, f.key, f.value, f.time)
		}
		return w.apply(buf, dirty)
	})
	if err != nil {
		return fmt.Errorf("replay log: %w", err)
	}

	// Pass 4: make it all durable, then drop the logs.
	if err := syncAll(dirty); err != nil {
		return fmt.Errorf("replay log: %w", err)
	}
	for _, seq := range seqs {
		if err := os.Remove(filepath.Join(b.walDir, walName(seq))); err != nil {
			return fmt.Errorf("replay log: %w", err)
		}
	}
	if err := syncDir(b.walDir); err != nil {
		return fmt.Errorf("replay log: %w", err)
	}
	return nil
}

// forEachWALEntry calls fn for each entry of the log files in dir, in
// order, reading one file at a time. The last file may end with a torn
// entry (the crash came while writing it; it was never acknowledged);
// anywhere else that is corruption.
func forEachWALEntry(dir string, seqs []uint64, fn func(walEntry) error) error {
	for i, seq := range seqs {
		data, err := os.ReadFile(filepath.Join(dir, walName(seq)))
		if err != nil {
			return err
		}
		for len(data) > 0 {
			e, n, err := decodeWALEntry(data)
			if err != nil {
				if i == len(seqs)-1 {
					break
				}
				return fmt.Errorf("log file %s: %w", walName(seq), err)
			}
			if err := fn(e); err != nil {
				return err
			}
			data = data[n:]
		}
	}
	return nil
}

// cutForReplay cuts the partition in dir so that it ends at offset m (or at
// its oldest retained offset, if retention has passed m): it truncates the
// segment holding m and removes the later ones. The records before m must
// all be there.
func cutForReplay(dir string, m int64) error {
	bases, err := listSegments(dir)
	if err != nil {
		return err
	}
	if len(bases) == 0 {
		return errors.New("no segment files")
	}
	t := max(m, bases[0])
	i := sort.Search(len(bases), func(i int) bool { return bases[i] > t }) - 1
	base := bases[i]
	f, err := os.OpenFile(filepath.Join(dir, segmentName(base, logSuffix)), os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	fr := newFrameReader(f, 0, st.Size(), 1<<20, false)
	pos := int64(0)
	for want := base; want < t; want++ {
		rec, _, err := fr.next()
		if errors.Is(err, io.EOF) || errors.Is(err, errTornFrame) || err == nil && rec.offset != want {
			return fmt.Errorf("segment %d holds records up to %d, the log starts at %d: %w", base, want, t, errBadFrame)
		}
		if err != nil {
			return err
		}
		pos = fr.pos
	}
	if err := f.Truncate(pos); err != nil {
		return err
	}
	if err := syncData(f); err != nil {
		return err
	}
	for _, later := range bases[i+1:] {
		if err := os.Remove(filepath.Join(dir, segmentName(later, logSuffix))); err != nil {
			return err
		}
	}
	for _, b := range bases[i:] {
		if err := os.Remove(filepath.Join(dir, segmentName(b, idxSuffix))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return syncDir(dir)
}
