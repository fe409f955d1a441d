package client

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// A text message (content kind 1) is what the user writes: stored with
// its outbox entry by Send, and on receipt stored as a Message, which a
// delivery receipt to the writer acknowledges.

// Send queues a text message to a contact and returns its ID at once; it
// works offline. The message and its outbox entry are stored together;
// Run encrypts and sends it, and its state then moves as described at
// MessageState (watch MessageStateChanged events). While the contact has
// an identity change the user has not accepted (Contact.IdentityChanged),
// the message is queued all the same and waits, StateSending, until
// AcceptIdentity. Send fails with ErrNotContact or ErrBlocked for someone
// who is not an allowed contact.
func (c *Client) Send(ctx context.Context, contact wire.UserID, text string) (wire.MessageID, error) {
	me, err := c.registered()
	if err != nil {
		return wire.MessageID{}, err
	}
	if contact.IsZero() {
		return wire.MessageID{}, fmt.Errorf("send: %w", ErrCoopConversation)
	}
	if err := checkText(text); err != nil {
		return wire.MessageID{}, err
	}
	id := wire.NewMessageID()
	err = c.update(ctx, func(ts *txState) error {
		ct, err := getContact(ts.tx, me.User, contact)
		if err != nil {
			return err
		}
		if err := canSend(ct); err != nil {
			return err
		}
		now := c.now()
		msg := &Message{
			ID: id, Conversation: ct.Conversation, Peer: contact, Outgoing: true,
			SenderDevice: me.Device, Text: text, SentAt: now, State: StateSending,
		}
		if err := c.insertMessage(ts.tx, me.User, msg); err != nil {
			return err
		}
		return c.enqueueID(ts.tx, id, contact, &content{Kind: kindText, Text: text, SentAt: unixMS(now)})
	})
	if err != nil {
		return wire.MessageID{}, fmt.Errorf("send: %w", err)
	}
	c.poke()
	return id, nil
}

// Retry sends a failed message again, with the same ID, so that no one
// ever sees it twice (a device that got it after all drops the copy):
// the message is Sending again, as written, its Attempt counted and its
// SentAt now, and a new outbox entry carries it. It returns the message
// as it now is; one that has not failed is left as it is. Retry fails as
// Send does for someone who is no longer an allowed contact, and as
// SendGroup does for a group this account is no longer in.
func (c *Client) Retry(ctx context.Context, id wire.MessageID) (Message, error) {
	me, err := c.registered()
	if err != nil {
		return Message{}, err
	}
	var out Message
	changed, uploading := false, false
	err = c.update(ctx, func(ts *txState) error {
		changed, uploading = false, false
		m, err := c.loadMessage(ts.tx, me.User, id)
		if err != nil {
			return err
		}
		if m == nil {
			return store.ErrNotFound
		}
		out = *m
		if m.State != StateFailed {
			return nil
		}
		group := !m.Author.IsZero()
		if group {
			if _, err := c.joinedGroup(ts.tx, m.Conversation); err != nil {
				return err
			}
		} else {
			ct, err := getContact(ts.tx, me.User, m.Peer)
			if err != nil {
				return err
			}
			if err := canSend(ct); err != nil {
				return err
			}
		}
		now := c.now()
		m.State, m.Failure, m.Attempt = StateSending, 0, m.Attempt+1
		m.SentAt, m.ServerTime = now, time.Time{}
		if len(m.Attachments) > 0 {
			if uploading, err = c.resendFiles(ts, m); err != nil {
				return err
			}
			out, changed = *m, true
			return c.putMessage(ts.tx, m, StateFailed)
		}
		if err := c.putMessage(ts.tx, m, StateFailed); err != nil {
			return err
		}
		out, changed = *m, true
		t := &content{Kind: kindText, Text: m.Text, SentAt: unixMS(now)}
		if group {
			_, err := c.newGroupEntry(ts.tx, id, m.Conversation, wire.UserID{}, t, false)
			return err
		}
		return c.enqueueID(ts.tx, id, m.Peer, t)
	})
	if err != nil {
		return Message{}, fmt.Errorf("send again: %w", err)
	}
	if changed {
		c.emit(MessageStateChanged{Message: out})
		c.poke()
	}
	if uploading {
		c.pokeUploads()
	}
	return out, nil
}

func canSend(ct *Contact) error {
	switch {
	case ct == nil || ct.State == ContactRequest:
		return ErrNotContact
	case ct.State == ContactBlocked:
		return ErrBlocked
	}
	return nil
}

func checkText(text string) error {
	switch {
	case text == "":
		return ErrEmptyText
	case len(text) > MaxText:
		return ErrTextTooLong
	case !utf8.ValidString(text):
		return ErrBadText
	}
	return nil
}

// receiveText stores a text message at the end of its conversation and
// reports it (MessageReceived). One from a contact is received, and a
// delivery receipt to them is queued if they are an allowed contact
// (not an unanswered request). A copy of one sent from another device of
// this account is stored as sent, in a conversation made for it if
// there is none; if it went as a contact request, this device too waits
// for the answer. The address it carries, if any, is a claim to check
// (claims.go).
func (c *Client) receiveText(ts *txState, in *incoming, r *received) error {
	if err := c.noteWriter(ts, in, r, c.claimFrom(in, r)); err != nil {
		return err
	}
	me := c.me()
	env, m, peer := in.env, in.content, in.peer
	msg := &Message{
		ID: env.MessageID, Conversation: DirectConversation(me.User, peer), Peer: peer,
		Outgoing: in.fromSelf, SenderDevice: env.SenderDevice, Text: m.Text,
		SentAt: fromMS(m.SentAt), ServerTime: fromMS(env.ServerTimeMS), State: StateReceived,
		Attachments: m.Attachments,
	}
	if in.fromSelf {
		msg.State = StateSent
		if err := c.ensureContact(ts, peer); err != nil {
			return err
		}
		if env.Kind == wire.KindRequest {
			// Another device of this account sent a contact request:
			// this one waits for the answer too.
			if err := c.noteRequest(ts, peer, fromMS(env.ServerTimeMS)); err != nil {
				return err
			}
		}
	}
	if err := c.receiveAttachments(ts, env.Sender, msg, in.fromSelf || (in.sender != nil && in.sender.State == ContactAllowed), r); err != nil {
		return err
	}
	if err := c.insertMessage(ts.tx, env.Sender, msg); err != nil {
		return err
	}
	r.events = append(r.events, MessageReceived{Message: *msg})
	if !in.fromSelf && in.sender.State == ContactAllowed {
		if err := c.enqueueReceipt(ts.tx, peer, kindDelivered, env.MessageID); err != nil {
			return err
		}
		r.queued = true
	}
	return nil
}
