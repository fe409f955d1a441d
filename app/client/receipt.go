package client

import (
	"context"
	"errors"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Receipts (content kinds 2, delivery, and 3, read) acknowledge text
// messages: each names up to maxReceiptRefs message IDs. A message
// received queues a delivery receipt in the transaction that stores it
// (receiveText); MarkRead queues read receipts unless they are off.
// Receipts to a contact join a queued receipt while it can take them
// (enqueueReceipt), so a backlog is acknowledged by a few. On receipt
// they move this account's messages to Delivered or Read; a read receipt
// from another device of this account marks the contact's messages read
// here too.

// Read receipts are mutual, as in other messengers: with them off, the
// user neither sends read receipts nor sees others'. A read receipt from
// a contact that arrives meanwhile counts as a delivery receipt, and the
// messages read before are shown delivered (readsHidden) until they are
// on again.

// SetReadReceipts turns read receipts on or off (on by default): off,
// none is sent and others' are not shown (see above). Delivery receipts
// are always sent.
func (c *Client) SetReadReceipts(ctx context.Context, on bool) error {
	return c.st.Update(ctx, func(tx store.Tx) error {
		a, err := mustAccount(tx)
		if err != nil {
			return err
		}
		a.ReadReceiptsOff = !on
		return putAccount(tx, a)
	})
}

// ReadReceipts reports whether read receipts are on: sent, and others'
// shown.
func (c *Client) ReadReceipts(ctx context.Context) (bool, error) {
	on := false
	err := c.st.View(ctx, func(tx store.Tx) error {
		a, err := mustAccount(tx)
		if err == nil {
			on = !a.ReadReceiptsOff
		}
		return err
	})
	return on, err
}

// enqueueReceipt queues a receipt of kind (kindDelivered or kindRead)
// for ids to peer. The IDs join the newest receipt entry of that kind to
// peer while it is still in the outbox, not encrypted, and has room (at
// most maxReceiptRefs per receipt), so a backlog of messages is
// acknowledged with a few receipts rather than one each. An entry the
// worker has encrypted is never changed (its bytes go as they are): a
// new entry starts. The entry is rewritten in tx, the caller's
// transaction, and the worker reads it again in the transaction that
// encrypts it (prepare), so no ID added is lost.
func (c *Client) enqueueReceipt(tx store.Tx, peer wire.UserID, kind contentKind, ids ...wire.MessageID) error {
	return c.enqueueReceiptIn(tx, wire.ConversationID{}, peer, kind, ids...)
}

// enqueueGroupReceipt queues a receipt as enqueueReceipt does, within the
// group (to a member who need not be a contact).
func (c *Client) enqueueGroupReceipt(tx store.Tx, group wire.ConversationID, peer wire.UserID, kind contentKind, ids ...wire.MessageID) error {
	return c.enqueueReceiptIn(tx, group, peer, kind, ids...)
}

// enqueueReceiptIn queues a receipt to peer, 1:1 (group zero) or within
// the group.
func (c *Client) enqueueReceiptIn(tx store.Tx, group wire.ConversationID, peer wire.UserID, kind contentKind, ids ...wire.MessageID) error {
	hint := receiptKey(peer, kind)
	if group != (wire.ConversationID{}) {
		hint = append(hint, group[:]...)
	}
	for len(ids) > 0 {
		seq, e, m, err := openReceipt(tx, hint, group, peer, kind)
		if err != nil {
			return err
		}
		if e == nil {
			n := min(len(ids), maxReceiptRefs)
			var seq uint64
			var err error
			m := &content{Kind: kind, Refs: slices.Clone(ids[:n])}
			if group == (wire.ConversationID{}) {
				seq, err = c.newEntry(tx, wire.NewMessageID(), peer, m)
			} else {
				seq, err = c.newGroupEntry(tx, wire.NewMessageID(), group, peer, m, false)
			}
			if err != nil {
				return err
			}
			if err := tx.Put(bReceipts, hint, seqKey(seq)); err != nil {
				return err
			}
			ids = ids[n:]
			continue
		}
		n := min(len(ids), maxReceiptRefs-len(m.Refs))
		m.Refs = append(m.Refs, ids[:n]...)
		if e.Padded, err = sealContent(m); err != nil {
			return err
		}
		if err := tx.Put(bOutbox, seqKey(seq), e.marshal()); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// openReceipt returns the receipt entry the hint names, with its content,
// if more receipts may join it: it is still in the outbox, a receipt of
// kind to peer, not encrypted and not full. Otherwise e is nil.
func openReceipt(tx store.Tx, hint []byte, group wire.ConversationID, peer wire.UserID, kind contentKind) (seq uint64, e *outboxEntry, m *content, err error) {
	k, err := tx.Get(bReceipts, hint)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, nil, nil
	}
	if err != nil {
		return 0, nil, nil, err
	}
	seq = seqFromKey(k)
	v, err := tx.Get(bOutbox, seqKey(seq))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil, nil, nil // sent or dropped
	}
	if err != nil {
		return 0, nil, nil, err
	}
	if e, err = parseOutbox(v); err != nil {
		return 0, nil, nil, err
	}
	if e.Encrypted || e.Peer != peer || e.ContentKind != kind || e.Group != group {
		return 0, nil, nil, nil
	}
	if m, err = openContent(e.Padded); err != nil {
		return 0, nil, nil, err
	}
	if len(m.Refs) >= maxReceiptRefs {
		return 0, nil, nil, nil
	}
	return seq, e, m, nil
}

// receiveReceipt moves the messages a receipt names forward (see
// advanceMessage) and reports each that changed (MessageStateChanged).
// A contact's receipt acknowledges this account's messages to them; a
// read receipt from another device of this account says the user read
// the contact's messages there. This account's own delivery receipts
// change nothing here.
func (c *Client) receiveReceipt(ts *txState, in *incoming, r *received) error {
	if err := c.noteWriter(ts, in, r, nil); err != nil {
		return err
	}
	m := in.content
	state := StateDelivered
	if m.Kind == kindRead {
		state = StateRead
	}
	author := c.me().User // a contact acknowledges this account's messages
	if in.fromSelf {
		if m.Kind != kindRead {
			return nil
		}
		author = in.peer // another device of this account read the contact's messages
	} else if state == StateRead {
		hidden, err := readsHidden(ts.tx)
		if err != nil {
			return err
		}
		if hidden {
			state = StateDelivered // read receipts are mutual
		}
	}
	for _, ref := range m.Refs {
		msg, err := c.advanceMessage(ts.tx, author, ref, in.peer, state)
		if err != nil {
			return err
		}
		if msg != nil {
			r.events = append(r.events, MessageStateChanged{Message: *msg})
		}
	}
	return nil
}

// readsHidden reports whether others' read receipts are hidden: the user
// turned read receipts off.
func readsHidden(tx store.Tx) (bool, error) {
	a, err := getAccount(tx)
	if a == nil || err != nil {
		return false, err
	}
	return a.ReadReceiptsOff, nil
}

// hideRead shows a message as the user may see it: with read receipts
// off (hidden), a message of theirs the contact read is delivered.
func hideRead(m *Message, hidden bool) {
	if hidden && m.Outgoing && m.State == StateRead {
		m.State = StateDelivered
	}
}

// readReceiptsFor queues read receipts to peer for the messages ids,
// which the user has read, unless read receipts are off; it reports
// whether it queued any.
func (c *Client) readReceiptsFor(tx store.Tx, peer wire.UserID, ids []wire.MessageID) (bool, error) {
	if len(ids) == 0 {
		return false, nil
	}
	off, err := readsHidden(tx)
	if off || err != nil {
		return false, err
	}
	return true, c.enqueueReceipt(tx, peer, kindRead, ids...)
}
