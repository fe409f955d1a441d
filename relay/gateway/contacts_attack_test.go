package gateway_test

import (
	"context"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestBlockIsNotVisible: a contact request to someone who blocked the
// sender looks, to the sender, exactly like one delivered to someone who
// has not answered: accepted, then nothing; and a second one the same day
// is refused as rate_limited for both alike.
func TestBlockIsNotVisible(t *testing.T) {
	h := newHarness(t, nil)
	mallory := h.register(t, "email:mallory@example.org")
	bob := h.register(t, "email:bob@example.org")     // has not decided about Mallory
	carol := h.register(t, "email:carol@example.org") // has blocked her
	if got := carol.call(&wire.SetContact{User: mallory.user, State: wire.ContactBlocked}); !isOK(got) {
		t.Fatalf("block: %#v", got)
	}
	// Two requests to each, the one to the blocker first each time: what
	// the router makes of a request is in Mallory's inbox before what it
	// makes of the next.
	for range 2 {
		mallory.mustSend(wire.KindRequest, to(carol))
		mallory.mustSend(wire.KindRequest, to(bob))
	}
	var seen []*wire.Deliver
	for {
		d := mallory.deliver()
		seen = append(seen, d)
		if d.Envelope.Subject == bob.user && d.Envelope.Code == wire.CodeRateLimited {
			break
		}
	}
	if len(seen) != 2 {
		for _, d := range seen {
			t.Logf("Mallory got kind %d, code %d about %v", d.Envelope.Kind, d.Envelope.Code, d.Envelope.Subject)
		}
		t.Fatalf("Mallory got %d records, want 2: the block shows", len(seen))
	}
	if e := seen[0].Envelope; e.Kind != wire.KindRejected || e.Code != wire.CodeRateLimited || e.Subject != carol.user {
		t.Fatalf("Mallory's second request to the blocker: kind %d, code %d about %v; want rate_limited as for anyone", e.Kind, e.Code, e.Subject)
	}
	// Bob got the first request; Carol got nothing.
	h.waitInbox(bob.user, 1)
	if d := bob.deliver(); d.Envelope.Sender != mallory.user || d.Envelope.Kind != wire.KindRequest {
		t.Fatalf("bob got %+v", d.Envelope)
	}
	if _, next, err := h.bus.Bounds(context.Background(), bus.InboxTopic(carol.user), 0); err != nil || next != 0 {
		t.Fatalf("the blocker's inbox holds %d records (%v), want none", next, err)
	}
	mallory.quiet()
}
