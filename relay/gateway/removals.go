package gateway

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/internal/pb"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Removed devices stop everywhere.
//
// A device removed through one gateway may be connected to another (or
// be, a moment later). Two rules make its removal take effect on every
// gateway:
//
//   - Announcement: RemoveDevice appends a record to bus.ControlTopic once
//     the directory has forgotten the device. Every gateway reads that
//     topic from where it stood at start, drops the user's cached device
//     list and closes its connection of that device with
//     wire.CloseDeviceRemoved. In one process the same code runs on the
//     embedded bus.
//   - Check: before any request of an authenticated connection runs, the
//     device must be in its user's device list, from the device cache.
//     An announcement that never arrives (its append failed, the gateway
//     was restarting) therefore delays the end of the connection by at most
//     Config.DeviceCache: the first request after that is refused and the
//     connection closed.

// Kinds of control records, each about one device: it was removed, it
// was approved (held.go), it is held and waits for approval.
const (
	controlRemoved  = 1
	controlApproved = 2
	controlPending  = 3
)

// appendControl encodes the announcement of kind about k.
func appendControl(b []byte, kind uint32, k devKey) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(kind))
	e.ID(2, k.user)
	e.Uint(3, uint64(k.device))
	return e
}

// decodeControl decodes a control record.
func decodeControl(b []byte) (kind uint32, k devKey, err error) {
	err = pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			kind, err = f.Uint32()
		case 2:
			err = f.FixedBytes(k.user[:])
		case 3:
			var d uint32
			d, err = f.Uint32()
			k.device = wire.DeviceID(d)
		}
		return err
	})
	return kind, k, err
}

// controlSetup bounds the creation of the control topic and the start of
// its reading in New.
const controlSetup = time.Minute

// watchRemovals starts reading bus.ControlTopic from its end. The reader
// runs until ctx ends.
func (g *Gateway) watchRemovals(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, controlSetup)
	defer cancel()
	if err := g.bus.CreateTopic(sctx, bus.ControlTopic, 1); err != nil {
		return fmt.Errorf("create %s topic: %w", bus.ControlTopic, err)
	}
	_, next, err := g.bus.Bounds(sctx, bus.ControlTopic, 0)
	if err != nil {
		return fmt.Errorf("read %s topic: %w", bus.ControlTopic, err)
	}
	sub, err := g.bus.Subscribe(sctx, bus.ControlTopic, 0, next)
	if err != nil {
		return fmt.Errorf("read %s topic: %w", bus.ControlTopic, err)
	}
	g.watchWG.Add(1)
	go func() {
		defer g.watchWG.Done()
		g.readRemovals(ctx, sub, next)
	}()
	return nil
}

// readRemovals applies the announcements from sub, at pos, until ctx
// ends. After a read error it reads on from where it was, or from the
// oldest record kept if that has gone.
func (g *Gateway) readRemovals(ctx context.Context, sub bus.Subscription, pos int64) {
	backoff := 100 * time.Millisecond
	for {
		recs, err := sub.Next(ctx)
		if ctx.Err() != nil {
			sub.Close()
			return
		}
		if err == nil {
			backoff = 100 * time.Millisecond
			for _, r := range recs {
				pos = r.Offset + 1
				kind, k, err := decodeControl(r.Value)
				if err != nil {
					g.cfg.Logger.Error("gateway: skipping undecodable control record", "offset", r.Offset, "err", err)
					continue
				}
				switch kind {
				case controlRemoved:
					g.deviceRemoved(k)
				case controlApproved:
					g.deviceApproved(k)
				case controlPending:
					g.devicePending(k)
				}
			}
			continue
		}
		sub.Close()
		g.cfg.Logger.Warn("gateway: reading removals failed; retrying", "err", err, "in", backoff)
		for {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, 5*time.Second)
			oldest, next, berr := g.bus.Bounds(ctx, bus.ControlTopic, 0)
			if berr == nil {
				pos = min(max(pos, oldest), next)
				if sub, berr = g.bus.Subscribe(ctx, bus.ControlTopic, 0, pos); berr == nil {
					break
				}
			}
			if ctx.Err() != nil {
				return
			}
			g.cfg.Logger.Warn("gateway: reading removals failed; retrying", "err", berr, "in", backoff)
		}
	}
}

// announce tells every gateway, this one included, of kind about k.
func (g *Gateway) announce(ctx context.Context, kind uint32, k devKey) error {
	return g.bus.Append(ctx, bus.Message{Topic: bus.ControlTopic, Value: appendControl(nil, kind, k)})
}

// announceRemoval tells every gateway that k was removed.
func (g *Gateway) announceRemoval(ctx context.Context, k devKey) error {
	return g.announce(ctx, controlRemoved, k)
}

// deviceRemoved forgets k's user's device list and closes k's connection
// here, if it has one.
func (g *Gateway) deviceRemoved(k devKey) {
	g.devices.forget(k.user)
	if c := g.local(k); c != nil {
		c.kick(wire.CloseDeviceRemoved, "device removed")
	}
}

// checkDevice lets a request of an authenticated connection run only if
// its device still exists (by the device cache). A removed device's
// connection is closed: run and keep are false. If the directory cannot
// say, the request is answered with the error and not run, and the
// connection is kept.
func (c *conn) checkDevice(ctx context.Context, id uint64) (run, keep bool) {
	if c.state != stateAuthed {
		return true, true
	}
	ids, err := c.g.devices.get(ctx, c.g.dir, c.key.user)
	if err != nil {
		if id != 0 {
			c.reply(id, c.errorFrame(err))
		}
		return false, true
	}
	if _, found := slices.BinarySearch(ids, c.key.device); !found {
		c.kick(wire.CloseDeviceRemoved, "device removed")
		return false, false
	}
	return true, true
}

// removeDevice removes a device of the connection's user, answers
// request id, and then announces the removal to every gateway: a device
// signing itself out gets its answer before it is closed.
func (c *conn) removeDevice(ctx context.Context, id uint64, d wire.DeviceID) {
	if err := c.g.dir.RemoveDevice(ctx, c.key.user, d); err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	k := devKey{c.key.user, d}
	c.g.devices.forget(k.user)
	c.reply(id, &wire.OK{})
	if err := c.g.announceRemoval(ctx, k); err != nil {
		// Other gateways find out by their device check instead.
		c.g.cfg.Logger.Warn("gateway: announcing a device removal failed", "err", err)
	}
	c.g.deviceRemoved(k)
}
