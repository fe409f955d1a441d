package gateway

import (
	"context"
	"crypto/ed25519"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op. Coop frames are answered by the relay's co-op service
// (relay/coop), counted first in the account's co-op buckets (Rates.Coop,
// and Rates.CoopJoin for a Join, which creates objects at the payment
// provider); which account may do what (an operator's costs and grants)
// is the service's to decide. Welcome carries the key that signs co-op
// notices, and every authenticated connection is reported to the service,
// which counts the month's active users.

// Coop is what the gateway needs of the co-op (relay/coop.Service).
type Coop interface {
	// Connected notes that a device of user signed in.
	Connected(ctx context.Context, user wire.UserID)
	// Handle answers a Coop frame of user: CoopInfo, CoopCheckout or OK.
	Handle(ctx context.Context, user wire.UserID, req *wire.Coop) (wire.Body, error)
	// Key is the public key that signs co-op notices.
	Key() ed25519.PublicKey
}

// connectedTimeout bounds the co-op's bookkeeping of one sign-in.
const connectedTimeout = 5 * time.Second

// coopKey is what Welcome tells of the co-op's key: nothing without a
// co-op.
func (g *Gateway) coopKey() []byte {
	if g.cfg.Coop == nil {
		return nil
	}
	return g.cfg.Coop.Key()
}

// coopConnected tells the co-op that user signed in, in a goroutine of
// its own: the sign-in's answer never waits for it. Shutdown waits for it
// and cancels it.
func (g *Gateway) coopConnected(user wire.UserID) {
	co := g.cfg.Coop
	if co == nil {
		return
	}
	g.coopWG.Add(1)
	go func() {
		defer g.coopWG.Done()
		ctx, cancel := context.WithTimeout(g.life, connectedTimeout)
		defer cancel()
		co.Connected(ctx, user)
	}()
}

// handleCoop answers a Coop frame.
func (c *conn) handleCoop(ctx context.Context, id uint64, req *wire.Coop) {
	co := c.g.cfg.Coop
	if co == nil {
		c.reply(id, &wire.Error{Code: wire.CodeUnavailable, Message: "this relay runs no co-op"})
		return
	}
	r := c.g.cfg.Rates
	charges := []charge{c.perUser("coop", r.Coop)}
	if req.Op == wire.CoopJoin {
		charges = append(charges, c.perUser("coop-join", r.CoopJoin))
	}
	if !c.limit(ctx, id, charges...) {
		return
	}
	body, err := co.Handle(ctx, c.key.user, req)
	c.replyErr(id, err, body)
}
