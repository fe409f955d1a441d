package gateway

import (
	"log/slog"
	"sync"
	"time"
)

// diskGuard says whether the disk messages are written to has too little
// free space left to take more. While it has, Send answers unavailable
// and nothing is written, so that what is already accepted can still be
// routed to the inboxes, acknowledged and expired, and the relay carries
// on once space is freed. The free space is read at most once per
// diskCheckEvery, so a check costs one clock read on almost every Send.
type diskGuard struct {
	free     func() (free, total uint64, err error)
	minBytes uint64
	minPct   float64
	now      func() time.Time
	log      *slog.Logger

	mu      sync.Mutex
	checked time.Time
	low     bool
	failing bool // the last reading failed (logged once per failure run)
}

// diskCheckEvery is how long one reading of the free space is trusted.
// A flood can write at most what the disk takes in that time past the
// threshold, which is why the threshold is a gigabyte and not a few
// megabytes.
const diskCheckEvery = time.Second

// diskRetry is the wait suggested to a Send refused for lack of space.
const diskRetry = 30 * time.Second

func newDiskGuard(cfg *Config) *diskGuard {
	if cfg.DiskFree == nil || cfg.MinFreeBytes < 0 {
		return nil
	}
	return &diskGuard{
		free: cfg.DiskFree, minBytes: uint64(cfg.MinFreeBytes), minPct: cfg.MinFreePercent,
		now: cfg.Now, log: cfg.Logger,
	}
}

// full reports whether the free space is below the threshold: the larger
// of the bytes and the percentage of the filesystem's size. A guard that
// cannot read the free space lets messages through: the bus's own
// refusal on a full disk is the last line.
func (g *diskGuard) full() bool {
	if g == nil {
		return false
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.checked.IsZero() && now.Sub(g.checked) < diskCheckEvery && !now.Before(g.checked) {
		return g.low
	}
	g.checked = now
	free, total, err := g.free()
	if err != nil {
		if !g.failing {
			g.log.Error("gateway: cannot read the free disk space", "err", err)
		}
		g.failing, g.low = true, false
		return false
	}
	g.failing = false
	need := g.minBytes
	if g.minPct > 0 {
		need = max(need, uint64(g.minPct/100*float64(total)))
	}
	low := free < need
	if low != g.low {
		if low {
			g.log.Error("gateway: disk nearly full, refusing messages", "free_bytes", free, "threshold_bytes", need)
		} else {
			g.log.Warn("gateway: disk space back, taking messages again", "free_bytes", free, "threshold_bytes", need)
		}
	}
	g.low = low
	return low
}
