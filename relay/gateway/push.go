package gateway

import (
	"context"
	"crypto/ecdh"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Web Push. A device stores its subscription with SetPush (its endpoint
// at a push service, the keys pushes are encrypted to, the conversations
// it muted), counted first in the account's bucket (Rates.SetPush).
// Endpoints are URLs a client chose that the relay will fetch: only https
// to an allowed push service (Config.Push checks it), with keys of their
// sizes and a p256dh on the curve. Welcome carries the relay's VAPID key,
// which the browser binds the subscription to.
//
// Presence: a device is connected when a gateway holds its connection.
// With one gateway, the pusher of the same process asks it (Connected).
// In a cluster (Config.SharedPresence) each gateway records its devices
// in the directory, on the rows of their subscriptions: online until
// presenceTTL from now, written at sign-in and for all its devices every
// presenceInterval, and cleared when the connection closes. A gateway
// that dies leaves its devices online for at most presenceTTL, which
// delays their pushes, never adds one.

// Push is what the gateway needs of the relay's pusher (relay/push).
type Push interface {
	// PublicKey is the VAPID key Welcome carries.
	PublicKey() []byte
	// CheckEndpoint says whether the relay sends to an endpoint.
	CheckEndpoint(endpoint string) error
	// Forget drops what the pusher knows of user's subscriptions.
	Forget(user wire.UserID)
}

// The cluster's presence, refreshed every presenceInterval and valid for
// presenceTTL (two refreshes and a half: a slow directory write does not
// make a device look offline).
const (
	presenceInterval = time.Minute
	presenceTTL      = 5 * presenceInterval / 2
)

// pushKey is what Welcome tells of the VAPID key: nothing when the relay
// sends no pushes.
func (g *Gateway) pushKey() []byte {
	if g.cfg.Push == nil {
		return nil
	}
	return g.cfg.Push.PublicKey()
}

// Connected reports whether a device is connected to this gateway.
func (g *Gateway) Connected(user wire.UserID, device wire.DeviceID) bool {
	return g.local(devKey{user, device}) != nil
}

func (c *conn) handleSetPush(ctx context.Context, id uint64, p *wire.SetPush) {
	push := c.g.cfg.Push
	if push == nil {
		c.reply(id, &wire.Error{Code: wire.CodeUnavailable, Message: "this relay sends no push notifications"})
		return
	}
	if !c.limit(ctx, id, c.perUser("set-push", c.g.cfg.Rates.SetPush)) {
		return
	}
	bad := func(msg string) { c.reply(id, &wire.Error{Code: wire.CodeBadRequest, Message: msg}) }
	if p.Endpoint == "" {
		c.replyErr(id, c.g.dir.DeletePushSubscription(ctx, c.key.user, c.key.device, ""), &wire.OK{})
		return
	}
	if err := push.CheckEndpoint(p.Endpoint); err != nil {
		bad("the endpoint must be an https URL of a push service this relay sends to")
		return
	}
	if _, err := ecdh.P256().NewPublicKey(p.P256dh); err != nil || len(p.P256dh) != wire.PushKeyLen {
		bad("p256dh must be an uncompressed P-256 point")
		return
	}
	if len(p.Auth) != wire.PushAuthLen {
		bad("auth must be 16 bytes")
		return
	}
	s := directory.PushSubscription{User: c.key.user, Device: c.key.device, Endpoint: p.Endpoint, P256dh: p.P256dh, Auth: p.Auth, Muted: p.Muted}
	if c.g.cfg.SharedPresence {
		s.OnlineUntil = c.g.cfg.Now().Add(presenceTTL) // the device is connected: it just said so
	}
	if err := c.g.dir.SetPushSubscription(ctx, s); err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	push.Forget(c.key.user)
	c.reply(id, &wire.OK{})
}

// markPresent records in the directory that the connection's device is
// connected (Config.SharedPresence).
func (c *conn) markPresent() {
	if !c.g.cfg.SharedPresence {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	refs := []directory.DeviceRef{{User: c.key.user, Device: c.key.device}}
	if err := c.g.dir.SetPushPresence(ctx, refs, c.g.cfg.Now().Add(presenceTTL)); err != nil {
		c.g.cfg.Logger.Warn("gateway: recording presence failed", "err", err)
	}
}

// markAbsent records that the device of a closed connection is no longer
// connected, unless another connection of it is held here.
func (g *Gateway) markAbsent(k devKey) {
	if !g.cfg.SharedPresence || g.local(k) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if err := g.dir.SetPushPresence(ctx, []directory.DeviceRef{{User: k.user, Device: k.device}}, time.Time{}); err != nil {
		g.cfg.Logger.Warn("gateway: clearing presence failed", "err", err)
	}
}

// refreshPresence records every device connected here, every
// presenceInterval, until ctx ends.
func (g *Gateway) refreshPresence(ctx context.Context) {
	t := time.NewTicker(presenceInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.mu.Lock()
		refs := make([]directory.DeviceRef, 0, len(g.conns))
		for k := range g.conns {
			refs = append(refs, directory.DeviceRef{User: k.user, Device: k.device})
		}
		g.mu.Unlock()
		wctx, cancel := context.WithTimeout(ctx, requestTimeout)
		err := g.dir.SetPushPresence(wctx, refs, g.cfg.Now().Add(presenceTTL))
		cancel()
		if err != nil && ctx.Err() == nil {
			g.cfg.Logger.Warn("gateway: refreshing presence failed", "err", err)
		}
	}
}
