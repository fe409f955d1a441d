package pqxdh

import (
	"crypto/mlkem/mlkemtest"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// vector is one deterministic session setup and three messages. Inputs are
// hex key material; every random draw is listed in the order it is made.
type vector struct {
	Name           string `json:"name"`
	Version        int    `json:"version"`
	AliceIdentity  string `json:"aliceIdentityPrivate"`
	AliceRegID     uint32 `json:"aliceRegistrationId"`
	BobIdentity    string `json:"bobIdentityPrivate"`
	BobRegID       uint32 `json:"bobRegistrationId"`
	BobSigned      string `json:"bobSignedPreKeyPrivate"`
	BobSignedSig   string `json:"bobSignedPreKeySignature"`
	BobOneTime     string `json:"bobOneTimePreKeyPrivate,omitempty"`
	BobKEMSeed     string `json:"bobKemPreKeySeed,omitempty"`
	BobKEMSig      string `json:"bobKemPreKeySignature,omitempty"`
	KEMRandom      string `json:"kemEncapsulationRandomness,omitempty"`
	AliceBase      string `json:"aliceBaseKeyPrivate"`
	AliceRatchet1  string `json:"aliceRatchetKey1Private"`
	BobRatchet     string `json:"bobRatchetKeyPrivate"`
	AliceRatchet2  string `json:"aliceRatchetKey2Private"`
	BobRatchet2    string `json:"bobRatchetKey2Private"`
	Bundle         string `json:"bundle"`
	FirstMessage   string `json:"aliceFirstMessage"`
	FirstPlaintext string `json:"aliceFirstPlaintext"`
	Reply          string `json:"bobReply"`
	ReplyPlaintext string `json:"bobReplyPlaintext"`
	Second         string `json:"aliceSecondMessage"`
	SecondPlain    string `json:"aliceSecondPlaintext"`
}

// script is an io.Reader that hands out the listed byte strings in order.
type script struct{ parts [][]byte }

func (s *script) Read(p []byte) (int, error) {
	if len(s.parts) == 0 {
		return 0, errors.New("script exhausted")
	}
	if len(p) != len(s.parts[0]) {
		return 0, fmt.Errorf("script: read of %d bytes, next part has %d", len(p), len(s.parts[0]))
	}
	n := copy(p, s.parts[0])
	s.parts = s.parts[1:]
	return n, nil
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func priv(t testing.TB, s string) keys.PrivateKey {
	t.Helper()
	k, err := keys.NewPrivateKey(unhex(t, s))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// run plays the vector's session and fills in the outputs.
func (v *vector) run(t testing.TB) {
	t.Helper()
	alice := Identity{Key: priv(t, v.AliceIdentity), RegistrationID: v.AliceRegID}
	bob := Identity{Key: priv(t, v.BobIdentity), RegistrationID: v.BobRegID}
	signed := SignedPreKey{ID: 3, Key: priv(t, v.BobSigned), Signature: unhex(t, v.BobSignedSig)}
	var pre *PreKey
	if v.BobOneTime != "" {
		pre = &PreKey{ID: 17, Key: priv(t, v.BobOneTime)}
	}
	var kem *KEMPreKey
	opts := Options{AllowX3DH: v.Version == ratchet.Version3}
	if v.Version == ratchet.Version4 {
		k, err := keys.NewKEMPrivateKeyFromSeed(unhex(t, v.BobKEMSeed))
		if err != nil {
			t.Fatal(err)
		}
		kem = &KEMPreKey{ID: 23, Key: k, Signature: unhex(t, v.BobKEMSig)}
		m := unhex(t, v.KEMRandom)
		opts.Encapsulate = func(p keys.KEMPublicKey) ([]byte, []byte, error) {
			return mlkemtest.Encapsulate1024(p.EncapsulationKey(), m)
		}
	}
	bundle := NewBundle(bob, 2, signed, pre, kem)
	bb, err := bundle.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	v.Bundle = hex.EncodeToString(bb)

	opts.Rand = &script{[][]byte{unhex(t, v.AliceBase), unhex(t, v.AliceRatchet1)}}
	as, err := ProcessBundle(opts, alice, bundle)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := as.Encrypt([]byte(v.FirstPlaintext))
	if err != nil {
		t.Fatal(err)
	}
	v.FirstMessage = hex.EncodeToString(ct.Body)

	m, err := ratchet.ParsePreKeySignalMessage(ct.Body)
	if err != nil {
		t.Fatal(err)
	}
	rk := ResponderKeys{SignedPreKey: signed.Key}
	if pre != nil {
		rk.PreKey = pre.Key
	}
	if kem != nil {
		rk.KEMPreKey = kem.Key
	}
	bs, err := ProcessPreKeyMessage(opts, bob, m, rk)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := bs.Decrypt(&script{[][]byte{unhex(t, v.BobRatchet)}}, m.Message())
	if err != nil || string(pt) != v.FirstPlaintext {
		t.Fatalf("bob: %q %v", pt, err)
	}
	reply, err := bs.Encrypt([]byte(v.ReplyPlaintext))
	if err != nil {
		t.Fatal(err)
	}
	v.Reply = hex.EncodeToString(reply.Body)
	rm, err := ratchet.ParseSignalMessage(reply.Body)
	if err != nil {
		t.Fatal(err)
	}
	pt, err = as.Decrypt(&script{[][]byte{unhex(t, v.AliceRatchet2)}}, rm)
	if err != nil || string(pt) != v.ReplyPlaintext {
		t.Fatalf("alice: %q %v", pt, err)
	}
	second, err := as.Encrypt([]byte(v.SecondPlain))
	if err != nil {
		t.Fatal(err)
	}
	v.Second = hex.EncodeToString(second.Body)
	sm, err := ratchet.ParseSignalMessage(second.Body)
	if err != nil {
		t.Fatal(err)
	}
	pt, err = bs.Decrypt(&script{[][]byte{unhex(t, v.BobRatchet2)}}, sm)
	if err != nil || string(pt) != v.SecondPlain {
		t.Fatalf("bob, second: %q %v", pt, err)
	}
}

// TestKnownAnswers checks testdata/vectors.json twice: the reference
// computation of reference_test.go, written from the specifications with
// the standard library alone, must give the vectors' bundle and messages
// from their keys and random draws; and so must this package, driven
// through its API with the same keys and draws.
func TestKnownAnswers(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	versions := map[int]int{}
	for _, v := range vs {
		versions[v.Version]++
	}
	if versions[ratchet.Version4] != 2 || versions[ratchet.Version3] != 2 {
		t.Fatalf("vectors by version: %v", versions)
	}
	for _, want := range vs {
		t.Run(want.Name, func(t *testing.T) {
			ref := want
			ref.Bundle, ref.FirstMessage, ref.Reply, ref.Second = "", "", "", ""
			ref.reference(t)
			got := want
			got.Bundle, got.FirstMessage, got.Reply, got.Second = "", "", "", ""
			got.run(t)
			for _, f := range []struct{ name, ref, got, want string }{
				{"bundle", ref.Bundle, got.Bundle, want.Bundle},
				{"first message", ref.FirstMessage, got.FirstMessage, want.FirstMessage},
				{"reply", ref.Reply, got.Reply, want.Reply},
				{"second message", ref.Second, got.Second, want.Second},
			} {
				if f.ref != f.want {
					t.Errorf("%s: the reference gives\n %s\nthe vector has\n %s", f.name, f.ref, f.want)
				}
				if f.got != f.want {
					t.Errorf("%s: package pqxdh gives\n %s\nthe vector has\n %s", f.name, f.got, f.want)
				}
			}
		})
	}
}
