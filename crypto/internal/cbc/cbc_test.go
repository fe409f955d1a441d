package cbc

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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

// TestWycheproof runs every Wycheproof AES-CBC-PKCS5 case (128, 192 and
// 256-bit keys) through Encrypt and Decrypt.
func TestWycheproof(t *testing.T) {
	raw, err := os.ReadFile("testdata/aes_cbc_pkcs5_test.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			Tests []struct {
				TcID             int `json:"tcId"`
				Comment          string
				Key, IV, Msg, CT string
				Result           string
				Flags            []string
			} `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range doc.TestGroups {
		for _, c := range g.Tests {
			n++
			name := fmt.Sprintf("tcId %d (%s %v)", c.TcID, c.Comment, c.Flags)
			key, iv, msg, ct := unhex(t, c.Key), unhex(t, c.IV), unhex(t, c.Msg), unhex(t, c.CT)
			got, err := Decrypt(key, iv, ct)
			switch c.Result {
			case "valid":
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("%s: Decrypt = %x, %v", name, got, err)
				}
				enc, err := Encrypt(key, iv, msg)
				if err != nil || !bytes.Equal(enc, ct) {
					t.Errorf("%s: Encrypt = %x, %v", name, enc, err)
				}
			case "invalid":
				if !errors.Is(err, ErrDecrypt) {
					t.Errorf("%s: Decrypt = %x, %v; want ErrDecrypt", name, got, err)
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

func TestRoundTripAndErrors(t *testing.T) {
	key := make([]byte, 32)
	iv := make([]byte, 16)
	rand.Read(key)
	rand.Read(iv)
	for n := range 50 {
		msg := make([]byte, n)
		rand.Read(msg)
		ct, err := Encrypt(key, iv, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct)%16 != 0 || len(ct) <= n {
			t.Fatalf("ciphertext length %d for %d bytes", len(ct), n)
		}
		got, err := Decrypt(key, iv, ct)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("round trip %d: %v", n, err)
		}
	}
	ct, err := Encrypt(key, iv, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		key, iv []byte
		ct      []byte
	}{
		{"empty", key, iv, nil},
		{"partial block", key, iv, ct[:15]},
		{"short iv", key, iv[:15], ct},
		{"bad key size", key[:20], iv, ct},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Decrypt(c.key, c.iv, c.ct); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := Encrypt(key[:20], iv, nil); err == nil {
		t.Fatal("bad key size accepted by Encrypt")
	}
}

func TestPaddingLength(t *testing.T) {
	for n := 1; n <= 16; n++ {
		block := bytes.Repeat([]byte{0xAA}, 16)
		for i := 16 - n; i < 16; i++ {
			block[i] = byte(n)
		}
		if got, ok := paddingLength(block); !ok || got != n {
			t.Fatalf("n=%d: %d, %v", n, got, ok)
		}
		if n > 1 {
			block[16-n] ^= 1
			if _, ok := paddingLength(block); ok {
				t.Fatalf("n=%d: corrupted padding accepted", n)
			}
		}
	}
	for _, last := range []byte{0, 17, 0xFF} {
		block := bytes.Repeat([]byte{last}, 16)
		if _, ok := paddingLength(block); ok {
			t.Fatalf("padding byte %d accepted", last)
		}
	}
}

func BenchmarkEncrypt1K(b *testing.B) {
	key, iv, msg := make([]byte, 32), make([]byte, 16), make([]byte, 1024)
	for b.Loop() {
		if _, err := Encrypt(key, iv, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzDecrypt(f *testing.F) {
	key, iv := make([]byte, 32), make([]byte, 16)
	ct, err := Encrypt(key, iv, []byte("seed"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct)
	f.Add(make([]byte, 16))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ct []byte) {
		msg, err := Decrypt(key, iv, ct)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v is not ErrDecrypt", err)
			}
			return
		}
		again, err := Encrypt(key, iv, msg)
		if err != nil || !bytes.Equal(again, ct) {
			t.Fatal("Encrypt(Decrypt(ct)) != ct")
		}
	})
}
