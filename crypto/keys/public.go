package keys

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"

	"github.com/mutualcoop/mutual/crypto/xeddsa"
)

const (
	// PublicKeyType is libsignal's type byte for Curve25519 ("DJB") keys.
	PublicKeyType = 0x05
	// PublicKeySize is the size of a serialized PublicKey: type byte and u.
	PublicKeySize = 1 + RawPublicKeySize
	// RawPublicKeySize is the size of the bare Montgomery u coordinate.
	RawPublicKeySize = 32
	// SignatureSize is the size of an XEdDSA signature.
	SignatureSize = xeddsa.SignatureSize
)

// PublicKey is a Curve25519 public key: a Montgomery u coordinate, always
// the canonical encoding of a field element.
type PublicKey struct {
	_ [0]func() // incomparable
	u [RawPublicKeySize]byte
}

// NewPublicKey parses libsignal's serialization of a public key: exactly 33
// bytes, the type byte 0x05 followed by u. It rejects any other type byte or
// length and a non-canonical u (u ≥ 2^255 − 19), which X25519 never produces.
func NewPublicKey(b []byte) (PublicKey, error) {
	if len(b) != PublicKeySize {
		return PublicKey{}, fmt.Errorf("public key: got %d bytes, want %d", len(b), PublicKeySize)
	}
	if b[0] != PublicKeyType {
		return PublicKey{}, fmt.Errorf("public key: type byte %#02x, want %#02x", b[0], PublicKeyType)
	}
	return NewPublicKeyRaw(b[1:])
}

// NewPublicKeyRaw parses a bare 32-byte u coordinate (the form X25519 and
// some libsignal APIs use), rejecting a non-canonical u.
func NewPublicKeyRaw(b []byte) (PublicKey, error) {
	if len(b) != RawPublicKeySize {
		return PublicKey{}, fmt.Errorf("public key: got %d raw bytes, want %d", len(b), RawPublicKeySize)
	}
	var p PublicKey
	copy(p.u[:], b)
	if !xeddsa.CanonicalU(&p.u) {
		return PublicKey{}, fmt.Errorf("public key: u coordinate is not canonical")
	}
	return p, nil
}

// Bytes returns libsignal's 33-byte serialization: 0x05 || u.
func (p PublicKey) Bytes() []byte {
	b := make([]byte, PublicKeySize)
	b[0] = PublicKeyType
	copy(b[1:], p.u[:])
	return b
}

// Raw returns the 32-byte u coordinate.
func (p PublicKey) Raw() []byte {
	b := make([]byte, RawPublicKeySize)
	copy(b, p.u[:])
	return b
}

// Equal reports in constant time whether p and o are the same key.
func (p PublicKey) Equal(o PublicKey) bool {
	return subtle.ConstantTimeCompare(p.u[:], o.u[:]) == 1
}

// IsZero reports whether p is the zero value (u = 0, a point of order 2
// that is never a real key).
func (p PublicKey) IsZero() bool {
	var zero [RawPublicKeySize]byte
	return subtle.ConstantTimeCompare(p.u[:], zero[:]) == 1
}

// Verify reports whether sig is a valid XEdDSA signature (libsignal's
// variant) of msg under p.
func (p PublicKey) Verify(msg, sig []byte) bool {
	return xeddsa.Verify(&p.u, msg, sig)
}

// String returns the text form "pub:" followed by the hex of the 33-byte
// serialization.
func (p PublicKey) String() string {
	return "pub:" + hex.EncodeToString(p.Bytes())
}
