//go:build !js

package client_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// skewClock is a client's clock that the test moves forward.
type skewClock struct{ ahead atomic.Int64 }

func (c *skewClock) now() time.Time          { return time.Now().Add(time.Duration(c.ahead.Load())) }
func (c *skewClock) advance(d time.Duration) { c.ahead.Add(int64(d)) }

// signOut removes the device's only device from the relay, as signing out
// does, and waits for its Run to end.
func (d *device) signOut() {
	d.t.Helper()
	if err := d.c.RemoveDevice(ctxT(d.t), d.acct.Device); err != nil {
		d.t.Fatalf("%s: sign out: %v", d.name, err)
	}
	if err := <-d.done; !errors.Is(err, client.ErrDeviceRemoved) {
		d.t.Fatalf("%s: Run ended with %v after signing out", d.name, err)
	}
	d.cancel = nil
}

// message returns this device's message id.
func (d *device) message(id wire.MessageID) client.Message {
	d.t.Helper()
	m, err := d.c.Message(ctxT(d.t), d.acct.User, id)
	if err != nil {
		d.t.Fatalf("%s: message %s: %v", d.name, id, err)
	}
	return m
}

// away returns how the outbox entry of message id waits for a device.
func (d *device) away(id wire.MessageID) client.Away {
	d.t.Helper()
	a, ok, err := client.AwayOf(ctxT(d.t), d.c, id)
	if err != nil || !ok {
		d.t.Fatalf("%s: no outbox entry for %s: %v", d.name, id, err)
	}
	return a
}

// TestWaitingForDevice: Bob signs out of his only device. What Alice
// writes to him then is not refused as if his account were gone: it
// waits, shown as waiting, and is tried again on every new connection;
// when Bob signs in on a new device (a new safety number, which Alice
// accepts), it is delivered, in order.
func TestWaitingForDevice(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.waitText(alice, "hello from alice")
	bob.signOut()

	first := alice.send(bob, "are you there?")
	alice.waitState(bob, first, client.StateWaiting)
	if m := alice.message(first); m.Failure != 0 {
		t.Fatalf("the waiting message has failure %v", m.Failure)
	}
	a := alice.away(first)
	if a.Tries != 1 || a.NextTry.Sub(a.Since) != time.Minute || !a.Fetched.IsZero() {
		t.Fatalf("after the first no_devices: %+v, want one try, the next a minute later, no fetch", a)
	}
	second := alice.send(bob, "hello?")
	alice.waitState(bob, second, client.StateWaiting)
	if a := alice.away(first); a.Tries != 1 {
		t.Fatalf("a new message before its time asked the relay again: %+v", a)
	}

	// A new connection tries at once.
	alice.restart()
	wait.For(t, "a try on the new connection", func() bool { return alice.away(first).Tries == 2 })
	if a := alice.away(first); a.NextTry.Sub(a.Since) < 2*time.Minute {
		t.Fatalf("after the second no_devices: %+v, want the next try two minutes on", a)
	}

	// Bob signs in again on a new device: a new identity key, which Alice
	// must accept before anything is encrypted to it.
	bob2 := r.newDevice("bob2", bob.address)
	alice.restart()
	alice.waitEvent("the new safety number", func(ev client.Event) bool {
		ic, ok := ev.(client.IdentityChanged)
		return ok && ic.Contact == bob.acct.User
	})
	if m := alice.message(first); m.State != client.StateSending {
		t.Fatalf("once Bob has a device again the message is %v, want sending", m.State)
	}
	if err := alice.c.AcceptIdentity(ctxT(t), bob.acct.User); err != nil {
		t.Fatal(err)
	}
	alice.waitState(bob, first, client.StateDelivered)
	alice.waitState(bob, second, client.StateDelivered)
	got := bob2.messages(alice)
	if len(got) != 2 || got[0].ID != first || got[1].ID != second {
		t.Fatalf("bob's new device has %+v, want the two messages in order", got)
	}
}

// TestWaitingExpires: Carol signed out before Alice first wrote to her,
// so every try needs her bundles: FetchBundles is asked at most once in
// six hours, however often Alice reconnects. After 30 days of waiting
// the message fails, saying why.
func TestWaitingExpires(t *testing.T) {
	r := startRelay(t)
	var clk skewClock
	alice := r.newDeviceWith("alice", "email:alice@example.org", func(c *client.Config) { c.Now = clk.now })
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	carol := r.newDevice("carol", "email:carol@example.org")
	carol.signOut()

	if _, err := alice.c.AddContact(ctxT(t), carol.address); err != nil {
		t.Fatal(err)
	}
	id := alice.send(carol, "hi Carol")
	alice.waitState(carol, id, client.StateWaiting)
	a := alice.away(id)
	if a.Tries != 1 || a.Fetched.IsZero() || a.NextTry.Sub(a.Since) != 6*time.Hour {
		t.Fatalf("after FetchBundles said no_devices: %+v, want one try, fetched, the next six hours later", a)
	}
	// Reconnecting does not ask for her bundles again within six hours. A
	// message to Bob after each reconnection is sent once the outbox has
	// been through the entry to Carol, which comes first.
	for i := range 3 {
		alice.restart()
		sync := alice.send(bob, "sync")
		alice.waitState(bob, sync, client.StateSent)
		if a := alice.away(id); a.Tries != 1 {
			t.Fatalf("reconnection %d asked for Carol's bundles again: %+v", i+1, a)
		}
	}
	clk.advance(6*time.Hour + time.Minute)
	alice.restart()
	wait.For(t, "a second fetch six hours later", func() bool { return alice.away(id).Tries == 2 })

	clk.advance(30 * 24 * time.Hour)
	alice.restart()
	alice.waitState(carol, id, client.StateFailed)
	if m := alice.message(id); m.Failure != wire.CodeNoDevices {
		t.Fatalf("failed with %v, want no_devices", m.Failure)
	}
}

// TestRetry: a message Bob's block refused fails; once he allows Alice
// again, Retry sends that same message, with its ID: it is sending
// again, then delivered, and neither side ever holds it twice.
func TestRetry(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.waitText(alice, "hello from alice")
	if err := bob.c.Block(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}
	id := alice.send(bob, "can we talk?")
	alice.waitState(bob, id, client.StateFailed)
	failed := alice.message(id)
	if err := bob.c.Accept(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}

	m, err := alice.c.Retry(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != id || m.Seq != failed.Seq || m.Attempt != 1 || m.Failure != 0 ||
		(m.State != client.StateSending && m.State != client.StateSent) {
		t.Fatalf("after Retry: %+v, want the same message sending again, attempt 1", m)
	}
	alice.waitState(bob, id, client.StateDelivered)
	// Retrying a message that did not fail changes nothing.
	if again, err := alice.c.Retry(ctxT(t), id); err != nil || again.Attempt != 1 || again.State != client.StateDelivered {
		t.Fatalf("Retry of a delivered message: %+v, %v", again, err)
	}
	count := func(d, peer *device) int {
		n := 0
		for _, m := range d.messages(peer) {
			if m.ID == id {
				n++
			}
		}
		return n
	}
	bob.waitText(alice, "can we talk?")
	if a, b := count(alice, bob), count(bob, alice); a != 1 || b != 1 {
		t.Fatalf("alice holds the message %d times, bob %d; want once each", a, b)
	}
}

// TestReadReceiptsMutual: Bob turns read receipts off. Alice reads what
// he writes, but his client shows it delivered, not read, and shows the
// message she had read before as delivered too, until he turns them on
// again.
func TestReadReceiptsMutual(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	conv := client.DirectConversation(alice.acct.User, bob.acct.User)
	before := bob.send(alice, "read while they were on")
	alice.waitText(bob, "read while they were on")
	if err := alice.c.MarkRead(ctxT(t), conv); err != nil {
		t.Fatal(err)
	}
	bob.waitState(alice, before, client.StateRead)

	if err := bob.c.SetReadReceipts(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
	after := bob.send(alice, "read while they are off")
	alice.waitText(bob, "read while they are off")
	if err := alice.c.MarkRead(ctxT(t), conv); err != nil {
		t.Fatal(err)
	}
	// Alice's read receipt went before this message: once Bob has it, he
	// has the receipt too.
	alice.send(bob, "sync")
	bob.waitText(alice, "sync")
	for _, id := range []wire.MessageID{before, after} {
		if m := bob.message(id); m.State != client.StateDelivered {
			t.Errorf("with read receipts off, Bob's message %q is %v, want delivered", m.Text, m.State)
		}
	}
	page, err := bob.c.History(ctxT(t), conv, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range page {
		if m.State == client.StateRead && m.Outgoing {
			t.Errorf("History shows %q read", m.Text)
		}
	}
	chats, err := bob.c.Chats(ctxT(t))
	if err != nil || len(chats) != 1 || chats[0].Last == nil || chats[0].Last.State == client.StateRead {
		t.Errorf("Chats: %+v, %v", chats, err)
	}

	if err := bob.c.SetReadReceipts(ctxT(t), true); err != nil {
		t.Fatal(err)
	}
	if m := bob.message(before); m.State != client.StateRead {
		t.Errorf("read receipts on again: the message read before is %v, want read", m.State)
	}
	if m := bob.message(after); m.State != client.StateDelivered {
		t.Errorf("read receipts on again: the message read while they were off is %v, want delivered", m.State)
	}
}

// TestRequestReadBeforeAccepting: Bob reads Alice's contact request
// before he accepts it (no receipt may go then); accepting sends the read
// receipt with the delivery receipt, and Alice sees her first message
// read.
func TestRequestReadBeforeAccepting(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	if _, err := alice.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	hello := alice.send(bob, "hello, it's alice")
	bob.waitText(alice, "hello, it's alice")
	if err := bob.c.MarkRead(ctxT(t), client.DirectConversation(alice.acct.User, bob.acct.User)); err != nil {
		t.Fatal(err)
	}
	if err := bob.c.Accept(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}
	alice.waitState(bob, hello, client.StateRead)
}
