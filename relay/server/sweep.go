package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/blob"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// SweepConfig configures the sweeper of attachments' blobs. Every
// relay process that serves blobs runs one; of the processes of a
// cluster, one sweeps in each interval (they share a lease in the rate
// limits), and a round done twice does no harm.
//
// A round deletes from the store the blobs past their expiry (Expires:
// granted + the retention) and the uploads not finished within
// Unfinished of their grant, and marks their records deleted: a late
// download is told the file is gone (410). The records of deleted blobs
// are purged Keep after their expiry. The links new devices waited on
// (docs/protocol.md "Linking a device") are deleted once expired.
type SweepConfig struct {
	Interval   time.Duration // between rounds; default 10 minutes
	Unfinished time.Duration // default 24 hours
	Keep       time.Duration // default 90 days
	Batch      int           // blobs read from the directory at a time; default 1000
}

func (c *SweepConfig) setDefaults() {
	if c.Interval == 0 {
		c.Interval = 10 * time.Minute
	}
	if c.Unfinished == 0 {
		c.Unfinished = 24 * time.Hour
	}
	if c.Keep == 0 {
		c.Keep = 90 * 24 * time.Hour
	}
	if c.Batch == 0 {
		c.Batch = 1000
	}
}

// sweepDirectory is what the sweeper needs of the directory.
type sweepDirectory interface {
	ExpiredBlobs(ctx context.Context, now, unfinishedBefore time.Time, limit int) ([]wire.BlobID, error)
	DeleteBlob(ctx context.Context, id wire.BlobID, at time.Time) error
	PurgeBlobs(ctx context.Context, before time.Time, limit int) (int64, error)
	DeleteExpiredLinks(ctx context.Context, before time.Time, limit int) (int64, error)
}

// sweepStore is what the sweeper needs of the blob store.
type sweepStore interface {
	Delete(ctx context.Context, id wire.BlobID) error
}

// sweepLease is the rate-limit key whose one unit a process takes to
// sweep in an interval.
const sweepLease = "blob-sweep"

type sweeper struct {
	cfg     SweepConfig
	dir     sweepDirectory
	store   sweepStore
	lease   limit.Store
	now     func() time.Time
	log     *slog.Logger
	metrics *metricsSet
}

func newSweeper(cfg SweepConfig, dir sweepDirectory, store sweepStore, lease limit.Store, now func() time.Time, log *slog.Logger, m *metricsSet) (*sweeper, error) {
	cfg.setDefaults()
	if cfg.Interval < 0 || cfg.Unfinished < 0 || cfg.Keep < 0 || cfg.Batch < 0 {
		return nil, errors.New("server: negative sweep setting")
	}
	if now == nil {
		now = time.Now
	}
	return &sweeper{cfg: cfg, dir: dir, store: store, lease: lease, now: now, log: log, metrics: m}, nil
}

// run sweeps every Interval, when it holds the lease, until ctx ends.
func (s *sweeper) run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	// A little less than the interval: a ticker that fires a moment
	// early still finds the lease back.
	rate := limit.Rate{Every: s.cfg.Interval - s.cfg.Interval/10, Burst: 1}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, _, err := s.lease.Take(ctx, sweepLease, rate, 1, s.now())
		if err != nil || !ok {
			continue
		}
		if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweeper: round failed", "err", err)
		}
	}
}

// sweep runs one round. A blob the store fails to delete keeps its
// record as it was and is tried again next round.
func (s *sweeper) sweep(ctx context.Context) error {
	now := s.now()
	var errs []error
	for {
		ids, err := s.dir.ExpiredBlobs(ctx, now, now.Add(-s.cfg.Unfinished), s.cfg.Batch)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("expired blobs: %w", err))...)
		}
		deleted := 0
		for _, id := range ids {
			if err := s.store.Delete(ctx, id); err != nil {
				s.metrics.blobStoreErrors.WithLabelValues("delete").Inc()
				errs = append(errs, fmt.Errorf("delete a blob: %s", strings.ReplaceAll(err.Error(), id.String(), "<blob>")))
				continue
			}
			if err := s.dir.DeleteBlob(ctx, id, now); err != nil {
				return errors.Join(append(errs, fmt.Errorf("record deletion: %w", err))...)
			}
			s.metrics.blobsExpired.Inc()
			deleted++
		}
		if len(ids) < s.cfg.Batch || deleted == 0 {
			break
		}
	}
	for {
		n, err := s.dir.PurgeBlobs(ctx, now.Add(-s.cfg.Keep), s.cfg.Batch)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("purge blobs: %w", err))...)
		}
		if n < int64(s.cfg.Batch) {
			break
		}
	}
	for {
		n, err := s.dir.DeleteExpiredLinks(ctx, now, s.cfg.Batch)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("expired links: %w", err))...)
		}
		if n < int64(s.cfg.Batch) {
			break
		}
	}
	return errors.Join(errs...)
}

var (
	_ sweepDirectory = directory.Directory(nil)
	_ sweepStore     = blob.Store(nil)
)
