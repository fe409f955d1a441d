package xeddsa

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"filippo.io/edwards25519"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// x25519Public is the X25519 public key of priv, computed by crypto/ecdh.
func x25519Public(t testing.TB, priv []byte) [32]byte {
	t.Helper()
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return [32]byte(k.PublicKey().Bytes())
}

type libsignalVector struct {
	Name      string `json:"name"`
	Private   string `json:"private"`
	Public    string `json:"public"`
	Message   string `json:"message"`
	Random    string `json:"random"`
	Signature string `json:"signature"`
	Sign      bool   `json:"sign"`
	Valid     bool   `json:"valid"`
}

func loadLibsignalVectors(t *testing.T) []libsignalVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/libsignal_xeddsa.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []libsignalVector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	return doc.Vectors
}

// TestLibsignalVectors checks signing and verification against signatures
// published by libsignal (Rust core and libsignal-protocol-c).
func TestLibsignalVectors(t *testing.T) {
	for _, v := range loadLibsignalVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			msg := unhex(t, v.Message)
			sig := unhex(t, v.Signature)
			var pub [32]byte
			switch {
			case v.Public != "":
				pub = [32]byte(unhex(t, v.Public))
				if v.Private != "" {
					if got := x25519Public(t, unhex(t, v.Private)); got != pub {
						t.Fatalf("public key = %x, want %x", got, pub)
					}
				}
			default:
				pub = x25519Public(t, unhex(t, v.Private))
			}
			if v.Sign {
				priv := [32]byte(unhex(t, v.Private))
				z := [64]byte(unhex(t, v.Random))
				got := Sign(&priv, msg, &z)
				if !bytes.Equal(got[:], sig) {
					t.Fatalf("Sign = %x\nwant   %x", got, sig)
				}
			}
			if got := Verify(&pub, msg, sig); got != v.Valid {
				t.Fatalf("Verify = %v, want %v", got, v.Valid)
			}
			if !v.Valid {
				return
			}
			// Like libsignal's own test: flipping any bit of the signature
			// (one per byte, and the sign bit) must make it fail.
			for i := range sig {
				for _, bit := range []byte{0x01, 0x80} {
					bad := bytes.Clone(sig)
					bad[i] ^= bit
					if Verify(&pub, msg, bad) {
						t.Fatalf("signature with byte %d ^ %#x verified", i, bit)
					}
				}
			}
		})
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for i := range 64 {
		var priv [32]byte
		var z [64]byte
		rand.Read(priv[:])
		rand.Read(z[:])
		msg := make([]byte, i*7)
		rand.Read(msg)
		pub := x25519Public(t, priv[:])
		sig := Sign(&priv, msg, &z)
		if !Verify(&pub, msg, sig[:]) {
			t.Fatalf("round %d: valid signature rejected", i)
		}
		// The same key clamped gives the same signature: libsignal
		// stores its keys clamped.
		clamped := Clamp(&priv)
		if sig2 := Sign(&clamped, msg, &z); sig2 != sig {
			t.Fatalf("round %d: clamped key signs differently", i)
		}
	}
}

// TestSignBitBothWays makes sure keys whose Edwards form has either sign
// are covered: the sign bit ends up in the signature.
func TestSignBitBothWays(t *testing.T) {
	seen := map[byte]bool{}
	for i := 0; len(seen) < 2 && i < 256; i++ {
		var priv [32]byte
		var z [64]byte
		rand.Read(priv[:])
		pub := x25519Public(t, priv[:])
		sig := Sign(&priv, []byte("sign bit"), &z)
		if !Verify(&pub, []byte("sign bit"), sig[:]) {
			t.Fatal("valid signature rejected")
		}
		seen[sig[63]>>7] = true
	}
	if len(seen) != 2 {
		t.Fatalf("sign bits seen: %v", seen)
	}
}

func TestVerifyRejects(t *testing.T) {
	var priv [32]byte
	var z [64]byte
	rand.Read(priv[:])
	rand.Read(z[:])
	msg := []byte("prekey bytes")
	pub := x25519Public(t, priv[:])
	sig := Sign(&priv, msg, &z)

	var otherPriv [32]byte
	rand.Read(otherPriv[:])
	otherPub := x25519Public(t, otherPriv[:])

	setBits := func(mask byte) []byte {
		b := bytes.Clone(sig[:])
		b[63] |= mask
		return b
	}
	minusOne := fieldPrime
	minusOne[0]--
	aboveP := fieldPrime // p itself: non-canonical zero
	topBit := pub
	topBit[31] |= 0x80 // same point to libsignal (bit ignored), non-canonical here

	cases := []struct {
		name string
		pub  [32]byte
		msg  []byte
		sig  []byte
	}{
		{"other key", otherPub, msg, sig[:]},
		{"tampered message", pub, []byte("prekey bytez"), sig[:]},
		{"empty message", pub, nil, sig[:]},
		{"short signature", pub, msg, sig[:63]},
		{"long signature", pub, msg, append(bytes.Clone(sig[:]), 0)},
		{"empty signature", pub, msg, nil},
		{"s bit 253 set", pub, msg, setBits(0x20)},
		{"s bit 254 set", pub, msg, setBits(0x40)},
		{"u = -1", minusOne, msg, sig[:]},
		{"u = p", aboveP, msg, sig[:]},
		{"u with top bit set", topBit, msg, sig[:]},
		{"zero signature", pub, msg, make([]byte, 64)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if Verify(&c.pub, c.msg, c.sig) {
				t.Fatal("verified")
			}
		})
	}
}

// TestUnreducedS documents libsignal's rule for s: any value below 2^253
// is reduced modulo q and accepted, so s + q verifies when it fits. The
// XEdDSA specification has the same bound (s < 2^|q|).
func TestUnreducedS(t *testing.T) {
	var priv [32]byte
	var z [64]byte
	msg := []byte("malleable")
	for {
		rand.Read(priv[:])
		rand.Read(z[:])
		sig := Sign(&priv, msg, &z)
		pub := x25519Public(t, priv[:])
		sign := sig[63] & 0x80
		s := bytes.Clone(sig[32:])
		s[31] &= 0x7F
		sum := addLE(s, scalarOrder[:])
		if sum[31]&0xE0 != 0 {
			continue // s + q ≥ 2^253: rejected by the bound, try another
		}
		bad := sig
		copy(bad[32:], sum)
		bad[63] |= sign
		if !Verify(&pub, msg, bad[:]) {
			t.Fatal("s + q < 2^253 rejected; libsignal accepts it")
		}
		return
	}
}

// scalarOrder is q = 2^252 + 27742317777372353535851937790883648493.
var scalarOrder = [32]byte{
	0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
	0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
}

func addLE(a, b []byte) []byte {
	out := make([]byte, len(a))
	var carry uint16
	for i := range a {
		v := uint16(a[i]) + uint16(b[i]) + carry
		out[i] = byte(v)
		carry = v >> 8
	}
	return out
}

// TestMontgomeryToEdwards checks the birational map against the Edwards
// public key computed directly: for random k, (kB) on the Edwards curve
// must equal the point recovered from X25519(k, 9) and kB's sign.
func TestMontgomeryToEdwards(t *testing.T) {
	for range 32 {
		var priv [32]byte
		rand.Read(priv[:])
		a, err := edwards25519.NewScalar().SetBytesWithClamping(priv[:])
		if err != nil {
			t.Fatal(err)
		}
		pointA := new(edwards25519.Point).ScalarBaseMult(a)
		encA := pointA.Bytes()
		u := x25519Public(t, priv[:])
		if got := pointA.BytesMontgomery(); !bytes.Equal(got, u[:]) {
			t.Fatalf("BytesMontgomery = %x, X25519 = %x", got, u)
		}
		p, ok := montgomeryToEdwards(&u, encA[31]>>7)
		if !ok {
			t.Fatal("map failed on a real public key")
		}
		if !bytes.Equal(p.Bytes(), encA) {
			t.Fatalf("mapped point %x, want %x", p.Bytes(), encA)
		}
	}
	// u = 0 maps to (0, −1), the point of order 2, for either sign.
	var zero [32]byte
	for _, sign := range []byte{0, 1} {
		p, ok := montgomeryToEdwards(&zero, sign)
		if !ok {
			t.Fatal("u = 0 rejected")
		}
		enc := p.Bytes()
		minusOneY := fieldPrime
		minusOneY[0]-- // −1 = p − 1
		if !bytes.Equal(enc, minusOneY[:]) {
			t.Fatalf("u = 0, sign %d: got %x", sign, enc)
		}
	}
}

func TestCanonicalU(t *testing.T) {
	pMinus1 := fieldPrime
	pMinus1[0]--
	pPlus1 := fieldPrime
	pPlus1[0]++
	var allFF [32]byte
	for i := range allFF {
		allFF[i] = 0xFF
	}
	cases := []struct {
		name string
		u    [32]byte
		want bool
	}{
		{"zero", [32]byte{}, true},
		{"nine", [32]byte{9}, true},
		{"p-1", pMinus1, true},
		{"p", fieldPrime, false},
		{"p+1", pPlus1, false},
		{"all ff", allFF, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := CanonicalU(&c.u); got != c.want {
				t.Fatalf("CanonicalU = %v, want %v", got, c.want)
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	var priv [32]byte
	var z [64]byte
	rand.Read(priv[:])
	rand.Read(z[:])
	msg := make([]byte, 33)
	for b.Loop() {
		Sign(&priv, msg, &z)
	}
}

func BenchmarkVerify(b *testing.B) {
	var priv [32]byte
	var z [64]byte
	rand.Read(priv[:])
	rand.Read(z[:])
	msg := make([]byte, 33)
	pub := x25519Public(b, priv[:])
	sig := Sign(&priv, msg, &z)
	for b.Loop() {
		if !Verify(&pub, msg, sig[:]) {
			b.Fatal("rejected")
		}
	}
}

func FuzzVerify(f *testing.F) {
	var priv [32]byte
	var z [64]byte
	priv[0] = 1
	pub := x25519Public(f, priv[:])
	sig := Sign(&priv, []byte("fuzz"), &z)
	f.Add(pub[:], []byte("fuzz"), sig[:])
	f.Add(make([]byte, 32), []byte{}, make([]byte, 64))
	f.Fuzz(func(t *testing.T, pubBytes, msg, sig []byte) {
		if len(pubBytes) != 32 {
			return
		}
		p := [32]byte(pubBytes)
		ok := Verify(&p, msg, sig)
		if ok && (len(sig) != 64 || !CanonicalU(&p) || sig[63]&0x60 != 0) {
			t.Fatalf("accepted a malformed signature or key")
		}
	})
}
