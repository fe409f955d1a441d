package senderkey

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

type keyVector struct {
	Iteration   uint32
	ChainKey    string `json:"chain_key"`
	MessageSeed string `json:"message_seed"`
	IV          string `json:"iv"`
	CipherKey   string `json:"cipher_key"`
}

func unhexKey(t *testing.T, s string) [KeySize]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != KeySize {
		t.Fatalf("bad key %q: %v", s, err)
	}
	return [KeySize]byte(b)
}

func checkKeys(t *testing.T, ck chainKey, v keyVector) {
	t.Helper()
	if ck.iteration != v.Iteration || ck.key != unhexKey(t, v.ChainKey) {
		t.Fatalf("chain key at %d: %d %x", v.Iteration, ck.iteration, ck.key)
	}
	seed := ck.messageSeed()
	if seed != unhexKey(t, v.MessageSeed) {
		t.Fatalf("message seed at %d: %x", v.Iteration, seed)
	}
	mk := deriveMessageKeys(&seed)
	if hex.EncodeToString(mk.iv[:]) != v.IV || hex.EncodeToString(mk.cipherKey[:]) != v.CipherKey {
		t.Fatalf("message keys at %d: iv %x key %x", v.Iteration, mk.iv, mk.cipherKey)
	}
}

// TestChainVectors walks the chain from the vectors' chain key and checks
// every chain key, message seed, IV and AES key the vectors list,
// 25,000 iterations down the chain included; then a state at iteration 0
// gives the same keys for the far iterations as a receiver would.
func TestChainVectors(t *testing.T) {
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ChainKey string `json:"chain_key"`
		Messages []keyVector
		Far      []keyVector
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Messages) == 0 || len(v.Far) == 0 {
		t.Fatal("vectors.json is incomplete")
	}
	start := chainKey{key: unhexKey(t, v.ChainKey)}
	ck := start
	for _, m := range v.Messages {
		for ck.iteration < m.Iteration {
			ck = ck.next()
		}
		checkKeys(t, ck, m)
	}
	ck = start
	for _, f := range v.Far {
		for ck.iteration < f.Iteration {
			ck = ck.next()
		}
		checkKeys(t, ck, f)

		st := &state{chain: start}
		p, err := st.messageKey(f.Iteration)
		if err != nil {
			t.Fatalf("iteration %d: %v", f.Iteration, err)
		}
		if hex.EncodeToString(p.keys.iv[:]) != f.IV || hex.EncodeToString(p.keys.cipherKey[:]) != f.CipherKey {
			t.Fatalf("messageKey(%d): iv %x key %x", f.Iteration, p.keys.iv, p.keys.cipherKey)
		}
		p.commit()
		next := ck.next()
		if st.chain.iteration != f.Iteration+1 || !bytes.Equal(st.chain.key[:], next.key[:]) {
			t.Fatalf("after %d: chain at %d", f.Iteration, st.chain.iteration)
		}
		if want := min(int(f.Iteration), MaxSkippedKeys); len(st.skipped) != want {
			t.Fatalf("after %d: %d skipped keys, want %d", f.Iteration, len(st.skipped), want)
		}
		if n := len(st.skipped); n > 0 && st.skipped[n-1].iteration != f.Iteration-1 {
			t.Fatalf("after %d: newest skipped key is for %d", f.Iteration, st.skipped[n-1].iteration)
		}
	}
}
