package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Prekey policy.
const (
	// prekeyTarget is the size of each one-time prekey pool after a
	// refill: 100 EC and 100 KEM prekeys, one PublishKeys frame.
	prekeyTarget = wire.MaxPrekeys
	// prekeyLow is the pool size below which the device refills it (the
	// relay sends NoticePrekeysLow below the same number).
	prekeyLow = 10
	// signedPreKeyMaxAge is the age at which the signed prekey and the
	// last-resort KEM prekey are replaced, checked at each connection.
	signedPreKeyMaxAge = 7 * 24 * time.Hour
	// retiredGrace is how long a replaced signed or last-resort prekey is
	// kept for sessions started with it: the relay's retention (30 days)
	// plus margin.
	retiredGrace = 35 * 24 * time.Hour
)

// dial opens a connection to the relay.
func (c *Client) dial(ctx context.Context) (*transport.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	return transport.Dial(ctx, c.cfg.ServerURL, transport.Options{Client: c.cfg.ClientName})
}

// Register asks the relay to send a one-time code to address (for
// example "email:alice@example.org"); Verify proves it with the token
// Register returns. Only that token can try the code: the caller keeps it
// (in memory, or in a file only its user can read) until Verify. It needs
// no Run. It writes nothing, so it holds no lock: a call whose
// connection is slow to close never holds up the next one.
func (c *Client) Register(ctx context.Context, address string) (token []byte, err error) {
	if c.me() != nil {
		return nil, ErrRegistered
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	defer conn.Close()
	token, err = conn.Register(ctx, address)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	return token, nil
}

// Verify proves the code Register sent to address, with the token it
// returned, and makes this store
// a new device of the address's account (creating the account if there
// was none), named deviceName. It creates the device's identity key and
// its prekeys (a signed prekey, a last-resort ML-KEM prekey, 100 one-time
// EC and 100 one-time ML-KEM prekeys), stores them with the relay's
// credential in one transaction, and publishes the public halves. If
// publishing fails, Run publishes them when it connects. A device the
// relay holds until another device of the account approves it has
// PendingUntil set (pending.go).
func (c *Client) Verify(ctx context.Context, address, code string, token []byte, deviceName string) (Account, error) {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	if c.me() != nil {
		return Account{}, ErrRegistered
	}
	now := c.now()
	id, err := pqxdh.GenerateIdentity(c.cfg.Rand)
	if err != nil {
		return Account{}, fmt.Errorf("verify: %w", err)
	}
	ks, err := c.newKeys(id, &accountRecord{NextPreKeyID: 1, NextKEMID: 1, NextSignedID: 1, Layout: currentLayout}, now, true, prekeyTarget, prekeyTarget)
	if err != nil {
		return Account{}, fmt.Errorf("verify: %w", err)
	}
	conn, err := c.dial(ctx)
	if err != nil {
		return Account{}, fmt.Errorf("verify: %w", err)
	}
	defer conn.Close()
	v, err := conn.Verify(ctx, address, code, token, deviceName)
	if err != nil {
		return Account{}, fmt.Errorf("verify: %w", err)
	}
	acct := ks.acct
	acct.User, acct.Device, acct.Credential = v.User, v.Device, v.Credential
	acct.Address, acct.DeviceName = address, deviceName
	idBytes, err := id.MarshalBinary()
	if err != nil {
		return Account{}, fmt.Errorf("verify: %w", err)
	}
	// Stored with a fresh context: once the relay made the device, losing
	// its credential to a cancelled caller would strand it.
	err = c.st.Update(context.WithoutCancel(ctx), func(tx store.Tx) error {
		if a, err := getAccount(tx); err != nil || a != nil {
			return errors.Join(err, ErrRegistered)
		}
		if err := tx.Put(bAccount, kIdentity, idBytes); err != nil {
			return err
		}
		if err := putAccount(tx, acct); err != nil {
			return err
		}
		if err := putHeld(tx, v.PendingUntilMS); err != nil {
			return err
		}
		return ks.store(tx)
	})
	if err != nil {
		return Account{}, fmt.Errorf("verify: store the new device: %w", err)
	}
	c.heldUntil.Store(v.PendingUntilMS)
	c.self.Store(&self{User: v.User, Device: v.Device, Credential: v.Credential, Address: address, Identity: id})
	if err := c.publish(ctx, conn, ks.publishFrame(id)); err != nil {
		c.log.Warn("client: publishing keys after registration failed; retried on connect", "err", err)
	}
	return Account{User: v.User, Device: v.Device, Address: address}, nil
}

// keySet is a batch of new private prekeys and the account counters after
// them.
type keySet struct {
	acct       *accountRecord
	signed     *pqxdh.SignedPreKey
	lastResort *pqxdh.KEMPreKey
	oneTime    []pqxdh.PreKey
	kemOneTime []pqxdh.KEMPreKey
}

// newKeys generates nEC one-time EC prekeys, nKEM one-time KEM prekeys
// and, with rotate, a new signed prekey and last-resort KEM prekey,
// numbering them from the counters of a (a copy is returned in the set).
func (c *Client) newKeys(id pqxdh.Identity, a *accountRecord, now time.Time, rotate bool, nEC, nKEM int) (*keySet, error) {
	acct := *a
	ks := &keySet{acct: &acct}
	if rotate {
		s, err := pqxdh.GenerateSignedPreKey(c.cfg.Rand, id.Key, acct.NextSignedID, now)
		if err != nil {
			return nil, err
		}
		ks.signed = &s
		acct.SignedID, acct.NextSignedID = s.ID, nextID(s.ID)
		k, err := pqxdh.GenerateKEMPreKey(c.cfg.Rand, id.Key, acct.NextKEMID, true, now)
		if err != nil {
			return nil, err
		}
		ks.lastResort = &k
		acct.LastResortID, acct.NextKEMID = k.ID, nextID(k.ID)
		acct.Published = false
	}
	if nEC > 0 {
		pks, err := pqxdh.GeneratePreKeys(c.cfg.Rand, acct.NextPreKeyID, nEC)
		if err != nil {
			return nil, err
		}
		ks.oneTime = pks
		acct.NextPreKeyID = nextID(pks[len(pks)-1].ID)
	}
	for range nKEM {
		k, err := pqxdh.GenerateKEMPreKey(c.cfg.Rand, id.Key, acct.NextKEMID, false, now)
		if err != nil {
			return nil, err
		}
		ks.kemOneTime = append(ks.kemOneTime, k)
		acct.NextKEMID = nextID(k.ID)
	}
	return ks, nil
}

// nextID returns the prekey ID after id, wrapping within 1..MaxKeyID.
func nextID(id uint32) uint32 {
	if id >= pqxdh.MaxKeyID {
		return 1
	}
	return id + 1
}

// applyTo sets the counters and current prekeys of a to the set's.
func (ks *keySet) applyTo(a *accountRecord) {
	a.NextPreKeyID, a.NextKEMID, a.NextSignedID = ks.acct.NextPreKeyID, ks.acct.NextKEMID, ks.acct.NextSignedID
	a.SignedID, a.LastResortID, a.Published = ks.acct.SignedID, ks.acct.LastResortID, ks.acct.Published
}

// store writes the private keys of the set (not the account record).
func (ks *keySet) store(tx store.Tx) error {
	put := func(bucket []byte, id uint32, m interface{ MarshalBinary() ([]byte, error) }) error {
		b, err := m.MarshalBinary()
		if err != nil {
			return err
		}
		return tx.Put(bucket, idKey(id), b)
	}
	if ks.signed != nil {
		if err := put(bSigned, ks.signed.ID, ks.signed); err != nil {
			return err
		}
	}
	if ks.lastResort != nil {
		if err := put(bKEM, ks.lastResort.ID, ks.lastResort); err != nil {
			return err
		}
	}
	for i := range ks.oneTime {
		if err := put(bPreKeys, ks.oneTime[i].ID, ks.oneTime[i]); err != nil {
			return err
		}
	}
	for i := range ks.kemOneTime {
		if err := put(bKEM, ks.kemOneTime[i].ID, ks.kemOneTime[i]); err != nil {
			return err
		}
	}
	return nil
}

// publishFrame is the PublishKeys frame of the set: the identity key,
// signed and last-resort prekeys when the set has them, and the one-time
// prekeys. Byte formats are in the package documentation.
func (ks *keySet) publishFrame(id pqxdh.Identity) *wire.PublishKeys {
	p := &wire.PublishKeys{}
	if ks.signed != nil {
		p.Identity = id.Key.Public().Bytes()
		p.Signed = signedPrekey(ks.signed)
		p.KEMLastResort = kemPrekey(ks.lastResort)
	}
	for i := range ks.oneTime {
		p.OneTime = append(p.OneTime, wire.Prekey{ID: ks.oneTime[i].ID, Public: ks.oneTime[i].Key.Public().Bytes()})
	}
	for i := range ks.kemOneTime {
		p.KEMOneTime = append(p.KEMOneTime, *kemPrekey(&ks.kemOneTime[i]))
	}
	return p
}

func signedPrekey(s *pqxdh.SignedPreKey) *wire.Prekey {
	return &wire.Prekey{ID: s.ID, Public: s.Key.Public().Bytes(), Signature: s.Signature}
}

func kemPrekey(k *pqxdh.KEMPreKey) *wire.Prekey {
	return &wire.Prekey{ID: k.ID, Public: k.Key.Public().Bytes(), Signature: k.Signature}
}

// publish sends p and, if it carried the signed prekey, records that the
// current keys are published. With the identity key goes the vouch of a
// linked device (vouch.go), which the relay would drop otherwise.
func (c *Client) publish(ctx context.Context, conn *transport.Conn, p *wire.PublishKeys) error {
	if p.Identity != nil && p.Vouch == nil {
		if err := c.st.View(ctx, func(tx store.Tx) (err error) {
			p.Vouch, err = ownVouch(tx)
			return err
		}); err != nil {
			return fmt.Errorf("publish keys: %w", err)
		}
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, p); err != nil {
		return fmt.Errorf("publish keys: %w", err)
	}
	if p.Signed == nil {
		return nil
	}
	return c.st.Update(ctx, func(tx store.Tx) error {
		a, err := mustAccount(tx)
		if err != nil {
			return err
		}
		if a.SignedID != p.Signed.ID {
			return nil // rotated again meanwhile; that one is published on its own
		}
		a.Published = true
		return putAccount(tx, a)
	})
}

// maintainKeys runs when a connection is made and when the relay reports
// that one-time prekeys run low: it publishes the current keys if they
// were not, replaces the signed and last-resort prekeys when they are
// old, refills the one-time pools, and deletes retired prekeys past their
// grace period and one-time prekeys past theirs (trimOneTime). The pools
// are refilled at most once per prekeyRefillInterval: wait is how long
// until a refill asked for now may run (0 if none waits), when maintainKeys
// should be called again with the latest counts.
func (c *Client) maintainKeys(ctx context.Context, conn *transport.Conn, oneTimeLeft, kemLeft uint32) (time.Duration, error) {
	me := c.me()
	var a *accountRecord
	var signed pqxdh.SignedPreKey
	var lastResort pqxdh.KEMPreKey
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		if a, err = mustAccount(tx); err != nil {
			return err
		}
		b, err := tx.Get(bSigned, idKey(a.SignedID))
		if err != nil {
			return fmt.Errorf("signed prekey: %w", err)
		}
		if signed, err = pqxdh.ParseSignedPreKey(b); err != nil {
			return err
		}
		lastResort, err = loadKEM(tx, a.LastResortID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("maintain keys: %w", err)
	}
	now := c.now()
	rotate := now.Sub(signed.Created) >= signedPreKeyMaxAge
	nEC, nKEM := refill(oneTimeLeft), refill(kemLeft)
	var wait time.Duration
	if nEC+nKEM > 0 {
		if wait = refillWait(a.RefilledAt, now); wait > 0 {
			nEC, nKEM = 0, 0
		}
	}
	if !rotate && nEC == 0 && nKEM == 0 {
		if !a.Published {
			ks := &keySet{signed: &signed, lastResort: &lastResort}
			if err := c.publish(ctx, conn, ks.publishFrame(me.Identity)); err != nil {
				return wait, err
			}
		}
		return wait, c.pruneRetired(ctx)
	}
	ks, err := c.newKeys(me.Identity, a, now, rotate, nEC, nKEM)
	if err != nil {
		return wait, fmt.Errorf("maintain keys: %w", err)
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		cur, err := mustAccount(tx)
		if err != nil {
			return err
		}
		if cur.NextPreKeyID != a.NextPreKeyID || cur.NextKEMID != a.NextKEMID || cur.NextSignedID != a.NextSignedID {
			return errors.New("maintain keys: counters moved")
		}
		if rotate {
			at := binary.BigEndian.AppendUint64(nil, uint64(now.UnixMilli()))
			if err := tx.Put(bRetired, append([]byte{'s'}, idKey(a.SignedID)...), at); err != nil {
				return err
			}
			if err := tx.Put(bRetired, append([]byte{'k'}, idKey(a.LastResortID)...), at); err != nil {
				return err
			}
		}
		if nEC > 0 {
			if err := markStale(tx, cur, staleEC, now); err != nil {
				return err
			}
		}
		if nKEM > 0 {
			if err := markStale(tx, cur, staleKEM, now); err != nil {
				return err
			}
		}
		ks.applyTo(cur)
		if nEC+nKEM > 0 {
			cur.RefilledAt = now.UnixMilli()
		}
		if err := putAccount(tx, cur); err != nil {
			return err
		}
		if err := ks.store(tx); err != nil {
			return err
		}
		return trimOneTime(tx, cur, now)
	})
	if err != nil {
		return wait, fmt.Errorf("maintain keys: %w", err)
	}
	if !rotate && !a.Published {
		ks.signed, ks.lastResort = &signed, &lastResort
	}
	if err := c.publish(ctx, conn, ks.publishFrame(me.Identity)); err != nil {
		return wait, err
	}
	return wait, c.pruneRetired(ctx)
}

// refill returns how many one-time prekeys to add to a pool of left.
func refill(left uint32) int {
	if left >= prekeyLow {
		return 0
	}
	return prekeyTarget - int(left)
}

// pruneRetired deletes signed and last-resort prekeys replaced more than
// retiredGrace ago, with the records of their uses, and trims the
// one-time prekeys (trimOneTime).
func (c *Client) pruneRetired(ctx context.Context) error {
	now := c.now()
	cutoff := now.Add(-retiredGrace).UnixMilli()
	return c.st.Update(ctx, func(tx store.Tx) error {
		a, err := mustAccount(tx)
		if err != nil {
			return err
		}
		if err := trimOneTime(tx, a, now); err != nil {
			return err
		}
		var old [][]byte
		err = tx.Scan(bRetired, nil, func(k, v []byte) error {
			if len(k) == 5 && len(v) == 8 && int64(binary.BigEndian.Uint64(v)) < cutoff {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			id := k[1:]
			switch k[0] {
			case 's':
				err = tx.Delete(bSigned, id)
			case 'k':
				err = tx.Delete(bKEM, id)
				if err == nil {
					err = deletePrefix(tx, bKEMUsed, id)
				}
			}
			if err == nil {
				err = tx.Delete(bRetired, k)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// deletePrefix deletes every key of bucket that starts with prefix.
func deletePrefix(tx store.Tx, bucket, prefix []byte) error {
	var ks [][]byte
	err := tx.Scan(bucket, prefix, func(k, _ []byte) error {
		ks = append(ks, append([]byte(nil), k...))
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range ks {
		if err := tx.Delete(bucket, k); err != nil {
			return err
		}
	}
	return nil
}

// Devices lists the account's devices (this one included).
func (c *Client) Devices(ctx context.Context) ([]wire.DeviceInfo, error) {
	conn, err := c.connection(ctx)
	if err != nil {
		return nil, err
	}
	d, err := transport.Call[*wire.Devices](ctx, conn, &wire.ListDevices{})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return d.Devices, nil
}

// RemoveDevice removes a device from the account: its credential and
// prekeys are deleted and it is disconnected. Removing this device signs
// it out: Run then ends with ErrDeviceRemoved.
func (c *Client) RemoveDevice(ctx context.Context, device wire.DeviceID) error {
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, &wire.RemoveDevice{Device: device}); err != nil {
		return fmt.Errorf("remove device: %w", err)
	}
	return nil
}
