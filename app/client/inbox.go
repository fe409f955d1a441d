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
		if c.afterAck != nil {
			c.afterAck(pending)
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
	// downloads: attachments were queued to download (receiveAttachments).
	downloads bool
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
	if r.downloads {
		c.pokeDownloads()
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
	case wire.KindGroup:
		return c.receiveGroup(ctx, ts, env, r)
	case wire.KindCoop:
		return c.receiveCoop(ts, env, r)
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
	seenKey, skip, err := c.unseen(ts, env)
	if skip || err != nil {
		return err
	}
	me := c.me()
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
	plaintext, err, fatal := c.decryptOwn(ctx, ts, env)
	if fatal != nil {
		return fatal
	}
	if err != nil {
		r.undecryptable(env, err)
		return nil
	}
	if err := markSeen(); err != nil {
		return err
	}
	cont, err := openContent(plaintext)
	if err != nil {
		// Authentic but unreadable: keep the ratchet step.
		r.undecryptable(env, err)
		return nil
	}
	return c.apply(ts, env, ct, cont, r)
}

// undecryptable reports a message of env that could not be read.
func (r *received) undecryptable(env *wire.Envelope, err error) {
	r.events = append(r.events, Undecryptable{Err: &DecryptError{From: env.Sender, Device: env.SenderDevice, MessageID: env.MessageID, Err: err}})
}

// decryptOwn decrypts env's ciphertext for this device (its pairwise
// session with the sender's device) under a journal: err says why the
// message does not decrypt, and then what its decryption wrote is
// undone; fatal is a failure of the store, after which the transaction
// must be abandoned (the relay delivers the message again).
func (c *Client) decryptOwn(ctx context.Context, ts *txState, env *wire.Envelope) (plaintext []byte, err, fatal error) {
	msg, err := parseCiphertext(env.Ciphertext)
	if err != nil {
		return nil, err, nil
	}
	j := ts.journal()
	plaintext, err = ts.sessions.Decrypt(ctx, sessionAddress(env.Sender, env.SenderDevice), msg)
	var se *storeError
	if errors.As(err, &se) {
		j.keep()
		return nil, nil, err // not the message's fault: it is delivered again
	}
	if err != nil {
		if uerr := j.undo(); uerr != nil {
			return nil, nil, uerr
		}
		return nil, err, nil
	}
	j.keep()
	return plaintext, nil, nil
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

// incoming is one decrypted content and where it comes from, as a
// contentHandler sees it.
type incoming struct {
	env     *wire.Envelope // as delivered: sender, device, message ID, kind, server time
	content *content
	// fromSelf: written on another device of this account, which sends
	// its devices a copy of what it sends.
	fromSelf bool
	peer     wire.UserID // the other user of the 1:1 conversation
	// sender is the sender's contact record: nil if there is none, and
	// for this account's own devices. noteWriter creates one for a
	// stranger.
	sender *Contact
}

// apply hands a decrypted content to the handler of its kind (see
// handlerFor), which stores its effect in ts and adds to r the events to
// emit after the commit. A copy from another device of this account that
// names no other user (content.Peer), unless it is a contacts sync (which
// goes to the account itself), and a kind this build does not know, are
// dropped: the message stays seen (the caller stored its
// seen-ID) and nothing else changes.
func (c *Client) apply(ts *txState, env *wire.Envelope, sender *Contact, m *content, r *received) error {
	me := c.me()
	in := &incoming{env: env, content: m, peer: env.Sender, sender: sender}
	if env.Sender == me.User {
		in.fromSelf, in.peer, in.sender = true, m.Peer, nil
		if (in.peer.IsZero() || in.peer == me.User) && m.Kind != kindContacts && m.Kind != kindGroups && m.Kind != kindJoinRequest {
			return nil
		}
	}
	h := handlerFor(m.Kind)
	if h == nil {
		return nil // a later kind, which reaches this build harmlessly
	}
	return h(c, ts, in, r)
}

// noteWriter records what any content from a contact says about them,
// before its handler applies the content: a contact who writes accepts
// this account. A contact request from a stranger makes them a request
// (RequestReceived); anything else from a stranger (the relay let it
// through, so the account allowed them, perhaps on another device) makes
// them an allowed contact; a contact who had not written before is
// marked accepted and gets this account's profile, and what waited in
// the outbox for their answer may go. edit, if not nil, changes the
// record too, in the same write, and reports whether it did. in.sender
// is the record afterwards. A copy from this account's own devices
// changes nothing.
func (c *Client) noteWriter(ts *txState, in *incoming, r *received, edit func(*Contact) bool) error {
	if in.fromSelf {
		return nil
	}
	me := c.me()
	ct := in.sender
	dirty := true
	switch {
	case ct == nil && in.env.Kind == wire.KindRequest:
		ct = &Contact{User: in.env.Sender, State: ContactRequest, Accepted: true, Added: fromMS(ts.now)}
		ct.Conversation = DirectConversation(me.User, ct.User)
		r.events = append(r.events, RequestReceived{Contact: *ct})
	case ct == nil:
		ct = &Contact{User: in.env.Sender, State: ContactAllowed, Accepted: true, Added: fromMS(ts.now)}
	case !ct.Accepted:
		ct.accept()
		// They accept this account now: tell them its name. What waited
		// for their answer goes too, so the worker looks at the outbox
		// again.
		if _, err := c.enqueueProfile(ts, ct); err != nil {
			return err
		}
		r.queued = true
	default:
		dirty = false
	}
	if edit != nil && edit(ct) {
		dirty = true
	}
	in.sender = ct
	if !dirty {
		return nil
	}
	return c.putContact(ts, ct)
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
	if g, err := loadGroup(ts.tx, env.Conversation); g != nil || err != nil {
		if err != nil {
			return err
		}
		return c.groupRejection(ts, g, env, r)
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
	if !msg.Outgoing || env.Subject != msg.Peer || (!unsent(msg.State) && msg.State != StateSent) {
		return nil
	}
	was := msg.State
	msg.State, msg.Failure = StateFailed, env.Code
	r.events = append(r.events, MessageStateChanged{Message: *msg})
	return c.putMessage(ts.tx, msg, was)
}

// unseen returns the seen-ID key of env, and skip when env is not to be
// stored: this device sent it (it was never encrypted for it), or it was
// stored before (a redelivery).
func (c *Client) unseen(ts *txState, env *wire.Envelope) (seenKey []byte, skip bool, err error) {
	me := c.me()
	if env.Sender == me.User && env.SenderDevice == me.Device {
		return nil, true, nil
	}
	seenKey = authoredKey(env.Sender, env.MessageID)
	switch _, err := ts.tx.Get(bSeen, seenKey); {
	case err == nil:
		return nil, true, nil
	case !errors.Is(err, store.ErrNotFound):
		return nil, false, err
	}
	return seenKey, false, nil
}
