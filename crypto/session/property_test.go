package session

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"testing"

	"github.com/mutualcoop/mutual/crypto/ratchet"
)

// TestRandomSchedules runs random conversations among two and three
// devices over a network that loses, reorders, duplicates and tampers
// with messages, and sometimes restarts sessions. It checks that:
//
//   - every authentic message decrypts exactly once, to what was sent;
//   - every other delivery (replay, forgery, truncation) is refused and
//     leaves the receiver's stored record byte for byte as it was, and uses
//     up no prekey.
//
// A tampered copy may only decrypt if its change was outside what the
// message authenticates (the outer fields of a prekey message once its
// session exists); it must then give the authentic plaintext, which counts
// as that message's one delivery.
//
// Reordering is bounded (a message waits at most maxAge steps), so that no
// message outlives the receiver chains and archived states a session
// keeps: past those limits refusing old messages is the correct outcome.
func TestRandomSchedules(t *testing.T) {
	for _, devices := range []int{2, 3} {
		for seed := range uint64(propertySeeds) {
			t.Run(fmt.Sprintf("devices=%d/seed=%d", devices, seed), func(t *testing.T) {
				runSchedule(t, devices, seed, propertySteps)
			})
		}
	}
}

type inFlight struct {
	from, to int
	id       int
	ct       ratchet.Ciphertext
	born     int
}

func runSchedule(t *testing.T, n int, seed uint64, steps int) {
	const maxAge = 10
	ctx := context.Background()
	rng := mrand.New(mrand.NewPCG(seed, 0xC0FFEE))
	crand := mrand.NewChaCha8([32]byte{byte(seed), byte(n)})
	var peers []*peer
	for i := range n {
		p := newPeer(t, fmt.Sprint("user", i), uint32(1+i%2), crand, Config{})
		p.publish(4)
		peers = append(peers, p)
	}
	var (
		queue     []inFlight
		delivered []inFlight
		texts     = map[int]string{}
		done      = map[int]bool{}
		nextID    int
	)
	send := func(from, to int) {
		p, q := peers[from], peers[to]
		has, err := p.m.HasSession(ctx, q.addr)
		if err != nil {
			t.Fatal(err)
		}
		if !has || rng.IntN(40) == 0 { // start (or restart) a session
			if err := p.m.ProcessBundle(ctx, q.addr, q.bundle(true)); err != nil {
				t.Fatal(err)
			}
		}
		nextID++
		texts[nextID] = fmt.Sprintf("%d->%d #%d", from, to, nextID)
		ct, err := p.m.Encrypt(ctx, q.addr, []byte(texts[nextID]))
		if err != nil {
			t.Fatal(err)
		}
		queue = append(queue, inFlight{from, to, nextID, ct, 0})
	}
	// attempt delivers ct and checks the outcome; authentic tells whether
	// the bytes are exactly what was sent.
	attempt := func(m inFlight, ct ratchet.Ciphertext, authentic bool) {
		t.Helper()
		p, q := peers[m.to], peers[m.from]
		before := p.store.SessionBytes(q.addr)
		pre, kem := len(p.store.preKeys), len(p.store.kem)
		pt, err := p.m.Decrypt(ctx, q.addr, ct)
		if err == nil {
			if string(pt) != texts[m.id] {
				t.Fatalf("message %d decrypted to %q, want %q", m.id, pt, texts[m.id])
			}
			if done[m.id] {
				t.Fatalf("message %d decrypted twice (authentic copy: %v)", m.id, authentic)
			}
			done[m.id] = true
			return
		}
		if authentic && !done[m.id] {
			t.Fatalf("authentic message %d (%v, %d->%d) refused: %v", m.id, ct.Type, m.from, m.to, err)
		}
		if !bytes.Equal(before, p.store.SessionBytes(q.addr)) {
			t.Fatalf("refused delivery of message %d changed the record (%v)", m.id, err)
		}
		if pre != len(p.store.preKeys) || kem != len(p.store.kem) {
			t.Fatalf("refused delivery of message %d used up a prekey", m.id)
		}
		// A replay is refused with ErrDuplicate while its chain is kept,
		// and as unauthenticated once the chain is gone.
		if authentic && !errors.Is(err, ratchet.ErrDuplicate) && !errors.Is(err, ratchet.ErrAuth) {
			t.Fatalf("replay of message %d: %v", m.id, err)
		}
	}
	for step := range steps {
		for i := range queue {
			if queue[i].born == 0 {
				queue[i].born = step + 1
			}
		}
		forced := len(queue) > 0 && step+1-queue[0].born >= maxAge
		r := rng.IntN(100)
		switch {
		case !forced && r < 35:
			from := rng.IntN(n)
			to := (from + 1 + rng.IntN(n-1)) % n
			send(from, to)
		case !forced && r < 40 && len(queue) > 0: // lost
			i := rng.IntN(len(queue))
			queue = append(queue[:i], queue[i+1:]...)
		case !forced && r < 47 && len(delivered) > 0: // replayed
			m := delivered[rng.IntN(len(delivered))]
			attempt(m, m.ct, true)
		case len(queue) > 0:
			i := 0
			if !forced {
				i = rng.IntN(len(queue))
			}
			m := queue[i]
			if !forced && rng.IntN(4) == 0 { // tampered copies first
				for range 1 + rng.IntN(3) {
					attempt(m, tamper(rng, m.ct), false)
				}
			}
			// If a tampered copy that changed nothing authenticated was
			// delivered, the original is now a replay.
			attempt(m, m.ct, true)
			queue = append(queue[:i], queue[i+1:]...)
			if !done[m.id] {
				t.Fatalf("message %d not delivered", m.id)
			}
			if rng.IntN(5) == 0 { // duplicated by the network: stays queued
				queue = append(queue, inFlight{m.from, m.to, m.id, m.ct, step + 1})
			} else {
				delivered = append(delivered, m)
			}
		}
	}
	if len(done) == 0 {
		t.Fatal("nothing delivered")
	}
}

// tamper returns a forged variant of ct: a flipped bit, a truncation, an
// extension, or a changed type.
func tamper(rng *mrand.Rand, ct ratchet.Ciphertext) ratchet.Ciphertext {
	b := bytes.Clone(ct.Body)
	switch rng.IntN(5) {
	case 0, 1:
		b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
	case 2:
		b = b[:rng.IntN(len(b))]
	case 3:
		b = append(b, byte(rng.IntN(256)))
	case 4:
		t := ratchet.TypeSignal
		if ct.Type == ratchet.TypeSignal {
			t = ratchet.TypePreKey
		}
		return ratchet.Ciphertext{Type: t, Body: b}
	}
	return ratchet.Ciphertext{Type: ct.Type, Body: b}
}
