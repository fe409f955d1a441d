package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/safety"
	"github.com/mutualcoop/mutual/relay/wire"
)

var (
	// ErrSafetyNumberStale: the safety numbers the user compared are no
	// longer the contact's (a key changed, or a device came or went
	// meanwhile); they must compare the new ones.
	ErrSafetyNumberStale = errors.New("client: the safety number changed since it was shown")
	// ErrScanMismatch: a scanned code is a safety-number code, but not
	// the one with any device of the contact.
	ErrScanMismatch = errors.New("client: the scanned code does not match the safety number")
)

// SafetyNumber is the safety number between this device and one device
// of a contact: Fingerprint.Displayable() gives the 60 digits both people
// see alike, Fingerprint.Scannable() the payload of a QR code, and
// Fingerprint.CompareScanned checks the other person's code.
//
// Every Mutual device has its own identity key, so a contact with several
// devices has one safety number per device. Each is Signal's numeric
// fingerprint (crypto/safety, version 2 scannable payload) over the two
// 16-byte user IDs and the two devices' identity keys.
type SafetyNumber struct {
	Device      wire.DeviceID
	Fingerprint safety.Fingerprint
	// Unverified: this device's key is new or changed and the user has
	// not accepted it yet.
	Unverified bool

	key keys.PublicKey // the device's identity key, for MarkVerified
}

// SafetyNumbers returns the safety numbers with each device of contact
// whose identity key this device has seen, in device order.
func (c *Client) SafetyNumbers(ctx context.Context, contact wire.UserID) ([]SafetyNumber, error) {
	me, err := c.registered()
	if err != nil {
		return nil, err
	}
	type dev struct {
		d   wire.DeviceID
		rec *identityRecord
	}
	var devs []dev
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bIdentities, contact[:], func(k, v []byte) error {
			_, d, ok := deviceFromKey(k)
			if !ok {
				return nil
			}
			r, err := parseIdentity(v)
			if err != nil {
				return err
			}
			if r.Status != identityRemoved {
				devs = append(devs, dev{d, r})
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("safety numbers: %w", err)
	}
	if len(devs) == 0 {
		return nil, ErrNoIdentity
	}
	local := me.Identity.Key.Public()
	out := make([]SafetyNumber, 0, len(devs))
	for _, d := range devs {
		fp := safety.New(safety.ScannableVersion, me.User[:], local, contact[:], d.rec.Key)
		out = append(out, SafetyNumber{Device: d.d, Fingerprint: fp, Unverified: d.rec.Status != identityTrusted, key: d.rec.Key})
	}
	return out, nil
}

// AcceptIdentity accepts the new or changed identity keys of contact
// (after the user compared safety numbers): sending to them works again
// and the messages that waited are sent.
func (c *Client) AcceptIdentity(ctx context.Context, contact wire.UserID) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	err = c.update(ctx, func(ts *txState) error {
		if _, err := c.acceptKeys(ts, contact); err != nil {
			return err
		}
		ct, err := getContact(ts.tx, me.User, contact)
		if ct == nil || err != nil || !ct.IdentityChanged {
			return err
		}
		ct.IdentityChanged = false
		return c.putContact(ts, ct)
	})
	if err != nil {
		return fmt.Errorf("accept identity: %w", err)
	}
	c.poke()
	return nil
}

// acceptKeys trusts the unverified identity keys of contact and returns
// every key of theirs not removed, by device.
func (c *Client) acceptKeys(ts *txState, contact wire.UserID) (map[wire.DeviceID]keys.PublicKey, error) {
	tx := ts.tx
	var ks [][]byte
	var recs []*identityRecord
	current := make(map[wire.DeviceID]keys.PublicKey)
	err := tx.Scan(bIdentities, contact[:], func(k, v []byte) error {
		_, d, ok := deviceFromKey(k)
		if !ok {
			return nil // the listed marker
		}
		r, err := parseIdentity(v)
		if err != nil {
			return err
		}
		if r.Status != identityRemoved {
			current[d] = r.Key
		}
		if r.Status == identityUnverified {
			ks = append(ks, append([]byte(nil), k...))
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, k := range ks {
		recs[i].Status = identityTrusted
		if err := tx.Put(bIdentities, k, recs[i].marshal()); err != nil {
			return nil, err
		}
	}
	return current, nil
}

// MarkVerified records that the user verified their safety numbers with
// contact: compared gives the numbers they compared (from SafetyNumbers),
// aloud or by scanning (MatchScanned). The contact's Verified is set to
// now, and any new or changed key among them is accepted as by
// AcceptIdentity. It fails with ErrSafetyNumberStale, and marks nothing,
// when compared is not exactly the contact's current keys; with
// ErrNotContact when contact is not one.
func (c *Client) MarkVerified(ctx context.Context, contact wire.UserID, compared []SafetyNumber) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	err = c.update(ctx, func(ts *txState) error {
		ct, err := getContact(ts.tx, me.User, contact)
		if err != nil {
			return err
		}
		if ct == nil {
			return ErrNotContact
		}
		current, err := c.acceptKeys(ts, contact)
		if err != nil {
			return err
		}
		if len(current) == 0 {
			return ErrNoIdentity
		}
		if !sameKeys(current, compared) {
			return ErrSafetyNumberStale
		}
		ct.IdentityChanged = false
		ct.Verified = time.UnixMilli(ts.now)
		return c.putContact(ts, ct)
	})
	if err != nil {
		return fmt.Errorf("mark verified: %w", err)
	}
	c.poke()
	return nil
}

// sameKeys reports whether compared holds exactly the keys of current,
// one number per device.
func sameKeys(current map[wire.DeviceID]keys.PublicKey, compared []SafetyNumber) bool {
	if len(compared) != len(current) {
		return false
	}
	seen := make(map[wire.DeviceID]bool, len(compared))
	for _, n := range compared {
		k, ok := current[n.Device]
		if !ok || seen[n.Device] || n.key.IsZero() || !k.Equal(n.key) {
			return false
		}
		seen[n.Device] = true
	}
	return true
}

// ClearVerified takes back the user's Verified mark on contact.
func (c *Client) ClearVerified(ctx context.Context, contact wire.UserID) error {
	if _, err := c.registered(); err != nil {
		return err
	}
	err := c.update(ctx, func(ts *txState) error { return c.clearVerified(ts, contact) })
	if err != nil {
		return fmt.Errorf("clear verified: %w", err)
	}
	return nil
}

// clearVerified clears u's Verified mark, if u is a contact who has one.
func (c *Client) clearVerified(ts *txState, u wire.UserID) error {
	ct, err := getContact(ts.tx, c.me().User, u)
	if ct == nil || err != nil || ct.Verified.IsZero() {
		return err
	}
	ct.Verified = time.Time{}
	return c.putContact(ts, ct)
}

// MatchScanned finds the number among numbers (a contact's, from
// SafetyNumbers) that scanned, the payload of the code on the contact's
// screen, shows: the code of one of their devices with this device. It
// fails with ErrScanMismatch when the code is a safety-number code of
// another pair of keys (someone may be in the middle, or it is another
// person's code), and with safety.ErrVersionMismatch or
// safety.ErrMalformed (wrapped) when it is not one Mutual can compare.
func MatchScanned(numbers []SafetyNumber, scanned []byte) (SafetyNumber, error) {
	if _, err := safety.ParseScanned(scanned); err != nil {
		return SafetyNumber{}, err
	}
	var versionErr error
	for _, n := range numbers {
		ok, err := n.Fingerprint.CompareScanned(scanned)
		switch {
		case err != nil:
			versionErr = err
		case ok:
			return n, nil
		}
	}
	if versionErr != nil {
		return SafetyNumber{}, versionErr
	}
	return SafetyNumber{}, ErrScanMismatch
}
