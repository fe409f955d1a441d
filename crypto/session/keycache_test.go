package session

import (
	"fmt"
	"testing"

	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// TestSharedKeyCache: Managers made afresh for each call over the same
// Store (as a client makes one per store transaction), sharing one
// KeyCache, keep a conversation going in both directions, so that every
// DH ratchet step takes a key another Manager cached.
func TestSharedKeyCache(t *testing.T) {
	alice := newPeer(t, "alice", 1, nil, Config{})
	bob := newPeer(t, "bob", 1, nil, Config{})
	bob.publish(1)
	cache := ratchet.NewKeyCache(4)
	fresh := func(p *peer) {
		t.Helper()
		m, err := New(p.store, Config{Rand: p.rand, KeyCache: cache})
		if err != nil {
			t.Fatal(err)
		}
		p.m = m
	}
	fresh(alice)
	alice.connect(bob)
	from, to := alice, bob
	for i := range 6 {
		fresh(from)
		ct := from.send(to, fmt.Sprint("m", i))
		fresh(to)
		to.recv(from, ct, fmt.Sprint("m", i))
		from, to = to, from
	}
}
