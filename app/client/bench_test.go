//go:build !js

package client_test

import (
	"fmt"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// BenchmarkMessage measures one text message from Alice's client to
// Bob's through a real relay on loopback, both stores on disk (every
// transaction fsynced): Send, encryption, the relay's Accepted, routing,
// Bob's decryption and storage, his delivery receipt and Alice storing
// it. Up to 64 messages are in flight together, as in a burst a user
// might send; the figure is the time per message until every receipt is
// back.
func BenchmarkMessage(b *testing.B) {
	r := startRelay(b)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(b, alice, bob)
	first := alice.waitText(bob, "hello from alice")
	alice.waitState(bob, first.ID, client.StateDelivered)

	b.ResetTimer()
	var last wire.MessageID
	for i := range b.N {
		last = alice.send(bob, fmt.Sprint("message ", i))
		if (i+1)%64 == 0 {
			alice.waitState(bob, last, client.StateDelivered)
		}
	}
	alice.waitState(bob, last, client.StateDelivered)
	b.StopTimer()
	if got := len(bob.messages(alice)); got != b.N+1 {
		b.Fatalf("bob has %d messages, want %d", got, b.N+1)
	}
}
