package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Vouching. A device that links a new one signs the new device's identity
// key with its own (a vouch, wire.Vouch); the new device publishes the
// vouch with its keys and the relay hands it out in every bundle of the
// device. A contact's device that meets a new device of a user trusts it
// without a warning when the vouch is by a device of the same user whose
// identity key it holds as trusted and the signature verifies: the
// contact's Verified mark stays, and no IdentityChanged is raised. A
// device of this account itself that carries such a vouch raises no
// OwnDeviceSeen. Anything else (no vouch, an unknown or unverified
// voucher, a bad signature) takes the path of any new device.
//
// A new device is met either in a bundle (this device writes to it, see
// plan), where the vouch is at hand, or through a message it wrote,
// which carries no vouch. Then its key is recorded as unchecked
// (identityUnchecked: nothing is encrypted to it and messages to its
// user wait, but no warning is raised yet) and the user is put on the
// list of vouch checks (bLink, 'c' || user || device); the worker fetches
// the user's bundles (checkVouches) and settles each unchecked key:
// trusted when vouched, unverified (today's warning) otherwise. For this
// account's own devices, which are trusted on first use, the check only
// decides whether OwnDeviceSeen is raised.

// vouchLabel separates vouch signatures from every other XEdDSA
// signature an identity key makes.
const vouchLabel = "Mutual device vouch v1\x00"

// vouchMessage is what a vouch signs: vouchLabel || user || identity.
func vouchMessage(user wire.UserID, identity keys.PublicKey) []byte {
	m := make([]byte, 0, len(vouchLabel)+len(user)+keys.PublicKeySize)
	m = append(m, vouchLabel...)
	m = append(m, user[:]...)
	return append(m, identity.Bytes()...)
}

// signVouch signs identity, a new device of user, with voucher, the
// identity key of the device that links it.
func signVouch(rand io.Reader, voucher keys.PrivateKey, user wire.UserID, identity keys.PublicKey) ([]byte, error) {
	sig, err := voucher.Sign(rand, vouchMessage(user, identity))
	if err != nil {
		return nil, fmt.Errorf("sign vouch: %w", err)
	}
	return sig, nil
}

// verifyVouch reports whether sig is voucher's vouch for identity as a
// device of user.
func verifyVouch(voucher keys.PublicKey, user wire.UserID, identity keys.PublicKey, sig []byte) bool {
	return !voucher.IsZero() && voucher.Verify(vouchMessage(user, identity), sig)
}

// vouched reports whether v is a valid vouch, for identity as device d of
// user u, by a device of u this device trusts: this device itself, or a
// device whose identity record is trusted (not unverified, unchecked or
// removed).
func (c *Client) vouched(tx store.Tx, u wire.UserID, d wire.DeviceID, identity keys.PublicKey, v *wire.Vouch) (bool, error) {
	if v == nil || v.Device == d {
		return false, nil
	}
	me := c.me()
	if u == me.User && v.Device == me.Device {
		return verifyVouch(me.Identity.Key.Public(), u, identity, v.Signature), nil
	}
	rec, err := getIdentity(tx, u, v.Device)
	if rec == nil || err != nil || rec.Status != identityTrusted {
		return false, err
	}
	return verifyVouch(rec.Key, u, identity, v.Signature), nil
}

// vouchCheckKey is the key of a pending vouch check in bLink.
func vouchCheckKey(u wire.UserID, d wire.DeviceID) []byte {
	return append([]byte{'c'}, deviceKey(u, d)...)
}

// needVouchCheck puts device d of u on the list of vouch checks and wakes
// the worker once the transaction commits.
func needVouchCheck(ts *txState, u wire.UserID, d wire.DeviceID) error {
	ts.queued = true
	return ts.tx.Put(bLink, vouchCheckKey(u, d), nil)
}

// vouchChecks lists the devices waiting for a vouch check, by user.
func vouchChecks(tx store.Tx) (map[wire.UserID][]wire.DeviceID, error) {
	out := map[wire.UserID][]wire.DeviceID{}
	err := tx.Scan(bLink, []byte{'c'}, func(k, _ []byte) error {
		if u, d, ok := deviceFromKey(k[1:]); ok {
			out[u] = append(out[u], d)
		}
		return nil
	})
	return out, err
}

// checkVouches settles the devices met through their messages (see the
// comment at the top): for each user with devices to check it fetches
// the bundles and, in one transaction, trusts the vouched keys and flags
// the others as any new device. A user the relay does not know, or who
// has no device, settles every key as unvouched; other refusals leave
// the checks for the next connection.
func (c *Client) checkVouches(ctx context.Context, conn *transport.Conn) error {
	var checks map[wire.UserID][]wire.DeviceID
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		checks, err = vouchChecks(tx)
		return err
	})
	if err != nil || len(checks) == 0 {
		return err
	}
	for u, devs := range checks {
		b, err := transport.Call[*wire.Bundles](ctx, conn, &wire.FetchBundles{User: u})
		var bundles []wire.Bundle
		if err == nil {
			bundles = b.Bundles
		} else if we := (*wire.Error)(nil); !errors.As(err, &we) || (we.Code != wire.CodeNotFound && we.Code != wire.CodeNoDevices) {
			return fmt.Errorf("check vouches: %w", err)
		}
		err = c.update(ctx, func(ts *txState) error {
			for _, d := range devs {
				if err := c.settleVouch(ts, u, d, bundles); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("check vouches: %w", err)
		}
	}
	c.poke() // messages held for an unchecked key may go
	return nil
}

// settleVouch ends the vouch check of device d of u with the bundles the
// relay handed out for u.
func (c *Client) settleVouch(ts *txState, u wire.UserID, d wire.DeviceID, bundles []wire.Bundle) error {
	if err := ts.tx.Delete(bLink, vouchCheckKey(u, d)); err != nil {
		return err
	}
	rec, err := getIdentity(ts.tx, u, d)
	if rec == nil || err != nil {
		return err
	}
	ok := false
	if i := slices.IndexFunc(bundles, func(b wire.Bundle) bool { return b.Device == d }); i >= 0 {
		if ik, err := keys.NewPublicKey(bundles[i].Identity); err == nil && ik.Equal(rec.Key) {
			if ok, err = c.vouched(ts.tx, u, d, rec.Key, bundles[i].Vouch); err != nil {
				return err
			}
		}
	}
	if u == c.me().User {
		if !ok && rec.Status == identityTrusted {
			ts.ownDevices = append(ts.ownDevices, d)
		}
		return nil
	}
	if rec.Status != identityUnchecked {
		return nil // settled meanwhile (removed, or met again in a bundle)
	}
	if ok {
		rec.Status = identityTrusted
		return ts.tx.Put(bIdentities, deviceKey(u, d), rec.marshal())
	}
	rec.Status = identityUnverified
	if err := ts.tx.Put(bIdentities, deviceKey(u, d), rec.marshal()); err != nil {
		return err
	}
	if err := c.clearVerified(ts, u); err != nil {
		return err
	}
	return c.flagNewIdentity(ts, u, d)
}

// settleInBundle ends a vouch check of device d of u, recorded as rec,
// that is still pending when its key comes again in b, with b's vouch;
// it returns d's status.
func (c *Client) settleInBundle(ts *txState, u wire.UserID, d wire.DeviceID, rec *identityRecord, b *wire.Bundle) (identityStatus, error) {
	_, err := ts.tx.Get(bLink, vouchCheckKey(u, d))
	if errors.Is(err, store.ErrNotFound) {
		return rec.Status, nil
	}
	if err != nil {
		return 0, err
	}
	if err := c.settleVouch(ts, u, d, []wire.Bundle{*b}); err != nil {
		return 0, err
	}
	if rec, err = getIdentity(ts.tx, u, d); err != nil {
		return 0, err
	}
	return rec.Status, nil
}

// kVouch is the key, in bLink, of the vouch this device publishes.
var kVouch = []byte("vouch")

// marshalVouch encodes a vouch as stored: {1 device, 2 signature}.
func marshalVouch(v *wire.Vouch) []byte {
	e := newEnc()
	e.uint(1, uint64(v.Device))
	e.bytes(2, v.Signature)
	return e.b
}

func parseVouch(b []byte) (*wire.Vouch, error) {
	v := new(wire.Vouch)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var d uint32
			d, err = f.uint32()
			v.Device = wire.DeviceID(d)
		case 2:
			v.Signature, err = f.copyBytes(wire.MaxSignature)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vouch record: %w", err)
	}
	return v, nil
}

// ownVouch returns the vouch this device publishes with its identity key
// (a linked device's), or nil.
func ownVouch(tx store.Tx) (*wire.Vouch, error) {
	b, err := tx.Get(bLink, kVouch)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseVouch(b)
}
