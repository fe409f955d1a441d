//go:build !js

package client_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// history pages backwards through d's conversation with peer, size
// messages at a time, and returns the message IDs in order, checking
// that each page is in increasing Seq order below the previous one.
func (d *device) history(peer *device, size int) []wire.MessageID {
	d.t.Helper()
	conv := client.DirectConversation(d.acct.User, peer.acct.User)
	var ids []wire.MessageID
	before := uint64(0)
	for {
		page, err := d.c.History(context.Background(), conv, before, size)
		if err != nil {
			d.t.Fatalf("%s: history before %d: %v", d.name, before, err)
		}
		if len(page) > size {
			d.t.Fatalf("%s: page of %d messages, want at most %d", d.name, len(page), size)
		}
		pageIDs := make([]wire.MessageID, 0, len(page)+len(ids))
		for i, m := range page {
			if m.Conversation != conv || (before > 0 && m.Seq >= before) || (i > 0 && m.Seq <= page[i-1].Seq) {
				d.t.Fatalf("%s: page before %d, message %d: %+v", d.name, before, i, m)
			}
			pageIDs = append(pageIDs, m.ID)
		}
		ids = append(pageIDs, ids...)
		if len(page) < size {
			return ids
		}
		before = page[0].Seq
	}
}

// TestHistory: Alice writes 1,000 messages to Bob. Paging backwards
// through the conversation with History, in pages that do not divide
// it, gives every message once and in order: on Alice's side while the
// messages are being sent (their states change under the pages), and on
// Bob's once they have arrived; it matches Messages.
func TestHistory(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	hello := alice.waitText(bob, "hello from alice")
	alice.waitState(bob, hello.ID, client.StateDelivered)

	const n = 1000
	want := []wire.MessageID{hello.ID}
	for i := range n {
		want = append(want, alice.send(bob, fmt.Sprint("message ", i)))
	}
	for _, size := range []int{64, 333} {
		if got := alice.history(bob, size); !slices.Equal(got, want) {
			t.Fatalf("alice paged through %d messages in pages of %d, want the %d sent, in order", len(got), size, len(want))
		}
	}

	alice.waitState(bob, want[n], client.StateDelivered) // Bob has them all
	for _, size := range []int{64, 1000, 1001} {
		if got := bob.history(alice, size); !slices.Equal(got, want) {
			t.Fatalf("bob paged through %d messages in pages of %d, want the %d sent, in order", len(got), size, len(want))
		}
	}
	all := bob.messages(alice)
	for i, m := range all {
		if m.ID != want[i] || m.Seq != uint64(i+1) {
			t.Fatalf("bob's message %d: %+v", i, m)
		}
	}
	for _, d := range []*device{alice, bob} {
		if err := client.CheckChats(ctxT(t), d.c); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
	}
}
