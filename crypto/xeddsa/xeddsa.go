// Package xeddsa signs and verifies with X25519 keys as libsignal does.
//
// XEdDSA (https://signal.org/docs/specifications/xeddsa/) turns a Montgomery
// (X25519) key pair into an Edwards (Ed25519) signing key, so that one
// identity key serves both for Diffie-Hellman and for signing prekeys.
//
// This package implements the variant that libsignal ships (the
// curve25519 "calculate_signature"/"verify_signature" pair of libsignal's
// Rust core, compatible with libsignal-protocol-java and -c). It differs from
// the specification in one respect: the specification negates the private
// scalar when the Edwards public key has its sign bit set, so that the
// public key's sign bit is always 0; libsignal instead signs with the
// scalar as it is and carries the Edwards sign bit in the top bit of the
// last signature byte (a bit that is always 0 in a reduced scalar s).
// Verification reads the sign bit back from there. A signature made by the
// specification's algorithm therefore also verifies here (its sign bit is 0
// and its public key has sign 0).
//
// Signing, with k the clamped X25519 private key and Z 64 random bytes:
//
//	a = k mod q
//	A = aB, compressed
//	r = SHA-512(0xFE || 0xFF*31 || k || M || Z) mod q
//	R = rB, compressed
//	h = SHA-512(R || A || M) mod q
//	s = h·a + r mod q
//	signature = R || s, with the top bit of byte 63 set to A's sign bit
//
// Verification rejects what libsignal rejects: a Montgomery u equal to −1
// (no Edwards point), an s with either of bits 253 and 254 set, and any R
// that is not the canonical encoding of sB − hA (the comparison is on
// encodings). It is stricter than libsignal in one respect, which the
// specification demands: a u coordinate that is not the canonical encoding
// of a field element (u ≥ 2^255 − 19, top bit included) is rejected, where
// libsignal reduces it modulo p first. Honest keys are never affected:
// X25519 always outputs canonical coordinates.
package xeddsa

import (
	"crypto/sha512"
	"crypto/subtle"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

const (
	// PrivateKeySize is the size of an X25519 private key.
	PrivateKeySize = 32
	// PublicKeySize is the size of an X25519 public key (Montgomery u).
	PublicKeySize = 32
	// SignatureSize is the size of an XEdDSA signature.
	SignatureSize = 64
	// RandomSize is the number of random bytes a signature consumes.
	RandomSize = 64
)

// hashPrefix1 is hash_1's prefix from the specification: the 32-byte
// little-endian encoding of 2^256 − 1 − 1.
var hashPrefix1 = [32]byte{
	0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
}

// Clamp returns the X25519 clamping of k (RFC 7748 decodeScalar25519):
// bits 0–2 and 255 cleared, bit 254 set.
func Clamp(k *[PrivateKeySize]byte) [PrivateKeySize]byte {
	c := *k
	c[0] &= 248
	c[31] &= 127
	c[31] |= 64
	return c
}

// Sign returns the libsignal XEdDSA signature of msg under the X25519
// private key priv, using the 64 bytes of random as Z. priv is clamped
// first, as libsignal stores its private keys clamped; signing with an
// already clamped key is therefore the same operation. random must be
// fresh secret randomness for every signature; fixed values are for
// known-answer tests only.
func Sign(priv *[PrivateKeySize]byte, msg []byte, random *[RandomSize]byte) [SignatureSize]byte {
	k := Clamp(priv)
	a, err := edwards25519.NewScalar().SetBytesWithClamping(k[:])
	if err != nil {
		panic("xeddsa: clamping a 32-byte scalar failed: " + err.Error())
	}
	pubA := new(edwards25519.Point).ScalarBaseMult(a).Bytes()
	signBit := pubA[31] & 0x80

	h1 := sha512.New()
	h1.Write(hashPrefix1[:])
	h1.Write(k[:])
	h1.Write(msg)
	h1.Write(random[:])
	r := uniformScalar(h1.Sum(nil))
	capR := new(edwards25519.Point).ScalarBaseMult(r).Bytes()

	h := challenge(capR, pubA, msg)
	s := edwards25519.NewScalar().MultiplyAdd(h, a, r)

	var sig [SignatureSize]byte
	copy(sig[:32], capR)
	copy(sig[32:], s.Bytes())
	sig[63] &= 0x7F
	sig[63] |= signBit

	// Best effort: the scalars live on in the heap, but the stack copy of
	// the clamped key need not.
	clear(k[:])
	return sig
}

// Verify reports whether sig is a valid libsignal XEdDSA signature of msg
// under the X25519 public key pub (a 32-byte Montgomery u coordinate).
func Verify(pub *[PublicKeySize]byte, msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	if !canonicalU(pub) {
		return false
	}
	pubPoint, ok := montgomeryToEdwards(pub, sig[63]>>7)
	if !ok {
		return false
	}
	pubA := pubPoint.Bytes()

	var sBytes [32]byte
	copy(sBytes[:], sig[32:])
	sBytes[31] &= 0x7F
	if sBytes[31]&0xE0 != 0 {
		return false
	}
	// libsignal reduces s modulo q (Scalar::from_bytes_mod_order) after
	// the s < 2^253 check above; SetUniformBytes of s padded to 64 bytes
	// is the same reduction.
	var wide [64]byte
	copy(wide[:], sBytes[:])
	s := uniformScalar(wide[:])

	capR := sig[:32]
	h := challenge(capR, pubA, msg)
	minusA := new(edwards25519.Point).Negate(pubPoint)
	check := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(h, minusA, s)
	return subtle.ConstantTimeCompare(check.Bytes(), capR) == 1
}

// challenge is h = SHA-512(R || A || M) mod q.
func challenge(capR, pubA, msg []byte) *edwards25519.Scalar {
	d := sha512.New()
	d.Write(capR)
	d.Write(pubA)
	d.Write(msg)
	return uniformScalar(d.Sum(nil))
}

func uniformScalar(b []byte) *edwards25519.Scalar {
	s, err := edwards25519.NewScalar().SetUniformBytes(b)
	if err != nil {
		panic("xeddsa: reducing a 64-byte value failed: " + err.Error())
	}
	return s
}

// fieldPrime is p = 2^255 − 19, little-endian.
var fieldPrime = [32]byte{
	0xED, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F,
}

// CanonicalU reports whether u, read as a 256-bit little-endian integer,
// is less than p = 2^255 − 19, that is, whether it is the canonical
// encoding of a field element.
func CanonicalU(u *[PublicKeySize]byte) bool { return canonicalU(u) }

func canonicalU(u *[PublicKeySize]byte) bool {
	// Compare from the most significant byte down; public data, so an
	// early exit is fine.
	for i := 31; i >= 0; i-- {
		switch {
		case u[i] < fieldPrime[i]:
			return true
		case u[i] > fieldPrime[i]:
			return false
		}
	}
	return false // u == p
}

// montgomeryToEdwards maps the Montgomery u coordinate to the Edwards point
// with y = (u − 1)/(u + 1) and the given sign of x, as curve25519-dalek's
// MontgomeryPoint::to_edwards does. u = −1 has no image and is rejected.
func montgomeryToEdwards(u *[PublicKeySize]byte, sign byte) (*edwards25519.Point, bool) {
	fu, err := new(field.Element).SetBytes(u[:])
	if err != nil {
		return nil, false
	}
	one := new(field.Element).One()
	minusOne := new(field.Element).Negate(one)
	if fu.Equal(minusOne) == 1 {
		return nil, false
	}
	num := new(field.Element).Subtract(fu, one)
	den := new(field.Element).Add(fu, one)
	y := new(field.Element).Multiply(num, den.Invert(den))
	yBytes := y.Bytes()
	yBytes[31] ^= (sign & 1) << 7
	p, err := new(edwards25519.Point).SetBytes(yBytes)
	if err != nil {
		return nil, false
	}
	return p, true
}
