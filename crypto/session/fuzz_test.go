package session

import (
	"bytes"
	"context"
	"testing"

	"github.com/mutualcoop/mutual/crypto/ratchet"
)

func FuzzParseRecord(f *testing.F) {
	alice := newPeer(f, "alice", 1, nil, Config{})
	bob := newPeer(f, "bob", 1, nil, Config{})
	bob.publish(1)
	alice.connect(bob)
	bob.recv(alice, alice.send(bob, "x"), "x")
	alice.connect(bob) // a second state: one archived
	f.Add(alice.store.SessionBytes(bob.addr))
	f.Add(bob.store.SessionBytes(alice.addr))
	f.Add([]byte{15 << 3, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		again, err := r.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseRecord(again)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		third, _ := r2.MarshalBinary()
		if !bytes.Equal(again, third) {
			t.Fatal("encoding not stable")
		}
	})
}

func FuzzParseIdentityRecord(f *testing.F) {
	p := newPeer(f, "p", 1, nil, Config{})
	b, _ := IdentityRecord{Key: p.store.identity.Key.Public()}.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseIdentityRecord(b)
		if err != nil {
			return
		}
		if _, err := r.MarshalBinary(); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecrypt feeds arbitrary messages to a Manager that has sessions: a
// refused message must leave the stored record and the prekeys as they
// were, and only messages really sent may decrypt.
func FuzzDecrypt(f *testing.F) {
	ctx := context.Background()
	alice := newPeer(f, "alice", 1, nil, Config{})
	bob := newPeer(f, "bob", 1, nil, Config{})
	bob.publish(2)
	alice.connect(bob)
	bob.recv(alice, alice.send(bob, "hi"), "hi")
	genuine := map[string]bool{}
	for _, s := range []string{"a", "b", "c"} {
		ct := alice.send(bob, s)
		genuine[string(ct.Body)] = true
		f.Add(uint8(ct.Type), ct.Body)
	}
	// A prekey message of a new session, from another identity: it is
	// genuine too (which identity an address may use is the Store's and
	// the client's policy; MemoryStore accepts changed identities).
	carol := newPeer(f, "carol", 1, nil, Config{})
	carol.connect(bob)
	ct := carol.send(bob, "from carol")
	genuine[string(ct.Body)] = true
	f.Add(uint8(ct.Type), ct.Body)
	start := bob.store.SessionBytes(alice.addr)
	f.Fuzz(func(t *testing.T, typ uint8, body []byte) {
		// Each input starts from the same record.
		rec, err := ParseRecord(start)
		if err != nil {
			t.Fatal(err)
		}
		if err := bob.store.StoreSession(ctx, alice.addr, rec); err != nil {
			t.Fatal(err)
		}
		before := bob.store.SessionBytes(alice.addr)
		pre := len(bob.store.preKeys)
		_, err = bob.m.Decrypt(ctx, alice.addr, ratchet.Ciphertext{Type: ratchet.MessageType(typ), Body: body})
		if err != nil {
			if !bytes.Equal(before, bob.store.SessionBytes(alice.addr)) || pre != len(bob.store.preKeys) {
				t.Fatal("refused message changed the store")
			}
			return
		}
		if !genuine[string(body)] {
			t.Fatalf("a message never sent decrypted: type %d %x", typ, body)
		}
	})
}
