//go:build !js

package client_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/ratchet"
	"github.com/mutualcoop/mutual/relay/wire"
)

// rawSend sends s to the relay over a connection of its own,
// authenticated as d's device (whose Run must be stopped).
func rawSend(t *testing.T, d *device, s *wire.Send) {
	t.Helper()
	ctx := ctxT(t)
	conn, err := transport.Dial(ctx, d.r.URL(), transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	user, dev, cred := client.Credentials(d.c)
	if _, err := conn.Auth(ctx, user, dev, cred); err != nil {
		t.Fatal(err)
	}
	if _, err := transport.Call[*wire.Accepted](ctx, conn, s); err != nil {
		t.Fatalf("raw send: %v", err)
	}
}

func cloneSend(s *wire.Send) *wire.Send {
	c := *s
	c.Recipients = nil
	for _, r := range s.Recipients {
		r.Ciphertext = bytes.Clone(r.Ciphertext)
		c.Recipients = append(c.Recipients, r)
	}
	return &c
}

// TestTamperedAndReplayed: the relay (or anyone on the way) alters a
// message or replays an old one; the receiver refuses it with a clear
// event, acknowledges it so that it blocks nothing, and the session goes
// on working: the genuine message decrypts afterwards.
func TestTamperedAndReplayed(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.waitText(alice, "hello from alice")
	hi := bob.send(alice, "hi alice")
	alice.waitText(bob, "hi alice")
	bob.waitState(alice, hi, client.StateDelivered) // Alice's outbox is empty

	// Alice writes with her connection stopped, so that the test holds
	// the exact bytes her client will send.
	alice.stop()
	id := alice.send(bob, "the genuine one")
	sends, err := client.SealOutbox(context.Background(), alice.c)
	if err != nil || len(sends) != 1 || len(sends[0].Recipients) != 1 || sends[0].MessageID != id {
		t.Fatalf("sealed outbox: %+v %v", sends, err)
	}
	genuine := sends[0]
	if genuine.Kind != wire.KindMessage || genuine.Recipients[0].Ciphertext[0] != byte(ratchet.TypeSignal) {
		t.Fatalf("want a SignalMessage in a plain message, got kind %d type %d", genuine.Kind, genuine.Recipients[0].Ciphertext[0])
	}

	// The same message with one bit flipped (in its MAC), under the same
	// message ID, arrives first.
	tampered := cloneSend(genuine)
	ct := tampered.Recipients[0].Ciphertext
	ct[len(ct)-1] ^= 0x01
	rawSend(t, alice, tampered)
	ev := bob.waitEvent("the tampered message refused", func(ev client.Event) bool {
		u, ok := ev.(client.Undecryptable)
		return ok && u.Err.MessageID == id
	}).(client.Undecryptable)
	if !errors.Is(ev.Err, ratchet.ErrAuth) || ev.Err.From != alice.acct.User || ev.Err.Device != alice.acct.Device {
		t.Fatalf("undecryptable: %v", ev.Err)
	}

	// The genuine message, sent by Alice's client when it reconnects,
	// decrypts: the refusal changed nothing in the session.
	alice.start()
	if m := bob.waitText(alice, "the genuine one"); m.ID != id {
		t.Fatalf("genuine message has ID %s, want %s", m.ID, id)
	}
	alice.waitState(bob, id, client.StateDelivered)

	// A replay of those bytes under a new message ID (so not dropped as a
	// redelivery) is refused: its message key is used up.
	alice.stop()
	replay := cloneSend(genuine)
	replay.MessageID = wire.NewMessageID()
	rawSend(t, alice, replay)
	ev = bob.waitEvent("the replay refused", func(ev client.Event) bool {
		u, ok := ev.(client.Undecryptable)
		return ok && u.Err.MessageID == replay.MessageID
	}).(client.Undecryptable)
	if !errors.Is(ev.Err, ratchet.ErrDuplicate) {
		t.Fatalf("replay: %v", ev.Err)
	}
	// Garbage that is not a message at all.
	garbage := cloneSend(genuine)
	garbage.MessageID = wire.NewMessageID()
	garbage.Recipients[0].Ciphertext = []byte{byte(ratchet.TypeSignal), 0x43, 1, 2, 3}
	rawSend(t, alice, garbage)
	bob.waitEvent("the garbage refused", func(ev client.Event) bool {
		u, ok := ev.(client.Undecryptable)
		return ok && u.Err.MessageID == garbage.MessageID && errors.Is(u.Err, ratchet.ErrMalformed)
	})
	alice.start()

	// Both ways still work, and only genuine messages were stored.
	alice.send(bob, "after the attack")
	bob.waitText(alice, "after the attack")
	bob.send(alice, "all good")
	alice.waitText(bob, "all good")
	if n := countText(bob, alice, "the genuine one"); n != 1 {
		t.Fatalf("bob has %d copies of the genuine message", n)
	}
	if n := len(bob.messages(alice)); n != 5 {
		t.Fatalf("bob's conversation has %d messages, want 5: %+v", n, bob.messages(alice))
	}
}
