package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/ratchet"
	"github.com/mutualcoop/mutual/relay/wire"
)

// ackEvery bounds how many stored deliveries wait for one batched Ack
// (the relay allows 256 unacknowledged).
const ackEvery = 32

// maxBatch bounds the deliveries stored in one transaction. The inbox
// takes only what the transport has already buffered, never waiting for
// more, so a lone message is stored at once and a backlog costs one
// commit per batch rather than one per message.
const maxBatch = 64

// inbox stores what the relay delivers and acknowledges it: the
// deliveries already waiting (up to maxBatch) are decrypted and stored,
// with the advanced sessions, in one transaction, and acknowledged only
// after that commits. A crash before the commit leaves the ratchets and
// the store as they were, and the relay delivers the messages again; a
// crash after it makes the relay deliver messages already seen, which
// are dropped by their IDs. inbox never waits for a reply from the relay.
func (c *Client) inbox(ctx context.Context, conn *transport.Conn) error {
	var pending int64 = -1 // highest stored offset not yet acknowledged
	unacked := 0
	ack := func() error {
		if pending < 0 {
			return nil
		}
		if err := conn.Send(ctx, &wire.Ack{Offset: pending}); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
		pending, unacked = -1, 0
		return nil
	}
	batch := make([]*wire.Deliver, 0, maxBatch)
	for {
		select {
		case d, ok := <-conn.Deliveries():
			if !ok {
				return errConnEnded
			}
			batch = append(batch[:0], d)
			ended := false
		more:
			for len(batch) < maxBatch {
				select {
				case d, ok := <-conn.Deliveries():
					if !ok {
						ended = true
						break more
					}
					batch = append(batch, d)
				default:
					break more
				}
			}
			if err := c.receiveBatch(ctx, batch); err != nil {
				return err
			}
			if ended {
				return errConnEnded // stored; the relay delivers them again
			}
			if c.afterStore != nil {
				c.afterStore(conn)
			}
			pending = batch[len(batch)-1].Offset
			unacked += len(batch)
			if unacked >= ackEvery || len(conn.Deliveries()) == 0 {
				if err := ack(); err != nil {
					return err
				}
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// received is what a batch of deliveries did, to make known once it has
// committed: the events in delivery order (Undecryptable ones included)
// and whether anything was queued to send.
type received struct {
	events []Event
	queued bool
}

// receiveBatch stores deliveries, in order, in one transaction. Only a
// failure of the store is an error (then nothing is stored, and the relay
// delivers them all again): an envelope that cannot be read or decrypted
// is reported as an event and dropped, and what its decryption wrote is
// undone without touching the others (see journal).
func (c *Client) receiveBatch(ctx context.Context, batch []*wire.Deliver) error {
	var r received
	err := c.update(ctx, func(ts *txState) error {
		r = received{}
		for _, d := range batch {
			if err := c.receive(ctx, ts, d, &r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store deliveries: %w", err)
	}
	for _, ev := range r.events {
		if u, ok := ev.(Undecryptable); ok {
			c.log.Warn("client: dropped a message that cannot be decrypted", "msg", u.Err.MessageID, "err", u.Err.Err)
		}
		c.emit(ev)
	}
	if r.queued {
		c.poke()
	}
	return nil
}

// receive stores one delivery in ts.
func (c *Client) receive(ctx context.Context, ts *txState, d *wire.Deliver, r *received) error {
	env := &d.Envelope
	switch env.Kind {
	case wire.KindRejected:
		return c.receiveRejection(ts, env, r)
	case wire.KindMessage, wire.KindRequest:
		return c.receiveMessage(ctx, ts, env, r)
	}
	c.log.Debug("client: ignoring an envelope of unknown kind", "kind", env.Kind)
	return nil
}

// receiveMessage decrypts and stores one message or receipt in ts. A
// message seen before (also earlier in the same transaction) is dropped.
// The decryption runs under a journal: if it fails, what it wrote (an
// identity record, a used prekey) is undone and the message is reported,
// while the rest of the transaction stands.
func (c *Client) receiveMessage(ctx context.Context, ts *txState, env *wire.Envelope, r *received) error {
	me := c.me()
	if env.Sender == me.User && env.SenderDevice == me.Device {
		return nil // never encrypted for this device
	}
	seenKey := authoredKey(env.Sender, env.MessageID)
	switch _, err := ts.tx.Get(bSeen, seenKey); {
	case err == nil:
		return nil // a redelivery
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	markSeen := func() error {
		return ts.tx.Put(bSeen, seenKey, binary.BigEndian.AppendUint64(nil, uint64(env.ServerTimeMS)))
	}
	var ct *Contact
	if env.Sender != me.User {
		var err error
		if ct, err = getContact(ts.tx, me.User, env.Sender); err != nil {
			return err
		}
		if ct != nil && ct.State == ContactBlocked {
			return markSeen() // the relay should not have delivered it
		}
	}
	undecryptable := func(err error) {
		r.events = append(r.events, Undecryptable{Err: &DecryptError{From: env.Sender, Device: env.SenderDevice, MessageID: env.MessageID, Err: err}})
	}
	msg, err := parseCiphertext(env.Ciphertext)
	var plaintext []byte
	if err == nil {
		j := ts.journal()
		plaintext, err = ts.sessions.Decrypt(ctx, sessionAddress(env.Sender, env.SenderDevice), msg)
		var se *storeError
		if errors.As(err, &se) {
			j.keep()
			return err // not the message's fault: it is delivered again
		}
		if err != nil {
			if uerr := j.undo(); uerr != nil {
				return uerr
			}
		} else {
			j.keep()
		}
	}
	if err != nil {
		undecryptable(err)
		return nil
	}
	if err := markSeen(); err != nil {
		return err
	}
	cont, err := openContent(plaintext)
	if err != nil {
		// Authentic but unreadable: keep the ratchet step.
		undecryptable(err)
		return nil
	}
	events, queued, err := c.apply(ts, env, ct, cont)
	if err != nil {
		return err
	}
	r.events = append(r.events, events...)
	r.queued = r.queued || queued
	return nil
}

// parseCiphertext splits one device's ciphertext: a type byte (2
// SignalMessage, 3 PreKeySignalMessage) and the message.
func parseCiphertext(b []byte) (ratchet.Ciphertext, error) {
	if len(b) < 2 {
		return ratchet.Ciphertext{}, fmt.Errorf("%w: empty ciphertext", ratchet.ErrMalformed)
	}
	return ratchet.Ciphertext{Type: ratchet.MessageType(b[0]), Body: b[1:]}, nil
}

func appendCiphertext(dst []byte, ct ratchet.Ciphertext) []byte {
	return append(append(dst, byte(ct.Type)), ct.Body...)
}

// apply stores the effect of a decrypted content and returns the events
// to emit after the commit and whether anything was queued to send.
func (c *Client) apply(ts *txState, env *wire.Envelope, ct *Contact, m *content) ([]Event, bool, error) {
	me := c.me()
	fromSelf := env.Sender == me.User
	peer := env.Sender
	if fromSelf {
		peer = m.Peer
		if peer.IsZero() || peer == me.User {
			return nil, false, nil
		}
	}
	switch m.Kind {
	case kindText, kindDelivered, kindRead:
	case kindProfile:
		if fromSelf {
			return nil, false, c.applyOwnProfile(ts, m)
		}
		if ct == nil {
			return nil, false, nil // a stranger's profile makes no contact
		}
	default:
		return nil, false, nil // a later kind this build does not know
	}
	var events []Event
	queued := false
	if !fromSelf {
		// A contact who writes accepts this account.
		dirty := true
		switch {
		case ct == nil && env.Kind == wire.KindRequest:
			ct = &Contact{User: env.Sender, State: ContactRequest, Accepted: true, Added: fromMS(ts.now)}
			ct.Conversation = DirectConversation(me.User, ct.User)
			events = append(events, RequestReceived{Contact: *ct})
		case ct == nil:
			// A plain message gets through only if the account allowed
			// the sender, perhaps on another device.
			ct = &Contact{User: env.Sender, State: ContactAllowed, Accepted: true, Added: fromMS(ts.now)}
		case !ct.Accepted:
			ct.accept()
			// They accept this account now: tell them its name. What
			// waited for their answer goes too, so the worker looks at
			// the outbox again.
			if _, err := c.enqueueProfile(ts, ct); err != nil {
				return nil, false, err
			}
			queued = true
		default:
			dirty = false
		}
		if m.Kind == kindProfile && takeProfile(ct, m) {
			dirty = true
		}
		if dirty {
			if err := c.putContact(ts, ct); err != nil {
				return nil, false, err
			}
		}
	}
	switch m.Kind {
	case kindText:
		msg := &Message{
			ID: env.MessageID, Conversation: DirectConversation(me.User, peer), Peer: peer,
			Outgoing: fromSelf, SenderDevice: env.SenderDevice, Text: m.Text,
			SentAt: fromMS(m.SentAt), ServerTime: fromMS(env.ServerTimeMS), State: StateReceived,
		}
		if fromSelf {
			msg.State = StateSent
			if err := c.ensureContact(ts, peer); err != nil {
				return nil, false, err
			}
			if env.Kind == wire.KindRequest {
				// Another device of this account sent a contact request:
				// this one waits for the answer too.
				if err := c.noteRequest(ts, peer, fromMS(env.ServerTimeMS)); err != nil {
					return nil, false, err
				}
			}
		}
		if err := c.insertMessage(ts.tx, env.Sender, msg); err != nil {
			return nil, false, err
		}
		events = append(events, MessageReceived{Message: *msg})
		if !fromSelf && ct.State == ContactAllowed {
			if err := c.enqueueReceipt(ts.tx, peer, kindDelivered, env.MessageID); err != nil {
				return nil, false, err
			}
			queued = true
		}
	case kindDelivered, kindRead:
		state := StateDelivered
		if m.Kind == kindRead {
			state = StateRead
		}
		author := me.User // a contact acknowledges this account's messages
		if fromSelf {
			if m.Kind != kindRead {
				return events, queued, nil
			}
			author = peer // another device of this account read the contact's messages
		}
		for _, ref := range m.Refs {
			msg, err := c.advanceMessage(ts.tx, author, ref, peer, state)
			if err != nil {
				return nil, false, err
			}
			if msg != nil {
				events = append(events, MessageStateChanged{Message: *msg})
			}
		}
	}
	return events, queued, nil
}

// ensureContact creates an allowed contact for peer if there is none: a
// conversation this account's other device has.
func (c *Client) ensureContact(ts *txState, peer wire.UserID) error {
	me := c.me()
	ct, err := getContact(ts.tx, me.User, peer)
	if ct != nil || err != nil {
		return err
	}
	return c.putContact(ts, &Contact{User: peer, State: ContactAllowed, Added: fromMS(ts.now)})
}

// receiveRejection marks a message of this account refused by a
// recipient.
func (c *Client) receiveRejection(ts *txState, env *wire.Envelope, r *received) error {
	me := c.me()
	if env.Sender != me.User {
		return nil
	}
	if env.Code == wire.CodeNotAccepted && !env.Subject.IsZero() {
		ct, err := getContact(ts.tx, me.User, env.Subject)
		if err != nil {
			return err
		}
		dirty := false
		if ct != nil && ct.Accepted {
			ct.Accepted, dirty = false, true // send contact requests again
		}
		// The pending request (or a message after it) was refused: no
		// answer is coming, so what waited for one goes now, as a
		// request again. A refusal of something older changes nothing.
		if ct != nil && !ct.RequestSent.IsZero() && !ct.RequestSent.After(fromMS(env.ServerTimeMS)) {
			ct.RequestSent, dirty, r.queued = time.Time{}, true, true
		}
		if dirty {
			if err := c.putContact(ts, ct); err != nil {
				return err
			}
		}
	}
	msg, err := c.loadMessage(ts.tx, me.User, env.MessageID)
	if msg == nil || err != nil {
		return err
	}
	if !msg.Outgoing || env.Subject != msg.Peer || msg.State >= StateDelivered {
		return nil
	}
	was := msg.State
	msg.State, msg.Failure = StateFailed, env.Code
	r.events = append(r.events, MessageStateChanged{Message: *msg})
	return c.putMessage(ts.tx, msg, was)
}
