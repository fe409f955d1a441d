package xeddsa

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/json"
	"os"
	"testing"

	"filippo.io/edwards25519"
)

// The tests in this file run Ed25519 (RFC 8032) written on the same
// filippo.io/edwards25519 operations that XEdDSA uses — scalar base
// multiplication, wide and clamped scalar reduction, MultiplyAdd, point
// decoding and encoding, negation and the variable-time double scalar
// multiplication — against RFC 8032's and Wycheproof's vectors. A fault in
// that arithmetic would show here with a published expected value.

func ed25519Sign(seed, msg []byte) []byte {
	hs := sha512.Sum512(seed)
	a, err := edwards25519.NewScalar().SetBytesWithClamping(hs[:32])
	if err != nil {
		panic(err)
	}
	pubA := new(edwards25519.Point).ScalarBaseMult(a).Bytes()
	d := sha512.New()
	d.Write(hs[32:])
	d.Write(msg)
	r := uniformScalar(d.Sum(nil))
	capR := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h := challenge(capR, pubA, msg)
	s := edwards25519.NewScalar().MultiplyAdd(h, a, r)
	return append(capR, s.Bytes()...)
}

func ed25519Public(seed []byte) []byte {
	hs := sha512.Sum512(seed)
	a, err := edwards25519.NewScalar().SetBytesWithClamping(hs[:32])
	if err != nil {
		panic(err)
	}
	return new(edwards25519.Point).ScalarBaseMult(a).Bytes()
}

// ed25519Verify is RFC 8032 cofactorless verification with a canonical s
// (s < q) and R compared by its encoding, as crypto/ed25519 does.
func ed25519Verify(pub, msg, sig []byte) bool {
	if len(pub) != 32 || len(sig) != 64 {
		return false
	}
	A, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return false
	}
	s, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:])
	if err != nil {
		return false
	}
	h := challenge(sig[:32], pub, msg)
	minusA := new(edwards25519.Point).Negate(A)
	check := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(h, minusA, s)
	return subtle.ConstantTimeCompare(check.Bytes(), sig[:32]) == 1
}

func TestRFC8032Ed25519(t *testing.T) {
	raw, err := os.ReadFile("testdata/rfc8032_ed25519.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Vectors []struct {
			Name, Secret, Public, Message, Signature string
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Vectors) != 4 {
		t.Fatalf("got %d vectors, want 4", len(doc.Vectors))
	}
	for _, v := range doc.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			seed, pub := unhex(t, v.Secret), unhex(t, v.Public)
			msg, sig := unhex(t, v.Message), unhex(t, v.Signature)
			if got := ed25519Public(seed); !bytes.Equal(got, pub) {
				t.Fatalf("public = %x, want %x", got, pub)
			}
			if got := ed25519Sign(seed, msg); !bytes.Equal(got, sig) {
				t.Fatalf("signature = %x, want %x", got, sig)
			}
			if !ed25519Verify(pub, msg, sig) {
				t.Fatal("verify failed")
			}
			// The standard library agrees, so the vectors are transcribed right.
			if got := ed25519.Sign(ed25519.NewKeyFromSeed(seed), msg); !bytes.Equal(got, sig) {
				t.Fatalf("crypto/ed25519 signature = %x", got)
			}
		})
	}
}

type wycheproofEd25519 struct {
	NumberOfTests int `json:"numberOfTests"`
	TestGroups    []struct {
		PublicKey struct {
			PK string `json:"pk"`
		} `json:"publicKey"`
		Tests []struct {
			TcID    int      `json:"tcId"`
			Comment string   `json:"comment"`
			Flags   []string `json:"flags"`
			Msg     string   `json:"msg"`
			Sig     string   `json:"sig"`
			Result  string   `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

func TestWycheproofEd25519(t *testing.T) {
	raw, err := os.ReadFile("testdata/ed25519_test.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc wycheproofEd25519
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range doc.TestGroups {
		pub := unhex(t, g.PublicKey.PK)
		for _, tc := range g.Tests {
			n++
			msg, sig := unhex(t, tc.Msg), unhex(t, tc.Sig)
			got := ed25519Verify(pub, msg, sig)
			want := tc.Result == "valid"
			if tc.Result == "acceptable" {
				continue
			}
			if got != want {
				t.Errorf("tcId %d (%s %v): verify = %v, want %s", tc.TcID, tc.Comment, tc.Flags, got, tc.Result)
			}
		}
	}
	if n != doc.NumberOfTests || n == 0 {
		t.Fatalf("ran %d cases, file has %d", n, doc.NumberOfTests)
	}
}
