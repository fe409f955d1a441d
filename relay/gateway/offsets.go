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
// A device's latest offset is dropped only once the directory holds it.
type offsets struct {
	dir     Directory
	log     *slog.Logger
	mu      sync.Mutex
	latest  map[devKey]int64
	dirty   map[devKey]time.Time // device -> when it last acknowledged
	writing map[devKey]bool      // in the batch being written
	idle    map[devKey]bool      // gone from here: drop latest once written
}

func newOffsets(dir Directory, log *slog.Logger) *offsets {
	return &offsets{
		dir: dir, log: log,
		latest:  make(map[devKey]int64),
		dirty:   make(map[devKey]time.Time),
		writing: make(map[devKey]bool),
		idle:    make(map[devKey]bool),
	}
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
// if that is newer than the directory's value. held is false when nothing
// is held here for k: then stored may predate a flush that has since
// landed (the in-memory value is dropped only once the directory holds
// it), and the caller reads the directory again.
func (o *offsets) get(k devKey, stored int64) (next int64, held bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.idle, k)
	latest, held := o.latest[k]
	return max(stored, latest), held
}

// forget drops k's in-memory offset, at once if the directory holds it,
// or else once the flush that writes it succeeds.
func (o *offsets) forget(k devKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, dirty := o.dirty[k]; dirty || o.writing[k] {
		o.idle[k] = true
		return
	}
	delete(o.latest, k)
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
		o.writing[k] = true
	}
	clear(o.dirty)
	o.mu.Unlock()
	err := o.dir.CommitOffsets(ctx, batch)
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range batch {
		k := devKey{d.User, d.Device}
		delete(o.writing, k)
		_, again := o.dirty[k]
		switch {
		case err != nil && !again:
			o.dirty[k] = d.Seen
		case err == nil && !again && o.idle[k]:
			delete(o.latest, k)
			delete(o.idle, k)
		}
	}
	return err
}
