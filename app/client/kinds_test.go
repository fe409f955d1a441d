//go:build !js

package client_test

import (
	"context"
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestUnknownContentKind: a content of a kind this build does not know
// (a later client's) is dropped harmlessly: it is marked seen (so a
// redelivery is dropped too) and acknowledged, stores nothing, emits
// nothing, and the session goes on: the next message arrives.
func TestUnknownContentKind(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.waitText(alice, "hello from alice")
	before := bob.messages(alice)

	alice.stop()
	id := forge(t, alice, bob, func(ctx context.Context, bundles []wire.Bundle) (*wire.Send, error) {
		return client.SealContent(ctx, alice.c, bob.acct.User, 99, "from a later version", wire.KindMessage, bundles)
	})
	alice.start()
	alice.send(bob, "after it")
	bob.waitText(alice, "after it")

	seen, err := client.Seen(ctxT(t), bob.c, alice.acct.User, id)
	if err != nil || !seen {
		t.Fatalf("the unknown content is not marked seen: %v %v", seen, err)
	}
	got := bob.messages(alice)
	if len(got) != len(before)+1 || got[len(got)-1].Text != "after it" ||
		slices.ContainsFunc(got, func(m client.Message) bool { return m.ID == id }) {
		t.Fatalf("bob's messages: %+v", got)
	}
	bob.drain()
	bob.mu.Lock()
	defer bob.mu.Unlock()
	for _, ev := range bob.events {
		if u, ok := ev.(client.Undecryptable); ok {
			t.Errorf("undecryptable: %v", u.Err)
		}
		if m, ok := ev.(client.MessageReceived); ok && m.Message.ID == id {
			t.Errorf("the unknown content was reported: %+v", m)
		}
	}
}
