package interop

import (
	"context"
	"testing"

	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// The benchmarks run the same operations on Mutual (package session, with
// its MemoryStore, which serializes every record it stores) and on
// go.mau.fi/libsignal (in-memory stores holding records as objects), at
// protocol version 3, in one run:
//
//	cd crypto/interop && go test -run '^$' -bench . -benchmem

// BenchmarkSetupX3DH is a whole session setup: the initiator processes a
// bundle (no one-time prekey) and encrypts a first message, the responder
// decrypts it.
func BenchmarkSetupX3DH(b *testing.B) {
	ctx := context.Background()
	msg := []byte("hello")
	b.Run("mutual", func(b *testing.B) {
		alice, bob := newMutualUser(b, "alice", 1), newMutualUser(b, "bob", 1)
		bob.addPreKeys(b, 1)
		bundle := bob.bundle(0)
		for b.Loop() {
			alice.store.DeleteSession(bob.addr)
			bob.store.DeleteSession(alice.addr)
			if err := alice.m.ProcessBundle(ctx, bob.addr, bundle); err != nil {
				b.Fatal(err)
			}
			ct, err := alice.m.Encrypt(ctx, bob.addr, msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := bob.decrypt(alice.addr, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("libsignal", func(b *testing.B) {
		alice, bob := newLSUser(b, "alice", 1), newLSUser(b, "bob", 1)
		bob.addPreKeys(b, 1)
		bundle := lsBundle(bob.mutualBundle(b, 0))
		for b.Loop() {
			delete(alice.sessions, bob.addr.String())
			delete(bob.sessions, alice.addr.String())
			if err := alice.builder(bob.addr).ProcessBundle(ctx, bundle); err != nil {
				b.Fatal(err)
			}
			ct := alice.encrypt(b, bob.addr, string(msg))
			if _, err := bob.decrypt(alice.addr, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// side is one device of a benchmark conversation.
type side interface {
	send(b *testing.B, pt []byte) ratchet.Ciphertext
	receive(b *testing.B, ct ratchet.Ciphertext)
}

type mutualSide struct {
	u    *mutualUser
	peer mutualAddr
}

func (s mutualSide) send(b *testing.B, pt []byte) ratchet.Ciphertext {
	ct, err := s.u.m.Encrypt(context.Background(), s.peer, pt)
	if err != nil {
		b.Fatal(err)
	}
	return ct
}

func (s mutualSide) receive(b *testing.B, ct ratchet.Ciphertext) {
	if _, err := s.u.decrypt(s.peer, ct); err != nil {
		b.Fatal(err)
	}
}

type lsSide struct {
	u    *lsUser
	peer *lsUser
}

func (s lsSide) send(b *testing.B, pt []byte) ratchet.Ciphertext {
	m, err := s.u.cipher(s.peer.addr).Encrypt(context.Background(), pt)
	if err != nil {
		b.Fatal(err)
	}
	return ratchet.Ciphertext{Type: ratchet.MessageType(m.Type()), Body: m.Serialize()}
}

func (s lsSide) receive(b *testing.B, ct ratchet.Ciphertext) {
	if _, err := s.u.decrypt(s.peer.addr, ct); err != nil {
		b.Fatal(err)
	}
}

func mutualPair(b *testing.B) (side, side) {
	alice, bob := newMutualUser(b, "alice", 1), newMutualUser(b, "bob", 1)
	bob.addPreKeys(b, 1)
	if err := alice.m.ProcessBundle(context.Background(), bob.addr, bob.bundle(1)); err != nil {
		b.Fatal(err)
	}
	a, c := mutualSide{alice, bob.addr}, mutualSide{bob, alice.addr}
	warm(b, a, c)
	return a, c
}

func lsPair(b *testing.B) (side, side) {
	alice, bob := newLSUser(b, "alice", 1), newLSUser(b, "bob", 1)
	bob.addPreKeys(b, 1)
	if err := alice.builder(bob.addr).ProcessBundle(context.Background(), lsBundle(bob.mutualBundle(b, 1))); err != nil {
		b.Fatal(err)
	}
	a, c := lsSide{alice, bob}, lsSide{bob, alice}
	warm(b, a, c)
	return a, c
}

// warm exchanges a message each way, so that no prekey messages remain.
func warm(b *testing.B, a, c side) {
	c.receive(b, a.send(b, []byte("x")))
	a.receive(b, c.send(b, []byte("y")))
}

// BenchmarkEncryptDecrypt1KiB encrypts 1 KiB and decrypts it on the other
// side: "same chain" keeps sending one way; "ping-pong" alternates, so
// that every message makes a DH ratchet step.
func BenchmarkEncryptDecrypt1KiB(b *testing.B) {
	msg := make([]byte, 1024)
	for _, impl := range []struct {
		name string
		pair func(*testing.B) (side, side)
	}{{"mutual", mutualPair}, {"libsignal", lsPair}} {
		b.Run("same chain/"+impl.name, func(b *testing.B) {
			a, c := impl.pair(b)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				c.receive(b, a.send(b, msg))
			}
		})
		b.Run("ping-pong/"+impl.name, func(b *testing.B) {
			a, c := impl.pair(b)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				c.receive(b, a.send(b, msg))
				a, c = c, a
			}
		})
	}
}
