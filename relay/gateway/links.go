package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Linking a device.
//
// A new device sends Link as the first frame of its connection. The
// gateway stores the link in the directory (so that a device of the
// account connected to any gateway finds it) under its code, with the
// hash of a credential it keeps in memory, answers LinkStarted, and the
// connection waits (stateLinking: no other frame, no authentication
// deadline, at most Config.LinkLifetime). A waiter goroutine reads the
// link's row every Config.LinkPoll, or sooner when a LinkDevice through
// this gateway wakes it. Once a device of an account claimed the link
// (LinkDevice: the directory adds the device and stores the sealed
// provision), the waiter deletes the row, answers Verified with the
// credential and the provision, and the connection is authenticated as
// the new device, as after Verify.
//
// If the connection ends first, the link is deleted; a device a claim
// added meanwhile, whose credential nobody has, is removed.

// linkWaiters are the links waited on here: a claim through this gateway
// wakes its waiter at once. It also counts, by client network, the
// connections waiting.
type linkWaiters struct {
	max int // waiting connections per network

	mu      sync.Mutex
	wake    map[string]chan struct{}
	waiting map[netip.Prefix]int
}

func newLinkWaiters(max int) *linkWaiters {
	return &linkWaiters{max: max, wake: make(map[string]chan struct{}), waiting: make(map[netip.Prefix]int)}
}

// enter counts one more connection of network waiting, unless it has
// max already.
func (w *linkWaiters) enter(network netip.Prefix) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiting[network] >= w.max {
		return false
	}
	w.waiting[network]++
	return true
}

func (w *linkWaiters) leave(network netip.Prefix) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiting[network]--; w.waiting[network] <= 0 {
		delete(w.waiting, network)
	}
}

// add returns the channel that wakes the waiter of code.
func (w *linkWaiters) add(code string) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.wake[code] = ch
	w.mu.Unlock()
	return ch
}

func (w *linkWaiters) remove(code string, ch chan struct{}) {
	w.mu.Lock()
	if w.wake[code] == ch {
		delete(w.wake, code)
	}
	w.mu.Unlock()
}

// signal wakes the waiter of code, if it waits here.
func (w *linkWaiters) signal(code string) {
	w.mu.Lock()
	ch := w.wake[code]
	w.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (c *conn) handleLink(ctx context.Context, id uint64, l *wire.Link) {
	if !c.limit(ctx, id, c.perNet("link", c.g.cfg.Rates.NetLink)) {
		return
	}
	if len(l.Key) == 0 || len(l.Identity) == 0 {
		c.reply(id, &wire.Error{Code: wire.CodeBadRequest, Message: "a link needs the device's keys"})
		return
	}
	if !c.g.links.enter(c.net) {
		c.reply(id, &wire.Error{Code: wire.CodeRateLimited, Message: "too many devices of your network wait to be linked",
			RetryAfterMS: uint64(time.Minute.Milliseconds())})
		return
	}
	now := c.g.cfg.Now()
	cred, hash := c.g.accounts.NewCredential()
	link := directory.Link{
		Code: wire.LinkCode(l.Key, l.Identity), Key: l.Key, Identity: l.Identity,
		DeviceName: l.DeviceName, CredHash: hash, Expires: now.Add(c.g.cfg.LinkLifetime),
	}
	err := c.g.dir.CreateLink(ctx, link, now)
	if err != nil {
		c.g.links.leave(c.net)
		if errors.Is(err, directory.ErrExists) {
			c.reply(id, &wire.Error{Code: wire.CodeExists, Message: "these keys already wait to be linked"})
			return
		}
		c.reply(id, c.errorFrame(fmt.Errorf("create link: %w", err)))
		return
	}
	c.state = stateLinking
	c.isLinking.Store(true)
	wake := c.g.links.add(link.Code)
	lctx, cancel := context.WithCancel(context.Background())
	c.stopLink, c.linkDone = cancel, make(chan struct{})
	c.reply(id, &wire.LinkStarted{Code: link.Code, ExpiresMS: link.Expires.UnixMilli()})
	go func() {
		defer close(c.linkDone)
		defer c.g.links.leave(c.net)
		defer c.g.links.remove(link.Code, wake)
		defer c.isLinking.Store(false)
		c.waitLink(lctx, id, link.Code, cred, hash, wake)
	}()
}

// waitLink waits until the link code is claimed, it expires, or ctx ends
// (the connection is closing).
func (c *conn) waitLink(ctx context.Context, id uint64, code string, cred, hash []byte, wake <-chan struct{}) {
	deadline := time.NewTimer(c.g.cfg.LinkLifetime)
	defer deadline.Stop()
	poll := time.NewTicker(c.g.cfg.LinkPoll)
	defer poll.Stop()
	for {
		expired := false
		select {
		case <-ctx.Done():
			c.abandonLink(code)
			return
		case <-wake:
		case <-poll.C:
		case <-deadline.C:
			expired = true
		}
		done, err := c.tryLink(id, code, cred, hash)
		switch {
		case done:
			return
		case err != nil && !expired:
			c.g.cfg.Logger.Warn("gateway: reading a link failed", "err", err)
			continue
		case err == nil && !expired:
			continue
		}
		// Expired, or gone: nobody linked this device in time.
		c.reply(id, &wire.Error{Code: wire.CodeCodeExpired, Message: "no device linked this one in time: start again"})
		c.kick(wire.CloseIdle, "link expired")
		c.abandonLink(code)
		return
	}
}

// errLinkGone: the link's row is no longer there (or no longer this
// connection's).
var errLinkGone = errors.New("link gone")

// tryLink authenticates the connection as the device that claimed link
// code, if it is claimed: done then says so.
func (c *conn) tryLink(id uint64, code string, cred, hash []byte) (done bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	l, err := c.g.dir.Link(ctx, code)
	switch {
	case errors.Is(err, directory.ErrNotFound) || (err == nil && !bytes.Equal(l.CredHash, hash)):
		return false, errLinkGone
	case err != nil:
		return false, err
	case !l.Claimed():
		return false, nil
	}
	if _, err := c.g.dir.DeleteLink(ctx, code); err != nil {
		return false, err
	}
	d, err := c.g.dir.Device(ctx, l.User, l.Device)
	if err != nil {
		return false, fmt.Errorf("linked device: %w", err)
	}
	c.g.devices.forget(l.User)
	c.bindDevice(devKey{l.User, l.Device}, d.Offset, id, &wire.Verified{
		User: l.User, Device: l.Device, Credential: cred, Provision: l.Provision,
	})
	return true, nil
}

// abandonLink deletes link code; if a device claimed it meanwhile, that
// device (whose credential only this connection had) is removed.
func (c *conn) abandonLink(code string) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	l, err := c.g.dir.DeleteLink(ctx, code)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return // swept already
	case err != nil:
		c.g.cfg.Logger.Warn("gateway: deleting a link failed", "err", err)
		return
	case !l.Claimed():
		return
	}
	k := devKey{l.User, l.Device}
	if err := c.g.dir.RemoveDevice(ctx, k.user, k.device); err != nil && !errors.Is(err, directory.ErrNotFound) {
		c.g.cfg.Logger.Warn("gateway: removing a device never handed over failed", "err", err)
		return
	}
	c.g.devices.forget(k.user)
	if err := c.g.announceRemoval(ctx, k); err != nil {
		c.g.cfg.Logger.Warn("gateway: announcing a device removal failed", "err", err)
	}
}

// openLink returns the link code names if a device of an account may
// still claim it, or answers request id not_found.
func (c *conn) openLink(ctx context.Context, id uint64, code string) (directory.Link, bool) {
	notFound := &wire.Error{Code: wire.CodeNotFound, Message: "no device waits on this code: it is wrong, expired or used"}
	if !wire.ValidLinkCode(code) {
		c.reply(id, notFound)
		return directory.Link{}, false
	}
	l, err := c.g.dir.Link(ctx, code)
	switch {
	case errors.Is(err, directory.ErrNotFound) || (err == nil && (l.Claimed() || !c.g.cfg.Now().Before(l.Expires))):
		c.reply(id, notFound)
		return directory.Link{}, false
	case err != nil:
		c.reply(id, c.errorFrame(err))
		return directory.Link{}, false
	}
	return l, true
}

func (c *conn) handleFetchLink(ctx context.Context, id uint64, f *wire.FetchLink) {
	if !c.limit(ctx, id, c.perUser("fetch-link", c.g.cfg.Rates.FetchLink)) {
		return
	}
	l, ok := c.openLink(ctx, id, f.Code)
	if !ok {
		return
	}
	c.reply(id, &wire.LinkKeys{Key: l.Key, Identity: l.Identity, DeviceName: l.DeviceName, ExpiresMS: l.Expires.UnixMilli()})
}

func (c *conn) handleLinkDevice(ctx context.Context, id uint64, ld *wire.LinkDevice) {
	if !c.limit(ctx, id, c.perUser("link-device", c.g.cfg.Rates.LinkDevice)) {
		return
	}
	if len(ld.Provision) == 0 {
		c.reply(id, &wire.Error{Code: wire.CodeBadRequest, Message: "a link carries the new device's provision"})
		return
	}
	if _, ok := c.openLink(ctx, id, ld.Code); !ok {
		return
	}
	devs, err := c.g.devices.get(ctx, c.g.dir, c.key.user)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	if len(devs) >= wire.MaxDevices {
		c.reply(id, &wire.Error{Code: wire.CodeTooLarge, Message: fmt.Sprintf("an account has at most %d devices: remove one first", wire.MaxDevices)})
		return
	}
	// The new device starts at the end of the inbox, as after Verify.
	next, err := c.g.inboxEnd(ctx, c.key.user)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	dev, err := c.g.dir.ClaimLink(ctx, ld.Code, c.key.user, ld.Provision, next, c.g.cfg.Now())
	if errors.Is(err, directory.ErrNotFound) {
		c.reply(id, &wire.Error{Code: wire.CodeNotFound, Message: "no device waits on this code: it is wrong, expired or used"})
		return
	}
	if err != nil {
		c.reply(id, c.errorFrame(fmt.Errorf("claim link: %w", err)))
		return
	}
	c.g.devices.forget(c.key.user)
	c.g.links.signal(ld.Code)
	c.reply(id, &wire.Linked{Device: dev})
}
