package gateway

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
)

// offsets holds acknowledged delivery offsets until they are written to
// the directory, and remembers the latest one of each device connected
// here so that a quick reconnect resumes exactly where the device was.
type offsets struct {
	dir    Directory
	log    *slog.Logger
	mu     sync.Mutex
	latest map[devKey]int64
	dirty  map[devKey]time.Time // device -> when it last acknowledged
}

func newOffsets(dir Directory, log *slog.Logger) *offsets {
	return &offsets{dir: dir, log: log, latest: make(map[devKey]int64), dirty: make(map[devKey]time.Time)}
}

// note records that k has stored everything before off.
func (o *offsets) note(k devKey, off int64, now time.Time) {
	o.mu.Lock()
	if off > o.latest[k] {
		o.latest[k] = off
		o.dirty[k] = now
	}
	o.mu.Unlock()
}

// get returns the next offset to deliver to k: what was acknowledged here
// if that is newer than the directory's value.
func (o *offsets) get(k devKey, stored int64) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return max(stored, o.latest[k])
}

// forget drops k's in-memory offset once it has reached the directory.
func (o *offsets) forget(k devKey) {
	o.mu.Lock()
	if _, dirty := o.dirty[k]; !dirty {
		delete(o.latest, k)
	}
	o.mu.Unlock()
}

func (o *offsets) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := o.flush(ctx); err != nil && ctx.Err() == nil {
				o.log.Warn("gateway: writing offsets failed; will retry", "err", err)
			}
		}
	}
}

// flush writes every changed offset in one directory transaction.
func (o *offsets) flush(ctx context.Context) error {
	o.mu.Lock()
	if len(o.dirty) == 0 {
		o.mu.Unlock()
		return nil
	}
	batch := make([]directory.DeviceOffset, 0, len(o.dirty))
	for k, seen := range o.dirty {
		batch = append(batch, directory.DeviceOffset{User: k.user, Device: k.device, Offset: o.latest[k], Seen: seen})
	}
	clear(o.dirty)
	o.mu.Unlock()
	if err := o.dir.CommitOffsets(ctx, batch); err != nil {
		o.mu.Lock()
		for _, d := range batch {
			k := devKey{d.User, d.Device}
			if _, again := o.dirty[k]; !again {
				o.dirty[k] = d.Seen
			}
		}
		o.mu.Unlock()
		return err
	}
	return nil
}
