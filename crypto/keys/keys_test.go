package keys

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"slices"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func readJSON(t testing.TB, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func mustPrivate(t testing.TB, b []byte) PrivateKey {
	t.Helper()
	k, err := NewPrivateKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPublicRaw(t testing.TB, b []byte) PublicKey {
	t.Helper()
	p, err := NewPublicKeyRaw(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func generate(t testing.TB) PrivateKey {
	t.Helper()
	k, err := GeneratePrivateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// maskTopBit is RFC 7748's decodeUCoordinate masking, which Mutual's
// parser replaces by rejection.
func maskTopBit(u []byte) []byte {
	m := bytes.Clone(u)
	m[31] &= 0x7F
	return m
}

// TestRFC7748 runs RFC 7748's vectors through PrivateKey.DH, the call path
// the protocol uses.
func TestRFC7748(t *testing.T) {
	var v struct {
		ScalarMult []struct{ Scalar, U, Out string } `json:"scalarmult"`
		Iterated   []struct {
			Iterations int    `json:"iterations"`
			K          string `json:"k"`
		} `json:"iterated"`
		DH struct {
			AlicePrivate, AlicePublic, BobPrivate, BobPublic, Shared string
		} `json:"dh"`
	}
	readJSON(t, "testdata/rfc7748.json", &v)

	for i, c := range v.ScalarMult {
		t.Run(fmt.Sprintf("scalarmult %d", i+1), func(t *testing.T) {
			k := mustPrivate(t, unhex(t, c.Scalar))
			u := unhex(t, c.U)
			p, err := NewPublicKeyRaw(u)
			if u[31]&0x80 != 0 {
				// The second vector's u has its top bit set: RFC 7748
				// masks it, Mutual refuses such an encoding outright.
				if err == nil {
					t.Fatal("u with top bit set accepted")
				}
				p = mustPublicRaw(t, maskTopBit(u))
			} else if err != nil {
				t.Fatal(err)
			}
			got, err := k.DH(p)
			if err != nil {
				t.Fatal(err)
			}
			if want := unhex(t, c.Out); !bytes.Equal(got, want) {
				t.Fatalf("DH = %x, want %x", got, want)
			}
		})
	}

	t.Run("iterated", func(t *testing.T) {
		// k = u = 9; then repeatedly (k, u) = (X25519(k, u), k).
		k := make([]byte, 32)
		k[0] = 9
		u := bytes.Clone(k)
		done := 0
		for _, c := range v.Iterated {
			for ; done < c.Iterations; done++ {
				priv := mustPrivate(t, k)
				out, err := priv.DH(mustPublicRaw(t, maskTopBit(u)))
				if err != nil {
					t.Fatal(err)
				}
				k, u = out, k
			}
			if want := unhex(t, c.K); !bytes.Equal(k, want) {
				t.Fatalf("after %d iterations k = %x, want %x", c.Iterations, k, want)
			}
		}
	})

	t.Run("diffie-hellman", func(t *testing.T) {
		checkAgreement(t, v.DH.AlicePrivate, v.DH.AlicePublic, v.DH.BobPrivate, v.DH.BobPublic, v.DH.Shared)
	})
}

// TestLibsignalAgreement is libsignal's own agreement vector.
func TestLibsignalAgreement(t *testing.T) {
	var v struct {
		AlicePrivate, AlicePublic, BobPrivate, BobPublic, Shared string
	}
	readJSON(t, "testdata/libsignal_agreement.json", &v)
	checkAgreement(t, v.AlicePrivate, v.AlicePublic, v.BobPrivate, v.BobPublic, v.Shared)
}

// nonCanonical reports whether u, as a 256-bit little-endian integer, is
// at least 2^255 − 19.
func nonCanonical(u []byte) bool {
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	be := slices.Clone(u)
	slices.Reverse(be)
	return new(big.Int).SetBytes(be).Cmp(p) >= 0
}

func checkAgreement(t *testing.T, alicePriv, alicePub, bobPriv, bobPub, shared string) {
	t.Helper()
	a := mustPrivate(t, unhex(t, alicePriv))
	b := mustPrivate(t, unhex(t, bobPriv))
	if got := a.Public().Raw(); !bytes.Equal(got, unhex(t, alicePub)) {
		t.Fatalf("alice public = %x", got)
	}
	if got := b.Public().Raw(); !bytes.Equal(got, unhex(t, bobPub)) {
		t.Fatalf("bob public = %x", got)
	}
	s1, err := a.DH(b.Public())
	if err != nil {
		t.Fatal(err)
	}
	s2, err := b.DH(a.Public())
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, shared)
	if !bytes.Equal(s1, want) || !bytes.Equal(s2, want) {
		t.Fatalf("shared = %x / %x, want %x", s1, s2, want)
	}
}

// TestWycheproofX25519 runs every Wycheproof X25519 case through
// NewPublicKeyRaw and PrivateKey.DH. Mutual's policy, checked here: a
// non-canonical u is refused at parse time (Wycheproof lists all such cases
// as "acceptable", never "valid"), and an all-zero shared secret is an error
// (ErrLowOrderPoint). Every other case must give Wycheproof's value.
func TestWycheproofX25519(t *testing.T) {
	var doc struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			Tests []struct {
				TcID    int      `json:"tcId"`
				Comment string   `json:"comment"`
				Flags   []string `json:"flags"`
				Public  string   `json:"public"`
				Private string   `json:"private"`
				Shared  string   `json:"shared"`
				Result  string   `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	readJSON(t, "testdata/x25519_test.json", &doc)
	n, rejectedAtParse, zero := 0, 0, 0
	for _, g := range doc.TestGroups {
		for _, c := range g.Tests {
			n++
			name := fmt.Sprintf("tcId %d (%s %v)", c.TcID, c.Comment, c.Flags)
			priv := mustPrivate(t, unhex(t, c.Private))
			want := unhex(t, c.Shared)
			pub, err := NewPublicKeyRaw(unhex(t, c.Public))
			if err != nil {
				rejectedAtParse++
				if c.Result == "valid" || !nonCanonical(unhex(t, c.Public)) {
					t.Errorf("%s: parse refused a case Mutual must accept: %v", name, err)
				}
				// The primitive underneath still computes Wycheproof's
				// value, masking and reducing u as RFC 7748 says.
				e, err := ecdh.X25519().NewPrivateKey(unhex(t, c.Private))
				if err != nil {
					t.Fatal(err)
				}
				peer, err := ecdh.X25519().NewPublicKey(unhex(t, c.Public))
				if err != nil {
					t.Fatal(err)
				}
				if got, err := e.ECDH(peer); !bytes.Equal(got, want) && (err == nil || !bytes.Equal(want, make([]byte, 32))) {
					t.Errorf("%s: crypto/ecdh = %x, %v; want %x", name, got, err, want)
				}
				continue
			}
			got, err := priv.DH(pub)
			if bytes.Equal(want, make([]byte, 32)) {
				zero++
				if !errors.Is(err, ErrLowOrderPoint) {
					t.Errorf("%s: zero shared secret gave %x, %v", name, got, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: DH = %x, want %x", name, got, want)
			}
		}
	}
	if n != doc.NumberOfTests || n == 0 {
		t.Fatalf("ran %d cases, file has %d", n, doc.NumberOfTests)
	}
	t.Logf("%d cases: %d refused at parse (non-canonical u), %d zero shared secrets refused", n, rejectedAtParse, zero)
}

func TestPrivateKey(t *testing.T) {
	t.Run("clamped", func(t *testing.T) {
		raw := bytes.Repeat([]byte{0xFF}, 32)
		k := mustPrivate(t, raw)
		b := k.Bytes()
		if b[0]&7 != 0 || b[31]&0x80 != 0 || b[31]&0x40 == 0 {
			t.Fatalf("not clamped: %x", b)
		}
		// Clamping does not change the public key X25519 computes.
		e, err := ecdh.X25519().NewPrivateKey(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(k.Public().Raw(), e.PublicKey().Bytes()) {
			t.Fatal("public key differs from crypto/ecdh's")
		}
	})
	t.Run("bytes is a copy", func(t *testing.T) {
		k := generate(t)
		b := k.Bytes()
		b[5] ^= 0xFF
		if bytes.Equal(b, k.Bytes()) {
			t.Fatal("Bytes aliases the key")
		}
	})
	t.Run("round trip", func(t *testing.T) {
		k := generate(t)
		k2 := mustPrivate(t, k.Bytes())
		if !k.Equal(k2) || !k.Public().Equal(k2.Public()) {
			t.Fatal("round trip changed the key")
		}
		if k.Equal(generate(t)) {
			t.Fatal("two fresh keys equal")
		}
	})
	t.Run("wrong sizes", func(t *testing.T) {
		for _, n := range []int{0, 31, 33, 64} {
			if _, err := NewPrivateKey(make([]byte, n)); err == nil {
				t.Fatalf("%d bytes accepted", n)
			}
		}
	})
	t.Run("short random", func(t *testing.T) {
		if _, err := GeneratePrivateKey(bytes.NewReader(make([]byte, 31))); err == nil {
			t.Fatal("short reader accepted")
		}
		if _, err := generate(t).Sign(bytes.NewReader(make([]byte, 63)), nil); err == nil {
			t.Fatal("short reader accepted for signing")
		}
	})
	t.Run("zero value", func(t *testing.T) {
		var z PrivateKey
		if !z.IsZero() || generate(t).IsZero() {
			t.Fatal("IsZero wrong")
		}
		if _, err := z.DH(generate(t).Public()); err == nil {
			t.Fatal("DH with the zero key")
		}
		if _, err := z.Sign(rand.Reader, nil); err == nil {
			t.Fatal("Sign with the zero key")
		}
		if !z.Public().IsZero() {
			t.Fatal("zero key has a nonzero public key")
		}
	})
}

func TestPrivateKeyNeverPrinted(t *testing.T) {
	k := generate(t)
	secretHex := hex.EncodeToString(k.Bytes())
	secretUpper := strings.ToUpper(secretHex)
	type wrapper struct {
		Name   string
		Key    PrivateKey
		Ptr    *PrivateKey
		hidden PrivateKey // fmt cannot call Format on an unexported field
		kem    KEMPrivateKey
	}
	kem, err := GenerateKEMPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	kemHex := hex.EncodeToString(kem.Seed())
	w := wrapper{"w", k, &k, k, kem}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		for _, v := range []any{k, &k, w, &w, []PrivateKey{k}, map[string]PrivateKey{"k": k}, kem, &kem} {
			out := fmt.Sprintf(verb, v)
			lower := strings.ToLower(out)
			if strings.Contains(lower, secretHex[:16]) || strings.Contains(out, secretUpper[:16]) ||
				strings.Contains(lower, kemHex[:16]) || strings.Contains(out, strings.Trim(fmt.Sprint(k.Bytes()[:4]), "[]")) {
				t.Fatalf("%s printed secret material: %s", verb, out)
			}
		}
	}
	if b, err := json.Marshal(k); err != nil || string(b) != "{}" {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
}

func TestPublicKey(t *testing.T) {
	k := generate(t)
	p := k.Public()
	ser := p.Bytes()
	if len(ser) != 33 || ser[0] != 0x05 || !bytes.Equal(ser[1:], p.Raw()) {
		t.Fatalf("serialization %x", ser)
	}
	p2, err := NewPublicKey(ser)
	if err != nil || !p2.Equal(p) {
		t.Fatalf("round trip: %v", err)
	}
	if got, want := p.String(), "pub:05"+hex.EncodeToString(p.Raw()); got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	var zero PublicKey
	if !zero.IsZero() || p.IsZero() {
		t.Fatal("IsZero wrong")
	}
	if _, err := k.DH(zero); !errors.Is(err, ErrLowOrderPoint) {
		t.Fatalf("DH with u = 0: %v", err)
	}

	p255 := make([]byte, 32) // 2^255 − 19
	p255[0] = 0xED
	for i := 1; i < 31; i++ {
		p255[i] = 0xFF
	}
	p255[31] = 0x7F
	topBit := bytes.Clone(p.Raw())
	topBit[31] |= 0x80
	bad := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"raw 32 bytes", p.Raw()},
		{"34 bytes", append(bytes.Clone(ser), 0)},
		{"wrong type byte", append([]byte{0x06}, p.Raw()...)},
		{"type byte 0x0A", append([]byte{0x0A}, p.Raw()...)},
		{"u = p", append([]byte{0x05}, p255...)},
		{"u with top bit", append([]byte{0x05}, topBit...)},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewPublicKey(c.b); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	k := generate(t)
	msg := generate(t).Public().Bytes() // a signed prekey's public key
	sig, err := k.Sign(rand.Reader, msg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != SignatureSize {
		t.Fatalf("signature is %d bytes", len(sig))
	}
	if !k.Public().Verify(msg, sig) {
		t.Fatal("valid signature rejected")
	}
	if generate(t).Public().Verify(msg, sig) {
		t.Fatal("verified under another key")
	}
	tampered := bytes.Clone(msg)
	tampered[7] ^= 1
	if k.Public().Verify(tampered, sig) {
		t.Fatal("verified a tampered message")
	}
	for i := range sig {
		bad := bytes.Clone(sig)
		bad[i] ^= 0x10
		if k.Public().Verify(msg, bad) {
			t.Fatalf("verified with byte %d changed", i)
		}
	}
	sig2, err := k.Sign(rand.Reader, msg)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sig, sig2) {
		t.Fatal("two signatures equal: randomness not used")
	}
}

func BenchmarkX25519DH(b *testing.B) {
	k := generate(b)
	p := generate(b).Public()
	for b.Loop() {
		if _, err := k.DH(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGeneratePrivateKey(b *testing.B) {
	for b.Loop() {
		if _, err := GeneratePrivateKey(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	k := generate(b)
	msg := generate(b).Public().Bytes()
	for b.Loop() {
		if _, err := k.Sign(rand.Reader, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := generate(b)
	msg := generate(b).Public().Bytes()
	sig, err := k.Sign(rand.Reader, msg)
	if err != nil {
		b.Fatal(err)
	}
	p := k.Public()
	for b.Loop() {
		if !p.Verify(msg, sig) {
			b.Fatal("rejected")
		}
	}
}

func FuzzNewPublicKey(f *testing.F) {
	k, err := NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.Public().Bytes())
	f.Add(append([]byte{0x05}, make([]byte, 32)...))
	f.Add(append([]byte{0x05}, bytes.Repeat([]byte{0xFF}, 32)...))
	f.Add([]byte{0x05})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := NewPublicKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatalf("Bytes = %x, parsed from %x", p.Bytes(), b)
		}
		p2, err := NewPublicKey(p.Bytes())
		if err != nil || !p2.Equal(p) {
			t.Fatal("re-parse failed")
		}
		// DH on any accepted key either works or reports a low-order point.
		if _, err := k.DH(p); err != nil && !errors.Is(err, ErrLowOrderPoint) {
			t.Fatal(err)
		}
		p.Verify(b, make([]byte, 64))
	})
}
