package client

import (
	"context"
	"fmt"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// New devices. What this device knows of a contact (their verified
// address, their profile name, the nickname given them) lives on this
// device only, so a device that appears later starts with bare user IDs.
// Two things bring it back:
//
//   - When this device meets a device of its own account that it did not
//     know (its identity key is recorded for the first time, see
//     recordIdentity), it sends the account a contacts sync: a content of
//     kind 5, to the account's own devices only, with one entry per
//     allowed or blocked contact (user, verified address, profile name
//     and when it was set, nickname, state, whether they accepted this
//     account), at most the relay's contact limit, split over as many
//     contents as it takes for each to hold at most MaxText bytes. A
//     device with nothing to tell (no address, name or nickname of
//     anyone: a device that is new itself) sends none. The receiving
//     device merges it (receiveContacts): a newer profile name wins, a
//     nickname fills one it has not got, and the verified address is
//     trusted (it came end to end from the account itself); a contact it
//     did not know is added with the state given.
//   - When this device meets a new device of a contact whose device list
//     was settled (see listed), it sends the contact its profile again
//     (name and address, the address even when the account has no
//     name), so that a contact who signed out of their only
//     device and in again sees who writes once this device notices.
//
// Both are queued in the transaction that records the new device, so
// they go exactly once per device met, and both go through the outbox.

// maxSyncedContacts bounds the entries of one contacts sync (and of the
// whole of it: the relay's contact limit, split over several contents).
const maxSyncedContacts = wire.MaxListEntries

// maxSyncBytes bounds the encoded size of one contacts sync content, so
// that it pads as a long text does.
const maxSyncBytes = MaxText

// syncedContact is one entry of a contacts sync (content field 8; its
// layout is in content's comment).
type syncedContact struct {
	User            wire.UserID
	VerifiedAddress string
	ProfileName     string
	ProfileAt       int64
	Nickname        string
	State           ContactState
	Accepted        bool
}

func (s *syncedContact) marshal() []byte {
	e := &enc{}
	e.id(1, s.User)
	e.string(2, s.VerifiedAddress)
	e.string(3, s.ProfileName)
	e.sint(4, s.ProfileAt)
	e.string(5, s.Nickname)
	e.uint(6, uint64(s.State))
	e.bool(7, s.Accepted)
	return e.b
}

func parseSyncedContact(f field) (syncedContact, error) {
	var s syncedContact
	if err := f.wantBytes(); err != nil {
		return s, err
	}
	err := decodeFields(f.b, func(g field) (err error) {
		switch g.num {
		case 1:
			err = g.id((*[16]byte)(&s.User))
		case 2:
			s.VerifiedAddress, err = g.string(wire.MaxAddress)
		case 3:
			if s.ProfileName, err = g.string(MaxProfileName); err == nil {
				if perr := checkProfileName(s.ProfileName); perr != nil {
					err = fmt.Errorf("%w: %w", errMalformed, perr)
				}
			}
		case 4:
			s.ProfileAt, err = g.sint64()
		case 5:
			s.Nickname, err = g.string(MaxNickname)
		case 6:
			var u uint32
			u, err = g.uint32()
			s.State = ContactState(u)
		case 7:
			s.Accepted, err = g.bool()
		}
		return err
	})
	return s, err
}

// syncEntry is what a contacts sync says of ct; ok is false for a
// contact it leaves out (an unanswered request).
func syncEntry(ct *Contact) (syncedContact, bool) {
	if ct.State != ContactAllowed && ct.State != ContactBlocked {
		return syncedContact{}, false
	}
	return syncedContact{
		User: ct.User, VerifiedAddress: ct.VerifiedAddress, ProfileName: ct.ProfileName, ProfileAt: ct.profileAt,
		Nickname: ct.Nickname, State: ct.State, Accepted: ct.Accepted,
	}, true
}

// enqueueContactsSync queues this device's contacts for the account's
// other devices, in contents of at most maxSyncBytes, unless it knows
// nothing worth telling, and reports whether it queued any.
func (c *Client) enqueueContactsSync(ts *txState) (bool, error) {
	me := c.me()
	var entries []syncedContact
	telling := false
	err := ts.tx.Scan(bContacts, nil, func(_, v []byte) error {
		ct, err := parseContact(v, me.User)
		if err != nil {
			return err
		}
		if s, ok := syncEntry(ct); ok && len(entries) < maxSyncedContacts {
			entries = append(entries, s)
			telling = telling || s.VerifiedAddress != "" || s.ProfileName != "" || s.Nickname != ""
		}
		return nil
	})
	if err != nil || !telling {
		return false, err
	}
	for len(entries) > 0 {
		m := &content{Kind: kindContacts, SentAt: ts.now, Peer: me.User}
		for len(entries) > 0 {
			m.Contacts = append(m.Contacts, entries[0])
			if len(m.marshal()) > maxSyncBytes && len(m.Contacts) > 1 {
				m.Contacts = m.Contacts[:len(m.Contacts)-1]
				break
			}
			entries = entries[1:]
		}
		if err := c.enqueue(ts.tx, me.User, m); err != nil {
			return false, err
		}
	}
	return true, nil
}

// receiveContacts merges a contacts sync from another device of this
// account (from anyone else it is dropped): for each entry, the verified
// address is taken (the account's own device vouches for it), a newer
// profile name replaces an older one, a nickname fills an empty one, and
// whether they accepted this account is taken over; a contact this
// device did not know is added, allowed or blocked as the entry says.
// The relay's allowlist stays the truth for the state of a contact this
// device knows (syncContacts).
func (c *Client) receiveContacts(ts *txState, in *incoming, _ *received) error {
	if !in.fromSelf {
		return nil
	}
	me := c.me()
	for i := range in.content.Contacts {
		s := &in.content.Contacts[i]
		if s.User.IsZero() || s.User == me.User {
			continue
		}
		ct, err := getContact(ts.tx, me.User, s.User)
		if err != nil {
			return err
		}
		changed := false
		if ct == nil {
			if s.State != ContactAllowed && s.State != ContactBlocked {
				continue
			}
			ct = &Contact{User: s.User, State: s.State, Added: fromMS(ts.now)}
			changed = true
		}
		if verifyAddress(ct, canonicalAddress(s.VerifiedAddress)) {
			changed = true
		}
		if s.ProfileAt > ct.profileAt {
			ct.ProfileName, ct.profileAt, changed = s.ProfileName, s.ProfileAt, true
		}
		if ct.Nickname == "" && s.Nickname != "" {
			ct.Nickname, changed = s.Nickname, true
		}
		if s.Accepted && !ct.Accepted && ct.State == ContactAllowed {
			ct.accept()
			changed = true
		}
		if changed {
			if err := c.putContact(ts, ct); err != nil {
				return err
			}
		}
	}
	return nil
}

// metDevice is called in the transaction that records the identity key
// of device d of user u for the first time (recordIdentity): a device of
// this account gets a contacts sync and a groups sync (groupsync.go); a contact's new device, when their
// device list was settled (firstSight false), gets this account's
// profile again.
func (c *Client) metDevice(ts *txState, u wire.UserID, firstSight bool) error {
	me := c.me()
	if u == me.User {
		queued, err := c.enqueueContactsSync(ts)
		ts.queued = ts.queued || queued
		if err != nil {
			return err
		}
		queued, err = c.enqueueGroupsSync(ts)
		ts.queued = ts.queued || queued
		return err
	}
	if firstSight {
		return nil
	}
	ct, err := getContact(ts.tx, me.User, u)
	if ct == nil || err != nil || !sharesProfile(ct) {
		return err
	}
	// With or without a name: the address alone tells who writes.
	a, err := mustAccount(ts.tx)
	if err != nil {
		return err
	}
	ts.queued = true
	return c.enqueue(ts.tx, u, c.profile(a))
}

// prepareOwn encrypts an entry to this account itself (a contacts sync)
// for the account's other devices: those this device has sessions with,
// else those the relay lists. With no other device it has nobody to go
// to and is dropped.
func (c *Client) prepareOwn(ctx context.Context, conn *transport.Conn, e *outboxEntry) (outcome, error) {
	me := c.me()
	var devs []wire.DeviceID
	var hold *IdentityChangedError
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		if hold, err = unverified(tx, me.User); hold != nil || err != nil {
			return err
		}
		devs, err = sessionDevices(tx, me.User)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prepare message: %w", err)
	}
	if hold != nil {
		return outcomeHeld, nil
	}
	var bundles []wire.Bundle
	if len(devs) == 0 {
		all, out, err := c.fetchBundles(ctx, conn, e, me.User)
		if err != nil || out != outcomeReady {
			return out, err
		}
		for _, b := range all {
			if b.Device != me.Device {
				bundles = append(bundles, b)
				devs = append(devs, b.Device)
			}
		}
	}
	var out outcome
	err = c.update(ctx, func(ts *txState) error {
		cur, err := loadEntry(ts.tx, e.seq)
		if err != nil {
			return err
		}
		if cur == nil || len(devs) == 0 {
			out = outcomeDone // removed meanwhile, or no other device
			return ts.tx.Delete(bOutbox, seqKey(e.seq))
		}
		e.Padded, e.Kind, e.Recipients = cur.Padded, wire.KindMessage, nil
		out, err = c.planAndSeal(ctx, ts, e, bundles, target{me.User, devs})
		return err
	})
	if err != nil {
		return c.sealFailed(ctx, e, err)
	}
	return out, nil
}
