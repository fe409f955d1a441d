package pqxdh

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/mutualcoop/mutual/crypto/keys"
)

// TestLibsignalRatchetingSession checks the X3DH (version 3) agreement
// against libsignal's fixed-key session tests: both sides must derive the
// chain key libsignal expects.
func TestLibsignalRatchetingSession(t *testing.T) {
	raw, err := os.ReadFile("testdata/libsignal_ratcheting_session.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	hx := func(k string) []byte {
		b, err := hex.DecodeString(v[k].(string))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return b
	}
	pair := func(name string) (keys.PrivateKey, keys.PublicKey) {
		priv, err := keys.NewPrivateKey(hx(name + "Private"))
		if err != nil {
			t.Fatal(err)
		}
		pub, err := keys.NewPublicKey(hx(name + "Public"))
		if err != nil {
			t.Fatal(err)
		}
		if !priv.Public().Equal(pub) {
			t.Fatalf("%s: private key does not give the public key", name)
		}
		return priv, pub
	}
	bobID, bobIDPub := pair("bobIdentity")
	bobSigned, bobSignedPub := pair("bobSignedPreKey")
	aliceID, aliceIDPub := pair("aliceIdentity")
	aliceBase, aliceBasePub := pair("aliceBase")
	want := v["expectedChainKey"].(string)

	t.Run("as bob", func(t *testing.T) {
		_, chain, err := agreeResponder(bobID, bobSigned, keys.PrivateKey{}, aliceIDPub, aliceBasePub, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(chain); got != want {
			t.Fatalf("sender chain key %s, want %s", got, want)
		}
	})
	t.Run("as alice", func(t *testing.T) {
		_, chain, err := agreeInitiator(aliceID, aliceBase, bobIDPub, bobSignedPub, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(chain); got != want {
			t.Fatalf("receiver chain key %s, want %s", got, want)
		}
	})
}
