package senderkey_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/senderkey"
)

// vectors is testdata/vectors.json, written by testdata/gen_vectors.py
// from the construction alone (Python's hashlib, hmac and cryptography).
type vectors struct {
	GenerateRandom string `json:"generate_random"`
	ChainID        uint32 `json:"chain_id"`
	SigningPrivate string `json:"signing_private"`
	SigningPublic  string `json:"signing_public"`
	Messages       []struct {
		Iteration             uint32
		ChainKey              string `json:"chain_key"`
		MessageSeed           string `json:"message_seed"`
		IV                    string `json:"iv"`
		CipherKey             string `json:"cipher_key"`
		Plaintext, Ciphertext string
		SignedBody            string `json:"signed_body"`
	}
	Distributions []struct {
		Iteration uint32
		Message   string
	}
	Far []struct {
		Iteration   uint32
		ChainKey    string `json:"chain_key"`
		MessageSeed string `json:"message_seed"`
		IV          string `json:"iv"`
		CipherKey   string `json:"cipher_key"`
	}
}

func readVectors(t *testing.T) *vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) == 0 || len(v.Distributions) != 2 || len(v.Far) == 0 {
		t.Fatal("vectors.json is incomplete")
	}
	return &v
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectors: a sender key generated from the vectors' random bytes
// distributes exactly the vectors' distribution messages and encrypts the
// vectors' plaintexts to exactly their signed bodies; every signature
// verifies under the vectors' public key (that of libsignal's XEdDSA test
// vector); a receiver that processes the vectors' distribution message
// decrypts every message.
func TestVectors(t *testing.T) {
	v := readVectors(t)
	pub, err := keys.NewPublicKeyRaw(unhex(t, v.SigningPublic))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := keys.NewPrivateKey(unhex(t, v.SigningPrivate))
	if err != nil || !priv.Public().Equal(pub) {
		t.Fatalf("the vectors' signing key pair does not match: %v", err)
	}

	sender, err := senderkey.Generate(bytes.NewReader(unhex(t, v.GenerateRandom)))
	if err != nil {
		t.Fatal(err)
	}
	if sender.ChainID() != v.ChainID {
		t.Fatalf("chain ID %d, want %d", sender.ChainID(), v.ChainID)
	}
	checkDistribution := func(i int) {
		t.Helper()
		d, err := sender.Distribution()
		if err != nil {
			t.Fatal(err)
		}
		want := unhex(t, v.Distributions[i].Message)
		if got := d.Marshal(); !bytes.Equal(got, want) {
			t.Fatalf("distribution at iteration %d:\n got %x\nwant %x", d.Iteration, got, want)
		}
		if d.Iteration != v.Distributions[i].Iteration || !d.SigningKey().Equal(pub) {
			t.Fatalf("distribution %d: iteration %d", i, d.Iteration)
		}
	}
	checkDistribution(0)

	dm, err := senderkey.ParseDistributionMessage(unhex(t, v.Distributions[0].Message))
	if err != nil {
		t.Fatal(err)
	}
	receiver := new(senderkey.Record)
	if err := receiver.Process(dm); err != nil {
		t.Fatal(err)
	}
	for _, m := range v.Messages {
		pt := unhex(t, m.Plaintext)
		msg, err := sender.Encrypt(pt, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		body, sig := msg[:len(msg)-senderkey.SignatureSize], msg[len(msg)-senderkey.SignatureSize:]
		if want := unhex(t, m.SignedBody); !bytes.Equal(body, want) {
			t.Fatalf("iteration %d:\n got %x\nwant %x", m.Iteration, body, want)
		}
		if !pub.Verify(body, sig) {
			t.Fatalf("iteration %d: signature does not verify under the vectors' key", m.Iteration)
		}
		got, err := receiver.Decrypt(msg)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("iteration %d: decrypt %x, %v", m.Iteration, got, err)
		}
	}
	checkDistribution(1)
}
