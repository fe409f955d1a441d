package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Every conversation has a summary record in bChats, written in the
// transaction of each change it sums up: a message stored (which also
// takes its sequence number from the summary), a message's state changed,
// messages marked read, the contact written or removed. So Chats reads
// one small record per conversation and never the messages.

// chatRecord is the summary of one conversation:
//
//	{1 user (the other person), 2 contact (a contact record; absent when
//	 they are not a contact), 3 last sequence number given, 4 the message
//	 at that sequence (a message record), 5 unread received messages,
//	 6 a group's chat (no user: the group is in bGroups), 7 the co-op's
//	 notices (no user)}
type chatRecord struct {
	User    wire.UserID
	Contact *Contact // nil when the user is not a contact (removed)
	LastSeq uint64
	Last    *Message // the message at LastSeq; nil if none
	Unread  int
	Group   bool
	Coop    bool
}

func (r *chatRecord) marshal() []byte {
	e := newEnc()
	e.id(1, r.User)
	if r.Contact != nil {
		e.message(2, r.Contact.marshal())
	}
	e.uint(3, r.LastSeq)
	if r.Last != nil {
		e.message(4, r.Last.marshal())
	}
	e.uint(5, uint64(r.Unread))
	e.bool(6, r.Group)
	e.bool(7, r.Coop)
	return e.b
}

func parseChat(b []byte, self wire.UserID) (*chatRecord, error) {
	r := new(chatRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&r.User))
		case 2:
			if err = f.wantBytes(); err == nil {
				r.Contact, err = parseContact(f.b, self)
			}
		case 3:
			r.LastSeq, err = f.uint64()
		case 4:
			if err = f.wantBytes(); err == nil {
				r.Last, err = parseMessage(f.b)
			}
		case 5:
			var n uint64
			if n, err = f.uint64(); err == nil && n > math.MaxInt32 {
				err = fmt.Errorf("%w: %d unread", errMalformed, n)
			}
			r.Unread = int(n)
		case 6:
			r.Group, err = f.bool()
		case 7:
			r.Coop, err = f.bool()
		}
		return err
	})
	if err == nil && r.User.IsZero() && !r.Group && !r.Coop {
		err = fmt.Errorf("%w: no user", errMalformed)
	}
	if err == nil && r.Contact != nil && r.Contact.User != r.User {
		err = fmt.Errorf("%w: the contact is another user", errMalformed)
	}
	if err != nil {
		return nil, fmt.Errorf("chat record: %w", err)
	}
	if r.Last != nil {
		r.Last.Seq = r.LastSeq
	}
	return r, nil
}

// loadChat reads the summary of conv; nil if there is none.
func (c *Client) loadChat(tx store.Tx, conv wire.ConversationID) (*chatRecord, error) {
	b, err := tx.Get(bChats, conv[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseChat(b, c.me().User)
}

// chatFor reads the summary of the conversation with peer, or starts one.
func (c *Client) chatFor(tx store.Tx, conv wire.ConversationID, peer wire.UserID) (*chatRecord, error) {
	r, err := c.loadChat(tx, conv)
	if r == nil && err == nil {
		r = &chatRecord{User: peer, Coop: conv == wire.CoopConversation}
	}
	return r, err
}

func putChat(tx store.Tx, conv wire.ConversationID, r *chatRecord) error {
	if r.Contact == nil && r.LastSeq == 0 && !r.Group && !r.Coop {
		return tx.Delete(bChats, conv[:]) // nothing left to sum up
	}
	return tx.Put(bChats, conv[:], r.marshal())
}

// isUnread reports whether a message counts as unread.
func isUnread(outgoing bool, s MessageState) bool { return !outgoing && s == StateReceived }

// noteMessage brings the summary in line with m after it was stored,
// where was is the state of the record it replaced (0 for a new one).
func (r *chatRecord) noteMessage(m *Message, was MessageState) {
	if was != 0 && isUnread(m.Outgoing, was) {
		r.Unread--
	}
	if isUnread(m.Outgoing, m.State) {
		r.Unread++
	}
	r.Unread = max(r.Unread, 0)
	if m.Seq >= r.LastSeq {
		cp := *m
		r.LastSeq, r.Last = m.Seq, &cp
	}
}

// messageTime is when a message happened, for ordering chats: when the
// relay accepted it, or (until that is known) when it was written.
func messageTime(m *Message) time.Time {
	if !m.ServerTime.IsZero() {
		return m.ServerTime
	}
	return m.SentAt
}

// Chats lists the 1:1 conversations with allowed contacts and with
// pending requests (Contact.State tells which), and the groups (Group
// set: its Status tells an invitation from a membership), newest
// activity first: Activity is when the newest message was accepted by
// the relay (or written, while it is not yet), or when the contact was
// added (this device learnt of the group) if there is no message. It
// reads one summary record per conversation, kept up to date in the
// transactions that store messages, their states, reads and contacts,
// and a group's record for a group.
func (c *Client) Chats(ctx context.Context) ([]Chat, error) {
	me, err := c.registered()
	if err != nil {
		return nil, err
	}
	var out []Chat
	type groupChatRecord struct {
		id wire.ConversationID
		r  *chatRecord
	}
	err = c.st.View(ctx, func(tx store.Tx) error {
		out = out[:0]
		var groups []groupChatRecord
		hidden, err := readsHidden(tx)
		if err != nil {
			return err
		}
		err = tx.Scan(bChats, nil, func(k, v []byte) error {
			r, err := parseChat(v, me.User)
			if err != nil {
				return err
			}
			if r.Last != nil {
				hideRead(r.Last, hidden)
			}
			if r.Group {
				var conv wire.ConversationID
				copy(conv[:], k)
				groups = append(groups, groupChatRecord{conv, r})
				return nil
			}
			if r.Coop {
				out = append(out, coopChat(r))
				return nil
			}
			if r.Contact == nil || (r.Contact.State != ContactAllowed && r.Contact.State != ContactRequest) {
				return nil
			}
			ch := Chat{Contact: *r.Contact, Last: r.Last, Unread: r.Unread, Activity: r.Contact.Added}
			if r.Last != nil {
				ch.Activity = messageTime(r.Last)
			}
			out = append(out, ch)
			return nil
		})
		if err != nil {
			return err
		}
		for _, gc := range groups {
			ch, ok, err := c.groupChat(tx, gc.id, gc.r)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, ch)
			}
		}
		return setMuted(tx, out, c.clock())
	})
	if err != nil {
		return nil, fmt.Errorf("chats: %w", err)
	}
	slices.SortFunc(out, func(a, b Chat) int {
		if n := b.Activity.Compare(a.Activity); n != 0 {
			return n
		}
		return bytes.Compare(chatKey(a), chatKey(b))
	})
	return out, nil
}

// Storage layouts. A store records the layout it was last written in
// (accountRecord.Layout); Open brings an older one up to date.
const (
	// layoutChats (1): message sequence numbers count per conversation
	// from 1 (layout 0 used one counter for the whole account), and every
	// conversation has a summary in bChats.
	layoutChats   = 1
	currentLayout = layoutChats
)

// upgrade brings a store written in an older layout up to date, in one
// transaction. It runs once, when Open finds an older layout.
func (c *Client) upgrade(ctx context.Context) error {
	me := c.me()
	return c.st.Update(ctx, func(tx store.Tx) error {
		a, err := mustAccount(tx)
		if err != nil || a.Layout >= currentLayout {
			return err
		}
		if err := renumberMessages(tx, me.User); err != nil {
			return err
		}
		sums, err := summarize(tx, me.User)
		if err != nil {
			return err
		}
		if err := deletePrefix(tx, bChats, nil); err != nil {
			return err
		}
		for conv, r := range sums {
			if err := putChat(tx, conv, r); err != nil {
				return err
			}
		}
		a.Layout = currentLayout
		return putAccount(tx, a)
	})
}

// renumberMessages gives the messages of each conversation the sequence
// numbers 1, 2, ... in their stored order, and points the index at them.
func renumberMessages(tx store.Tx, self wire.UserID) error {
	type row struct {
		key []byte
		msg *Message
	}
	var rows []row
	err := tx.Scan(bMessages, nil, func(k, v []byte) error {
		if len(k) != 24 {
			return fmt.Errorf("%w: message key of %d bytes", errMalformed, len(k))
		}
		m, err := parseMessage(v)
		if err != nil {
			return err
		}
		rows = append(rows, row{bytes.Clone(k), m})
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := tx.Delete(bMessages, r.key); err != nil {
			return err
		}
	}
	seqs := map[wire.ConversationID]uint64{}
	for _, r := range rows {
		var conv wire.ConversationID
		copy(conv[:], r.key)
		seqs[conv]++
		k := messageKey(conv, seqs[conv])
		author := r.msg.Peer
		if r.msg.Outgoing {
			author = self
		}
		if err := tx.Put(bMsgIndex, authoredKey(author, r.msg.ID), k); err != nil {
			return err
		}
		if err := tx.Put(bMessages, k, r.msg.marshal()); err != nil {
			return err
		}
	}
	return nil
}

// summarize computes every conversation's summary from the contacts and
// the messages: what bChats must hold.
func summarize(tx store.Tx, self wire.UserID) (map[wire.ConversationID]*chatRecord, error) {
	sums := map[wire.ConversationID]*chatRecord{}
	err := tx.Scan(bContacts, nil, func(_, v []byte) error {
		ct, err := parseContact(v, self)
		if err != nil {
			return err
		}
		sums[ct.Conversation] = &chatRecord{User: ct.User, Contact: ct}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = tx.Scan(bMessages, nil, func(k, v []byte) error {
		if len(k) != 24 {
			return fmt.Errorf("%w: message key of %d bytes", errMalformed, len(k))
		}
		m, err := parseMessage(v)
		if err != nil {
			return err
		}
		var conv wire.ConversationID
		copy(conv[:], k)
		m.Seq = seqFromKey(k[16:])
		r := sums[conv]
		if r == nil {
			r = &chatRecord{User: m.Peer}
			sums[conv] = r
		}
		r.noteMessage(m, 0)
		return nil
	})
	return sums, err
}
