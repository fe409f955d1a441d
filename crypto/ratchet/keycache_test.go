package ratchet

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/mutualcoop/mutual/crypto/keys"
)

func TestKeyCache(t *testing.T) {
	c := NewKeyCache(4)
	a, b := pair(t, Version4)
	mustDecrypt(t, b, encrypt(t, a, "first"), "first")
	// Ping-pong with both states stored and reloaded every time, through
	// the cache: the same messages must decrypt as without it.
	reload := func(s *State) *State {
		s2, err := ParseState(marshal(t, s))
		if err != nil {
			t.Fatal(err)
		}
		s2.UseKeyCache(c)
		return s2
	}
	for i := range 20 {
		a, b = reload(a), reload(b)
		msg := fmt.Sprint("b", i)
		mustDecrypt(t, a, encrypt(t, b, msg), msg)
		a, b = reload(a), reload(b)
		msg = fmt.Sprint("a", i)
		mustDecrypt(t, b, encrypt(t, a, msg), msg)
	}
	if len(c.keys) > 4 || len(c.keys) != len(c.order) {
		t.Fatalf("cache holds %d keys, order %d", len(c.keys), len(c.order))
	}
	// Only current keys: a's and b's.
	if _, ok := c.get(a.sender.pub, &a.sender.raw); !ok {
		t.Fatal("a's current key not cached")
	}
	if _, ok := c.get(b.sender.pub, &b.sender.raw); !ok {
		t.Fatal("b's current key not cached")
	}
	// A key is used only if its bytes are the state's.
	other, _ := keys.GeneratePrivateKey(rand.Reader)
	var raw [keys.PrivateKeySize]byte
	copy(raw[:], other.Bytes())
	if _, ok := c.get(a.sender.pub, &raw); ok {
		t.Fatal("cache returned a key for other bytes")
	}
	for range 10 {
		k, _ := keys.GeneratePrivateKey(rand.Reader)
		c.put(k)
	}
	if len(c.keys) != 4 || len(c.order) != 4 {
		t.Fatalf("cache not bounded: %d", len(c.keys))
	}
}
