//go:build !js

package client_test

import (
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
)

// chatWant is what one line of the chat list should show.
type chatWant struct {
	peer   *device
	state  client.ContactState
	last   string // the newest message's text; "" for none
	out    bool   // whether it is outgoing
	unread int
}

// checkChats compares d's chat list with want, in order, and the stored
// summaries with the messages.
func (d *device) checkChats(want ...chatWant) {
	d.t.Helper()
	chats, err := d.c.Chats(ctxT(d.t))
	if err != nil {
		d.t.Fatalf("%s: chats: %v", d.name, err)
	}
	if err := client.CheckChats(ctxT(d.t), d.c); err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
	if len(chats) != len(want) {
		d.t.Fatalf("%s: %d chats, want %d: %+v", d.name, len(chats), len(want), chats)
	}
	for i, w := range want {
		ch := chats[i]
		ok := ch.Contact.User == w.peer.acct.User && ch.Contact.State == w.state && ch.Unread == w.unread
		if w.last == "" {
			ok = ok && ch.Last == nil
		} else {
			ok = ok && ch.Last != nil && ch.Last.Text == w.last && ch.Last.Outgoing == w.out &&
				ch.Last.Conversation == ch.Contact.Conversation && ch.Activity.Equal(activity(ch.Last))
		}
		if !ok {
			last := "none"
			if ch.Last != nil {
				last = ch.Last.Text
			}
			d.t.Fatalf("%s: chat %d is with %s (%s), last %q, %d unread; want %s (%s), last %q, %d unread",
				d.name, i, ch.Contact.User, ch.Contact.State, last, ch.Unread, w.peer.name, w.state, w.last, w.unread)
		}
	}
}

// activity is when the chat list says m happened.
func activity(m *client.Message) time.Time {
	if !m.ServerTime.IsZero() {
		return m.ServerTime
	}
	return m.SentAt
}

// TestChats: the chat list follows what happens, newest activity first,
// with the newest message as preview and the unread count: messages
// received and sent, reads of some and all, a pending request, a block,
// a message waiting for an answer, receipts, and restarts.
func TestChats(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	dave := r.newDevice("dave", "email:dave@example.org")
	alice.checkChats()

	befriend(t, alice, bob)
	first := bob.waitText(alice, "hello from alice")
	bob.checkChats(chatWant{alice, client.ContactAllowed, "hello from alice", false, 1})
	befriend(t, alice, carol)
	hc := carol.waitText(alice, "hello from alice")
	alice.waitState(carol, hc.ID, client.StateDelivered)
	alice.checkChats(
		chatWant{carol, client.ContactAllowed, "hello from alice", true, 0},
		chatWant{bob, client.ContactAllowed, "hello from alice", true, 0},
	)

	hi := bob.send(alice, "hi alice")
	alice.waitText(bob, "hi alice")
	alice.checkChats(
		chatWant{bob, client.ContactAllowed, "hi alice", false, 1},
		chatWant{carol, client.ContactAllowed, "hello from alice", true, 0},
	)
	one := carol.send(alice, "one")
	carol.send(alice, "two")
	alice.waitText(carol, "two")
	alice.checkChats(
		chatWant{carol, client.ContactAllowed, "two", false, 2},
		chatWant{bob, client.ContactAllowed, "hi alice", false, 1},
	)

	// Reading some, then all.
	carolConv := client.DirectConversation(alice.acct.User, carol.acct.User)
	if err := alice.c.MarkRead(ctxT(t), carolConv, one); err != nil {
		t.Fatal(err)
	}
	alice.checkChats(
		chatWant{carol, client.ContactAllowed, "two", false, 1},
		chatWant{bob, client.ContactAllowed, "hi alice", false, 1},
	)
	carol.waitState(alice, one, client.StateRead)
	if err := alice.c.MarkRead(ctxT(t), carolConv); err != nil {
		t.Fatal(err)
	}
	alice.checkChats(
		chatWant{carol, client.ContactAllowed, "two", false, 0},
		chatWant{bob, client.ContactAllowed, "hi alice", false, 1},
	)

	// A reply moves Bob up; its receipts show in the preview.
	reply := alice.send(bob, "reply")
	alice.checkChats(
		chatWant{bob, client.ContactAllowed, "reply", true, 1},
		chatWant{carol, client.ContactAllowed, "two", false, 0},
	)
	bob.waitText(alice, "reply")
	alice.waitState(bob, reply, client.StateDelivered)
	if chats, _ := alice.c.Chats(ctxT(t)); chats[0].Last.State != client.StateDelivered || chats[0].Last.ID != reply {
		t.Fatalf("the preview of the reply: %+v", chats[0].Last)
	}
	if err := bob.c.MarkRead(ctxT(t), first.Conversation); err != nil {
		t.Fatal(err)
	}
	bob.checkChats(chatWant{alice, client.ContactAllowed, "reply", false, 0})
	alice.waitState(bob, reply, client.StateRead)
	if chats, _ := alice.c.Chats(ctxT(t)); chats[0].Last.State != client.StateRead {
		t.Fatalf("the preview of the read reply: %+v", chats[0].Last)
	}
	bob.waitState(alice, hi, client.StateDelivered)

	// A pending request is listed first, with its message unread.
	if _, err := dave.c.AddContact(ctxT(t), alice.address); err != nil {
		t.Fatal(err)
	}
	dave.send(alice, "remember me?")
	alice.waitText(dave, "remember me?")
	alice.checkChats(
		chatWant{dave, client.ContactRequest, "remember me?", false, 1},
		chatWant{bob, client.ContactAllowed, "reply", true, 1},
		chatWant{carol, client.ContactAllowed, "two", false, 0},
	)

	// Everything survives a restart.
	alice.restart()
	alice.checkChats(
		chatWant{dave, client.ContactRequest, "remember me?", false, 1},
		chatWant{bob, client.ContactAllowed, "reply", true, 1},
		chatWant{carol, client.ContactAllowed, "two", false, 0},
	)
	if err := alice.c.MarkRead(ctxT(t), client.DirectConversation(alice.acct.User, bob.acct.User)); err != nil {
		t.Fatal(err)
	}

	// Blocking takes the request off the list; the blocked sender is not
	// told: their next message waits for an answer, and their own list
	// shows it (TestRequestRefused has a refused one).
	if err := alice.c.Block(ctxT(t), dave.acct.User); err != nil {
		t.Fatal(err)
	}
	alice.checkChats(
		chatWant{bob, client.ContactAllowed, "reply", true, 0},
		chatWant{carol, client.ContactAllowed, "two", false, 0},
	)
	waiting := dave.send(alice, "hello??")
	dave.checkChats(chatWant{alice, client.ContactAllowed, "hello??", true, 0})
	dave.eventually("dave's chat awaiting alice's answer", func() bool {
		chats, err := dave.c.Chats(ctxT(t))
		return err == nil && len(chats) == 1 && chats[0].Contact.AwaitingAcceptance()
	})
	if chats, _ := dave.c.Chats(ctxT(t)); chats[0].Last.ID != waiting || chats[0].Last.State != client.StateSending {
		t.Fatalf("dave's preview: %+v", chats[0].Last)
	}

	alice.restart()
	alice.checkChats(
		chatWant{bob, client.ContactAllowed, "reply", true, 0},
		chatWant{carol, client.ContactAllowed, "two", false, 0},
	)
	bob.restart()
	bob.checkChats(chatWant{alice, client.ContactAllowed, "reply", false, 0})
}
