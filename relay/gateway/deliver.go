package gateway

import (
	"context"
	"errors"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/wire"
)

// deliver streams the device's inbox from offset until ctx ends, keeping
// at most Config.Window deliveries unacknowledged.
func (c *conn) deliver(ctx context.Context, offset int64) {
	inbox := bus.InboxTopic(c.key.user)
	sub, offset, err := c.subscribe(ctx, inbox, offset)
	if err != nil {
		if ctx.Err() == nil {
			c.g.cfg.Logger.Warn("gateway: subscribe failed", "user", c.key.user, "err", err)
			c.kick(wire.CloseShutdown, "inbox unavailable; reconnect")
		}
		return
	}
	defer sub.Close()
	// The window counts from where this connection starts: nothing before
	// it is in flight here. (An Ack the reader handles meanwhile refers to
	// an earlier connection's delivery and changes nothing.)
	c.lastSent.Store(offset - 1)
	c.acked.Store(offset - 1)
	for {
		recs, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.g.cfg.Logger.Warn("gateway: inbox read failed", "user", c.key.user, "err", err)
				c.kick(wire.CloseShutdown, "inbox unavailable; reconnect")
			}
			return
		}
		n := 0
		for _, r := range recs {
			rec, err := bus.DecodeParcel(r.Value)
			if err != nil {
				c.g.cfg.Logger.Error("gateway: skipping undecodable inbox record", "user", c.key.user, "offset", r.Offset, "err", err)
				c.skip(r.Offset)
				continue
			}
			env, ok := rec.EnvelopeFor(c.key.device)
			if !ok {
				c.skip(r.Offset)
				continue
			}
			if !c.waitWindow(ctx) {
				return
			}
			c.lastSent.Store(r.Offset)
			if !c.enqueue(wire.Frame{Body: &wire.Deliver{Offset: r.Offset, Envelope: env}}) {
				return
			}
			n++
		}
		if m := c.g.cfg.Metrics.Delivered; m != nil && n > 0 {
			m(n)
		}
	}
}

// subscribe opens the inbox at offset, and returns the offset it opened
// at. An offset that retention has removed is reported to the device with
// a notice and delivery resumes at the oldest record kept.
func (c *conn) subscribe(ctx context.Context, inbox string, offset int64) (bus.Subscription, int64, error) {
	sub, err := c.g.bus.Subscribe(ctx, inbox, 0, offset)
	if !errors.Is(err, bus.ErrOutOfRange) {
		return sub, offset, err
	}
	oldest, next, berr := c.g.bus.Bounds(ctx, inbox, 0)
	if berr != nil {
		return nil, 0, berr
	}
	switch {
	case offset < oldest:
		c.enqueue(wire.Frame{Body: &wire.Notice{Kind: wire.NoticeRetentionGap, Oldest: oldest}})
		c.g.offsets.note(c.key, oldest, c.g.cfg.Now())
		offset = oldest
	case offset > next:
		// The inbox is shorter than the device believes (it was
		// restored from an older copy): start at its end.
		offset = next
	}
	sub, err = c.g.bus.Subscribe(ctx, inbox, 0, offset)
	return sub, offset, err
}

// skip moves the device past a record that holds nothing for it, if
// nothing delivered before it is still unacknowledged.
func (c *conn) skip(offset int64) {
	if c.lastSent.Load() <= c.acked.Load() {
		c.lastSent.Store(offset)
		c.acked.Store(offset)
		c.g.offsets.note(c.key, offset+1, c.g.cfg.Now())
	}
}

// waitWindow blocks while Window deliveries are unacknowledged.
func (c *conn) waitWindow(ctx context.Context) bool {
	for c.inflight() >= int64(c.g.cfg.Window) {
		select {
		case <-c.ackSignal:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// inflight approximates the unacknowledged deliveries by offsets; records
// skipped in between make it an overestimate, which only slows delivery.
func (c *conn) inflight() int64 { return c.lastSent.Load() - c.acked.Load() }
