package session

import (
	"context"
	"testing"
)

// benchPair returns two connected peers that have exchanged a message
// each way (no more prekey messages).
func benchPair(b *testing.B) (*peer, *peer) {
	alice := newPeer(b, "alice", 1, nil, Config{})
	bob := newPeer(b, "bob", 1, nil, Config{})
	bob.publish(1)
	alice.connect(bob)
	bob.recv(alice, alice.send(bob, "x"), "x")
	alice.recv(bob, bob.send(alice, "y"), "y")
	return alice, bob
}

// BenchmarkEncryptDecrypt1KiB encrypts 1 KiB with the Manager (stored in a
// MemoryStore, serialized each time) and decrypts it on the other side:
// "same chain" keeps sending one way, "ping-pong" alternates, so that
// every message makes a DH ratchet step.
func BenchmarkEncryptDecrypt1KiB(b *testing.B) {
	ctx := context.Background()
	msg := make([]byte, 1024)
	b.Run("same chain", func(b *testing.B) {
		alice, bob := benchPair(b)
		b.SetBytes(int64(len(msg)))
		for b.Loop() {
			ct, err := alice.m.Encrypt(ctx, bob.addr, msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := bob.m.Decrypt(ctx, alice.addr, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ping-pong", func(b *testing.B) {
		alice, bob := benchPair(b)
		b.SetBytes(int64(len(msg)))
		from, to := alice, bob
		for b.Loop() {
			ct, err := from.m.Encrypt(ctx, to.addr, msg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := to.m.Decrypt(ctx, from.addr, ct); err != nil {
				b.Fatal(err)
			}
			from, to = to, from
		}
	})
}

// BenchmarkEncrypt1KiB and BenchmarkDecrypt1KiB split the cost.
func BenchmarkEncrypt1KiB(b *testing.B) {
	ctx := context.Background()
	alice, bob := benchPair(b)
	msg := make([]byte, 1024)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := alice.m.Encrypt(ctx, bob.addr, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecrypt1KiB(b *testing.B) {
	ctx := context.Background()
	alice, bob := benchPair(b)
	msg := make([]byte, 1024)
	// Decrypt the same message from the same starting record each time:
	// the second of its chain (the first made the DH ratchet step).
	bob.recv(alice, alice.send(bob, "first of the chain"), "first of the chain")
	ct, err := alice.m.Encrypt(ctx, bob.addr, msg)
	if err != nil {
		b.Fatal(err)
	}
	start := bob.store.SessionBytes(alice.addr)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		b.StopTimer()
		bob.store.sessions[alice.addr] = start
		b.StartTimer()
		if _, err := bob.m.Decrypt(ctx, alice.addr, ct); err != nil {
			b.Fatal(err)
		}
	}
}
