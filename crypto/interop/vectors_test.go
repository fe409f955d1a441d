package interop

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/state/record"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// TestX3DHVectorsWithLibsignal gives the first message of each version 3
// known-answer vector of package pqxdh to a libsignal device holding the
// vector's keys: it must decrypt to the vector's plaintext.
func TestX3DHVectorsWithLibsignal(t *testing.T) {
	raw, err := os.ReadFile("../pqxdh/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []map[string]any
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vs {
		if v["version"].(float64) != 3 {
			continue
		}
		n++
		t.Run(v["name"].(string), func(t *testing.T) {
			hx := func(k string) []byte {
				b, err := hex.DecodeString(v[k].(string))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			pair := func(k string) *ecc.ECKeyPair {
				p, err := keys.NewPrivateKey(hx(k))
				if err != nil {
					t.Fatal(err)
				}
				return ecc.NewECKeyPair(lsPub(p.Public()), lsPriv(p))
			}
			idp := pair("bobIdentityPrivate")
			bob := newLSUserWithIdentity("bob", 2, identity.NewKeyPair(identity.NewKey(idp.PublicKey()), idp.PrivateKey()), uint32(v["bobRegistrationId"].(float64)))
			bob.signed[3] = record.NewSignedPreKey(3, 0, pair("bobSignedPreKeyPrivate"), [64]byte(hx("bobSignedPreKeySignature")), bob.serializer.SignedPreKeyRecord)
			if _, ok := v["bobOneTimePreKeyPrivate"]; ok {
				bob.preKeys[17] = record.NewPreKey(17, pair("bobOneTimePreKeyPrivate"), bob.serializer.PreKeyRecord)
			}
			alice := newLSUser(t, "alice", 1)
			got, err := bob.decrypt(alice.addr, ratchet.Ciphertext{Type: ratchet.TypePreKey, Body: hx("aliceFirstMessage")})
			if err != nil || string(got) != v["aliceFirstPlaintext"].(string) {
				t.Fatalf("libsignal: %q %v", got, err)
			}
		})
	}
	if n != 2 {
		t.Fatalf("%d version 3 vectors", n)
	}
}
