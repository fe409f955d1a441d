package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// withArchivedStates returns alice and bob after alice has started
// MaxArchivedStates+1 sessions with bob, each with a message each way:
// bob's record holds a current state and MaxArchivedStates archived ones.
// It also returns the first message of each session, oldest first.
func withArchivedStates(tb testing.TB) (alice, bob *peer, first []*ratchet.SignalMessage) {
	tb.Helper()
	alice = newPeer(tb, "alice", 1, nil, Config{})
	bob = newPeer(tb, "bob", 1, nil, Config{})
	for i := range MaxArchivedStates + 1 {
		alice.connect(bob) // last-resort KEM prekey, no one-time prekey
		m := fmt.Sprint("setup ", i)
		ct := alice.send(bob, m)
		bob.recv(alice, ct, m)
		alice.recv(bob, bob.send(alice, m), m)
		pm, err := ratchet.ParsePreKeySignalMessage(ct.Body)
		if err != nil {
			tb.Fatal(err)
		}
		first = append(first, pm.Message())
	}
	if n := archivedStates(tb, bob, alice); n != MaxArchivedStates {
		tb.Fatalf("%d archived states, want %d", n, MaxArchivedStates)
	}
	return alice, bob, first
}

func archivedStates(tb testing.TB, p, with *peer) int {
	tb.Helper()
	rec, err := p.store.LoadSession(context.Background(), with.addr)
	if err != nil || rec == nil {
		tb.Fatalf("no record: %v", err)
	}
	return rec.ArchivedStates()
}

// forgedSignalMessage returns a SignalMessage anyone can write: a ratchet
// key and a counter of the forger's choice, a block of ciphertext and a
// MAC made of zeros.
func forgedSignalMessage(ratchetKey keys.PublicKey, counter uint32) []byte {
	b := []byte{byte(ratchet.Version4)<<4 | 3}
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendBytes(b, ratchetKey.Bytes())
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(counter))
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, 0)
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendBytes(b, make([]byte, 16))
	return append(b, make([]byte, ratchet.MACSize)...)
}

func forged(ratchetKey keys.PublicKey, counter uint32) ratchet.Ciphertext {
	return ratchet.Ciphertext{Type: ratchet.TypeSignal, Body: forgedSignalMessage(ratchetKey, counter)}
}

// forgedPreKey returns a PreKeySignalMessage anyone can write to p from
// its published bundle: a new base key and identity, p's signed and
// last-resort KEM prekeys, a KEM ciphertext of zeros and a forged message.
func forgedPreKey(tb testing.TB, p *peer, counter uint32) ratchet.Ciphertext {
	tb.Helper()
	b := []byte{byte(ratchet.Version4)<<4 | 3}
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, freshKey(tb).Bytes())
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendBytes(b, freshKey(tb).Bytes())
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	b = protowire.AppendBytes(b, forgedSignalMessage(freshKey(tb), counter))
	b = protowire.AppendTag(b, 5, protowire.VarintType)
	b = protowire.AppendVarint(b, 7)
	b = protowire.AppendTag(b, 6, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(p.signed.ID))
	b = protowire.AppendTag(b, 7, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(p.lastKEM.ID))
	b = protowire.AppendTag(b, 8, protowire.BytesType)
	b = protowire.AppendBytes(b, append([]byte{keys.KEMKeyType}, make([]byte, keys.KEMCiphertextSize)...))
	return ratchet.Ciphertext{Type: ratchet.TypePreKey, Body: b}
}

func freshKey(tb testing.TB) keys.PublicKey {
	tb.Helper()
	k, err := keys.GeneratePrivateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k.Public()
}

// BenchmarkForgedMessage measures the costliest messages a forger (the
// relay, or any contact) can send to a device whose record with the
// sender is full (a current state and MaxArchivedStates archived ones):
// SignalMessages with a new ratchet key, which every state may have to
// try as a new chain, either as far ahead as the current state accepts or
// as far as makes the archived states do all they may; and a
// PreKeySignalMessage naming the published prekeys, which costs a PQXDH
// and a jump in the new state.
func BenchmarkForgedMessage(b *testing.B) {
	ctx := context.Background()
	alice, bob, _ := withArchivedStates(b)
	for _, bc := range []struct {
		name string
		ct   ratchet.Ciphertext
	}{
		{"signal, new chain, 25000 ahead", forged(freshKey(b), ratchet.MaxForwardJumps)},
		{"signal, new chain, 400 ahead", forged(freshKey(b), 400)},
		{"prekey, 25000 ahead", forgedPreKey(b, bob, ratchet.MaxForwardJumps)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bob.m.Decrypt(ctx, alice.addr, bc.ct); err == nil {
					b.Fatal("forged message accepted")
				}
			}
		})
	}
}

// TestForgedMessagesAgainstArchivedStates sends forged messages to a
// device with a full record: each is refused and leaves the record, and
// every state in it, byte for byte as it was.
func TestForgedMessagesAgainstArchivedStates(t *testing.T) {
	ctx := context.Background()
	alice, bob, first := withArchivedStates(t)
	// Ratchet keys seen on the wire, which bob's states receive on: the
	// current state's and the oldest archived one's.
	current, oldest := first[len(first)-1].RatchetKey(), first[0].RatchetKey()
	tests := []struct {
		name string
		ct   ratchet.Ciphertext
		want error // nil: any error
	}{
		{"new chain, counter 0", forged(freshKey(t), 0), nil},
		{"new chain, 400 ahead", forged(freshKey(t), 400), nil},
		{"new chain, at the archived budget", forged(freshKey(t), ArchivedChainKeys), nil},
		{"new chain, 25000 ahead", forged(freshKey(t), ratchet.MaxForwardJumps), nil},
		{"new chain, beyond every limit", forged(freshKey(t), ratchet.MaxForwardJumps+1), nil},
		{"current chain, 25000 ahead", forged(current, ratchet.MaxForwardJumps), nil},
		{"oldest archived chain, next key", forged(oldest, 1), nil},
		{"oldest archived chain, at the archived budget", forged(oldest, ArchivedChainKeys), nil},
		{"oldest archived chain, 25000 ahead", forged(oldest, ratchet.MaxForwardJumps), nil},
		{"replayed first message of the oldest state", ratchet.Ciphertext{Type: ratchet.TypeSignal, Body: first[0].Bytes()}, ratchet.ErrDuplicate},
		{"prekey message, 25000 ahead", forgedPreKey(t, bob, ratchet.MaxForwardJumps), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := bob.store.SessionBytes(alice.addr)
			id, _ := bob.store.Identity(alice.addr)
			_, err := bob.m.Decrypt(ctx, alice.addr, tc.ct)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !bytes.Equal(before, bob.store.SessionBytes(alice.addr)) {
				t.Fatal("forged message changed the record")
			}
			if now, _ := bob.store.Identity(alice.addr); !now.Equal(id) {
				t.Fatal("forged message changed the saved identity")
			}
		})
	}
	// The conversation goes on.
	bob.recv(alice, alice.send(bob, "after"), "after")
	alice.recv(bob, bob.send(alice, "reply"), "reply")
}

// restarted sets up a session between alice and bob in which alice's
// next messages start a new chain; then bob starts restarts sessions of
// his own, which alice does not hear of. The session alice still sends on
// is then bob's archived state number restarts-1 (newest first), behind
// his current state and restarts-1 newer archived ones. restarted returns
// the n messages alice sends on it.
func restarted(t *testing.T, restarts, n int) (alice, bob *peer, msgs []ratchet.Ciphertext) {
	t.Helper()
	alice = newPeer(t, "alice", 1, nil, Config{})
	bob = newPeer(t, "bob", 1, nil, Config{})
	alice.connect(bob)
	bob.recv(alice, alice.send(bob, "a"), "a")
	alice.recv(bob, bob.send(alice, "b"), "b")
	for range restarts {
		bob.connect(alice)
	}
	if got := archivedStates(t, bob, alice); got != restarts {
		t.Fatalf("%d archived states, want %d", got, restarts)
	}
	for i := range n {
		msgs = append(msgs, alice.send(bob, fmt.Sprint(i)))
	}
	return alice, bob, msgs
}

// TestArchivedStatesWithinBudget: messages for an archived state that
// start a new chain, delivered last first, decrypt as long as the states
// tried before together stay within the budget; the rest then decrypt in
// any order on the state, now current.
func TestArchivedStatesWithinBudget(t *testing.T) {
	for _, tc := range []struct {
		name        string
		restarts, n int
	}{
		{"newest archived state, 2,000 ahead", 1, ArchivedChainKeys + 1},
		{"behind the most new chains tried, at the budget", ArchivedNewChains, ArchivedChainKeys/ArchivedNewChains + 1},
		{"behind two states, 300 ahead", 3, 301},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alice, bob, msgs := restarted(t, tc.restarts, tc.n)
			last := len(msgs) - 1
			bob.recv(alice, msgs[last], fmt.Sprint(last))
			for _, i := range []int{0, last - 1, last / 2, 1} {
				bob.recv(alice, msgs[i], fmt.Sprint(i))
			}
			alice.recv(bob, bob.send(alice, "back"), "back")
		})
	}
}

// TestArchivedStatesBeyondBudget: a message for an archived state beyond
// the budget is refused and changes nothing, where libsignal would try it.
func TestArchivedStatesBeyondBudget(t *testing.T) {
	ctx := context.Background()
	refused := func(t *testing.T, alice, bob *peer, ct ratchet.Ciphertext) {
		t.Helper()
		before := bob.store.SessionBytes(alice.addr)
		if _, err := bob.m.Decrypt(ctx, alice.addr, ct); !errors.Is(err, ratchet.ErrAuth) && !errors.Is(err, errArchivedBudget) {
			t.Fatalf("got %v, want a refusal", err)
		}
		if !bytes.Equal(before, bob.store.SessionBytes(alice.addr)) {
			t.Fatal("refused message changed the record")
		}
	}
	t.Run("newest archived state, 2,001 ahead", func(t *testing.T) {
		alice, bob, msgs := restarted(t, 1, ArchivedChainKeys+2)
		last := len(msgs) - 1
		refused(t, alice, bob, msgs[last])
		// An earlier message of the chain makes the state current, which
		// keeps libsignal's limits: the far one decrypts then.
		bob.recv(alice, msgs[0], "0")
		bob.recv(alice, msgs[last], fmt.Sprint(last))
	})
	t.Run("behind more new chains than are tried", func(t *testing.T) {
		alice, bob, msgs := restarted(t, ArchivedNewChains+1, 2)
		refused(t, alice, bob, msgs[1])
		refused(t, alice, bob, msgs[0])
		// The conversation recovers as from any lost message: once alice
		// hears from bob's current session, she answers on it.
		alice.recv(bob, bob.send(alice, "new"), "new")
		bob.recv(alice, alice.send(bob, "answer"), "answer")
	})
}
