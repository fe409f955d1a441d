package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The janitor keeps the bus from holding metadata longer than delivery
// needs. Retention (30 days) is the most any record is kept; the janitor
// deletes sooner what no one will read again:
//
//   - `in`: every record below the router group's committed position has
//     been routed (its inbox records are durable), so it goes.
//   - inboxes: every record below the lowest committed offset over the
//     user's devices has been acknowledged by every device, so it goes. A
//     device that has not acknowledged keeps what it has not read, up to
//     retention. A user without devices keeps nothing: a device added later
//     starts at the end of the inbox.
//   - control: announcements are kept for one round, long enough for every
//     gateway reading the topic to see them.
//
// Deleting is idempotent, so several janitors (one per router process of
// a cluster) may run at once.

// JanitorBus is what the janitor needs of the bus.
type JanitorBus interface {
	Bounds(ctx context.Context, topic string, partition int32) (oldest, next int64, err error)
	DeleteRecords(ctx context.Context, topic string, partition int32, offset int64) error
	Committed(ctx context.Context, group, topic string, partition int32) (int64, error)
}

// checkpointer is a bus that also keeps records in a log of its own until
// a checkpoint (the embedded bus's write-ahead log).
type checkpointer interface {
	Checkpoint(ctx context.Context) error
}

// JanitorDirectory is what the janitor needs of the directory.
type JanitorDirectory interface {
	InboxFloors(ctx context.Context, after wire.UserID, limit int) ([]directory.InboxFloor, error)
}

// JanitorConfig configures a Janitor.
type JanitorConfig struct {
	// Interval is the time between two rounds; default 1 minute. An
	// acknowledged or routed record stays on the bus for about this long.
	Interval time.Duration
	Group    string // the router's consumer group on `in`; default "router"
	PageSize int    // users read from the directory at a time; default 1000
	Logger   *slog.Logger
}

func (c *JanitorConfig) setDefaults() {
	if c.Interval == 0 {
		c.Interval = time.Minute
	}
	if c.Group == "" {
		c.Group = "router"
	}
	if c.PageSize == 0 {
		c.PageSize = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// janitorMemory bounds the users whose last deletion the janitor
// remembers; past it, it forgets them all and asks the bus again.
const janitorMemory = 1 << 20

// Janitor deletes records the bus need not keep any longer.
type Janitor struct {
	cfg JanitorConfig
	bus JanitorBus
	dir JanitorDirectory

	// Owned by Sweep, which does not run concurrently with itself.
	deleted map[wire.UserID]int64 // inbox offset deleted below, by user
	control int64                 // end of the control topic at the last round; -1 before the first
}

// NewJanitor returns a janitor. Run or Sweep starts it.
func NewJanitor(cfg JanitorConfig, b JanitorBus, dir JanitorDirectory) (*Janitor, error) {
	cfg.setDefaults()
	if cfg.Interval < 0 || cfg.PageSize < 0 {
		return nil, errors.New("router: negative janitor setting")
	}
	return &Janitor{cfg: cfg, bus: b, dir: dir, deleted: make(map[wire.UserID]int64), control: -1}, nil
}

// Run sweeps every Interval until ctx ends. Failed rounds are logged; the
// next one tries again.
func (j *Janitor) Run(ctx context.Context) {
	t := time.NewTicker(j.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := j.Sweep(ctx); err != nil && ctx.Err() == nil {
				j.cfg.Logger.Warn("janitor: round failed", "err", err)
			}
		}
	}
}

// Sweep runs one round: it deletes routed records of `in`, acknowledged
// records of the inboxes, and the control records of the round before.
// It must not run concurrently with itself.
func (j *Janitor) Sweep(ctx context.Context) error {
	var errs []error
	deleted := false
	note := func(did bool, err error) {
		deleted = deleted || did
		if err != nil {
			errs = append(errs, err)
		}
	}
	note(j.sweepIn(ctx))
	note(j.sweepInboxes(ctx))
	note(j.sweepControl(ctx))
	if c, ok := j.bus.(checkpointer); ok && deleted {
		if err := c.Checkpoint(ctx); err != nil {
			errs = append(errs, fmt.Errorf("checkpoint: %w", err))
		}
	}
	return errors.Join(errs...)
}

// sweepIn deletes what the router group has routed, in every partition.
func (j *Janitor) sweepIn(ctx context.Context) (bool, error) {
	deleted := false
	for p := int32(0); ; p++ {
		oldest, _, err := j.bus.Bounds(ctx, bus.InTopic, p)
		if errors.Is(err, bus.ErrUnknownTopic) {
			return deleted, nil
		}
		if err != nil {
			return deleted, fmt.Errorf("%s/%d: %w", bus.InTopic, p, err)
		}
		pos, err := j.bus.Committed(ctx, j.cfg.Group, bus.InTopic, p)
		if err != nil {
			return deleted, fmt.Errorf("%s/%d: %w", bus.InTopic, p, err)
		}
		if pos <= oldest {
			continue
		}
		if err := j.bus.DeleteRecords(ctx, bus.InTopic, p, pos); err != nil {
			return deleted, err
		}
		deleted = true
	}
}

// sweepInboxes deletes, in every inbox, what every device of its user has
// acknowledged.
func (j *Janitor) sweepInboxes(ctx context.Context) (bool, error) {
	if len(j.deleted) > janitorMemory {
		clear(j.deleted)
	}
	deleted := false
	var errs []error
	var after wire.UserID
	for {
		page, err := j.dir.InboxFloors(ctx, after, j.cfg.PageSize)
		if err != nil {
			return deleted, errors.Join(append(errs, err)...)
		}
		for _, f := range page {
			after = f.User
			did, err := j.sweepInbox(ctx, f)
			deleted = deleted || did
			if err != nil {
				errs = append(errs, err)
			}
		}
		if len(page) < j.cfg.PageSize {
			return deleted, errors.Join(errs...)
		}
	}
}

func (j *Janitor) sweepInbox(ctx context.Context, f directory.InboxFloor) (bool, error) {
	inbox := bus.InboxTopic(f.User)
	done, known := j.deleted[f.User]
	target := f.Offset
	if f.Devices == 0 {
		if known {
			return false, nil // no device: nothing arrives any more
		}
		_, next, err := j.bus.Bounds(ctx, inbox, 0)
		if errors.Is(err, bus.ErrUnknownTopic) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("inbox bounds: %w", err)
		}
		target = next
	} else if known && target <= done {
		return false, nil
	}
	if target <= 0 {
		return false, nil
	}
	err := j.bus.DeleteRecords(ctx, inbox, 0, target)
	switch {
	case errors.Is(err, bus.ErrUnknownTopic):
		return false, nil
	case errors.Is(err, bus.ErrOutOfRange):
		// Devices ahead of the inbox: it was restored from an older
		// copy. They start at its end when they connect.
		return false, nil
	case err != nil:
		return false, err
	}
	j.deleted[f.User] = target
	return true, nil
}

// sweepControl deletes the control records that were there at the last
// round.
func (j *Janitor) sweepControl(ctx context.Context) (bool, error) {
	_, next, err := j.bus.Bounds(ctx, bus.ControlTopic, 0)
	if errors.Is(err, bus.ErrUnknownTopic) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s bounds: %w", bus.ControlTopic, err)
	}
	prev := j.control
	j.control = next
	if prev <= 0 {
		return false, nil
	}
	if err := j.bus.DeleteRecords(ctx, bus.ControlTopic, 0, prev); err != nil {
		return false, err
	}
	return true, nil
}
