package pqxdh

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"filippo.io/edwards25519"
	fe "filippo.io/edwards25519/field"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// device is one side's records, for tests.
type device struct {
	id     Identity
	signed SignedPreKey
	pre    PreKey
	kem    KEMPreKey
}

func newDevice(t testing.TB) *device {
	t.Helper()
	id, err := GenerateIdentity(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	signed, err := GenerateSignedPreKey(rand.Reader, id.Key, 7, now)
	if err != nil {
		t.Fatal(err)
	}
	pres, err := GeneratePreKeys(rand.Reader, 31, 1)
	if err != nil {
		t.Fatal(err)
	}
	kem, err := GenerateKEMPreKey(rand.Reader, id.Key, 9, false, now)
	if err != nil {
		t.Fatal(err)
	}
	return &device{id: id, signed: signed, pre: pres[0], kem: kem}
}

func (d *device) bundle(withPreKey, withKEM bool) *Bundle {
	var pk *PreKey
	var kk *KEMPreKey
	if withPreKey {
		pk = &d.pre
	}
	if withKEM {
		kk = &d.kem
	}
	return NewBundle(d.id, 1, d.signed, pk, kk)
}

func (d *device) responderKeys(m *ratchet.PreKeySignalMessage) ResponderKeys {
	k := ResponderKeys{SignedPreKey: d.signed.Key}
	if _, ok := m.PreKeyID(); ok {
		k.PreKey = d.pre.Key
	}
	if m.Version() == ratchet.Version4 {
		k.KEMPreKey = d.kem.Key
	}
	return k
}

func TestAgreement(t *testing.T) {
	for _, tc := range []struct {
		name            string
		preKey, kem     bool
		allowX3DH       bool
		wantVersion     int
		wantInitiateErr error
	}{
		{"pqxdh", true, true, false, ratchet.Version4, nil},
		{"pqxdh without one-time prekey", false, true, false, ratchet.Version4, nil},
		{"x3dh allowed", true, false, true, ratchet.Version3, nil},
		{"x3dh without one-time prekey", false, false, true, ratchet.Version3, nil},
		{"x3dh refused", true, false, false, 0, ErrX3DHRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice, bob := newDevice(t), newDevice(t)
			opts := Options{AllowX3DH: tc.allowX3DH}
			as, err := ProcessBundle(opts, alice.id, bob.bundle(tc.preKey, tc.kem))
			if !errors.Is(err, tc.wantInitiateErr) {
				t.Fatalf("ProcessBundle: %v, want %v", err, tc.wantInitiateErr)
			}
			if err != nil {
				return
			}
			if as.Version() != tc.wantVersion {
				t.Fatalf("version %d, want %d", as.Version(), tc.wantVersion)
			}
			ct, err := as.Encrypt([]byte("hello bob"))
			if err != nil {
				t.Fatal(err)
			}
			if ct.Type != ratchet.TypePreKey {
				t.Fatalf("first message type %v", ct.Type)
			}
			m, err := ratchet.ParsePreKeySignalMessage(ct.Body)
			if err != nil {
				t.Fatal(err)
			}
			bs, err := ProcessPreKeyMessage(opts, bob.id, m, bob.responderKeys(m))
			if err != nil {
				t.Fatal(err)
			}
			pt, err := bs.Decrypt(rand.Reader, m.Message())
			if err != nil || string(pt) != "hello bob" {
				t.Fatalf("bob decrypt: %q, %v", pt, err)
			}
			reply, err := bs.Encrypt([]byte("hello alice"))
			if err != nil || reply.Type != ratchet.TypeSignal {
				t.Fatalf("reply: %v %v", reply.Type, err)
			}
			rm, err := ratchet.ParseSignalMessage(reply.Body)
			if err != nil {
				t.Fatal(err)
			}
			pt, err = as.Decrypt(rand.Reader, rm)
			if err != nil || string(pt) != "hello alice" {
				t.Fatalf("alice decrypt: %q, %v", pt, err)
			}
			if as.HasPending() {
				t.Fatal("alice still pending after a reply")
			}
			if !as.BaseKey().Equal(bs.BaseKey()) {
				t.Fatal("base keys differ")
			}
		})
	}
}

func TestStrictResponderRefusesVersion3(t *testing.T) {
	alice, bob := newDevice(t), newDevice(t)
	as, err := ProcessBundle(Options{AllowX3DH: true}, alice.id, bob.bundle(true, false))
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := as.Encrypt([]byte("x"))
	m, err := ratchet.ParsePreKeySignalMessage(ct.Body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ProcessPreKeyMessage(Options{}, bob.id, m, bob.responderKeys(m)); !errors.Is(err, ErrX3DHRefused) {
		t.Fatalf("strict responder: %v, want ErrX3DHRefused", err)
	}
}

func TestBundleSignatures(t *testing.T) {
	alice, bob := newDevice(t), newDevice(t)
	for _, tc := range []struct {
		name   string
		tamper func(b *Bundle)
	}{
		{"signed prekey signature", func(b *Bundle) { b.SignedPreKeySignature[5] ^= 1 }},
		{"kem prekey signature", func(b *Bundle) { b.KEMPreKeySignature[5] ^= 1 }},
		{"signed prekey swapped", func(b *Bundle) { b.SignedPreKey = alice.signed.Key.Public() }},
		{"kem prekey swapped", func(b *Bundle) { b.KEMPreKey = alice.kem.Key.Public() }},
		{"identity swapped", func(b *Bundle) { b.IdentityKey = alice.id.Key.Public() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bob.bundle(true, true)
			tc.tamper(b)
			if _, err := ProcessBundle(Options{}, alice.id, b); !errors.Is(err, ErrSignature) {
				t.Fatalf("got %v, want ErrSignature", err)
			}
		})
	}
}

// TestBaseKeyRefused replaces the base key of a genuine prekey message
// with keys a responder must refuse, as libsignal does: points outside the
// prime-order subgroup are refused by the key agreement (ErrBaseKey),
// non-canonical encodings of u already by the message parser.
func TestBaseKeyRefused(t *testing.T) {
	alice, bob := newDevice(t), newDevice(t)
	as, err := ProcessBundle(Options{}, alice.id, bob.bundle(true, true))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := as.Encrypt([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := ratchet.ParsePreKeySignalMessage(ct.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !canonicalPoint(m.BaseKey()) {
		t.Fatal("a generated base key is not canonical")
	}
	if _, err := ProcessPreKeyMessage(Options{}, bob.id, m, bob.responderKeys(m)); err != nil {
		t.Fatalf("genuine base key: %v", err)
	}
	at := bytes.Index(m.Bytes(), m.BaseKey().Bytes()) + 1 // the 32 bytes of u
	// 2^255 − 19 + 9, little-endian: a second encoding of u = 9.
	pPlus9, _ := hex.DecodeString("f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	for _, tc := range []struct {
		name      string
		u         []byte
		parseFail bool // refused by the parser, before the agreement
	}{
		// u = 1: a point of order 4 (Edwards y = 0), canonically encoded.
		{"small order (u = 1)", append([]byte{1}, make([]byte, 31)...), false},
		// libsignal's test_bob_rejects_torsioned_basekey: X25519 would not
		// notice a point of order 8 added to the key.
		{"torsioned (order 8 added)", addTorsion(t, m.BaseKey()).Raw(), false},
		// libsignal's test_bob_rejects_highbit_basekey.
		{"high bit set", func() []byte { u := m.BaseKey().Raw(); u[31] |= 0x80; return u }(), true},
		{"u at least 2^255 − 19 (9 + p)", pPlus9, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := bytes.Clone(m.Bytes())
			copy(raw[at:at+32], tc.u)
			m2, err := ratchet.ParsePreKeySignalMessage(raw)
			if tc.parseFail {
				if !errors.Is(err, ratchet.ErrMalformed) {
					t.Fatalf("parse: %v, want ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ProcessPreKeyMessage(Options{}, bob.id, m2, bob.responderKeys(m2)); !errors.Is(err, ErrBaseKey) {
				t.Fatalf("got %v, want ErrBaseKey", err)
			}
		})
	}
}

// addTorsion returns the Montgomery form of P + T, T of order 8.
func addTorsion(t *testing.T, k keys.PublicKey) keys.PublicKey {
	t.Helper()
	fu, err := new(fe.Element).SetBytes(k.Raw())
	if err != nil {
		t.Fatal(err)
	}
	one := new(fe.Element).One()
	y := new(fe.Element).Multiply(new(fe.Element).Subtract(fu, one), new(fe.Element).Invert(new(fe.Element).Add(fu, one)))
	p, err := new(edwards25519.Point).SetBytes(y.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// A point of order 8 (from the list of Ed25519's small-order points).
	tb, _ := hex.DecodeString("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	tp, err := new(edwards25519.Point).SetBytes(tb)
	if err != nil {
		t.Fatal(err)
	}
	sum := new(edwards25519.Point).Add(p, tp)
	// u = (1 + y) / (1 − y)
	ey := sum.Bytes()
	ey[31] &= 0x7F
	y2, err := new(fe.Element).SetBytes(ey)
	if err != nil {
		t.Fatal(err)
	}
	u := new(fe.Element).Multiply(new(fe.Element).Add(one, y2), new(fe.Element).Invert(new(fe.Element).Subtract(one, y2)))
	out, err := keys.NewPublicKeyRaw(u.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if out.Equal(k) {
		t.Fatal("torsion changed nothing")
	}
	return out
}
