package push

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"

	"github.com/mutualcoop/mutual/internal/pushtest"
)

// vector is RFC 8291's Appendix A.
type vector struct {
	Plaintext, ASPrivate, ASPublic, UAPrivate, UAPublic, Salt, Auth, Body []byte
}

func loadVector(t *testing.T) vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/rfc8291-appendix-a.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	dec := func(name string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s[name])
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	return vector{
		Plaintext: dec("plaintext"), ASPrivate: dec("as_private"), ASPublic: dec("as_public"),
		UAPrivate: dec("ua_private"), UAPublic: dec("ua_public"), Salt: dec("salt"), Auth: dec("auth"), Body: dec("body"),
	}
}

func TestEncryptRFC8291Vector(t *testing.T) {
	v := loadVector(t)
	as, err := ecdh.P256().NewPrivateKey(v.ASPrivate)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(as.PublicKey().Bytes(), v.ASPublic) {
		t.Fatal("the vector's sender key pair does not match")
	}
	got, err := encrypt(v.Plaintext, v.UAPublic, v.Auth, v.Salt, as, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, v.Body) {
		t.Fatalf("body:\n got %x\nwant %x", got, v.Body)
	}
}

// TestEncryptDecrypts: what Encrypt makes, the stand-in's receiving code
// (a second implementation) opens, padded to one length whatever the
// payload.
func TestEncryptDecrypts(t *testing.T) {
	ua, err := ecdh.P256().GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	auth := bytes.Repeat([]byte{7}, AuthSize)
	for _, payload := range [][]byte{nil, []byte("x"), Payload([16]byte{1, 2, 3}), bytes.Repeat([]byte("a"), PadTo-1)} {
		body, err := Encrypt(payload, ua.PublicKey().Bytes(), auth)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) != PadTo+102 {
			t.Errorf("payload of %d bytes: body of %d bytes, want %d", len(payload), len(body), PadTo+102)
		}
		got, err := pushtest.Decrypt(body, ua, auth)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, payload) {
			t.Errorf("decrypted %q, want %q", got, payload)
		}
	}
	if _, err := Encrypt(make([]byte, PadTo), ua.PublicKey().Bytes(), auth); err == nil {
		t.Error("a payload longer than PadTo-1 was encrypted")
	}
}

func TestEncryptRefusesBadKeys(t *testing.T) {
	ua, _ := ecdh.P256().GenerateKey(nil)
	good := ua.PublicKey().Bytes()
	bad := bytes.Clone(good)
	bad[64] ^= 1 // off the curve
	for name, tc := range map[string]struct{ key, auth []byte }{
		"point off the curve": {bad, make([]byte, 16)},
		"short key":           {good[:33], make([]byte, 16)},
		"short auth":          {good, make([]byte, 15)},
	} {
		if _, err := Encrypt([]byte("x"), tc.key, tc.auth); err == nil {
			t.Errorf("%s: encrypted", name)
		}
	}
}
