package client

import (
	"context"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/session"
	"github.com/mutualcoop/mutual/relay/wire"
)

// keyCacheSize bounds the ratchet private keys kept ready between
// transactions (see ratchet.KeyCache): one per session recently stepped.
const keyCacheSize = 256

// txState is one read-write transaction as the client's code sees it:
// the store's transaction, its time, the session.Manager that works
// through it, and what it noticed, to be emitted as events once it has
// committed.
type txState struct {
	tx  store.Tx
	now int64
	// sessions encrypts and decrypts through this transaction: its
	// keyStore reads and writes ts.tx (the journal's, while one is
	// open), so every session it advances commits with what the caller
	// stores, or not at all.
	sessions *session.Manager
	// changed lists devices whose identity became unverified in this
	// transaction, by user.
	changed map[wire.UserID][]wire.DeviceID
	// ownDevices lists devices of this account seen for the first time.
	ownDevices []wire.DeviceID
	// contacts lists the users whose contact record changed.
	contacts []wire.UserID
	// queued: something was put in the outbox for the worker to send.
	queued bool
}

func (ts *txState) contactChanged(u wire.UserID) {
	if !slices.Contains(ts.contacts, u) {
		ts.contacts = append(ts.contacts, u)
	}
}

// update runs fn in a read-write transaction, with a session.Manager
// bound to it, and emits the identity and contact changes it noticed
// once it committed (and wakes the worker if it queued something to
// send).
func (c *Client) update(ctx context.Context, fn func(ts *txState) error) error {
	var ts *txState
	err := c.st.Update(ctx, func(tx store.Tx) error {
		ts = &txState{tx: tx, now: c.now().UnixMilli()}
		mgr, err := session.New(keyStore{c: c, ts: ts}, session.Config{Rand: c.cfg.Rand, KeyCache: c.ratchetKeys})
		if err != nil {
			return err
		}
		ts.sessions = mgr
		return fn(ts)
	})
	if err != nil {
		return err
	}
	for u, devs := range ts.changed {
		c.emit(IdentityChanged{Contact: u, Devices: devs})
	}
	for _, d := range ts.ownDevices {
		c.emit(OwnDeviceSeen{Device: d})
	}
	for _, u := range ts.contacts {
		c.emit(ContactChanged{User: u})
	}
	if ts.queued {
		c.poke()
	}
	return nil
}
