//go:build !js

package client_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// waitSent waits until the relay has d's message id (Sent, or further
// on: Delivered, Read).
func (d *device) waitSent(id wire.MessageID) {
	d.t.Helper()
	d.eventually(fmt.Sprintf("message %s sent", id), func() bool {
		m, err := d.c.Message(ctxT(d.t), d.acct.User, id)
		return err == nil && (m.State == client.StateSent || m.State == client.StateDelivered || m.State == client.StateRead)
	})
}

// checkHeld checks that d holds ids to peer back: d sends a message to
// other (a contact who accepted d) and waits until the relay has it.
// The outbox goes in order, so that flush went past ids after the last
// request to peer was accepted; had it sent them, they would be Sent by
// now.
func (d *device) checkHeld(peer, other *device, ids []wire.MessageID, marker string) {
	d.t.Helper()
	d.waitSent(d.send(other, marker))
	for i, id := range ids {
		m, err := d.c.Message(ctxT(d.t), d.acct.User, id)
		if err != nil || m.State != client.StateSending {
			d.t.Fatalf("%s: message %d to %s is %v (%v), want it waiting", d.name, i, peer.name, m.State, err)
		}
	}
	if ct := d.contact(peer); !ct.AwaitingAcceptance() {
		d.t.Fatalf("%s: contact %s not awaiting acceptance: %+v", d.name, peer.name, ct)
	}
}

// failures lists the messages d has reported failed.
func (d *device) failures() []client.Message {
	d.drain()
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []client.Message
	for _, ev := range d.events {
		if sc, ok := ev.(client.MessageStateChanged); ok && sc.Message.State == client.StateFailed {
			out = append(out, sc.Message)
		}
	}
	return out
}

// incoming lists the texts d received from peer, in conversation order.
func (d *device) incoming(peer *device) []string {
	var out []string
	for _, m := range d.messages(peer) {
		if !m.Outgoing {
			out = append(out, m.Text)
		}
	}
	return out
}

// rejected reads how many messages the relay's router refused for a
// recipient with code, from /metrics.
func (r *testRelay) rejected(code wire.Code) int {
	r.t.Helper()
	resp, err := http.Get(r.MetricsURL())
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	prefix := fmt.Sprintf("mutual_router_rejected_total{reason=%q} ", code.String())
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			if _, err := fmt.Sscan(v, &n); err != nil {
				r.t.Fatalf("metric %q: %v", sc.Text(), err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		r.t.Fatal(err)
	}
	return n
}

// TestWaitForAcceptance: messages written to a new contact before they
// accept wait on the sender's device after the first (the contact
// request) and go, in order and once each, when the contact writes back;
// the wait survives a restart of the sender, and nothing fails.
func TestWaitForAcceptance(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	befriend(t, alice, carol)

	if _, err := alice.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	texts := []string{"Hi", "It's Alice from work", "Do you have a minute?"}
	var ids []wire.MessageID
	for _, text := range texts {
		ids = append(ids, alice.send(bob, text))
	}
	alice.waitSent(ids[0])
	bob.waitEvent("alice's request", func(ev client.Event) bool {
		rr, ok := ev.(client.RequestReceived)
		return ok && rr.Contact.User == alice.acct.User
	})
	alice.checkHeld(bob, carol, ids[1:], "marker 1")
	chats, err := alice.c.Chats(ctxT(t))
	if err != nil || len(chats) != 2 {
		t.Fatalf("alice's chat list: %+v %v", chats, err)
	}
	for _, ch := range chats {
		if ch.Contact.AwaitingAcceptance() != (ch.Contact.User == bob.acct.User) {
			t.Fatalf("alice's chat list while bob has not answered: %+v", chats)
		}
	}

	// The wait survives a restart of the sender.
	alice.restart()
	alice.checkHeld(bob, carol, ids[1:], "marker 2")
	if got := bob.incoming(alice); len(got) != 1 || got[0] != texts[0] {
		t.Fatalf("bob has %q from alice before accepting, want only the request", got)
	}

	// Bob accepts and writes back: the rest goes.
	if err := bob.c.Accept(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}
	bob.send(alice, "Hi Alice!")
	alice.waitText(bob, "Hi Alice!")
	for _, id := range ids {
		alice.waitState(bob, id, client.StateDelivered)
	}
	if ct := alice.contact(bob); !ct.Accepted || ct.AwaitingAcceptance() || !ct.RequestSent.IsZero() {
		t.Fatalf("alice's contact bob after his answer: %+v", ct)
	}

	// In order and once each, on both sides, also after restarts.
	alice.restart()
	bob.restart()
	if got := bob.incoming(alice); strings.Join(got, "|") != strings.Join(texts, "|") {
		t.Fatalf("bob has %q from alice, want %q", got, texts)
	}
	for _, text := range texts {
		if n := countText(alice, bob, text); n != 1 {
			t.Errorf("alice has %d copies of %q", n, text)
		}
	}
	if f := alice.failures(); len(f) != 0 {
		t.Errorf("failed messages: %+v", f)
	}
	if n := r.rejected(wire.CodeRateLimited); n != 0 {
		t.Errorf("the relay refused %d requests over its limit", n)
	}
}

// TestRequestToBlockerLooksUnanswered: to its sender, a request to
// someone who blocked them looks like one not answered yet, exactly as
// for someone who has not decided: sent, with the messages after it
// waiting, and nothing failed. The blocker receives nothing.
func TestRequestToBlockerLooksUnanswered(t *testing.T) {
	r := startRelay(t)
	bob := r.newDevice("bob", "email:bob@example.org")       // blocks Eve
	carol := r.newDevice("carol", "email:carol@example.org") // has not decided
	dave := r.newDevice("dave", "email:dave@example.org")    // Eve's friend
	eve := r.newDevice("eve", "email:eve@example.org")
	befriend(t, eve, dave)
	if err := bob.c.Block(ctxT(t), eve.acct.User); err != nil {
		t.Fatal(err)
	}
	for _, to := range []*device{bob, carol} {
		if _, err := eve.c.AddContact(ctxT(t), to.address); err != nil {
			t.Fatal(err)
		}
		var ids []wire.MessageID
		for i := range 3 {
			ids = append(ids, eve.send(to, fmt.Sprint("hello ", i)))
		}
		eve.waitSent(ids[0])
		eve.checkHeld(to, dave, ids[1:], "marker for "+to.name)
	}
	carol.waitEvent("eve's request", func(ev client.Event) bool {
		rr, ok := ev.(client.RequestReceived)
		return ok && rr.Contact.User == eve.acct.User
	})
	// Both look the same to Eve.
	cb, cc := eve.contact(bob), eve.contact(carol)
	if cb.Accepted != cc.Accepted || cb.AwaitingAcceptance() != cc.AwaitingAcceptance() || cb.State != cc.State {
		t.Fatalf("eve's contact bob %+v differs from her contact carol %+v", cb, cc)
	}
	if f := eve.failures(); len(f) != 0 {
		t.Fatalf("failed messages: %+v", f)
	}
	// Her request to Bob was routed before the one to Carol, which came.
	if got := bob.incoming(eve); len(got) != 0 {
		t.Fatalf("bob received %q from a user he blocked", got)
	}
}

// TestRequestWindow: once the relay's request window (a day) has passed
// without an answer, the message that waited goes as a new request, and
// the next one waits again.
func TestRequestWindow(t *testing.T) {
	var skew atomic.Int64 // how far the relay's and alice's clocks are ahead
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	r := startRelayWith(t, func(c *server.Config) { c.Gateway.Now, c.Router.Now = now, now })
	alice := r.newDeviceWith("alice", "email:alice@example.org", func(c *client.Config) { c.Now = now })
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	befriend(t, alice, carol)

	if _, err := alice.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	first := alice.send(bob, "first")
	alice.waitSent(first)
	bob.waitText(alice, "first")
	second := alice.send(bob, "second")
	alice.checkHeld(bob, carol, []wire.MessageID{second}, "marker 1")
	sentFirst := alice.contact(bob).RequestSent

	skew.Store(int64(25 * time.Hour))
	third := alice.send(bob, "third") // wakes the worker
	alice.waitSent(second)
	bob.waitText(alice, "second")
	alice.checkHeld(bob, carol, []wire.MessageID{third}, "marker 2")
	if ct := alice.contact(bob); !ct.RequestSent.After(sentFirst.Add(24 * time.Hour)) {
		t.Fatalf("the second request is noted at %v, the first at %v", ct.RequestSent, sentFirst)
	}

	if err := bob.c.Accept(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}
	alice.waitState(bob, third, client.StateDelivered)
	if got := bob.incoming(alice); strings.Join(got, "|") != "first|second|third" {
		t.Fatalf("bob has %q from alice", got)
	}
	if f := alice.failures(); len(f) != 0 {
		t.Errorf("failed messages: %+v", f)
	}
	if n := r.rejected(wire.CodeRateLimited); n != 0 {
		t.Errorf("the relay refused %d requests over its limit", n)
	}
}

// TestRequestFromOtherDevice: a request sent by one device of an account
// makes its other devices wait for the answer too.
func TestRequestFromOtherDevice(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	befriend(t, alice, carol)
	alice2 := r.newDevice("alice2", alice.address)
	// A new device knows the account's contacts from the relay, not
	// whether they have written: its first message goes as a request,
	// which carol's delivery receipt answers.
	alice2.eventually("carol among alice2's contacts", func() bool {
		_, err := alice2.c.Contact(ctxT(t), carol.acct.User)
		return err == nil
	})
	alice2.send(carol, "from the second device")
	carol.waitText(alice, "from the second device")
	// alice2 is a new device of an account carol knows: her answer
	// waits until she accepts it.
	carol.eventually("alice's new device", func() bool { return carol.contact(alice).IdentityChanged })
	if err := carol.c.AcceptIdentity(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}
	alice2.waitAccepted(carol)

	if _, err := alice.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	hi := alice.send(bob, "Hi")
	alice.waitSent(hi)
	alice2.eventually("the copy of alice's request", func() bool {
		ct, err := alice2.c.Contact(ctxT(t), bob.acct.User)
		return err == nil && ct.AwaitingAcceptance()
	})
	later := alice2.send(bob, "sent from the other device")
	alice2.checkHeld(bob, carol, []wire.MessageID{later}, "marker")

	if err := bob.c.Accept(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}
	alice2.waitState(bob, later, client.StateDelivered)
	if got := bob.incoming(alice); strings.Join(got, "|") != "Hi|sent from the other device" {
		t.Fatalf("bob has %q from alice", got)
	}
	if f := alice2.failures(); len(f) != 0 {
		t.Errorf("failed messages: %+v", f)
	}
	if n := r.rejected(wire.CodeRateLimited); n != 0 {
		t.Errorf("the relay refused %d requests over its limit", n)
	}
}
