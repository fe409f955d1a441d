package embedded

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mutualcoop/mutual/relay/bus"
)

// ErrRecordTooLarge is returned by Append for a message whose key and value
// together exceed Config.MaxRecordBytes.
var ErrRecordTooLarge = errors.New("bus: record too large")

// Bus is a durable log on local disk with Kafka's topic, partition and
// offset semantics. It is safe for concurrent use.
type Bus struct {
	cfg       Config
	lock      *os.File
	files     *fileCache
	bufs      sync.Pool // of *[]byte, the writers' buffers
	topicsDir string
	groupsDir string
	tmpDir    string
	walDir    string
	space     func() (free, total uint64, err error) // of the filesystem; see space.go

	// The append queue and the writer; see writer.go.
	qmu     sync.Mutex
	queue   []*appendReq
	writing bool
	failed  error    // sticky: set when the log cannot be written or checkpointed
	wal     *walFile // owned by the writer
	walSeq  uint64   // sequence number of the next log file; owned by the writer
	ckpts   chan *walFile
	ckptWG  sync.WaitGroup

	topicsMu sync.RWMutex
	topics   map[string]*topic
	createMu sync.Mutex // serialises CreateTopic

	groupsMu sync.Mutex
	groups   map[groupKey]*groupTopic

	// closeMu orders Close after every goroutine start (Append takes it
	// for reading while it may start a writer).
	closeMu sync.RWMutex
	closed  bool
	done    chan struct{}  // closed by Close
	wg      sync.WaitGroup // the writer and the janitor
}

var _ bus.Bus = (*Bus)(nil)

// A topic's partitions are loaded on first use.
type topic struct {
	name  string
	dir   string
	mu    sync.Mutex
	parts atomic.Pointer[[]*partition]
	rr    atomic.Uint32 // round robin for messages without a key
}

const partitionsFile = "partitions"

// Open opens (creating if needed) the bus in cfg.Dir, replays what a crash
// left in the write-ahead log, and starts the checkpointer and the
// retention janitor. The caller must Close it.
func Open(cfg Config) (*Bus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	b := &Bus{
		cfg:       cfg,
		files:     newFileCache(cfg.MaxOpenFiles),
		topicsDir: filepath.Join(cfg.Dir, "topics"),
		groupsDir: filepath.Join(cfg.Dir, "groups"),
		tmpDir:    filepath.Join(cfg.Dir, "tmp"),
		walDir:    filepath.Join(cfg.Dir, "wal"),
		topics:    make(map[string]*topic),
		groups:    make(map[groupKey]*groupTopic),
		done:      make(chan struct{}),
		ckpts:     make(chan *walFile, 2),
	}
	b.space = func() (uint64, uint64, error) { return diskSpace(cfg.Dir) }
	b.bufs.New = func() any { return new([]byte) }
	if err := os.MkdirAll(cfg.Dir, dirMode); err != nil {
		return nil, fmt.Errorf("open bus: %w", err)
	}
	lock, err := lockDir(filepath.Join(cfg.Dir, "LOCK"))
	if err != nil {
		return nil, fmt.Errorf("open bus: %w", err)
	}
	b.lock = lock
	if _, _, err := b.space(); errors.Is(err, errors.ErrUnsupported) && cfg.MinFreeBytes >= 0 {
		cfg.Logger.Warn("bus: this system's free disk space cannot be read: no floor is kept", "err", err)
	}
	if err := b.openDirs(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("open bus: %w", err)
	}
	if err := b.replayWAL(); err != nil {
		b.files.close()
		lock.Close()
		return nil, fmt.Errorf("open bus: %w", err)
	}
	b.ckptWG.Add(1)
	go b.runCheckpointer()
	b.wg.Add(1)
	go b.runJanitor()
	return b, nil
}

func (b *Bus) openDirs() error {
	if err := os.RemoveAll(b.tmpDir); err != nil {
		return err
	}
	for _, d := range []string{b.topicsDir, b.groupsDir, b.tmpDir, b.walDir} {
		if err := os.MkdirAll(d, dirMode); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(b.topicsDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() && validName("topic", e.Name()) == nil {
			b.topics[e.Name()] = &topic{name: e.Name(), dir: filepath.Join(b.topicsDir, e.Name())}
		}
	}
	return nil
}

// Close waits for appends in progress, stops the janitor, ends
// subscriptions and consumers with bus.ErrClosed, checkpoints the
// write-ahead log (so the next Open has nothing to replay) and releases the
// directory. Calling it again does nothing.
func (b *Bus) Close() error {
	b.closeMu.Lock()
	if b.closed {
		b.closeMu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	b.closeMu.Unlock()
	b.wg.Wait()
	close(b.ckpts)
	b.ckptWG.Wait()

	var errs []error
	b.groupsMu.Lock()
	for _, g := range b.groups {
		errs = append(errs, g.flush())
	}
	b.groupsMu.Unlock()
	if w := b.wal; w != nil {
		b.wal = nil
		errs = append(errs, w.f.Close())
		b.qmu.Lock()
		failed := b.failed
		b.qmu.Unlock()
		if failed == nil {
			errs = append(errs, b.checkpoint(w))
		}
	}
	b.topicsMu.RLock()
	for _, t := range b.topics {
		if ps := t.parts.Load(); ps != nil {
			for _, p := range *ps {
				if err := p.writeActiveIndex(); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	b.topicsMu.RUnlock()
	errs = append(errs, b.files.close(), b.lock.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close bus: %w", err)
	}
	return nil
}

func (b *Bus) isClosed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// CreateTopic creates a topic with the given number of partitions. The
// topic's directory is built under a temporary name, synced and renamed
// into place, so a crash never leaves half a topic. Creating a topic that
// exists is not an error, whatever its number of partitions.
func (b *Bus) CreateTopic(ctx context.Context, name string, partitions int32) error {
	if err := validName("topic", name); err != nil {
		return err
	}
	if partitions < 1 || partitions > maxPartitions {
		return fmt.Errorf("create topic %s: %d partitions not in [1, %d]", name, partitions, maxPartitions)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.isClosed() {
		return bus.ErrClosed
	}
	b.createMu.Lock()
	defer b.createMu.Unlock()
	b.topicsMu.RLock()
	_, ok := b.topics[name]
	b.topicsMu.RUnlock()
	if ok {
		return nil
	}
	dir := filepath.Join(b.topicsDir, name)
	if err := b.buildTopic(dir, partitions); err != nil {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	b.topicsMu.Lock()
	b.topics[name] = &topic{name: name, dir: dir}
	b.topicsMu.Unlock()
	return nil
}

func (b *Bus) buildTopic(dir string, partitions int32) error {
	stage, err := os.MkdirTemp(b.tmpDir, "topic-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	for i := range partitions {
		pdir := filepath.Join(stage, strconv.Itoa(int(i)))
		if err := os.Mkdir(pdir, dirMode); err != nil {
			return err
		}
		f, err := os.OpenFile(filepath.Join(pdir, segmentName(0, logSuffix)), os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
		if err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := syncDir(pdir); err != nil {
			return err
		}
	}
	if err := writeFileSync(filepath.Join(stage, partitionsFile), []byte(strconv.Itoa(int(partitions))+"\n")); err != nil {
		return err
	}
	if err := syncDir(stage); err != nil {
		return err
	}
	if err := os.Rename(stage, dir); err != nil {
		return err
	}
	return syncDir(b.topicsDir)
}

// writeFileSync writes a new file and syncs it.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	return errors.Join(werr, serr, cerr)
}

// topicPartitions returns the loaded partitions of a topic.
func (b *Bus) topicPartitions(name string) ([]*partition, error) {
	b.topicsMu.RLock()
	t := b.topics[name]
	b.topicsMu.RUnlock()
	if t == nil {
		return nil, fmt.Errorf("topic %q: %w", name, bus.ErrUnknownTopic)
	}
	if ps := t.parts.Load(); ps != nil {
		return *ps, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if ps := t.parts.Load(); ps != nil {
		return *ps, nil
	}
	data, err := os.ReadFile(filepath.Join(t.dir, partitionsFile))
	if err != nil {
		return nil, fmt.Errorf("load topic %s: %w", name, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 1 || n > maxPartitions {
		return nil, fmt.Errorf("load topic %s: bad partition count %q", name, data)
	}
	ps := make([]*partition, n)
	for i := range ps {
		p, err := loadPartition(b, name, int32(i), filepath.Join(t.dir, strconv.Itoa(i)))
		if err != nil {
			return nil, err
		}
		ps[i] = p
	}
	t.parts.Store(&ps)
	return ps, nil
}

func (b *Bus) topic(name string) *topic {
	b.topicsMu.RLock()
	defer b.topicsMu.RUnlock()
	return b.topics[name]
}

func (b *Bus) partition(name string, id int32) (*partition, error) {
	ps, err := b.topicPartitions(name)
	if err != nil {
		return nil, err
	}
	if id < 0 || int(id) >= len(ps) {
		return nil, fmt.Errorf("topic %q has no partition %d: %w", name, id, bus.ErrUnknownTopic)
	}
	return ps[id], nil
}

// pick chooses the partition of a message: by a hash of the key (FNV-1a,
// as sarama's default partitioner), or round robin when there is no key.
func (b *Bus) pick(m *bus.Message) (*partition, error) {
	ps, err := b.topicPartitions(m.Topic)
	if err != nil {
		return nil, err
	}
	if len(ps) == 1 {
		return ps[0], nil
	}
	if len(m.Key) == 0 {
		return ps[b.topic(m.Topic).rr.Add(1)%uint32(len(ps))], nil
	}
	h := fnv.New32a()
	h.Write(m.Key)
	return ps[h.Sum32()%uint32(len(ps))], nil
}

// Append stores msgs and returns once all of them are on disk (written to
// the write-ahead log and fdatasync'ed). Messages for one partition are
// stored in the order given, and the messages of all concurrent callers are
// gathered into one log write and one sync. If ctx ends first, Append
// returns its error; the messages may still be stored.
func (b *Bus) Append(ctx context.Context, msgs ...bus.Message) error {
	var stack [8]*partition
	picks := stack[:0]
	mixed := false
	size := 0
	for i := range msgs {
		m := &msgs[i]
		n := len(m.Key) + len(m.Value)
		if n > b.cfg.MaxRecordBytes {
			return fmt.Errorf("append to %s: %w: %d bytes, limit %d", m.Topic, ErrRecordTooLarge, n, b.cfg.MaxRecordBytes)
		}
		size += n
		p, err := b.pick(m)
		if err != nil {
			return fmt.Errorf("append: %w", err)
		}
		if len(picks) > 0 && p != picks[0] {
			mixed = true
		}
		picks = append(picks, p)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(msgs) == 0 {
		if b.isClosed() {
			return bus.ErrClosed
		}
		return nil
	}

	// One request per partition, keeping the order of msgs within each.
	var parts []*partition
	var reqs []*appendReq
	if !mixed {
		parts = picks[:1]
		reqs = []*appendReq{{p: parts[0], msgs: msgs, size: size, done: make(chan error, 1)}}
	} else {
		index := make(map[*partition]int)
		for i, p := range picks {
			j, ok := index[p]
			if !ok {
				j = len(parts)
				index[p] = j
				parts = append(parts, p)
				reqs = append(reqs, &appendReq{p: p, done: make(chan error, 1)})
			}
			reqs[j].msgs = append(reqs[j].msgs, msgs[i])
			reqs[j].size += len(msgs[i].Key) + len(msgs[i].Value)
		}
	}

	b.closeMu.RLock()
	if b.closed {
		b.closeMu.RUnlock()
		return bus.ErrClosed
	}
	err := b.enqueue(reqs)
	b.closeMu.RUnlock()
	if err != nil {
		return err
	}

	var errs []error
	for i, r := range reqs {
		select {
		case err := <-r.done:
			if err != nil {
				errs = append(errs, err)
			}
		case <-ctx.Done():
			// Withdraw what no writer has taken yet; wait for the rest, so
			// that no writer reads the caller's messages after we return.
			for _, r := range reqs[i:] {
				if !b.withdraw(r) {
					<-r.done
				}
			}
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// Bounds returns the oldest retained offset and the next offset of a partition.
func (b *Bus) Bounds(ctx context.Context, topic string, partition int32) (oldest, next int64, err error) {
	if b.isClosed() {
		return 0, 0, bus.ErrClosed
	}
	p, err := b.partition(topic, partition)
	if err != nil {
		return 0, 0, fmt.Errorf("bounds: %w", err)
	}
	oldest, next = p.bounds()
	return oldest, next, nil
}

// Subscribe reads a partition from offset on. The subscription holds no
// goroutine and no file; Next reads on demand.
func (b *Bus) Subscribe(ctx context.Context, topic string, partition int32, offset int64) (bus.Subscription, error) {
	if b.isClosed() {
		return nil, bus.ErrClosed
	}
	p, err := b.partition(topic, partition)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if oldest, next := p.bounds(); offset < oldest || offset > next {
		return nil, fmt.Errorf("subscribe to %s/%d at %d (retained %d to %d): %w", topic, partition, offset, oldest, next, bus.ErrOutOfRange)
	}
	return newSubscription(p, offset), nil
}

// topicNames returns the names of all topics.
func (b *Bus) topicNames() []string {
	b.topicsMu.RLock()
	defer b.topicsMu.RUnlock()
	names := make([]string, 0, len(b.topics))
	for name := range b.topics {
		names = append(names, name)
	}
	return names
}
