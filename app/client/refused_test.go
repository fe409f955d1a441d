//go:build !js

package client_test

import (
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestMessageRefusedAtOnce: the relay refuses a message to a contact who
// no longer accepts this account before storing it; the client handles
// that answer as it does the router's refusal: the message fails with
// not_accepted and the contact is no longer taken as accepting, so that
// what is written next goes as a contact request.
func TestMessageRefusedAtOnce(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	if err := bob.c.Block(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}
	id := alice.send(bob, "still there?")
	alice.waitState(bob, id, client.StateFailed)
	if m, _ := alice.c.Message(ctxT(t), alice.acct.User, id); m.Failure != wire.CodeNotAccepted {
		t.Fatalf("the message failed with %v, want not_accepted", m.Failure)
	}
	if ct := alice.contact(bob); ct.Accepted {
		t.Fatalf("alice's contact bob after the refusal: %+v", ct)
	}
	if got := bob.incoming(alice); len(got) != 1 {
		t.Fatalf("bob has %q from alice, want only her first message", got)
	}
}
