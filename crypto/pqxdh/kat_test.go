package pqxdh

import (
	"crypto/mlkem/mlkemtest"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"testing"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

var update = flag.Bool("update", false, "regenerate testdata/vectors.json")

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

// generateVectors makes the vectors from a fixed seed.
func generateVectors(t testing.TB) []vector {
	var seed [32]byte
	copy(seed[:], "mutual pqxdh known-answer tests")
	r := mrand.NewChaCha8(seed)
	draw := func(n int) string {
		b := make([]byte, n)
		r.Read(b)
		return hex.EncodeToString(b)
	}
	var out []vector
	for _, c := range []struct {
		name    string
		version int
		oneTime bool
	}{
		{"pqxdh with one-time prekey", ratchet.Version4, true},
		{"pqxdh without one-time prekey", ratchet.Version4, false},
		{"x3dh with one-time prekey", ratchet.Version3, true},
		{"x3dh without one-time prekey", ratchet.Version3, false},
	} {
		v := vector{
			Name: c.name, Version: c.version,
			AliceIdentity: draw(32), AliceRegID: 1234, BobIdentity: draw(32), BobRegID: 4321,
			BobSigned: draw(32), AliceBase: draw(32), AliceRatchet1: draw(32), BobRatchet: draw(32), AliceRatchet2: draw(32), BobRatchet2: draw(32),
			FirstPlaintext: "Hello Bob, this is " + c.name, ReplyPlaintext: "Hello Alice", SecondPlain: "Bye",
		}
		bobID := priv(t, v.BobIdentity)
		sig, err := bobID.Sign(r, priv(t, v.BobSigned).Public().Bytes())
		if err != nil {
			t.Fatal(err)
		}
		v.BobSignedSig = hex.EncodeToString(sig)
		if c.oneTime {
			v.BobOneTime = draw(32)
		}
		if c.version == ratchet.Version4 {
			v.BobKEMSeed = draw(64)
			v.KEMRandom = draw(32)
			k, err := keys.NewKEMPrivateKeyFromSeed(unhex(t, v.BobKEMSeed))
			if err != nil {
				t.Fatal(err)
			}
			sig, err := bobID.Sign(r, k.Public().Bytes())
			if err != nil {
				t.Fatal(err)
			}
			v.BobKEMSig = hex.EncodeToString(sig)
		}
		v.run(t)
		out = append(out, v)
	}
	return out
}

// TestKnownAnswers replays testdata/vectors.json: the same keys and random
// draws must give the same bundle and message bytes. Regenerate with
// go test ./crypto/pqxdh -run TestKnownAnswers -update.
func TestKnownAnswers(t *testing.T) {
	const path = "testdata/vectors.json"
	if *update {
		b, err := json.MarshalIndent(generateVectors(t), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vs []vector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) != 4 {
		t.Fatalf("%d vectors", len(vs))
	}
	for _, want := range vs {
		t.Run(want.Name, func(t *testing.T) {
			got := want
			got.Bundle, got.FirstMessage, got.Reply, got.Second = "", "", "", ""
			got.run(t)
			for _, f := range []struct{ name, got, want string }{
				{"bundle", got.Bundle, want.Bundle},
				{"first message", got.FirstMessage, want.FirstMessage},
				{"reply", got.Reply, want.Reply},
				{"second message", got.Second, want.Second},
			} {
				if f.got != f.want {
					t.Errorf("%s:\n got %s\nwant %s", f.name, f.got, f.want)
				}
			}
			first := unhex(t, want.FirstMessage)
			if want := byte(want.Version<<4 | 3); first[0] != want {
				t.Errorf("version byte %#x", first[0])
			}
		})
	}
}
