package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op's notices. The relay writes them, not a person, and signs
// each with its co-op key over the recipient's user ID and the notice
// (wire.CoopSignedMessage); they reach every device of the account as
// envelopes of wire.KindCoop. This device keeps the first key a Welcome
// tells it (pinCoopKey) and stores a notice only when it comes from the
// zero sender in wire.CoopConversation, is signed with that key for this
// account, and is not stored already (by its ID): as a received message
// of the co-op's conversation, with Message.Coop set, which Chats lists
// as CoopChatName. Anything else is dropped, acknowledged like any
// delivery and counted (CoopNoticesDropped), never shown.

// coopRecord is what this device keeps of the co-op:
//
//	{1 the pinned notice key (Ed25519, 32 bytes), 2 notices dropped}
type coopRecord struct {
	Key     []byte
	Dropped uint64
}

func (r *coopRecord) marshal() []byte {
	e := newEnc()
	e.bytes(1, r.Key)
	e.uint(2, r.Dropped)
	return e.b
}

func parseCoop(b []byte) (*coopRecord, error) {
	r := new(coopRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			r.Key, err = f.copyBytes(wire.CoopKeyLen)
		case 2:
			r.Dropped, err = f.uint64()
		}
		return err
	})
	if err == nil && len(r.Key) != 0 && len(r.Key) != ed25519.PublicKeySize {
		err = fmt.Errorf("%w: a co-op key of %d bytes", errMalformed, len(r.Key))
	}
	if err != nil {
		return nil, fmt.Errorf("co-op record: %w", err)
	}
	return r, nil
}

// loadCoop reads the co-op record; an empty one if there is none.
func loadCoop(tx store.Tx) (*coopRecord, error) {
	b, err := tx.Get(bCoop, kCoop)
	if errors.Is(err, store.ErrNotFound) {
		return new(coopRecord), nil
	}
	if err != nil {
		return nil, err
	}
	return parseCoop(b)
}

// pinCoopKey keeps key, from the relay's Welcome, as the key of the
// co-op's notices if none is kept yet. A different key later is not
// taken: notices signed with it are dropped.
func (c *Client) pinCoopKey(ctx context.Context, key []byte) error {
	if len(key) != ed25519.PublicKeySize {
		return nil // the relay runs no co-op
	}
	var pinned []byte
	err := c.st.View(ctx, func(tx store.Tx) error {
		r, err := loadCoop(tx)
		if err == nil {
			pinned = r.Key
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("co-op key: %w", err)
	}
	if pinned != nil {
		if !bytes.Equal(pinned, key) {
			c.log.Warn("client: the relay signs co-op notices with a key other than the one this device kept; its notices are dropped")
		}
		return nil
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		r, err := loadCoop(tx)
		if err != nil || r.Key != nil {
			return err
		}
		r.Key = bytes.Clone(key)
		return tx.Put(bCoop, kCoop, r.marshal())
	})
	if err != nil {
		return fmt.Errorf("co-op key: %w", err)
	}
	return nil
}

// CoopNoticesDropped is how many envelopes of co-op notices this device
// dropped: not from the relay's co-op key, not for this account, or
// malformed.
func (c *Client) CoopNoticesDropped(ctx context.Context) (uint64, error) {
	var n uint64
	err := c.st.View(ctx, func(tx store.Tx) error {
		r, err := loadCoop(tx)
		if err == nil {
			n = r.Dropped
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("co-op notices dropped: %w", err)
	}
	return n, nil
}

// errBadNotice says why a co-op notice was dropped.
var errBadNotice = errors.New("not a notice of the relay's co-op")

// receiveCoop stores a co-op notice in ts, or drops it.
func (c *Client) receiveCoop(ts *txState, env *wire.Envelope, r *received) error {
	rec, err := loadCoop(ts.tx)
	if err != nil {
		return err
	}
	n, err := c.openNotice(rec.Key, env)
	if err != nil {
		c.log.Warn("client: dropped a co-op notice", "msg", env.MessageID, "err", err)
		rec.Dropped++
		return ts.tx.Put(bCoop, kCoop, rec.marshal())
	}
	had, err := c.loadMessage(ts.tx, wire.UserID{}, n.ID)
	if had != nil || err != nil {
		return err // written twice by the relay: one notice
	}
	m := &Message{
		ID: n.ID, Conversation: wire.CoopConversation, Text: n.Text,
		SentAt: fromMS(n.TimeMS), ServerTime: fromMS(env.ServerTimeMS), State: StateReceived, Coop: n,
	}
	if err := c.insertMessage(ts.tx, wire.UserID{}, m); err != nil {
		return err
	}
	r.events = append(r.events, MessageReceived{Message: *m})
	return nil
}

// openNotice checks a co-op notice's envelope against the pinned key and
// decodes it.
func (c *Client) openNotice(key []byte, env *wire.Envelope) (*wire.CoopNotice, error) {
	switch {
	case len(key) != ed25519.PublicKeySize:
		return nil, fmt.Errorf("%w: no co-op key kept", errBadNotice)
	case !env.Sender.IsZero() || env.SenderDevice != 0:
		return nil, fmt.Errorf("%w: from a user", errBadNotice)
	case env.Conversation != wire.CoopConversation:
		return nil, fmt.Errorf("%w: in another conversation", errBadNotice)
	}
	body, sig, err := wire.DecodeSignedCoopNotice(env.Shared)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadNotice, err)
	}
	if !ed25519.Verify(key, wire.CoopSignedMessage(c.me().User, body), sig) {
		return nil, fmt.Errorf("%w: bad signature", errBadNotice)
	}
	n, err := wire.DecodeCoopNotice(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadNotice, err)
	}
	if n.ID != env.MessageID {
		return nil, fmt.Errorf("%w: the notice's ID is not the envelope's", errBadNotice)
	}
	return n, nil
}

// coopChat is the chat list's entry of the co-op's notices.
func coopChat(r *chatRecord) Chat {
	ch := Chat{
		Coop:    true,
		Contact: Contact{Nickname: CoopChatName, Conversation: wire.CoopConversation},
		Last:    r.Last, Unread: r.Unread,
	}
	if r.Last != nil {
		ch.Activity = messageTime(r.Last)
	}
	return ch
}
