//go:build !js

package client_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// countText returns how many messages of d's conversation with peer have
// text.
func countText(d, peer *device, text string) int {
	n := 0
	for _, m := range d.messages(peer) {
		if m.Text == text {
			n++
		}
	}
	return n
}

// TestRestart: clients restarted mid-conversation (store closed and
// opened again) lose nothing and duplicate nothing: messages sent while
// the receiver is away, messages written while the sender is offline,
// and a delivery stored but not acknowledged when the connection died.
func TestRestart(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.waitText(alice, "hello from alice")

	// Bob's process ends; Alice keeps writing.
	bob.close()
	var ids []wire.MessageID
	for i := range 3 {
		ids = append(ids, alice.send(bob, fmt.Sprint("while you were away ", i)))
	}
	for _, id := range ids {
		alice.waitState(bob, id, client.StateSent)
	}
	bob.open()
	bob.start()
	for i, id := range ids {
		if m := bob.waitText(alice, fmt.Sprint("while you were away ", i)); m.ID != id {
			t.Fatalf("message %d has ID %s, want %s", i, m.ID, id)
		}
		alice.waitState(bob, id, client.StateDelivered)
	}

	// Alice writes offline, then her process restarts: the outbox
	// survives and is sent.
	alice.stop()
	queued := alice.send(bob, "written offline")
	if m, err := alice.c.Message(ctxT(t), alice.acct.User, queued); err != nil || m.State != client.StateSending {
		t.Fatalf("offline message: %+v %v", m, err)
	}
	alice.restart()
	bob.waitText(alice, "written offline")
	alice.waitState(bob, queued, client.StateDelivered)

	// Bob stores a delivery and loses the connection before his Ack: the
	// relay delivers it again after he reconnects, and he drops the copy.
	bob.stop()
	var armed, fired atomic.Bool
	client.SetAfterStore(bob.c, func(conn *transport.Conn) {
		if armed.CompareAndSwap(true, false) {
			conn.Close()
			fired.Store(true)
		}
	})
	bob.start()
	armed.Store(true)
	alice.send(bob, "stored, not acknowledged")
	bob.waitText(alice, "stored, not acknowledged")
	bob.eventually("the connection cut before the ack", fired.Load)
	bob.waitEvent("reconnected", func(ev client.Event) bool { _, ok := ev.(client.Connected); return ok })
	// Deliveries come in order: once this one is stored, the copy has
	// been seen.
	alice.send(bob, "after the redelivery")
	bob.waitText(alice, "after the redelivery")

	// Nothing lost, nothing twice, on either side, after one more restart
	// of both.
	alice.restart()
	bob.restart()
	for _, text := range []string{
		"hello from alice", "while you were away 0", "while you were away 1", "while you were away 2",
		"written offline", "stored, not acknowledged", "after the redelivery",
	} {
		if n := countText(bob, alice, text); n != 1 {
			t.Errorf("bob has %d copies of %q", n, text)
		}
		if n := countText(alice, bob, text); n != 1 {
			t.Errorf("alice has %d copies of %q", n, text)
		}
	}
	// The conversation goes on after the restarts, both ways.
	alice.send(bob, "still there?")
	bob.waitText(alice, "still there?")
	bob.send(alice, "yes")
	alice.waitText(bob, "yes")
}
