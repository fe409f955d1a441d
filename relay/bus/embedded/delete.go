package embedded

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mutualcoop/mutual/relay/bus"
)

// Data files are readable by the relay's user alone: records carry who
// wrote to whom, when and how much.
const (
	fileMode fs.FileMode = 0o600
	dirMode  fs.FileMode = 0o700
)

// startFile holds a partition's oldest readable offset when DeleteRecords
// set it inside a segment; the records below it stay in that segment's
// file, unreadable, until the segment is deleted whole.
const startFile = "start"

// readStart returns the offset in dir's start file, or 0 if there is none.
func readStart(dir string) (int64, error) {
	data, err := os.ReadFile(filepath.Join(dir, startFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad start file %q", data)
	}
	return n, nil
}

// DeleteRecords deletes the records of a partition below offset. Segments
// that lie wholly below it are deleted at once; when offset is the end of
// the partition the active segment is first sealed, so that every record
// leaves the disk. A segment holding offset keeps its older records on
// disk, never read again (the partition's start, persisted before any file
// is deleted), until it is deleted whole. Records also stay in the
// write-ahead log until it is checkpointed: see Checkpoint.
func (b *Bus) DeleteRecords(ctx context.Context, topic string, partition int32, offset int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.isClosed() {
		return bus.ErrClosed
	}
	p, err := b.partition(topic, partition)
	if err != nil {
		return fmt.Errorf("delete records: %w", err)
	}
	if err := p.deleteBelow(offset); err != nil {
		return fmt.Errorf("delete records of %s/%d below %d: %w", topic, partition, offset, err)
	}
	return nil
}

// deleteBelow makes offset the partition's oldest readable offset and
// deletes the segments below it.
func (p *partition) deleteBelow(offset int64) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	p.mu.Lock()
	failed, next, start := p.failed, p.next, p.start
	oldest := p.oldest()
	p.mu.Unlock()
	if offset > next {
		return fmt.Errorf("beyond the end (%d): %w", next, bus.ErrOutOfRange)
	}
	if offset <= oldest {
		return nil
	}
	if act := p.segs[len(p.segs)-1]; failed == nil && offset == next && act.next > act.base {
		if _, err := p.roll(act); err != nil {
			return p.fail(err)
		}
	}
	segs := p.segs
	k := 0
	for k < len(segs)-1 && segs[k+1].base <= offset {
		k++
	}
	if offset > segs[k].base && offset > start {
		// Durable before any segment goes: after a crash, nothing below
		// offset becomes readable again.
		if err := replaceFile(p.dir, startFile, []byte(strconv.FormatInt(offset, 10)+"\n")); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.segs = append([]*segment(nil), segs[k:]...)
	p.start = max(start, offset)
	p.mu.Unlock()
	if k == 0 {
		return nil
	}
	return p.removeSegments(segs[:k])
}

// Committed returns the group's position in a partition: the next offset
// it will read, every record below it having been handled; -1 if it has
// none. It is the position in memory, which may be ahead of the one on
// disk: a crash makes the group read that stretch again, or skip to the
// oldest record if it was deleted meanwhile, but never skip a record that
// was not handled.
func (b *Bus) Committed(ctx context.Context, group, topic string, partition int32) (int64, error) {
	if err := validName("group", group); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if b.isClosed() {
		return 0, bus.ErrClosed
	}
	ps, err := b.topicPartitions(topic)
	if err != nil {
		return 0, fmt.Errorf("committed: %w", err)
	}
	if partition < 0 || int(partition) >= len(ps) {
		return 0, fmt.Errorf("committed: topic %q has no partition %d: %w", topic, partition, bus.ErrUnknownTopic)
	}
	g, err := b.groupTopic(group, topic, len(ps))
	if err != nil {
		return 0, err
	}
	return g.position(partition), nil
}

// Checkpoint moves the write-ahead log on to a new file and returns once
// the old one has been checkpointed and deleted. Records deleted from
// their partitions (DeleteRecords) are then nowhere on disk. It costs a
// sync of every segment file written since the last checkpoint; a log
// with nothing in it is left as it is.
func (b *Bus) Checkpoint(ctx context.Context) error {
	r := &appendReq{done: make(chan error, 1)}
	b.closeMu.RLock()
	if b.closed {
		b.closeMu.RUnlock()
		return bus.ErrClosed
	}
	err := b.enqueue([]*appendReq{r})
	b.closeMu.RUnlock()
	if err != nil {
		return err
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// Taken by the writer or not, nothing waits on us: done is
		// buffered.
		b.withdraw(r)
		return ctx.Err()
	}
}
