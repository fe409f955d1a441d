package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Messages returns every message of a conversation, in Seq order. To
// show a long conversation, page through it with History instead.
func (c *Client) Messages(ctx context.Context, conv wire.ConversationID) ([]Message, error) {
	var out []Message
	err := c.st.View(ctx, func(tx store.Tx) error {
		hidden, err := readsHidden(tx)
		if err != nil {
			return err
		}
		return tx.Scan(bMessages, conv[:], func(k, v []byte) error {
			m, err := parseMessage(v)
			if err != nil {
				return err
			}
			m.Seq = seqFromKey(k[len(conv):])
			hideRead(m, hidden)
			out = append(out, *m)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	return out, nil
}

// History returns up to limit messages of conv with Seq < before (before
// 0: the newest), in increasing Seq order. It reads only those (the
// store pages backwards through the conversation's keys), so opening a
// long conversation costs one page: History(ctx, conv, 0, n) for the
// newest n, then History(ctx, conv, page[0].Seq, n) for each older page,
// until a page is short.
func (c *Client) History(ctx context.Context, conv wire.ConversationID, before uint64, limit int) ([]Message, error) {
	if limit < 1 {
		return nil, fmt.Errorf("history: limit %d, want at least 1", limit)
	}
	var bound []byte
	if before > 0 {
		bound = messageKey(conv, before)
	}
	out := make([]Message, 0, min(limit, 256))
	err := c.st.View(ctx, func(tx store.Tx) error {
		out = out[:0]
		hidden, err := readsHidden(tx)
		if err != nil {
			return err
		}
		err = tx.ScanBefore(bMessages, conv[:], bound, func(k, v []byte) error {
			m, err := parseMessage(v)
			if err != nil {
				return err
			}
			m.Seq = seqFromKey(k[len(conv):])
			hideRead(m, hidden)
			out = append(out, *m)
			if len(out) == limit {
				return errPageFull
			}
			return nil
		})
		if errors.Is(err, errPageFull) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	slices.Reverse(out)
	return out, nil
}

// errPageFull stops a scan that has read a page.
var errPageFull = errors.New("page full")

// Message returns one message: an outgoing one by its ID (author is this
// account) or an incoming one (author is the contact).
func (c *Client) Message(ctx context.Context, author wire.UserID, id wire.MessageID) (Message, error) {
	var m *Message
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		if m, err = c.loadMessage(tx, author, id); m == nil || err != nil {
			return err
		}
		hidden, err := readsHidden(tx)
		hideRead(m, hidden)
		return err
	})
	if err == nil && m == nil {
		err = store.ErrNotFound
	}
	if err != nil {
		return Message{}, fmt.Errorf("message: %w", err)
	}
	return *m, nil
}

// MarkRead marks the received messages of a conversation read: those
// named, or every unread one if ids is empty. Unless read receipts are
// off, the contact (in a group, each writer) is told with an encrypted
// read receipt. It reads only
// the messages it marks (and, with no ids, the newest ones down to the
// oldest unread).
func (c *Client) MarkRead(ctx context.Context, conv wire.ConversationID, ids ...wire.MessageID) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	queued := false
	err = c.update(ctx, func(ts *txState) error {
		queued = false
		a, err := mustAccount(ts.tx)
		if err != nil {
			return err
		}
		chat, err := c.loadChat(ts.tx, conv)
		if chat == nil || err != nil || chat.Unread == 0 {
			return err
		}
		if chat.Group {
			queued, err = c.markGroupRead(ts, conv, chat, a, ids)
			return err
		}
		peer := chat.User
		var marked []*Message
		if len(ids) == 0 {
			err = ts.tx.ScanBefore(bMessages, conv[:], nil, func(k, v []byte) error {
				m, err := parseMessage(v)
				if err != nil {
					return err
				}
				if isUnread(m.Outgoing, m.State) {
					m.Seq = seqFromKey(k[len(conv):])
					marked = append(marked, m)
					if len(marked) == chat.Unread {
						return errPageFull // the oldest unread one
					}
				}
				return nil
			})
			if err != nil && !errors.Is(err, errPageFull) {
				return err
			}
			slices.Reverse(marked) // oldest first, as they were written
		} else {
			seen := make(map[wire.MessageID]bool, len(ids))
			for _, id := range ids {
				if seen[id] {
					continue
				}
				seen[id] = true
				m, err := c.loadMessage(ts.tx, peer, id)
				if err != nil {
					return err
				}
				if m != nil && m.Conversation == conv && isUnread(m.Outgoing, m.State) {
					marked = append(marked, m)
				}
			}
		}
		if len(marked) == 0 {
			return nil
		}
		var refs []wire.MessageID
		for _, m := range marked {
			m.State = StateRead
			if err := ts.tx.Put(bMessages, messageKey(conv, m.Seq), m.marshal()); err != nil {
				return err
			}
			chat.noteMessage(m, StateReceived)
			refs = append(refs, m.ID)
		}
		if len(ids) == 0 {
			chat.Unread = 0 // every unread one was read
		}
		if err := putChat(ts.tx, conv, chat); err != nil {
			return err
		}
		ct, err := getContact(ts.tx, me.User, peer)
		if err != nil {
			return err
		}
		if a.ReadReceiptsOff || ct == nil || ct.State != ContactAllowed {
			return nil
		}
		if err := c.enqueueReceipt(ts.tx, peer, kindRead, refs...); err != nil {
			return err
		}
		queued = true
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark read: %w", err)
	}
	if queued {
		c.poke()
	}
	return nil
}

// enqueue puts a receipt (or any content without a message record) in
// the outbox under a new message ID.
func (c *Client) enqueue(tx store.Tx, peer wire.UserID, m *content) error {
	return c.enqueueID(tx, wire.NewMessageID(), peer, m)
}

func (c *Client) enqueueID(tx store.Tx, id wire.MessageID, peer wire.UserID, m *content) error {
	_, err := c.newEntry(tx, id, peer, m)
	return err
}

// newEntry puts m to peer at the end of the outbox and returns its
// sequence number.
func (c *Client) newEntry(tx store.Tx, id wire.MessageID, peer wire.UserID, m *content) (uint64, error) {
	me := c.me()
	m.Peer = peer
	padded, err := sealContent(m)
	if err != nil {
		return 0, err
	}
	seq, err := nextOutboxSeq(tx)
	if err != nil {
		return 0, err
	}
	e := &outboxEntry{
		MessageID: id, Conversation: DirectConversation(me.User, peer), Peer: peer,
		ContentKind: m.Kind, Padded: padded,
	}
	return seq, tx.Put(bOutbox, seqKey(seq), e.marshal())
}

// insertMessage stores a new message at the end of its conversation
// (setting m.Seq), indexes it by author and ID and updates the
// conversation's summary.
func (c *Client) insertMessage(tx store.Tx, author wire.UserID, m *Message) error {
	chat, err := c.chatFor(tx, m.Conversation, m.Peer)
	if err != nil {
		return err
	}
	m.Seq = chat.LastSeq + 1
	k := messageKey(m.Conversation, m.Seq)
	if err := tx.Put(bMsgIndex, authoredKey(author, m.ID), k); err != nil {
		return err
	}
	if err := tx.Put(bMessages, k, m.marshal()); err != nil {
		return err
	}
	chat.noteMessage(m, 0)
	return putChat(tx, m.Conversation, chat)
}

// loadMessage finds a message by author and ID; nil if there is none.
func (c *Client) loadMessage(tx store.Tx, author wire.UserID, id wire.MessageID) (*Message, error) {
	k, err := tx.Get(bMsgIndex, authoredKey(author, id))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := tx.Get(bMessages, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(k) != 24 {
		return nil, fmt.Errorf("%w: message key of %d bytes", errMalformed, len(k))
	}
	m, err := parseMessage(b)
	if err != nil {
		return nil, err
	}
	m.Seq = seqFromKey(k[16:])
	return m, nil
}

// putMessage rewrites a stored message (as loadMessage returned it, with
// its Seq) whose state was was, and updates the conversation's summary.
func (c *Client) putMessage(tx store.Tx, m *Message, was MessageState) error {
	if err := tx.Put(bMessages, messageKey(m.Conversation, m.Seq), m.marshal()); err != nil {
		return err
	}
	chat, err := c.chatFor(tx, m.Conversation, m.Peer)
	if err != nil {
		return err
	}
	chat.noteMessage(m, was)
	return putChat(tx, m.Conversation, chat)
}

// unsent reports whether an outgoing message in state s waits for the
// relay to take it.
func unsent(s MessageState) bool { return s == StateSending || s == StateWaiting }

// rank orders the states an outgoing message goes through.
func rank(s MessageState) int {
	switch s {
	case StateSending, StateWaiting:
		return 1
	case StateSent, StateFailed:
		return 2
	case StateDelivered:
		return 3
	case StateRead:
		return 4
	}
	return 0
}

// advanceMessage moves the message (author, id) of the conversation with
// peer forward to state; it never moves a message back. It returns the
// message if it changed.
func (c *Client) advanceMessage(tx store.Tx, author wire.UserID, id wire.MessageID, peer wire.UserID, state MessageState) (*Message, error) {
	m, err := c.loadMessage(tx, author, id)
	if m == nil || err != nil || m.Peer != peer {
		return nil, err
	}
	if m.Outgoing {
		if rank(state) <= rank(m.State) {
			return nil, nil
		}
		if m.State == StateFailed {
			m.Failure = 0 // a device of the contact has it after all
		}
	} else if m.State != StateReceived || state != StateRead {
		return nil, nil
	}
	was := m.State
	m.State = state
	return m, c.putMessage(tx, m, was)
}
