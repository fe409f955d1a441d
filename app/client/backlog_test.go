//go:build !js

package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/ratchet"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// queueBacklog has from write n messages to to, whose Run is stopped,
// and waits until the relay holds them all.
func queueBacklog(t testing.TB, from, to *device, prefix string, n int) []wire.MessageID {
	t.Helper()
	ids := make([]wire.MessageID, n)
	for i := range n {
		ids[i] = from.send(to, fmt.Sprint(prefix, i))
	}
	from.waitState(to, ids[n-1], client.StateSent) // entries go in order
	return ids
}

// checkBacklog checks that d's conversation with peer ends with exactly
// the messages ids, in order, each once, with their texts.
func checkBacklog(t *testing.T, d, peer *device, prefix string, ids []wire.MessageID) {
	t.Helper()
	ms := d.messages(peer)
	if len(ms) < len(ids) {
		t.Fatalf("%s has %d messages, want at least %d", d.name, len(ms), len(ids))
	}
	seen := map[wire.MessageID]bool{}
	for _, m := range ms {
		if seen[m.ID] {
			t.Fatalf("%s has message %s twice", d.name, m.ID)
		}
		seen[m.ID] = true
	}
	tail := ms[len(ms)-len(ids):]
	for i, m := range tail {
		if m.ID != ids[i] || m.Text != fmt.Sprint(prefix, i) {
			t.Fatalf("%s: message %d is %s %q, want %s %q", d.name, i, m.ID, m.Text, ids[i], fmt.Sprint(prefix, i))
		}
		if i > 0 && m.Seq != tail[i-1].Seq+1 {
			t.Fatalf("%s: message %d has Seq %d after %d", d.name, i, m.Seq, tail[i-1].Seq)
		}
	}
	if err := client.CheckChats(context.Background(), d.c); err != nil {
		t.Fatal(err)
	}
}

// seenFrom counts what d has read from peer: messages and receipts.
func seenFrom(t testing.TB, d, peer *device) int {
	t.Helper()
	n, err := client.SeenFrom(context.Background(), d.c, peer.acct.User)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBacklog: a device coming online to 500 messages stores each once,
// in order, and its delivery receipts are coalesced: the sender sees
// every message Delivered, from far fewer receipt messages than
// messages (counted as the receipts the sender's device stored, each a
// message the relay accepted from the receiver).
func TestBacklog(t *testing.T) {
	const n = 500
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.stop()
	ids := queueBacklog(t, alice, bob, "backlog ", n)
	before := seenFrom(t, alice, bob)

	bob.start()
	bob.eventually("the backlog stored", func() bool { return len(bob.messages(alice)) == n+1 })
	checkBacklog(t, bob, alice, "backlog ", ids)
	for _, id := range ids {
		alice.waitState(bob, id, client.StateDelivered)
	}
	receipts := seenFrom(t, alice, bob) - before
	t.Logf("%d messages acknowledged by %d receipts", n, receipts)
	if receipts < n/100 || receipts > n/10 {
		t.Fatalf("%d messages acknowledged by %d receipts, want %d to %d", n, receipts, n/100, n/10)
	}
}

// TestBacklogUndecryptable: a backlog with an altered message in the
// middle, and a message delivered twice: the others are stored, once
// each and in order, the altered one is reported, and all of them are
// acknowledged (after a restart, the relay delivers none of them again).
func TestBacklogUndecryptable(t *testing.T) {
	const n = 9
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	hi := bob.send(alice, "hi alice") // Alice's messages are SignalMessages from now
	alice.waitText(bob, "hi alice")
	bob.waitState(alice, hi, client.StateDelivered)

	bob.stop()
	alice.stop()
	ids := make([]wire.MessageID, n)
	for i := range n {
		ids[i] = alice.send(bob, fmt.Sprint("mixed ", i))
	}
	sends, err := client.SealOutbox(ctxT(t), alice.c)
	if err != nil || len(sends) != n {
		t.Fatalf("sealed outbox: %d sends, %v", len(sends), err)
	}
	const bad = n / 2
	tampered := cloneSend(sends[bad])
	ct := tampered.Recipients[0].Ciphertext
	ct[len(ct)-1] ^= 0x01
	order := []*wire.Send{sends[0], sends[0]} // the first one twice
	for i, s := range sends[1:] {
		if i+1 == bad {
			s = tampered
		}
		order = append(order, s)
	}
	for _, s := range order {
		rawSend(t, alice, s)
	}

	var batches atomic.Int32
	var ackedAfter atomic.Int32 // how many batches were stored when the last Ack went
	client.SetAfterStore(bob.c, func(*transport.Conn) { batches.Add(1) })
	client.SetAfterAck(bob.c, func(int64) { ackedAfter.Store(batches.Load()) })
	bob.start()
	ev := bob.waitEvent("the altered message refused", func(ev client.Event) bool {
		u, ok := ev.(client.Undecryptable)
		return ok && u.Err.MessageID == ids[bad]
	}).(client.Undecryptable)
	if !errors.Is(ev.Err, ratchet.ErrAuth) {
		t.Fatalf("undecryptable: %v", ev.Err)
	}
	last := fmt.Sprint("mixed ", n-1)
	bob.waitText(alice, last)
	var want []wire.MessageID
	for i, id := range ids {
		if i != bad {
			want = append(want, id)
		}
	}
	got := bob.messages(alice)
	got = got[len(got)-len(want):]
	for i, m := range got {
		if m.ID != want[i] {
			t.Fatalf("message %d is %s %q, want %s", i, m.ID, m.Text, want[i])
		}
	}
	if c := countText(bob, alice, "mixed 0"); c != 1 {
		t.Fatalf("bob has %d copies of the message delivered twice", c)
	}
	if c := countText(bob, alice, fmt.Sprint("mixed ", bad)); c != 0 {
		t.Fatalf("bob stored the altered message")
	}
	t.Logf("%d deliveries stored in %d batches", len(order), batches.Load())

	// Acknowledged: after a restart the relay delivers only what comes
	// next, so the altered message is not reported again. (A restart
	// before the acknowledgement is sent would see it again: delivery is
	// at least once, and a message that does not decrypt is not recorded
	// as seen, so that a genuine copy under the same ID still can be.)
	wait.For(t, "bob's acknowledgement of the backlog", func() bool { return ackedAfter.Load() == batches.Load() })
	bob.restart()
	marker := alice.send(bob, "marker")
	sends, err = client.SealOutbox(ctxT(t), alice.c)
	if err != nil || sends[len(sends)-1].MessageID != marker {
		t.Fatalf("sealed marker: %v", err)
	}
	rawSend(t, alice, sends[len(sends)-1])
	bob.waitEvent("the marker", func(ev client.Event) bool {
		m, ok := ev.(client.MessageReceived)
		return ok && m.Message.ID == marker
	})
	bob.mu.Lock()
	defer bob.mu.Unlock()
	for _, ev := range bob.events {
		if u, ok := ev.(client.Undecryptable); ok {
			t.Fatalf("after the restart: %v", u.Err)
		}
	}
}

// TestBacklogRestart: the connection is cut after a batch is stored and
// before it is acknowledged, and the process restarts in the middle of
// draining a backlog: nothing is lost, nothing is stored twice.
func TestBacklogRestart(t *testing.T) {
	const n = 300
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.stop()
	ids := queueBacklog(t, alice, bob, "drained ", n)

	var calls atomic.Int32
	mid := make(chan struct{})
	client.SetAfterStore(bob.c, func(conn *transport.Conn) {
		switch calls.Add(1) {
		case 1:
			conn.Close() // stored, not acknowledged
		case 2:
			close(mid)
		}
	})
	bob.start()
	select {
	case <-mid:
	case <-ctxT(t).Done():
		t.Fatal("timed out waiting for the second batch")
	}
	if got := len(bob.messages(alice)); got >= n+1 {
		t.Fatalf("the backlog was stored before the restart (%d messages)", got)
	}
	bob.restart()
	bob.eventually("the backlog stored", func() bool { return len(bob.messages(alice)) >= n+1 })
	checkBacklog(t, bob, alice, "drained ", ids)
	if got := len(bob.messages(alice)); got != n+1 {
		t.Fatalf("bob has %d messages, want %d", got, n+1)
	}
	for _, id := range ids {
		alice.waitState(bob, id, client.StateDelivered)
	}
}

// countingStore counts read-write transactions.
type countingStore struct {
	store.Store
	updates atomic.Int64
}

func (s *countingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

// BenchmarkBacklog measures a device coming online to 1,000 messages
// from one contact, its store on disk (every transaction fsynced): from
// Run's start until all are stored. tx/msg counts the receiver's
// read-write transactions per message in that time (storing, and
// encrypting and recording its receipts).
func BenchmarkBacklog(b *testing.B) {
	const n = 1000
	r := startRelay(b)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(b, alice, bob)
	var cs *countingStore
	bob.wrap = func(s store.Store) store.Store {
		cs = &countingStore{Store: s}
		return cs
	}
	bob.restart()
	var elapsed time.Duration
	var updates int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		bob.stop()
		queueBacklog(b, alice, bob, fmt.Sprintf("batch %d message ", i), n)
		want := len(bob.messages(alice)) + n
		u0 := cs.updates.Load()
		b.StartTimer()
		start := time.Now()
		bob.start()
		bob.eventually("the backlog stored", func() bool { return len(bob.messages(alice)) == want })
		elapsed += time.Since(start)
		updates += cs.updates.Load() - u0
	}
	b.StopTimer()
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*n), "ns/msg")
	b.ReportMetric(float64(updates)/float64(b.N*n), "tx/msg")
}
