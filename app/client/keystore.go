package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/session"
	"github.com/mutualcoop/mutual/relay/wire"
)

// keyStore is the session.Store of one transaction: the session.Manager
// a txState holds (ts.sessions) reads and writes sessions, identity keys
// and prekeys through ts.tx, in the transaction in which its caller
// writes its own records (or through the journal standing in for it, see
// journal). So a decrypted message and the advanced ratchet commit
// together (or neither does), and an encrypted message is in the outbox
// in the same commit as the session that produced it. A Manager exists
// only inside an Update (see Client.update): it cannot be reached without
// a transaction.
type keyStore struct {
	c  *Client
	ts *txState
}

// storeError marks a failure of the store itself inside a Manager call,
// so that the caller can tell it from a message that does not decrypt:
// a delivery is acknowledged after the latter, never after the former.
type storeError struct{ err error }

func (e *storeError) Error() string { return "store: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// stErr wraps a store failure (nil stays nil).
func stErr(err error) error {
	if err == nil {
		return nil
	}
	return &storeError{err}
}

var _ session.Store = keyStore{}

func userOf(addr session.Address) (wire.UserID, wire.DeviceID, error) {
	u, err := wire.ParseUserID(addr.Name)
	return u, wire.DeviceID(addr.DeviceID), err
}

func sessionAddress(u wire.UserID, d wire.DeviceID) session.Address {
	return session.Address{Name: u.String(), DeviceID: uint32(d)}
}

func (k keyStore) LoadSession(_ context.Context, addr session.Address) (*session.Record, error) {
	u, d, err := userOf(addr)
	if err != nil {
		return nil, err
	}
	b, err := k.ts.tx.Get(bSessions, deviceKey(u, d))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, stErr(err)
	}
	return session.ParseRecord(b)
}

func (k keyStore) StoreSession(_ context.Context, addr session.Address, r *session.Record) error {
	u, d, err := userOf(addr)
	if err != nil {
		return err
	}
	b, err := r.MarshalBinary()
	if err != nil {
		return err
	}
	return stErr(k.ts.tx.Put(bSessions, deviceKey(u, d), b))
}

func (k keyStore) LocalIdentity(context.Context) (pqxdh.Identity, error) {
	id, ok := k.c.localIdentity()
	if !ok {
		return pqxdh.Identity{}, ErrNotRegistered
	}
	return id, nil
}

// IsTrustedIdentity trusts, for sending, exactly the identity keys
// recorded as trusted; callers record first-seen keys before they set up
// a session (see recordIdentity). Receiving is always allowed, as in
// Signal: the message is shown and the change flagged by SaveIdentity.
func (k keyStore) IsTrustedIdentity(_ context.Context, addr session.Address, key keys.PublicKey, dir session.Direction) (bool, error) {
	if dir == session.Receiving {
		return true, nil
	}
	u, d, err := userOf(addr)
	if err != nil {
		return false, err
	}
	rec, err := getIdentity(k.ts.tx, u, d)
	if rec == nil || err != nil {
		return false, stErr(err)
	}
	return rec.Status == identityTrusted && rec.Key.Equal(key), nil
}

// SaveIdentity records key for addr (see recordIdentity): a key seen
// before the user's device list is settled is trusted on first use; a
// new device after that, or a changed key, is recorded as unverified and
// the contact is flagged.
func (k keyStore) SaveIdentity(_ context.Context, addr session.Address, key keys.PublicKey) error {
	u, d, err := userOf(addr)
	if err != nil {
		return err
	}
	settled, err := listed(k.ts.tx, u)
	if err != nil {
		return stErr(err)
	}
	_, err = k.c.recordIdentity(k.ts, u, d, key, !settled, nil)
	return stErr(err)
}

func (k keyStore) LoadPreKey(_ context.Context, id uint32) (pqxdh.PreKey, error) {
	b, err := k.ts.tx.Get(bPreKeys, idKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return pqxdh.PreKey{}, fmt.Errorf("prekey %d: %w", id, session.ErrNotFound)
	}
	if err != nil {
		return pqxdh.PreKey{}, stErr(err)
	}
	return pqxdh.ParsePreKey(b)
}

func (k keyStore) RemovePreKey(_ context.Context, id uint32) error {
	return stErr(k.ts.tx.Delete(bPreKeys, idKey(id)))
}

func (k keyStore) LoadSignedPreKey(_ context.Context, id uint32) (pqxdh.SignedPreKey, error) {
	b, err := k.ts.tx.Get(bSigned, idKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return pqxdh.SignedPreKey{}, fmt.Errorf("signed prekey %d: %w", id, session.ErrNotFound)
	}
	if err != nil {
		return pqxdh.SignedPreKey{}, stErr(err)
	}
	return pqxdh.ParseSignedPreKey(b)
}

func (k keyStore) LoadKEMPreKey(_ context.Context, id uint32) (pqxdh.KEMPreKey, error) {
	return loadKEM(k.ts.tx, id)
}

func loadKEM(tx store.Tx, id uint32) (pqxdh.KEMPreKey, error) {
	b, err := tx.Get(bKEM, idKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return pqxdh.KEMPreKey{}, fmt.Errorf("kem prekey %d: %w", id, session.ErrNotFound)
	}
	if err != nil {
		return pqxdh.KEMPreKey{}, stErr(err)
	}
	return pqxdh.ParseKEMPreKey(b)
}

func (k keyStore) MarkKEMPreKeyUsed(_ context.Context, id, signedPreKeyID uint32, baseKey keys.PublicKey) error {
	pk, err := loadKEM(k.ts.tx, id)
	if err != nil {
		return err
	}
	if !pk.LastResort {
		return stErr(k.ts.tx.Delete(bKEM, idKey(id)))
	}
	use := append(append(idKey(id), idKey(signedPreKeyID)...), baseKey.Bytes()...)
	switch _, err := k.ts.tx.Get(bKEMUsed, use); {
	case err == nil:
		return session.ErrReusedBaseKey
	case !errors.Is(err, store.ErrNotFound):
		return stErr(err)
	}
	return stErr(k.ts.tx.Put(bKEMUsed, use, nil))
}

// getIdentity returns the identity record of a remote device, or nil.
func getIdentity(tx store.Tx, u wire.UserID, d wire.DeviceID) (*identityRecord, error) {
	b, err := tx.Get(bIdentities, deviceKey(u, d))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseIdentity(b)
}

// listed reports whether u's device list is settled: this device has
// had a message to u accepted by the relay, which checks that it named
// every device. Until then every device of u seen is trusted on first
// use; afterwards a device not seen before is an identity change.
func listed(tx store.Tx, u wire.UserID) (bool, error) {
	_, err := tx.Get(bIdentities, u[:])
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// markListed records that u's device list is settled (see listed).
func markListed(tx store.Tx, u wire.UserID) error {
	return tx.Put(bIdentities, u[:], nil)
}

// recordIdentity stores key as the identity of device d of u and reports
// its status: unchanged if the key is the one recorded; trusted if the
// device is new and firstSight (u's device list is not settled, see
// listed) or u is this account, or if b, the bundle the key came in,
// carries a vouch this device accepts (vouch.go); unchecked if the
// device is new and met through a message (b is nil), until the worker
// has checked its vouch; otherwise unverified, which flags the contact. A
// key that is not the one recorded also clears the contact's Verified
// mark (the user compared other keys), unless it is a new device
// vouched for, or unchecked yet. A device met for the first time gets
// what it lacks (metDevice: a contacts sync, or the profile again).
func (c *Client) recordIdentity(ts *txState, u wire.UserID, d wire.DeviceID, key keys.PublicKey, firstSight bool, b *wire.Bundle) (identityStatus, error) {
	rec, err := getIdentity(ts.tx, u, d)
	if err != nil {
		return 0, err
	}
	if rec != nil && rec.Key.Equal(key) && rec.Status != identityRemoved {
		if b != nil {
			return c.settleInBundle(ts, u, d, rec, b)
		}
		return rec.Status, nil
	}
	own := u == c.me().User
	vouched := false
	if rec == nil && b != nil {
		if vouched, err = c.vouched(ts.tx, u, d, key, b.Vouch); err != nil {
			return 0, err
		}
	}
	status := identityTrusted
	switch {
	case rec != nil && rec.Key.Equal(key):
		// A removed device is listed again, with the key accepted before.
	case rec != nil:
		status = identityUnverified // a device's key changed
	case firstSight || own || vouched:
	case b == nil:
		status = identityUnchecked // a device not seen before, its vouch not at hand
	default:
		status = identityUnverified // a device not seen before
	}
	nr := identityRecord{Key: key, Status: status, FirstSeen: ts.now}
	if rec != nil && rec.Key.Equal(key) {
		nr.FirstSeen = rec.FirstSeen
	}
	if err := ts.tx.Put(bIdentities, deviceKey(u, d), nr.marshal()); err != nil {
		return 0, err
	}
	if rec == nil && own && !vouched {
		if b == nil {
			err = needVouchCheck(ts, u, d) // OwnDeviceSeen, unless vouched
		} else {
			ts.ownDevices = append(ts.ownDevices, d)
		}
		if err != nil {
			return 0, err
		}
	}
	if rec != nil || !(vouched || status == identityUnchecked) {
		if err := c.clearVerified(ts, u); err != nil {
			return 0, err
		}
	}
	if rec == nil {
		if err := c.metDevice(ts, u, firstSight); err != nil {
			return 0, err
		}
	}
	switch status {
	case identityUnchecked:
		err = needVouchCheck(ts, u, d)
	case identityUnverified:
		err = c.flagNewIdentity(ts, u, d)
	}
	return status, err
}

// flagNewIdentity flags u's contact for device d's new or changed key and
// notes d for the IdentityChanged event.
func (c *Client) flagNewIdentity(ts *txState, u wire.UserID, d wire.DeviceID) error {
	if err := c.flagIdentityChanged(ts, u); err != nil {
		return err
	}
	if ts.changed == nil {
		ts.changed = make(map[wire.UserID][]wire.DeviceID)
	}
	ts.changed[u] = append(ts.changed[u], d)
	return nil
}

// flagIdentityChanged sets IdentityChanged on u's contact record, if
// there is one.
func (c *Client) flagIdentityChanged(ts *txState, u wire.UserID) error {
	ct, err := getContact(ts.tx, c.me().User, u)
	if ct == nil || err != nil {
		return err
	}
	if ct.IdentityChanged {
		return nil
	}
	ct.IdentityChanged = true
	return c.putContact(ts, ct)
}
