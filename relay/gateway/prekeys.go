package gateway

import (
	"context"
	"fmt"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// One-time prekeys are handed out sparingly: whoever fetches a bundle
// takes a device's one-time keys, and the device makes new ones when they
// run low. Unlimited, a stranger could empty a device's pools in a moment
// and keep them empty, making the device generate and store keys for
// ever while everyone else's sessions start without one-time keys.
//
// So a bundle carries one-time prekeys only when the requesting account
// is within its limits for that device (Config.PrekeyPairRate) and in all
// (Config.PrekeyClaimRate), and the device within what it hands out to
// everyone (Config.PrekeyDeviceRate); and never to an account the
// device's user has blocked. Otherwise it is the bundle of an empty pool:
// no one-time EC prekey and the last-resort KEM prekey. Sessions start
// as well with it (PQXDH without one-time keys), and the requester cannot
// tell a limit or a block from a pool that ran dry.

// claimBundle returns the bundle of device dev of user for this
// connection's account, with one-time prekeys when it may have them, and
// reports whether it took any.
func (c *conn) claimBundle(ctx context.Context, user wire.UserID, dev wire.DeviceID) (directory.Bundle, bool, error) {
	if !c.mayTakeOneTime(ctx, user, dev) {
		b, err := c.g.dir.LastResortBundle(ctx, user, dev)
		return b, false, err
	}
	b, err := c.g.dir.ClaimBundle(ctx, user, dev)
	return b, err == nil && (b.OneTime != nil || !b.KEMIsLastResort), err
}

// mayTakeOneTime reports whether this connection's account may take a
// one-time prekey of device dev of user now, charging the limits if so.
// The target device's limit is charged last, so that a requester over
// its own limits spends nothing of the device's. If the limits cannot be
// read, it says no: the bundle still works.
func (c *conn) mayTakeOneTime(ctx context.Context, user wire.UserID, dev wire.DeviceID) bool {
	st, err := c.g.dir.ContactState(ctx, user, c.key.user)
	if err != nil {
		c.g.cfg.Logger.Warn("gateway: contact state for a bundle", "err", err)
		return false
	}
	if st == directory.Blocked {
		return false
	}
	me, target := c.key.user.String(), fmt.Sprintf("%s.%d", user, dev)
	checks := []struct {
		key  string
		rate limit.Rate
	}{
		{"prekeys/pair/" + me + "/" + target, c.g.cfg.PrekeyPairRate},
		{"prekeys/user/" + me, c.g.cfg.PrekeyClaimRate},
		{"prekeys/device/" + target, c.g.cfg.PrekeyDeviceRate},
	}
	now := c.g.cfg.Now()
	for _, ch := range checks {
		ok, _, err := c.g.cfg.Limits.Take(ctx, ch.key, ch.rate, 1, now)
		if err != nil {
			c.g.cfg.Logger.Warn("gateway: one-time prekey limit", "err", err)
			return false
		}
		if !ok {
			return false
		}
	}
	return true
}
