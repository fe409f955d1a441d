package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/relay/wire"
)

// fixedKey is a private key made of 32 bytes of b.
func fixedKey(t *testing.T, b byte) keys.PrivateKey {
	t.Helper()
	k, err := keys.NewPrivateKey(bytes.Repeat([]byte{b}, keys.PrivateKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestVouchMessage(t *testing.T) {
	user := wire.UserID{0: 0xaa, 15: 0xbb}
	identity := fixedKey(t, 2).Public()
	want := hex.EncodeToString([]byte("Mutual device vouch v1\x00")) +
		"aa0000000000000000000000000000bb" + hex.EncodeToString(identity.Bytes())
	if got := hex.EncodeToString(vouchMessage(user, identity)); got != want {
		t.Fatalf("vouch message\n got %s\nwant %s", got, want)
	}
	if len(identity.Bytes()) != 33 {
		t.Fatalf("identity key of %d bytes, want 33", len(identity.Bytes()))
	}
}

func TestVouchSignVerify(t *testing.T) {
	voucher, other := fixedKey(t, 1), fixedKey(t, 3)
	identity, otherIdentity := fixedKey(t, 2).Public(), fixedKey(t, 4).Public()
	user, otherUser := wire.UserID{1}, wire.UserID{2}
	// A fixed source of randomness makes the signature fixed too.
	sig, err := signVouch(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), voucher, user, identity)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 64 {
		t.Fatalf("signature of %d bytes, want 64", len(sig))
	}
	tampered := bytes.Clone(sig)
	tampered[10] ^= 1
	for _, tc := range []struct {
		name     string
		voucher  keys.PublicKey
		user     wire.UserID
		identity keys.PublicKey
		sig      []byte
		want     bool
	}{
		{"valid", voucher.Public(), user, identity, sig, true},
		{"another voucher", other.Public(), user, identity, sig, false},
		{"another user", voucher.Public(), otherUser, identity, sig, false},
		{"another identity", voucher.Public(), user, otherIdentity, sig, false},
		{"tampered", voucher.Public(), user, identity, tampered, false},
		{"short", voucher.Public(), user, identity, sig[:63], false},
		{"no voucher key", keys.PublicKey{}, user, identity, sig, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := verifyVouch(tc.voucher, tc.user, tc.identity, tc.sig); got != tc.want {
				t.Fatalf("verifyVouch = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestVouched checks whom a device takes a vouch from: a device of the
// same user it trusts, or itself for its own account.
func TestVouched(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	c := offlineClient(t, st)
	me := c.me()
	alice := wire.NewUserID()
	trusted, unverified, removed := fixedKey(t, 1), fixedKey(t, 3), fixedKey(t, 5)
	newKey := fixedKey(t, 2).Public()
	err := st.Update(ctx, func(tx store.Tx) error {
		for d, r := range map[wire.DeviceID]identityRecord{
			1: {Key: trusted.Public(), Status: identityTrusted},
			3: {Key: unverified.Public(), Status: identityUnverified},
			5: {Key: removed.Public(), Status: identityRemoved},
		} {
			if err := tx.Put(bIdentities, deviceKey(alice, d), r.marshal()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	vouch := func(k keys.PrivateKey, u wire.UserID, by wire.DeviceID) *wire.Vouch {
		sig, err := signVouch(rand.Reader, k, u, newKey)
		if err != nil {
			t.Fatal(err)
		}
		return &wire.Vouch{Device: by, Signature: sig}
	}
	for _, tc := range []struct {
		name string
		user wire.UserID
		v    *wire.Vouch
		want bool
	}{
		{"by a trusted device", alice, vouch(trusted, alice, 1), true},
		{"none", alice, nil, false},
		{"by an unverified device", alice, vouch(unverified, alice, 3), false},
		{"by a removed device", alice, vouch(removed, alice, 5), false},
		{"by an unknown device", alice, vouch(fixedKey(t, 6), alice, 6), false},
		{"signed by another key than the device's", alice, vouch(unverified, alice, 1), false},
		{"for another user", alice, vouch(trusted, wire.NewUserID(), 1), false},
		{"by the new device itself", alice, vouch(trusted, alice, 2), false},
		{"by this device, for this account", me.User, vouch(me.Identity.Key, me.User, me.Device), true},
		{"by this device, for another account", alice, vouch(me.Identity.Key, alice, me.Device), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got bool
			err := st.View(ctx, func(tx store.Tx) (err error) {
				got, err = c.vouched(tx, tc.user, 2, newKey, tc.v)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("vouched = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestVouchedDeviceInBundle checks the contact's side when a new device
// comes in a bundle: vouched by a trusted device, it is trusted and the
// contact keeps Verified with no IdentityChanged; without a vouch, it
// is a change to accept, as before.
func TestVouchedDeviceInBundle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		vouch  bool
		status identityStatus
	}{
		{"vouched", true, identityTrusted},
		{"not vouched", false, identityUnverified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := memstore.New()
			t.Cleanup(func() { st.Close() })
			c := offlineClient(t, st)
			alice, aliceKey := peerWithKey(t, addContact(t, c, ContactAllowed, time.Now()), 1)
			second, _ := peerWithKey(t, alice.user, 2)
			ik, err := keys.NewPublicKey(second.bundle.Identity)
			if err != nil {
				t.Fatal(err)
			}
			first, err := keys.NewPublicKey(alice.bundle.Identity)
			if err != nil {
				t.Fatal(err)
			}
			if tc.vouch {
				second.bundle.Vouch = &wire.Vouch{Device: 1, Signature: sign(t, aliceKey, vouchMessage(alice.user, ik))}
			}
			err = c.update(ctx, func(ts *txState) error {
				if _, err := c.recordIdentity(ts, alice.user, 1, first, true, &alice.bundle); err != nil {
					return err
				}
				if err := markListed(ts.tx, alice.user); err != nil {
					return err
				}
				ct, err := getContact(ts.tx, c.me().User, alice.user)
				if err != nil {
					return err
				}
				ct.Verified = time.Now()
				return c.putContact(ts, ct)
			})
			if err != nil {
				t.Fatal(err)
			}
			var status identityStatus
			err = c.update(ctx, func(ts *txState) (err error) {
				status, err = c.recordIdentity(ts, alice.user, 2, ik, false, &second.bundle)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			ct, err := c.Contact(ctx, alice.user)
			if err != nil {
				t.Fatal(err)
			}
			if ct.IdentityChanged == tc.vouch || ct.Verified.IsZero() == tc.vouch {
				t.Fatalf("vouched %v: IdentityChanged %v, Verified %v", tc.vouch, ct.IdentityChanged, ct.Verified)
			}
		})
	}
}

// peerWithKey is device d of user, as newPeerDevice makes it, with its
// identity's private key.
func peerWithKey(t *testing.T, user wire.UserID, d wire.DeviceID) (*peerDevice, keys.PrivateKey) {
	t.Helper()
	id, err := pqxdh.GenerateIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	signed, err := pqxdh.GenerateSignedPreKey(rand.Reader, id.Key, 1, now)
	if err != nil {
		t.Fatal(err)
	}
	kem, err := pqxdh.GenerateKEMPreKey(rand.Reader, id.Key, 2, true, now)
	if err != nil {
		t.Fatal(err)
	}
	return &peerDevice{user: user, device: d, bundle: wire.Bundle{
		Device: d, Identity: id.Key.Public().Bytes(),
		Signed: wire.Prekey{ID: signed.ID, Public: signed.Key.Public().Bytes(), Signature: signed.Signature},
		KEM:    wire.Prekey{ID: kem.ID, Public: kem.Key.Public().Bytes(), Signature: kem.Signature}, KEMLastResort: true,
	}}, id.Key
}

func sign(t *testing.T, k keys.PrivateKey, msg []byte) []byte {
	t.Helper()
	sig, err := k.Sign(rand.Reader, msg)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestProvisionSealOpen(t *testing.T) {
	key, err := linkKEM().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(key.PublicKey().Bytes()); n != 1216 {
		t.Fatalf("link key of %d bytes, want 1216", n)
	}
	// The largest provision there is fits in a LinkDevice.
	p := &provision{
		Address: "email:" + strings.Repeat("a", wire.MaxAddress-len("email:@x.org")) + "@x.org", User: wire.NewUserID(),
		Vouch:       wire.Vouch{Device: 7, Signature: bytes.Repeat([]byte{1}, 64)},
		ProfileName: strings.Repeat("é", MaxProfileName/2), ProfileAt: 1_700_000_000_000,
		History: bytes.Repeat([]byte{2}, maxHistoryBlob), CoopKey: bytes.Repeat([]byte{3}, 32),
		Voucher: fixedKey(t, 9).Public(),
	}
	sealed, err := sealProvision(key.PublicKey().Bytes(), p)
	if err != nil {
		t.Fatal(err)
	}
	got, err := openProvision(key, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if got.Address != p.Address || got.User != p.User || got.Vouch.Device != 7 || !bytes.Equal(got.Vouch.Signature, p.Vouch.Signature) ||
		got.ProfileName != p.ProfileName || got.ProfileAt != p.ProfileAt || !bytes.Equal(got.History, p.History) || !bytes.Equal(got.CoopKey, p.CoopKey) || !got.Voucher.Equal(p.Voucher) {
		t.Fatalf("opened %+v, sealed %+v", got, p)
	}
	if bytes.Contains(sealed, []byte(p.Address)) || bytes.Contains(sealed, p.History) {
		t.Fatal("the sealed provision shows its plaintext")
	}

	other, err := linkKEM().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openProvision(other, sealed); err == nil {
		t.Fatal("a provision opened with another key")
	}
	for _, i := range []int{0, 1200, len(sealed) - 1} {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := openProvision(key, bad); err == nil {
			t.Fatalf("a provision altered at byte %d opened", i)
		}
	}
	if _, err := sealProvision([]byte("not a key"), p); err == nil {
		t.Fatal("sealed to a malformed key")
	}
}

func TestParseProvisionRefuses(t *testing.T) {
	good := provision{Address: "email:a@x.org", User: wire.NewUserID(), Vouch: wire.Vouch{Device: 1, Signature: []byte{1}}, Voucher: fixedKey(t, 1).Public()}
	for _, tc := range []struct {
		name string
		edit func(p *provision)
	}{
		{"no address", func(p *provision) { p.Address = "" }},
		{"no user", func(p *provision) { p.User = wire.UserID{} }},
		{"no voucher", func(p *provision) { p.Vouch.Device = 0 }},
		{"no signature", func(p *provision) { p.Vouch.Signature = nil }},
		{"no voucher key", func(p *provision) { p.Voucher = keys.PublicKey{} }},
		{"short co-op key", func(p *provision) { p.CoopKey = []byte{1, 2} }},
		{"history too long", func(p *provision) { p.History = make([]byte, maxHistoryBlob+1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			if _, err := parseProvision(p.marshal()); !errors.Is(err, errMalformed) {
				t.Fatalf("parse: %v, want malformed", err)
			}
		})
	}
	if _, err := parseProvision(good.marshal()); err != nil {
		t.Fatal(err)
	}
}

func TestVouchRecord(t *testing.T) {
	v := &wire.Vouch{Device: 9, Signature: bytes.Repeat([]byte{4}, 64)}
	got, err := parseVouch(marshalVouch(v))
	if err != nil {
		t.Fatal(err)
	}
	if got.Device != 9 || !bytes.Equal(got.Signature, v.Signature) {
		t.Fatalf("got %+v, want %+v", got, v)
	}
}

// TestVouchCheck checks a new device met through a message it wrote: it
// is unchecked, with no warning, until the worker checks its vouch with
// the bundles the relay hands out; then trusted (Verified kept) or
// unverified (IdentityChanged, Verified cleared), as with a bundle.
func TestVouchCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		bundles func(second *peerDevice) []wire.Bundle
		status  identityStatus
	}{
		{"vouched", func(p *peerDevice) []wire.Bundle { return []wire.Bundle{p.bundle} }, identityTrusted},
		{"not vouched", func(p *peerDevice) []wire.Bundle {
			b := p.bundle
			b.Vouch = nil
			return []wire.Bundle{b}
		}, identityUnverified},
		{"vouched for another key", func(p *peerDevice) []wire.Bundle {
			other, _ := peerWithKey(t, p.user, p.device)
			b := p.bundle
			b.Identity = other.bundle.Identity
			return []wire.Bundle{b}
		}, identityUnverified},
		{"not listed", func(*peerDevice) []wire.Bundle { return nil }, identityUnverified},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := memstore.New()
			t.Cleanup(func() { st.Close() })
			c := offlineClient(t, st)
			alice, aliceKey := peerWithKey(t, addContact(t, c, ContactAllowed, time.Now()), 1)
			second, _ := peerWithKey(t, alice.user, 2)
			first, _ := keys.NewPublicKey(alice.bundle.Identity)
			ik, _ := keys.NewPublicKey(second.bundle.Identity)
			second.bundle.Vouch = &wire.Vouch{Device: 1, Signature: sign(t, aliceKey, vouchMessage(alice.user, ik))}
			err := c.update(ctx, func(ts *txState) error {
				if _, err := c.recordIdentity(ts, alice.user, 1, first, true, &alice.bundle); err != nil {
					return err
				}
				if err := markListed(ts.tx, alice.user); err != nil {
					return err
				}
				ct, err := getContact(ts.tx, c.me().User, alice.user)
				if err != nil {
					return err
				}
				ct.Verified = time.Now()
				return c.putContact(ts, ct)
			})
			if err != nil {
				t.Fatal(err)
			}
			drainEvents(c)
			// Met through a message: no bundle at hand.
			var status identityStatus
			err = c.update(ctx, func(ts *txState) (err error) {
				status, err = c.recordIdentity(ts, alice.user, 2, ik, false, nil)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if status != identityUnchecked {
				t.Fatalf("status %d, want unchecked", status)
			}
			ct, err := c.Contact(ctx, alice.user)
			if err != nil {
				t.Fatal(err)
			}
			if ct.IdentityChanged || ct.Verified.IsZero() {
				t.Fatalf("unchecked: IdentityChanged %v, Verified %v", ct.IdentityChanged, ct.Verified)
			}
			var hold *IdentityChangedError
			err = st.View(ctx, func(tx store.Tx) (err error) {
				hold, err = unverified(tx, alice.user)
				return err
			})
			if err != nil || hold == nil {
				t.Fatalf("messages to an unchecked device do not wait: %v", err)
			}
			if evs := drainEvents(c); hasEvent[IdentityChanged](evs) {
				t.Fatalf("unchecked device raised %v", evs)
			}

			err = c.update(ctx, func(ts *txState) error {
				checks, err := vouchChecks(ts.tx)
				if err != nil {
					return err
				}
				if len(checks[alice.user]) != 1 || checks[alice.user][0] != 2 {
					t.Errorf("checks %v, want device 2 of alice", checks)
				}
				return c.settleVouch(ts, alice.user, 2, tc.bundles(second))
			})
			if err != nil {
				t.Fatal(err)
			}
			err = st.View(ctx, func(tx store.Tx) error {
				rec, err := getIdentity(tx, alice.user, 2)
				if err != nil {
					return err
				}
				if rec.Status != tc.status {
					t.Errorf("settled %d, want %d", rec.Status, tc.status)
				}
				checks, err := vouchChecks(tx)
				if len(checks) != 0 {
					t.Errorf("checks left: %v", checks)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			warned := tc.status == identityUnverified
			if ct, err = c.Contact(ctx, alice.user); err != nil {
				t.Fatal(err)
			}
			if ct.IdentityChanged != warned || ct.Verified.IsZero() != warned {
				t.Fatalf("settled %d: IdentityChanged %v, Verified %v", tc.status, ct.IdentityChanged, ct.Verified)
			}
			if evs := drainEvents(c); hasEvent[IdentityChanged](evs) != warned {
				t.Fatalf("settled %d: events %v", tc.status, evs)
			}
		})
	}
}

// TestOwnDeviceVouch checks that a device of this account that comes
// with this device's vouch raises no OwnDeviceSeen, and one without does.
func TestOwnDeviceVouch(t *testing.T) {
	for _, vouch := range []bool{true, false} {
		for _, inBundle := range []bool{true, false} {
			ctx := context.Background()
			st := memstore.New()
			t.Cleanup(func() { st.Close() })
			c := offlineClient(t, st)
			me := c.me()
			second, _ := peerWithKey(t, me.User, 2)
			ik, _ := keys.NewPublicKey(second.bundle.Identity)
			if vouch {
				second.bundle.Vouch = &wire.Vouch{Device: me.Device, Signature: sign(t, me.Identity.Key, vouchMessage(me.User, ik))}
			}
			drainEvents(c)
			err := c.update(ctx, func(ts *txState) error {
				var b *wire.Bundle
				if inBundle {
					b = &second.bundle
				}
				status, err := c.recordIdentity(ts, me.User, 2, ik, false, b)
				if err == nil && status != identityTrusted {
					t.Errorf("own device %d, want trusted", status)
				}
				return err
			})
			if err == nil && !inBundle {
				err = c.update(ctx, func(ts *txState) error { return c.settleVouch(ts, me.User, 2, []wire.Bundle{second.bundle}) })
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hasEvent[OwnDeviceSeen](drainEvents(c)); got == vouch {
				t.Errorf("vouched %v, in a bundle %v: OwnDeviceSeen %v", vouch, inBundle, got)
			}
		}
	}
}

// drainEvents returns the events c has queued.
func drainEvents(c *Client) []Event {
	var evs []Event
	for {
		select {
		case ev := <-c.Events():
			evs = append(evs, ev)
		default:
			return evs
		}
	}
}

func hasEvent[E Event](evs []Event) bool {
	for _, ev := range evs {
		if _, ok := ev.(E); ok {
			return true
		}
	}
	return false
}
