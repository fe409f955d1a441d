package kdf

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
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

func TestRFC5869(t *testing.T) {
	var doc struct {
		Cases []struct {
			Name, IKM, Salt, Info, PRK, OKM string
			L                               int
		} `json:"cases"`
	}
	readJSON(t, "testdata/rfc5869.json", &doc)
	if len(doc.Cases) != 3 {
		t.Fatalf("%d cases", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		t.Run(c.Name, func(t *testing.T) {
			ikm, salt, info := unhex(t, c.IKM), unhex(t, c.Salt), unhex(t, c.Info)
			prk := Extract(ikm, salt)
			if !bytes.Equal(prk, unhex(t, c.PRK)) {
				t.Fatalf("PRK = %x", prk)
			}
			okm, err := Expand(prk, info, c.L)
			if err != nil || !bytes.Equal(okm, unhex(t, c.OKM)) {
				t.Fatalf("Expand = %x, %v", okm, err)
			}
			okm, err = HKDF(ikm, salt, info, c.L)
			if err != nil || !bytes.Equal(okm, unhex(t, c.OKM)) {
				t.Fatalf("HKDF = %x, %v", okm, err)
			}
		})
	}
}

func TestWycheproofHKDF(t *testing.T) {
	var doc struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			Tests []struct {
				TcID                 int `json:"tcId"`
				Comment              string
				IKM, Salt, Info, OKM string
				Size                 int
				Result               string
			} `json:"tests"`
		} `json:"testGroups"`
	}
	readJSON(t, "testdata/hkdf_sha256_test.json", &doc)
	n := 0
	for _, g := range doc.TestGroups {
		for _, c := range g.Tests {
			n++
			name := fmt.Sprintf("tcId %d (%s)", c.TcID, c.Comment)
			okm, err := HKDF(unhex(t, c.IKM), unhex(t, c.Salt), unhex(t, c.Info), c.Size)
			switch c.Result {
			case "valid":
				if err != nil || !bytes.Equal(okm, unhex(t, c.OKM)) {
					t.Errorf("%s: HKDF = %x, %v", name, okm, err)
				}
			case "invalid":
				if err == nil {
					t.Errorf("%s: invalid size %d accepted", name, c.Size)
				}
			default:
				t.Fatalf("%s: result %q", name, c.Result)
			}
		}
	}
	if n != doc.NumberOfTests || n == 0 {
		t.Fatalf("ran %d of %d", n, doc.NumberOfTests)
	}
}

func TestWycheproofHMAC(t *testing.T) {
	var doc struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			TagSize int `json:"tagSize"`
			Tests   []struct {
				TcID          int `json:"tcId"`
				Comment       string
				Key, Msg, Tag string
				Result        string
			} `json:"tests"`
		} `json:"testGroups"`
	}
	readJSON(t, "testdata/hmac_sha256_test.json", &doc)
	n, macByte := 0, 0
	for _, g := range doc.TestGroups {
		for _, c := range g.Tests {
			n++
			name := fmt.Sprintf("tcId %d (%s, %d-bit tag)", c.TcID, c.Comment, g.TagSize)
			key, msg, tag := unhex(t, c.Key), unhex(t, c.Msg), unhex(t, c.Tag)
			valid := c.Result == "valid"
			if got := VerifyMAC(key, tag, msg); got != valid {
				t.Errorf("%s: VerifyMAC = %v, want %s", name, got, c.Result)
			}
			// Split input: MAC over parts is MAC over the concatenation.
			if len(msg) > 1 && VerifyMAC(key, tag, msg[:1], msg[1:]) != valid {
				t.Errorf("%s: split input differs", name)
			}
			if valid && !bytes.Equal(MAC(key, msg)[:len(tag)], tag) {
				t.Errorf("%s: MAC differs", name)
			}
			if valid && len(key) == HashSize && len(msg) == 1 {
				macByte++
				if got := MACByte((*[HashSize]byte)(key), msg[0]); !bytes.Equal(got[:len(tag)], tag) {
					t.Errorf("%s: MACByte = %x", name, got)
				}
			}
		}
	}
	if n != doc.NumberOfTests || n == 0 {
		t.Fatalf("ran %d of %d", n, doc.NumberOfTests)
	}
	if macByte == 0 {
		t.Fatal("no vector with a 32-byte key and a 1-byte message for MACByte")
	}
}

// TestMACByte checks MACByte against crypto/hmac (through MAC) for keys
// and bytes drawn at random, each byte value and the Double Ratchet's two
// constants among them.
func TestMACByte(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	var key [HashSize]byte
	for i := range 2000 {
		for j := range key {
			key[j] = byte(rng.Uint32())
		}
		b := byte(i)
		got := MACByte(&key, b)
		if want := MAC(key[:], []byte{b}); !bytes.Equal(got[:], want) {
			t.Fatalf("key %x, byte %#x: MACByte = %x, want %x", key, b, got, want)
		}
	}
}

func TestMACByteAllocatesNothing(t *testing.T) {
	var key [HashSize]byte
	if n := testing.AllocsPerRun(100, func() { key = MACByte(&key, 2) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

func TestVerifyMACTagSizes(t *testing.T) {
	key := []byte("key")
	full := MAC(key, []byte("msg"))
	for _, n := range []int{0, 1, 7} {
		if VerifyMAC(key, full[:n], []byte("msg")) {
			t.Fatalf("%d-byte tag accepted", n)
		}
	}
	if VerifyMAC(key, append(bytes.Clone(full), 0), []byte("msg")) {
		t.Fatal("33-byte tag accepted")
	}
	for _, n := range []int{8, 16, 32} {
		if !VerifyMAC(key, full[:n], []byte("msg")) {
			t.Fatalf("%d-byte tag rejected", n)
		}
	}
}

func TestHKDFLengths(t *testing.T) {
	for _, n := range []int{-1, 0, MaxOutput + 1} {
		if _, err := HKDF([]byte("k"), nil, nil, n); err == nil {
			t.Fatalf("length %d accepted", n)
		}
		if _, err := Expand(make([]byte, 32), nil, n); err == nil {
			t.Fatalf("expand length %d accepted", n)
		}
	}
	if out, err := HKDF([]byte("k"), nil, nil, MaxOutput); err != nil || len(out) != MaxOutput {
		t.Fatalf("max length: %d, %v", len(out), err)
	}
}

func BenchmarkHKDF80(b *testing.B) {
	ikm := make([]byte, 32)
	for b.Loop() {
		if _, err := HKDF(ikm, nil, []byte("WhisperMessageKeys"), 80); err != nil {
			b.Fatal(err)
		}
	}
}
