package pushtest

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
)

// TestDecryptRFC8291Vector opens RFC 8291's Appendix A message.
func TestDecryptRFC8291Vector(t *testing.T) {
	raw, err := os.ReadFile("../../relay/push/testdata/rfc8291-appendix-a.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	dec := func(name string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(v[name])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	priv, err := ecdh.P256().NewPrivateKey(dec("ua_private"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(dec("body"), priv, dec("auth"))
	if err != nil {
		t.Fatal(err)
	}
	if want := dec("plaintext"); !bytes.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	body := dec("body")
	body[len(body)-1] ^= 1
	if _, err := Decrypt(body, priv, dec("auth")); err == nil {
		t.Fatal("a damaged body decrypted")
	}
}
