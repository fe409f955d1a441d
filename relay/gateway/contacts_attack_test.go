package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
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

// TestContactsMustBeUsers: an account cannot fill the directory with
// entries about user IDs nobody has.
func TestContactsMustBeUsers(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) {
		c.Rates.SetContact = limit.PerSecond(1, 1000) // not what is tested
	})
	mallory := h.register(t, "email:mallory@example.org")
	for i := range 200 {
		st := wire.ContactAllowed
		if i%2 == 1 {
			st = wire.ContactBlocked
		}
		got := mallory.call(&wire.SetContact{User: wire.NewUserID(), State: st})
		if code, ok := got.(*wire.Error); !ok || code.Code != wire.CodeNotFound {
			t.Fatalf("contact %d about no one: %#v, want not_found", i, got)
		}
	}
	list, ok := mallory.call(&wire.ListContacts{}).(*wire.Contacts)
	if !ok || len(list.Entries) != 0 {
		t.Fatalf("contacts stored: %#v", list)
	}
}

// TestContactListBounded: an account holds at most MaxContacts entries;
// entries already there can still change, and a removal makes room.
func TestContactListBounded(t *testing.T) {
	const max = 5
	h := newHarness(t, func(c *gateway.Config) { c.MaxContacts = max })
	alice := h.register(t, "email:alice@example.org")
	var others []*device
	for i := range max + 2 {
		others = append(others, h.register(t, fmt.Sprintf("email:user%d@example.org", i)))
	}
	set := func(o *device, st wire.ContactState) wire.Body {
		t.Helper()
		return alice.call(&wire.SetContact{User: o.user, State: st})
	}
	for i, o := range others[:max] {
		if got := set(o, wire.ContactAllowed); !isOK(got) {
			t.Fatalf("contact %d: %#v", i, got)
		}
	}
	for _, st := range []wire.ContactState{wire.ContactAllowed, wire.ContactBlocked} {
		if code := errorCode(t, set(others[max], st)); code != wire.CodeTooLarge {
			t.Fatalf("a contact past the bound (%d): %v, want too_large", st, code)
		}
	}
	if got := set(others[0], wire.ContactBlocked); !isOK(got) {
		t.Fatalf("blocking a contact of a full list: %#v", got)
	}
	if list, ok := alice.call(&wire.ListContacts{}).(*wire.Contacts); !ok || len(list.Entries) != max {
		t.Fatalf("contacts: %#v, want %d", list, max)
	}
	if got := set(others[1], wire.ContactNone); !isOK(got) {
		t.Fatalf("removing a contact: %#v", got)
	}
	if got := set(others[max], wire.ContactBlocked); !isOK(got) {
		t.Fatalf("a contact after a removal: %#v", got)
	}
	if code := errorCode(t, set(others[max+1], wire.ContactAllowed)); code != wire.CodeTooLarge {
		t.Fatalf("full again: %v, want too_large", code)
	}
}
