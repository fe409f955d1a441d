package pqxdh

import (
	"filippo.io/edwards25519"
	fe "filippo.io/edwards25519/field"

	"github.com/mutualcoop/mutual/crypto/keys"
)

// canonicalPoint reports whether the Curve25519 public key is canonical in
// libsignal's sense (rust/core/src/curve.rs is_canonical): its u coordinate
// is a reduced field element (keys.NewPublicKey already ensures it) and it
// lies in the prime-order subgroup, with no torsion component. A responder
// refuses a base key that is not, as libsignal does.
func canonicalPoint(k keys.PublicKey) bool {
	raw := k.Raw()
	fu, err := new(fe.Element).SetBytes(raw)
	if err != nil {
		return false
	}
	one := new(fe.Element).One()
	den := new(fe.Element).Add(fu, one)
	if den.Equal(new(fe.Element).Zero()) == 1 {
		return false // u = −1 has no Edwards image
	}
	num := new(fe.Element).Subtract(fu, one)
	y := new(fe.Element).Multiply(num, den.Invert(den))
	p, err := new(edwards25519.Point).SetBytes(y.Bytes())
	if err != nil {
		return false // on the twist, not the curve
	}
	// P has no torsion component iff P = [8]([8⁻¹ mod ℓ]P): writing P = Q + T
	// with Q of order ℓ and T of order dividing 8, the right side is Q.
	var eightBytes [32]byte
	eightBytes[0] = 8
	eight, err := edwards25519.NewScalar().SetCanonicalBytes(eightBytes[:])
	if err != nil {
		return false
	}
	inv := edwards25519.NewScalar().Invert(eight)
	q := new(edwards25519.Point).ScalarMult(inv, p)
	q.MultByCofactor(q)
	return q.Equal(p) == 1
}
