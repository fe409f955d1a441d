package keys

import (
	"bytes"
	"crypto/mlkem/mlkemtest"
	"fmt"
	"testing"
)

type mlkemDoc struct {
	NumberOfTests int `json:"numberOfTests"`
	TestGroups    []struct {
		Tests []struct {
			TcID    int    `json:"tcId"`
			Comment string `json:"comment"`
			Seed    string `json:"seed"`
			EK      string `json:"ek"`
			M       string `json:"m"`
			C       string `json:"c"`
			K       string `json:"K"`
			Result  string `json:"result"`
		} `json:"tests"`
	} `json:"testGroups"`
}

func forEachMLKEM(t *testing.T, file string, f func(t *testing.T, name string, valid bool, seed, ek, m, c, k []byte)) {
	t.Helper()
	var doc mlkemDoc
	readJSON(t, file, &doc)
	n := 0
	for _, g := range doc.TestGroups {
		for _, c := range g.Tests {
			n++
			if c.Result != "valid" && c.Result != "invalid" {
				t.Fatalf("tcId %d: unexpected result %q", c.TcID, c.Result)
			}
			name := fmt.Sprintf("tcId %d (%s)", c.TcID, c.Comment)
			f(t, name, c.Result == "valid", unhex(t, c.Seed), unhex(t, c.EK), unhex(t, c.M), unhex(t, c.C), unhex(t, c.K))
		}
	}
	if n != doc.NumberOfTests || n == 0 {
		t.Fatalf("ran %d cases, file has %d", n, doc.NumberOfTests)
	}
}

// TestWycheproofMLKEMDecaps: key from seed, then decapsulation, through
// NewKEMPrivateKeyFromSeed and KEMPrivateKey.Decapsulate.
func TestWycheproofMLKEMDecaps(t *testing.T) {
	forEachMLKEM(t, "testdata/mlkem_1024_test.json", func(t *testing.T, name string, valid bool, seed, ek, _, c, k []byte) {
		priv, err := NewKEMPrivateKeyFromSeed(seed)
		if err != nil {
			if valid {
				t.Errorf("%s: %v", name, err)
			}
			return
		}
		if len(ek) > 0 && !bytes.Equal(priv.Public().Bytes(), append([]byte{KEMKeyType}, ek...)) {
			t.Errorf("%s: encapsulation key differs", name)
			return
		}
		got, err := priv.Decapsulate(c)
		if !valid {
			if err == nil {
				t.Errorf("%s: invalid case decapsulated", name)
			}
			return
		}
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("%s: Decapsulate = %x, %v; want %x", name, got, err, k)
		}
	})
}

// TestWycheproofMLKEMEncaps: public key parsing (with its modulus check)
// and derandomized encapsulation on the parsed key.
func TestWycheproofMLKEMEncaps(t *testing.T) {
	forEachMLKEM(t, "testdata/mlkem_1024_encaps_test.json", func(t *testing.T, name string, valid bool, _, ek, m, c, k []byte) {
		pub, err := NewKEMPublicKey(append([]byte{KEMKeyType}, ek...))
		if !valid {
			if err == nil {
				t.Errorf("%s: invalid public key accepted", name)
			}
			return
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		gotK, gotC, err := mlkemtest.Encapsulate1024(pub.EncapsulationKey(), m)
		if err != nil || !bytes.Equal(gotK, k) || !bytes.Equal(gotC, c) {
			t.Errorf("%s: derandomized encapsulation differs (%v)", name, err)
		}
	})
}

// TestWycheproofMLKEMKeyGen: deterministic key generation from the seed.
func TestWycheproofMLKEMKeyGen(t *testing.T) {
	forEachMLKEM(t, "testdata/mlkem_1024_keygen_seed_test.json", func(t *testing.T, name string, valid bool, seed, ek, _, _, _ []byte) {
		priv, err := NewKEMPrivateKeyFromSeed(seed)
		if err != nil {
			if valid {
				t.Errorf("%s: %v", name, err)
			}
			return
		}
		if !valid {
			t.Errorf("%s: invalid seed accepted", name)
			return
		}
		if got := priv.Public().Bytes(); !bytes.Equal(got[1:], ek) || got[0] != KEMKeyType {
			t.Errorf("%s: encapsulation key differs", name)
		}
		if !bytes.Equal(priv.Seed(), seed) {
			t.Errorf("%s: Seed() differs", name)
		}
	})
}

func TestKEMRoundTrip(t *testing.T) {
	priv, err := GenerateKEMPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewKEMPublicKey(priv.Public().Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) || len(pub.Bytes()) != KEMPublicKeySize || pub.Bytes()[0] != 0x0A {
		t.Fatal("public key round trip")
	}
	shared, ct := pub.Encapsulate()
	if len(ct) != KEMCiphertextSize || len(shared) != KEMSharedKeySize {
		t.Fatalf("sizes %d, %d", len(ct), len(shared))
	}
	got, err := priv.Decapsulate(ct)
	if err != nil || !bytes.Equal(got, shared) {
		t.Fatalf("decapsulate: %v", err)
	}
	// Implicit rejection: a changed ciphertext gives another secret.
	ct[100] ^= 1
	if got, err := priv.Decapsulate(ct); err != nil || bytes.Equal(got, shared) {
		t.Fatalf("tampered ciphertext: %v", err)
	}
	restored, err := NewKEMPrivateKeyFromSeed(priv.Seed())
	if err != nil || !restored.Equal(priv) || !restored.Public().Equal(pub) {
		t.Fatalf("seed round trip: %v", err)
	}
	other, err := GenerateKEMPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	if other.Equal(priv) || other.Public().Equal(pub) {
		t.Fatal("distinct keys equal")
	}
}

func TestKEMRejects(t *testing.T) {
	priv, err := GenerateKEMPrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	ser := priv.Public().Bytes()
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"type byte only", []byte{KEMKeyType}},
		{"no type byte", ser[1:]},
		{"kyber1024 type byte", append([]byte{0x08}, ser[1:]...)},
		{"x25519 type byte", append([]byte{0x05}, ser[1:]...)},
		{"trailing byte", append(bytes.Clone(ser), 0)},
		{"unreduced coefficient", append([]byte{KEMKeyType}, bytes.Repeat([]byte{0xFF}, KEMEncapsulationKeySize)...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := NewKEMPublicKey(c.b); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	for _, n := range []int{0, KEMCiphertextSize - 1, KEMCiphertextSize + 1} {
		if _, err := priv.Decapsulate(make([]byte, n)); err == nil {
			t.Fatalf("%d-byte ciphertext accepted", n)
		}
	}
	for _, n := range []int{0, 32, 63, 65} {
		if _, err := NewKEMPrivateKeyFromSeed(make([]byte, n)); err == nil {
			t.Fatalf("%d-byte seed accepted", n)
		}
	}
	var zero KEMPrivateKey
	if !zero.IsZero() || zero.Seed() != nil || !zero.Public().IsZero() || zero.Public().Bytes() != nil {
		t.Fatal("zero value")
	}
	if _, err := zero.Decapsulate(make([]byte, KEMCiphertextSize)); err == nil {
		t.Fatal("zero key decapsulated")
	}
}

func BenchmarkMLKEM1024KeyGen(b *testing.B) {
	for b.Loop() {
		if _, err := GenerateKEMPrivateKey(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMLKEM1024Encapsulate(b *testing.B) {
	priv, err := GenerateKEMPrivateKey()
	if err != nil {
		b.Fatal(err)
	}
	pub := priv.Public()
	for b.Loop() {
		pub.Encapsulate()
	}
}

func BenchmarkMLKEM1024Decapsulate(b *testing.B) {
	priv, err := GenerateKEMPrivateKey()
	if err != nil {
		b.Fatal(err)
	}
	_, ct := priv.Public().Encapsulate()
	for b.Loop() {
		if _, err := priv.Decapsulate(ct); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzNewKEMPublicKey(f *testing.F) {
	priv, err := NewKEMPrivateKeyFromSeed(bytes.Repeat([]byte{3}, KEMSeedSize))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(priv.Public().Bytes())
	f.Add(append([]byte{KEMKeyType}, make([]byte, KEMEncapsulationKeySize)...))
	f.Add(append([]byte{KEMKeyType}, bytes.Repeat([]byte{0xFF}, KEMEncapsulationKeySize)...))
	f.Add([]byte{KEMKeyType})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := NewKEMPublicKey(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatal("Bytes differs from the parsed input")
		}
		shared, ct := p.Encapsulate()
		if len(shared) != KEMSharedKeySize || len(ct) != KEMCiphertextSize {
			t.Fatal("bad sizes")
		}
	})
}
