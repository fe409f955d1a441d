package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Account protection: held devices.
//
// A device signed in by code alone (Verify) to an account that has an
// approved device seen within Config.ActiveWithin is held for
// Config.HoldFor: whoever can read the account's mail or texts cannot
// read its messages at once. The directory leaves a held device out of
// DeviceIDs, so senders neither need nor may encrypt to it, and this
// gateway delivers nothing to it. It may publish its keys, list the
// devices, sign itself out and read the backup's record; anything else is
// answered device_pending. Its approved siblings are told with a
// NoticeDevicePending (every gateway, through bus.ControlTopic).
//
// ApproveDevice from an approved device, or the end of the hold (checked
// when the device signs in, and on its next request when it stays
// connected), approves it: its inbox position moves to the end of the
// inbox (it never reads what came while it was held), and a connection it
// has is closed with wire.CloseApproved so that it comes back approved.
// Refusing it is RemoveDevice.

// hold marks the connection's device as held until until. The reader
// calls it before authenticating.
func (c *conn) hold(until time.Time) {
	c.held.Store(true)
	c.pendingUntil = until
}

// checkHeld lets a request of a held device run only if a held device may
// make it; other requests are answered device_pending. When the hold has
// ended meanwhile the connection is closed with wire.CloseApproved: the
// device signs in again, approved. run and keep are as for checkDevice.
func (c *conn) checkHeld(f wire.Frame) (run, keep bool) {
	if c.state != stateAuthed || !c.held.Load() {
		return true, true
	}
	if !c.g.cfg.Now().Before(c.pendingUntil) {
		c.kick(wire.CloseApproved, "the wait for approval is over: reconnect")
		return false, false
	}
	if c.heldMay(f.Body) {
		return true, true
	}
	if f.ID != 0 {
		c.reply(f.ID, &wire.Error{Code: wire.CodeDevicePending, Message: "this device waits for approval by one of your devices"})
	}
	return false, true
}

// heldMay reports whether a held device may send b.
func (c *conn) heldMay(b wire.Body) bool {
	switch b := b.(type) {
	case *wire.PublishKeys, *wire.ListDevices, *wire.Ack:
		return true
	case *wire.RemoveDevice:
		return b.Device == c.key.device // signing itself out
	case *wire.Backup:
		return b.Op == wire.BackupGet
	}
	return false
}

// endHoldIfDue approves d when its hold is over, and returns it as it is
// then.
func (c *conn) endHoldIfDue(ctx context.Context, d directory.Device) (directory.Device, error) {
	if !d.Held() || c.g.cfg.Now().Before(d.PendingUntil) {
		return d, nil
	}
	next, err := c.g.inboxEnd(ctx, d.User)
	if err != nil {
		return d, err
	}
	err = c.g.dir.ApproveDevice(ctx, d.User, d.ID, next)
	if errors.Is(err, directory.ErrNotFound) {
		// Approved meanwhile (or removed): read it as it is.
		return c.g.dir.Device(ctx, d.User, d.ID)
	}
	if err != nil {
		return d, err
	}
	c.g.devices.forget(d.User)
	d.PendingUntil, d.Offset = time.Time{}, max(d.Offset, next)
	return d, nil
}

// inboxEnd is the offset the next record of u's inbox will have.
func (g *Gateway) inboxEnd(ctx context.Context, u wire.UserID) (int64, error) {
	_, next, err := g.bus.Bounds(ctx, bus.InboxTopic(u), 0)
	if err != nil {
		return 0, fmt.Errorf("inbox bounds: %w", err)
	}
	return next, nil
}

func (c *conn) handleApproveDevice(ctx context.Context, id uint64, a *wire.ApproveDevice) {
	if !c.limit(ctx, id, c.perUser("approve-device", c.g.cfg.Rates.ApproveDevice)) {
		return
	}
	notHeld := &wire.Error{Code: wire.CodeNotFound, Message: "no such device waits for approval"}
	d, err := c.g.dir.Device(ctx, c.key.user, a.Device)
	switch {
	case errors.Is(err, directory.ErrNotFound) || (err == nil && !d.Held()):
		c.reply(id, notHeld)
		return
	case err != nil:
		c.reply(id, c.errorFrame(err))
		return
	}
	next, err := c.g.inboxEnd(ctx, c.key.user)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	err = c.g.dir.ApproveDevice(ctx, c.key.user, a.Device, next)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		c.reply(id, notHeld)
		return
	case err != nil:
		c.reply(id, c.errorFrame(err))
		return
	}
	k := devKey{c.key.user, a.Device}
	c.g.devices.forget(k.user)
	c.reply(id, &wire.OK{})
	if err := c.g.announce(ctx, controlApproved, k); err != nil {
		// A gateway elsewhere closes it on its next request instead.
		c.g.cfg.Logger.Warn("gateway: announcing an approval failed", "err", err)
	}
	c.g.deviceApproved(k)
}

// deviceApproved forgets k's user's device list and closes k's connection
// here if it is held, so that it signs in again approved.
func (g *Gateway) deviceApproved(k devKey) {
	g.devices.forget(k.user)
	if c := g.local(k); c != nil && c.held.Load() {
		c.kick(wire.CloseApproved, "approved: reconnect")
	}
}

// announcePending tells the approved devices of k's user, wherever they
// are connected, that k is held. If the announcement cannot be made, the
// devices connected here are told.
func (g *Gateway) announcePending(ctx context.Context, k devKey) {
	if err := g.announce(ctx, controlPending, k); err != nil {
		g.cfg.Logger.Warn("gateway: announcing a held device failed", "err", err)
		g.devicePending(k)
	}
	g.devices.forget(k.user)
}

// devicePending sends NoticeDevicePending about k to the approved devices
// of its user connected here.
func (g *Gateway) devicePending(k devKey) {
	g.devices.forget(k.user)
	ctx, cancel := context.WithTimeout(g.life, requestTimeout)
	defer cancel()
	ids, err := g.devices.get(ctx, g.dir, k.user)
	if err != nil {
		g.cfg.Logger.Warn("gateway: telling of a held device failed", "err", err)
		return
	}
	for _, id := range ids {
		if c := g.local(devKey{k.user, id}); id != k.device && c != nil && !c.held.Load() {
			c.notify(&wire.Notice{Kind: wire.NoticeDevicePending, Device: k.device})
		}
	}
}
