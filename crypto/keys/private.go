package keys

import (
	"crypto/ecdh"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/mutualcoop/mutual/crypto/xeddsa"
)

// PrivateKeySize is the size of a serialized PrivateKey.
const PrivateKeySize = 32

// ErrLowOrderPoint is returned by DH when the shared secret is all zeros,
// which happens exactly when the peer's public key is a point of small
// order: such a key contributes nothing secret and must be refused.
var ErrLowOrderPoint = errors.New("keys: x25519 shared secret is zero (low-order public key)")

// PrivateKey is a Curve25519 private key: a clamped 32-byte X25519 scalar.
// The zero value is not a usable key (IsZero reports it).
//
// The scalar lives two pointers deep, so that even fmt's reflection on a
// struct that holds a PrivateKey in an unexported field (where Format is out
// of its reach, whatever the verb) prints an address, not the key.
type PrivateKey struct {
	_ [0]func() // incomparable
	s *privateScalar
}

type privateScalar struct {
	e *ecdh.PrivateKey // the clamped scalar, with its public key computed once
}

func newPrivateKey(b *[PrivateKeySize]byte) PrivateKey {
	c := xeddsa.Clamp(b)
	e, err := ecdh.X25519().NewPrivateKey(c[:])
	clear(c[:])
	if err != nil {
		panic("keys: 32-byte x25519 private key rejected: " + err.Error())
	}
	return PrivateKey{s: &privateScalar{e: e}}
}

// scalar returns the clamped scalar (zeros for the zero value).
func (k PrivateKey) scalar() [PrivateKeySize]byte {
	var b [PrivateKeySize]byte
	if e := k.ecdh(); e != nil {
		copy(b[:], e.Bytes())
	}
	return b
}

// ecdh returns the crypto/ecdh key, nil for the zero value.
func (k PrivateKey) ecdh() *ecdh.PrivateKey {
	if k.s == nil {
		return nil
	}
	return k.s.e
}

// GeneratePrivateKey returns a new private key made of 32 bytes read from
// rand (use crypto/rand.Reader), clamped.
func GeneratePrivateKey(rand io.Reader) (PrivateKey, error) {
	var b [PrivateKeySize]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return PrivateKey{}, fmt.Errorf("generate private key: %w", err)
	}
	k := newPrivateKey(&b)
	clear(b[:])
	return k, nil
}

// NewPrivateKey returns the private key with the 32-byte scalar b, clamped
// as libsignal does when it loads a private key.
func NewPrivateKey(b []byte) (PrivateKey, error) {
	if len(b) != PrivateKeySize {
		return PrivateKey{}, fmt.Errorf("private key: got %d bytes, want %d", len(b), PrivateKeySize)
	}
	return newPrivateKey((*[PrivateKeySize]byte)(b)), nil
}

// Bytes returns a copy of the 32-byte clamped scalar.
func (k PrivateKey) Bytes() []byte {
	b := k.scalar()
	return b[:]
}

// IsZero reports whether k is the zero value.
func (k PrivateKey) IsZero() bool { return k.ecdh() == nil }

// Equal reports in constant time whether k and o are the same key.
func (k PrivateKey) Equal(o PrivateKey) bool {
	a, b := k.scalar(), o.scalar()
	eq := subtle.ConstantTimeCompare(a[:], b[:]) == 1
	clear(a[:])
	clear(b[:])
	return eq
}

// Public returns the public key of k (X25519 of k and the base point 9).
// The zero value's public key is the zero PublicKey.
func (k PrivateKey) Public() PublicKey {
	var p PublicKey
	if e := k.ecdh(); e != nil {
		copy(p.u[:], e.PublicKey().Bytes())
	}
	return p
}

// DH returns the 32-byte X25519 shared secret of k and pub. It fails with
// ErrLowOrderPoint when the result is all zeros, and on the zero key.
func (k PrivateKey) DH(pub PublicKey) ([]byte, error) {
	e := k.ecdh()
	if e == nil {
		return nil, errors.New("x25519: zero private key")
	}
	peer, err := ecdh.X25519().NewPublicKey(pub.u[:])
	if err != nil {
		return nil, fmt.Errorf("x25519: %w", err)
	}
	secret, err := e.ECDH(peer)
	if err != nil {
		// crypto/ecdh's only failure here is the all-zero output.
		return nil, ErrLowOrderPoint
	}
	return secret, nil
}

// Sign returns the 64-byte XEdDSA signature (libsignal's variant) of msg,
// reading the 64 bytes of per-signature randomness from rand.
func (k PrivateKey) Sign(rand io.Reader, msg []byte) ([]byte, error) {
	if k.IsZero() {
		return nil, errors.New("xeddsa sign: zero private key")
	}
	var z [xeddsa.RandomSize]byte
	if _, err := io.ReadFull(rand, z[:]); err != nil {
		return nil, fmt.Errorf("xeddsa sign: %w", err)
	}
	scalar := k.scalar()
	sig := xeddsa.Sign(&scalar, msg, &z)
	clear(scalar[:])
	clear(z[:])
	return sig[:], nil
}

// Format prints a redacted placeholder, whatever the verb, so that a
// private key passed to fmt or a logger never shows its bytes.
func (k PrivateKey) Format(f fmt.State, verb rune) {
	io.WriteString(f, "keys.PrivateKey{redacted}")
}
