package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The profile is what the user calls themself, and the address the
// account is registered under (a claim the contact confirms, claims.go),
// shared end to end: a content of kind profile (see content) sent
// through the outbox like a message, so that it goes when the device is
// next online and survives restarts. It goes to every allowed contact
// who has accepted this account (has written to it) when the name
// changes, to a contact when they come to that state (if the account has
// a name): when the user accepts their request, or when a contact the
// user added writes for the first time, and again when a device of the contact's that this device
// did not know appears (sync.go), so that a contact who signed in anew
// sees the name and the address again. So it always
// travels as a plain message, never as a contact request (the relay lets
// one request a day, by default, through to a stranger, and it is for the
// user's first message), and never to blocked users or unanswered
// requests. It
// is not a message: it changes the sender's Contact.ProfileName (and
// emits ContactChanged) and nothing else. A profile from someone who is
// not a contact is dropped. The account's other devices receive a copy
// and take the name over. Each profile carries when the name was set; an
// older one never replaces a newer.

// SetProfileName sets the name this account shows its contacts (leading
// and trailing spaces removed; empty clears it) and queues it, end-to-end
// encrypted, for every allowed contact who has accepted this account
// (the others get it when they do). It works offline. The name must
// be at most MaxProfileName bytes of UTF-8 without control characters
// (ErrBadProfileName).
func (c *Client) SetProfileName(ctx context.Context, name string) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	if err := checkProfileName(name); err != nil {
		return err
	}
	queued := false
	err = c.update(ctx, func(ts *txState) error {
		queued = false
		a, err := mustAccount(ts.tx)
		if err != nil || a.ProfileName == name {
			return err
		}
		a.ProfileName = name
		a.ProfileAt = max(ts.now, a.ProfileAt+1) // newer than any name set before
		if err := putAccount(ts.tx, a); err != nil {
			return err
		}
		if err := dropQueuedProfiles(ts.tx); err != nil {
			return err
		}
		var allowed []wire.UserID // who gets the profile
		err = ts.tx.Scan(bContacts, nil, func(_, v []byte) error {
			ct, err := parseContact(v, me.User)
			if err == nil && sharesProfile(ct) {
				allowed = append(allowed, ct.User)
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, u := range allowed {
			if err := c.enqueue(ts.tx, u, c.profile(a)); err != nil {
				return err
			}
		}
		queued = len(allowed) > 0
		return nil
	})
	if err != nil {
		return fmt.Errorf("set profile name: %w", err)
	}
	if queued {
		c.poke()
	}
	return nil
}

// ProfileName returns the name this account shows its contacts; empty if
// none was set.
func (c *Client) ProfileName(ctx context.Context) (string, error) {
	var name string
	err := c.st.View(ctx, func(tx store.Tx) error {
		a, err := mustAccount(tx)
		if err == nil {
			name = a.ProfileName
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("profile name: %w", err)
	}
	return name, nil
}

// sharesProfile reports whether ct gets this account's profile: an
// allowed contact who has accepted this account, so that the profile
// goes as a plain message. (Sent as a contact request, it would use up
// the one request the relay lets through to a stranger in a while.)
func sharesProfile(ct *Contact) bool { return ct.State == ContactAllowed && ct.Accepted }

// enqueueProfile queues the account's profile (its name and address) for
// ct if the account has a name and ct gets it (sharesProfile), and
// reports whether it did.
func (c *Client) enqueueProfile(ts *txState, ct *Contact) (bool, error) {
	if !sharesProfile(ct) {
		return false, nil
	}
	a, err := mustAccount(ts.tx)
	if err != nil || a.ProfileName == "" {
		return false, err
	}
	return true, c.enqueue(ts.tx, ct.User, c.profile(a))
}

// profile is the account's profile as it is sent: the name, when it was
// set, and the account's address (a claim the contact confirms).
func (c *Client) profile(a *accountRecord) *content {
	return &content{Kind: kindProfile, Name: a.ProfileName, SentAt: a.ProfileAt, Address: c.ownAddress()}
}

// dropQueuedProfiles removes the profiles still waiting in the outbox
// unencrypted: a newer one replaces them. Encrypted ones are sent.
func dropQueuedProfiles(tx store.Tx) error {
	var drop [][]byte
	err := tx.Scan(bOutbox, nil, func(k, v []byte) error {
		e, err := parseOutbox(v)
		if err == nil && e.ContentKind == kindProfile && !e.Encrypted {
			drop = append(drop, append([]byte(nil), k...))
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, k := range drop {
		if err := tx.Delete(bOutbox, k); err != nil {
			return err
		}
	}
	return nil
}

// receiveProfile takes over a profile: a contact's sets their
// ProfileName (ContactChanged), unless they have sent a newer one, and
// the address it carries is a claim to check (claims.go); one
// from another device of this account sets this account's name. A
// stranger's profile is dropped: it makes no contact.
func (c *Client) receiveProfile(ts *txState, in *incoming, r *received) error {
	if in.fromSelf {
		return c.applyOwnProfile(ts, in.content)
	}
	if in.sender == nil {
		return nil
	}
	claim := c.claimFrom(in, r)
	return c.noteWriter(ts, in, r, func(ct *Contact) bool {
		changed := takeProfile(ct, in.content)
		return claim(ct) || changed
	})
}

// takeProfile puts a contact's received profile into ct unless ct holds a
// newer one, and reports whether ct changed.
func takeProfile(ct *Contact, m *content) bool {
	if m.SentAt < ct.profileAt || (m.SentAt == ct.profileAt && m.Name == ct.ProfileName) {
		return false
	}
	ct.ProfileName, ct.profileAt = m.Name, m.SentAt
	return true
}

// applyOwnProfile takes over the name set on another device of this
// account, unless this device's is newer.
func (c *Client) applyOwnProfile(ts *txState, m *content) error {
	a, err := mustAccount(ts.tx)
	if err != nil || m.SentAt < a.ProfileAt || (m.SentAt == a.ProfileAt && m.Name == a.ProfileName) {
		return err
	}
	a.ProfileName, a.ProfileAt = m.Name, m.SentAt
	return putAccount(ts.tx, a)
}
