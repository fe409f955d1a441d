package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/router"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestWake: the router asks to wake the recipients of what it delivers,
// except silent messages, the sender's own devices and what it refuses.
func TestWake(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	type woken struct {
		user wire.UserID
		conv wire.ConversationID
	}
	var got []woken
	r, err := router.New(router.Config{Now: f.clock, AllowCacheTTL: time.Second, Wake: func(u wire.UserID, c wire.ConversationID) {
		got = append(got, woken{u, c})
	}}, f.bus, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob, carol := f.user(t), f.user(t), f.user(t)
	if err := f.dir.SetContact(ctx, bob, alice, directory.Allowed, 100); err != nil {
		t.Fatal(err)
	}
	withConv := func(rec bus.Record, conv wire.ConversationID, silent bool) bus.Record {
		p, err := bus.DecodeParcel(rec.Value)
		if err != nil {
			t.Fatal(err)
		}
		p.Conversation, p.Silent = conv, silent
		rec.Value = bus.AppendParcel(nil, p)
		return rec
	}
	batch := []bus.Record{
		withConv(record(alice, bob, wire.KindMessage, 1, 2), wire.ConversationID{1}, false), // wakes bob once
		withConv(record(alice, bob, wire.KindMessage, 1), wire.ConversationID{2}, true),     // silent
		withConv(record(alice, alice, wire.KindMessage, 2), wire.ConversationID{3}, false),  // alice's own devices
		withConv(record(carol, bob, wire.KindMessage, 1), wire.ConversationID{4}, false),    // refused
	}
	if err := r.Route(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (woken{bob, wire.ConversationID{1}}) {
		t.Fatalf("woken %+v, want bob in conversation 1 only", got)
	}
}
