package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	addr "github.com/mutualcoop/mutual/internal/address"
	"github.com/mutualcoop/mutual/relay/wire"
)

// AddContact finds the account registered at address, allows it on the
// relay and keeps it as a contact with the address as typed (which the
// relay is not told again) and as their verified address (the Lookup
// found them there; the relay folds the case of the local part, so
// another case finds the same account). If they had sent a contact
// request, this accepts it. The first message to a new contact goes as a contact
// request; later ones wait until they answer (see the package
// documentation). Needs Run.
func (c *Client) AddContact(ctx context.Context, address string) (Contact, error) {
	me, err := c.registered()
	if err != nil {
		return Contact{}, err
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return Contact{}, err
	}
	found, err := transport.Call[*wire.Found](ctx, conn, &wire.Lookup{Address: address})
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) && we.Code == wire.CodeNotFound {
			return Contact{}, ErrNoSuchUser
		}
		return Contact{}, fmt.Errorf("add contact: %w", err)
	}
	if found.User == me.User {
		return Contact{}, ErrSelf
	}
	typed, err := addr.Parse(address)
	if err != nil {
		return Contact{}, fmt.Errorf("add contact: %w", err) // the relay parsed it: it does not happen
	}
	ct, err := c.setState(ctx, conn, found.User, ContactAllowed, func(ct *Contact) {
		ct.Address = address
		verifyAddress(ct, typed.String()) // the Lookup found them there
	})
	if err != nil {
		return Contact{}, fmt.Errorf("add contact: %w", err)
	}
	return *ct, nil
}

// Accept accepts a contact request (or allows any user): they become a
// contact and receive delivery receipts for what they sent. Needs Run.
func (c *Client) Accept(ctx context.Context, user wire.UserID) error {
	if err := c.checkOther(user); err != nil {
		return err
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if _, err := c.setState(ctx, conn, user, ContactAllowed, nil); err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	return nil
}

// Block blocks a user: the relay refuses their messages and requests.
// Needs Run.
func (c *Client) Block(ctx context.Context, user wire.UserID) error {
	if err := c.checkOther(user); err != nil {
		return err
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if _, err := c.setState(ctx, conn, user, ContactBlocked, nil); err != nil {
		return fmt.Errorf("block: %w", err)
	}
	return nil
}

// Remove removes a contact (or declines a request): the relay forgets
// them, so their messages become contact requests again. Messages already
// stored are kept. Needs Run.
func (c *Client) Remove(ctx context.Context, user wire.UserID) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	if err := c.checkOther(user); err != nil {
		return err
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, &wire.SetContact{User: user, State: wire.ContactNone}); err != nil {
		return fmt.Errorf("remove contact: %w", err)
	}
	err = c.update(ctx, func(ts *txState) error {
		if err := c.deleteContact(ts, user); err != nil {
			return err
		}
		return c.dropOutbox(ts.tx, me.User, user)
	})
	if err != nil {
		return fmt.Errorf("remove contact: %w", err)
	}
	return nil
}

func (c *Client) checkOther(user wire.UserID) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	if user == me.User {
		return ErrSelf
	}
	if user.IsZero() {
		return ErrNotContact
	}
	return nil
}

// setState tells the relay the new state of user, then records it with
// the contact (created if needed; edit may change it further).
func (c *Client) setState(ctx context.Context, conn *transport.Conn, user wire.UserID, state ContactState, edit func(*Contact)) (*Contact, error) {
	ws := wire.ContactAllowed
	if state == ContactBlocked {
		ws = wire.ContactBlocked
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, &wire.SetContact{User: user, State: ws}); err != nil {
		return nil, err
	}
	me := c.me()
	var out *Contact
	queued := false
	err := c.update(ctx, func(ts *txState) error {
		queued = false
		ct, err := getContact(ts.tx, me.User, user)
		if err != nil {
			return err
		}
		if ct == nil {
			ct = &Contact{User: user, Added: fromMS(ts.now), Conversation: DirectConversation(me.User, user)}
		}
		was := ct.State
		ct.State = state
		if edit != nil {
			edit(ct)
		}
		switch {
		case state == ContactBlocked:
			if err := c.dropOutbox(ts.tx, me.User, user); err != nil {
				return err
			}
		case was == ContactRequest:
			// They asked first, so they accept this account; and what they
			// sent is delivered now.
			ct.accept()
			if queued, err = c.receiptsForAll(ts.tx, ct); err != nil {
				return err
			}
		}
		if was != ContactAllowed {
			q, err := c.enqueueProfile(ts, ct)
			if err != nil {
				return err
			}
			queued = queued || q
		}
		out = ct
		return c.putContact(ts, ct)
	})
	if err != nil {
		return nil, err
	}
	if queued {
		c.poke()
	}
	return out, nil
}

// noteRequest records that the relay accepted a contact request to peer
// at at (the relay's clock): until they accept, or until requestWindow
// has passed, later messages to them wait (see requestWait). An older
// request than the one noted changes nothing.
func (c *Client) noteRequest(ts *txState, peer wire.UserID, at time.Time) error {
	ct, err := getContact(ts.tx, c.me().User, peer)
	if ct == nil || err != nil || ct.Accepted || !at.After(ct.RequestSent) {
		return err
	}
	ct.RequestSent = at
	return c.putContact(ts, ct)
}

// receiptsForAll queues delivery receipts for every message received from
// ct, and read receipts for those the user read already (a request is
// read before it is accepted, when no receipt may go yet).
func (c *Client) receiptsForAll(tx store.Tx, ct *Contact) (bool, error) {
	var refs, read []wire.MessageID
	err := tx.Scan(bMessages, ct.Conversation[:], func(_, v []byte) error {
		m, err := parseMessage(v)
		if err == nil && !m.Outgoing {
			refs = append(refs, m.ID)
			if m.State == StateRead {
				read = append(read, m.ID)
			}
		}
		return err
	})
	if err != nil {
		return false, err
	}
	queued := len(refs) > 0
	if err := c.enqueueReceipt(tx, ct.User, kindDelivered, refs...); err != nil {
		return false, err
	}
	if _, err := c.readReceiptsFor(tx, ct.User, read); err != nil {
		return false, err
	}
	return queued, nil
}

// dropOutbox removes the entries to peer that were not encrypted yet,
// failing their messages; encrypted ones are sent (and refused by the
// relay if it must).
func (c *Client) dropOutbox(tx store.Tx, me, peer wire.UserID) error {
	var drop [][]byte
	var ids []wire.MessageID
	err := tx.Scan(bOutbox, nil, func(k, v []byte) error {
		e, err := parseOutbox(v)
		if err != nil {
			return err
		}
		if e.Peer == peer && !e.Encrypted {
			drop = append(drop, append([]byte(nil), k...))
			if e.ContentKind == kindText {
				ids = append(ids, e.MessageID)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range drop {
		if err := tx.Delete(bOutbox, k); err != nil {
			return err
		}
	}
	for _, id := range ids {
		m, err := c.loadMessage(tx, me, id)
		if err != nil {
			return err
		}
		if m == nil || !unsent(m.State) {
			continue
		}
		was := m.State
		m.State, m.Failure = StateFailed, wire.CodeNotAccepted
		if err := c.putMessage(tx, m, was); err != nil {
			return err
		}
	}
	return nil
}

// SetNickname sets the name this device shows for a contact. It stays on
// this device.
func (c *Client) SetNickname(ctx context.Context, user wire.UserID, nickname string) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	if len(nickname) > MaxNickname {
		return fmt.Errorf("client: nickname over %d bytes", MaxNickname)
	}
	return c.update(ctx, func(ts *txState) error {
		ct, err := getContact(ts.tx, me.User, user)
		if err != nil {
			return err
		}
		if ct == nil {
			return ErrNotContact
		}
		if ct.Nickname == nickname {
			return nil
		}
		ct.Nickname = nickname
		return c.putContact(ts, ct)
	})
}

// Contact returns what this device knows of user, or ErrNotContact.
func (c *Client) Contact(ctx context.Context, user wire.UserID) (Contact, error) {
	me, err := c.registered()
	if err != nil {
		return Contact{}, err
	}
	var ct *Contact
	err = c.st.View(ctx, func(tx store.Tx) (err error) {
		ct, err = getContact(tx, me.User, user)
		return err
	})
	if err == nil && ct == nil {
		err = ErrNotContact
	}
	if err != nil {
		return Contact{}, err
	}
	return *ct, nil
}

// Contacts lists the allowed and blocked contacts.
func (c *Client) Contacts(ctx context.Context) ([]Contact, error) {
	return c.listContacts(ctx, func(s ContactState) bool { return s != ContactRequest })
}

// Requests lists the contact requests not answered yet.
func (c *Client) Requests(ctx context.Context) ([]Contact, error) {
	return c.listContacts(ctx, func(s ContactState) bool { return s == ContactRequest })
}

func (c *Client) listContacts(ctx context.Context, keep func(ContactState) bool) ([]Contact, error) {
	me, err := c.registered()
	if err != nil {
		return nil, err
	}
	var out []Contact
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bContacts, nil, func(_, v []byte) error {
			ct, err := parseContact(v, me.User)
			if err != nil {
				return err
			}
			if keep(ct.State) {
				out = append(out, *ct)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	slices.SortFunc(out, func(a, b Contact) int { return a.Added.Compare(b.Added) })
	return out, nil
}
