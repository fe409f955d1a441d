package client

import (
	"context"
	"fmt"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/safety"
	"github.com/mutualcoop/mutual/relay/wire"
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
		out = append(out, SafetyNumber{Device: d.d, Fingerprint: fp, Unverified: d.rec.Status != identityTrusted})
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
		tx := ts.tx
		var keys [][]byte
		var recs []*identityRecord
		err := tx.Scan(bIdentities, contact[:], func(k, v []byte) error {
			if _, _, ok := deviceFromKey(k); !ok {
				return nil // the listed marker
			}
			r, err := parseIdentity(v)
			if err != nil {
				return err
			}
			if r.Status == identityUnverified {
				keys = append(keys, append([]byte(nil), k...))
				recs = append(recs, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, k := range keys {
			recs[i].Status = identityTrusted
			if err := tx.Put(bIdentities, k, recs[i].marshal()); err != nil {
				return err
			}
		}
		ct, err := getContact(tx, me.User, contact)
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
