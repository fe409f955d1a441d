package client

import (
	"context"
	"crypto/hpke"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Linking a device. The new device (a store with no account) calls
// StartLink, which makes its identity key and an HPKE key pair, sends
// both to the relay (Link) on a connection of its own and gets the code
// to show: Code, typed as XXXX-XXXX-XXXX, or QR, scanned. A device of the
// account calls LinkDevice with it: it fetches the keys the code stands
// for (FetchLink) and checks them against the code (the relay cannot
// substitute its own: the code is a hash of them), signs the new
// identity key (a vouch, vouch.go), uploads the history if asked, and
// seals the provision (provision.go: the account, the vouch, the profile
// name, the history blob, the co-op key) to the HPKE key; the relay adds
// the device and hands the provision to the waiting connection, where
// Wait opens it, stores the account as Verify does, publishes the keys
// with the vouch and imports the history. A linked device is never held
// (pending.go), and its contacts trust it without a warning when they
// trust the device that vouched for it.

// ErrLinkMismatch: the keys the relay returned for a link's code are not
// the ones the code stands for. Nothing was sent to the device.
var ErrLinkMismatch = errors.New("client: this code does not match the device asking to link")

// LinkResult is what Wait made of a link: the new device, and the
// history it imported.
type LinkResult struct {
	Account Account
	// History counts what the history transfer brought; zero without one.
	History HistoryStats
	// HistoryErr says why the history could not be imported; the device
	// is linked all the same.
	HistoryErr error
}

// Linking is a new device waiting to be linked: show Code (or QR) to the
// person, then Wait. Close, or the end of Wait's context, gives up.
type Linking struct {
	c       *Client
	conn    *transport.Conn
	key     hpke.PrivateKey
	id      pqxdh.Identity
	ks      *keySet
	name    string
	code    string
	qr      string
	expires time.Time

	closeOnce sync.Once
}

// StartLink asks the relay to link this store, which has no account
// yet, to an account as a new device named deviceName; a device of the
// account links it with the code (LinkDevice). It makes the device's
// identity key and prekeys (as Verify does) and opens a connection of its
// own, which stays open until Wait or Close.
func (c *Client) StartLink(ctx context.Context, deviceName string) (*Linking, error) {
	if c.me() != nil {
		return nil, ErrRegistered
	}
	key, err := linkKEM().GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("start link: %w", err)
	}
	id, err := pqxdh.GenerateIdentity(c.cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("start link: %w", err)
	}
	ks, err := c.newKeys(id, &accountRecord{NextPreKeyID: 1, NextKEMID: 1, NextSignedID: 1, Layout: currentLayout}, c.now(), true, prekeyTarget, prekeyTarget)
	if err != nil {
		return nil, fmt.Errorf("start link: %w", err)
	}
	pub, identity := key.PublicKey().Bytes(), id.Key.Public().Bytes()
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("start link: %w", err)
	}
	started, err := conn.Link(ctx, &wire.Link{Key: pub, Identity: identity, DeviceName: deviceName})
	if err == nil && started.Code != wire.LinkCode(pub, identity) {
		err = errors.New("the relay answered with a code for other keys")
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start link: %w", err)
	}
	return &Linking{
		c: c, conn: conn, key: key, id: id, ks: ks, name: deviceName,
		code: started.Code, qr: wire.LinkQR(pub, identity), expires: fromMS(started.ExpiresMS),
	}, nil
}

// Code returns the code to type on the other device: XXXX-XXXX-XXXX.
func (l *Linking) Code() string { return wire.FormatLinkCode(l.code) }

// QR returns the text of the QR code to scan on the other device
// ("mutual-link:" and 52 characters): it checks all of the keys' hash,
// where the typed code checks 60 bits.
func (l *Linking) QR() string { return l.qr }

// Expires returns when the relay forgets the link (its clock).
func (l *Linking) Expires() time.Time { return l.expires }

// Close gives the link up: the relay forgets it when the connection
// ends. It is safe to call after Wait.
func (l *Linking) Close() error {
	l.closeOnce.Do(func() { l.conn.Close() })
	return nil
}

// Wait waits until a device of the account links this one (or ctx ends,
// or the link expires: the relay's *wire.Error), then makes this store
// that device: it opens the provision, stores the account and the keys
// in one transaction, publishes the keys with the vouch, keeps the co-op
// key and the profile name the other device had, and imports the
// history, if the other device sent it, reporting progress (records).
// Then Run may start. A history that fails to import leaves the device
// linked (LinkResult.HistoryErr).
func (l *Linking) Wait(ctx context.Context, progress func(Progress)) (LinkResult, error) {
	defer l.Close()
	c := l.c
	v, err := l.conn.Linked(ctx)
	if err != nil {
		return LinkResult{}, fmt.Errorf("link: %w", err)
	}
	p, err := openProvision(l.key, v.Provision)
	if err == nil && p.User != v.User {
		err = errors.New("the provision names another account")
	}
	if err != nil {
		return LinkResult{}, fmt.Errorf("link: %w", err)
	}
	acct, err := c.storeLinked(context.WithoutCancel(ctx), l, v, p)
	if err != nil {
		return LinkResult{}, err
	}
	frame := l.ks.publishFrame(l.id)
	frame.Vouch = &p.Vouch
	if err := c.publish(ctx, l.conn, frame); err != nil {
		c.log.Warn("client: publishing keys after linking failed; retried on connect", "err", err)
	}
	res := LinkResult{Account: acct}
	if len(p.History) > 0 {
		res.History, res.HistoryErr = c.restoreLinked(ctx, p.History, progress)
	}
	// The device that linked this one is known already (storeLinked), so
	// it is not met as a new device would meet it: send it what a new
	// device sends its siblings (metDevice), a contacts and a groups
	// sync, which makes it meet this one and answer with its own.
	if err := c.update(ctx, func(ts *txState) error { return c.metDevice(ts, acct.User, false) }); err != nil {
		c.log.Warn("client: queueing the syncs after linking failed", "err", err)
	}
	return res, nil
}

// storeLinked stores the account a provision gave, as Verify does, with
// the vouch, the profile name and the co-op key.
func (c *Client) storeLinked(ctx context.Context, l *Linking, v *wire.Verified, p *provision) (Account, error) {
	c.regMu.Lock()
	defer c.regMu.Unlock()
	acct := l.ks.acct
	acct.User, acct.Device, acct.Credential = v.User, v.Device, v.Credential
	acct.Address, acct.DeviceName = p.Address, l.name
	acct.ProfileName, acct.ProfileAt = p.ProfileName, p.ProfileAt
	idBytes, err := l.id.MarshalBinary()
	if err != nil {
		return Account{}, fmt.Errorf("link: %w", err)
	}
	err = c.st.Update(ctx, func(tx store.Tx) error {
		if a, err := getAccount(tx); err != nil || a != nil {
			return errors.Join(err, ErrRegistered)
		}
		if err := tx.Put(bAccount, kIdentity, idBytes); err != nil {
			return err
		}
		if err := putAccount(tx, acct); err != nil {
			return err
		}
		if err := tx.Put(bLink, kVouch, marshalVouch(&p.Vouch)); err != nil {
			return err
		}
		if err := putHeld(tx, v.PendingUntilMS); err != nil {
			return err
		}
		voucher := identityRecord{Key: p.Voucher, Status: identityTrusted, FirstSeen: c.now().UnixMilli()}
		if err := tx.Put(bIdentities, deviceKey(v.User, p.Vouch.Device), voucher.marshal()); err != nil {
			return err
		}
		return l.ks.store(tx)
	})
	if err != nil {
		return Account{}, fmt.Errorf("link: store the new device: %w", err)
	}
	c.heldUntil.Store(v.PendingUntilMS)
	c.self.Store(&self{User: v.User, Device: v.Device, Credential: v.Credential, Address: p.Address, Identity: l.id})
	if err := c.pinCoopKey(ctx, p.CoopKey); err != nil {
		return Account{}, fmt.Errorf("link: %w", err)
	}
	return Account{User: v.User, Device: v.Device, Address: p.Address}, nil
}

// LinkDevice links the device showing codeOrQR (its code as typed, or
// the text of its QR code) to this account: it checks that the keys the
// relay holds for the code are the ones the code stands for
// (ErrLinkMismatch otherwise), vouches for the new identity key, uploads
// the history (messages, contacts, groups; attachments as pointers) if
// history is set, reporting progress, and seals the provision to the new
// device. It returns the new device's ID. It needs Run's connection, and
// fails with ErrDevicePending on a device the relay holds.
func (c *Client) LinkDevice(ctx context.Context, codeOrQR string, history bool, progress func(Progress)) (wire.DeviceID, error) {
	me, err := c.registered()
	if err != nil {
		return 0, err
	}
	if !c.PendingUntil().IsZero() {
		return 0, fmt.Errorf("link device: %w", ErrDevicePending)
	}
	codeOrQR = strings.TrimSpace(codeOrQR)
	code, err := wire.ParseLinkCode(codeOrQR)
	if err != nil {
		return 0, fmt.Errorf("link device: %w", err)
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return 0, err
	}
	lk, err := transport.Call[*wire.LinkKeys](ctx, conn, &wire.FetchLink{Code: code})
	if err != nil {
		return 0, fmt.Errorf("link device: %w", err)
	}
	if !wire.CheckLink(codeOrQR, lk.Key, lk.Identity) {
		return 0, ErrLinkMismatch
	}
	ik, err := keys.NewPublicKey(lk.Identity)
	if err != nil {
		return 0, fmt.Errorf("link device: the new device's identity key: %w", err)
	}
	sig, err := signVouch(c.cfg.Rand, me.Identity.Key, me.User, ik)
	if err != nil {
		return 0, fmt.Errorf("link device: %w", err)
	}
	p := &provision{Address: me.Address, User: me.User, Vouch: wire.Vouch{Device: me.Device, Signature: sig}, Voucher: me.Identity.Key.Public()}
	err = c.st.View(ctx, func(tx store.Tx) error {
		a, err := mustAccount(tx)
		if err != nil {
			return err
		}
		p.ProfileName, p.ProfileAt = a.ProfileName, a.ProfileAt
		co, err := loadCoop(tx)
		p.CoopKey = co.Key
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("link device: %w", err)
	}
	if history {
		if p.History, err = c.uploadLinked(ctx, progress); err != nil {
			return 0, fmt.Errorf("link device: %w", err)
		}
	}
	sealed, err := sealProvision(lk.Key, p)
	if err != nil {
		return 0, fmt.Errorf("link device: %w", err)
	}
	linked, err := transport.Call[*wire.Linked](ctx, conn, &wire.LinkDevice{Code: code, Provision: sealed})
	if err != nil {
		return 0, fmt.Errorf("link device: %w", err)
	}
	return linked.Device, nil
}
