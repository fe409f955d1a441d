//go:build !js

package client_test

import (
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// startCoopRelay starts a relay that runs a co-op (no payment provider).
func startCoopRelay(t *testing.T) *testRelay {
	t.Helper()
	return startRelayWith(t, func(c *server.Config) {
		c.Coop = &coop.Config{Name: "Mutual Test", Currency: "GBP", Plans: []coop.Plan{{Name: "monthly", Amount: 1000, Currency: "GBP", Interval: "month"}}}
	})
}

// inboxParcels returns the parcels of u's inbox on the relay.
func (r *testRelay) inboxParcels(u wire.UserID) []*bus.Parcel {
	r.t.Helper()
	ctx := ctxT(r.t)
	b := r.Server().Bus()
	oldest, next, err := b.Bounds(ctx, bus.InboxTopic(u), 0)
	if err != nil {
		r.t.Fatal(err)
	}
	sub, err := b.Subscribe(ctx, bus.InboxTopic(u), 0, oldest)
	if err != nil {
		r.t.Fatal(err)
	}
	defer sub.Close()
	var out []*bus.Parcel
	for int64(len(out)) < next-oldest {
		recs, err := sub.Next(ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, rec := range recs {
			p, err := bus.DecodeParcel(rec.Value)
			if err != nil {
				r.t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

// appendParcel writes p straight into u's inbox, as no client can.
func (r *testRelay) appendParcel(u wire.UserID, p *bus.Parcel) {
	r.t.Helper()
	if err := r.Server().Bus().Append(ctxT(r.t), bus.Message{Topic: bus.InboxTopic(u), Value: bus.AppendParcel(nil, p)}); err != nil {
		r.t.Fatal(err)
	}
}

// coopNotices returns the notices d holds, oldest first.
func (d *device) coopNotices() []client.Message {
	d.t.Helper()
	ms, err := d.c.Messages(ctxT(d.t), wire.CoopConversation)
	if err != nil {
		d.t.Fatal(err)
	}
	return ms
}

// waitNotice waits until d holds the notice id.
func (d *device) waitNotice(id wire.MessageID) {
	d.t.Helper()
	d.eventually("co-op notice "+id.String(), func() bool {
		for _, m := range d.coopNotices() {
			if m.ID == id {
				return true
			}
		}
		return false
	})
}

// TestCoopNotices: a notice the co-op writes reaches every device of the
// account once, even written twice, and shows in the chat list as the
// co-op's conversation; notices not signed by the relay's co-op for this
// account, or not from it, are dropped, counted and never shown.
func TestCoopNotices(t *testing.T) {
	r := startCoopRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	alice2 := r.newDevice("alice2", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	svc := r.Server().Coop()
	ctx := ctxT(t)
	me := alice.acct.User

	dues := &wire.CoopNotice{
		ID: coop.NoticeID(wire.NoticeDues, me, "in_1"), Kind: wire.NoticeDues,
		Text: "Your £10.00 this month supports about 30 people on Mutual", Amount: 1000, Currency: "GBP", Supports: 30, Month: "2026-12",
	}
	for range 2 { // a retry after a crash writes it again
		if err := svc.Notify(ctx, me, dues); err != nil {
			t.Fatal(err)
		}
	}

	// Forgeries, each appended straight to Alice's inbox.
	var genuine *bus.Parcel
	for _, p := range r.inboxParcels(me) {
		if p.Kind == wire.KindCoop {
			genuine = p
		}
	}
	if genuine == nil {
		t.Fatal("no co-op notice in the inbox")
	}
	// Signed with another key.
	_, other, _ := ed25519.GenerateKey(nil)
	fake := &wire.CoopNotice{ID: wire.NewMessageID(), Kind: wire.NoticeDues, Text: "Pay us at evil.example"}
	body := wire.AppendCoopNotice(nil, fake)
	r.appendParcel(me, &bus.Parcel{MessageID: fake.ID, Conversation: wire.CoopConversation, Kind: wire.KindCoop,
		Shared: wire.AppendSignedCoopNotice(nil, body, ed25519.Sign(other, wire.CoopSignedMessage(me, body)))})
	// Bob's genuine notice, replayed into Alice's inbox.
	bobs := &wire.CoopNotice{ID: coop.NoticeID(wire.NoticeDegrees, bob.acct.User, "2026"), Kind: wire.NoticeDegrees, Text: "Bob's notice", Distance: 2, Year: 2026}
	if err := svc.Notify(ctx, bob.acct.User, bobs); err != nil {
		t.Fatal(err)
	}
	bob.waitNotice(bobs.ID)
	for _, p := range r.inboxParcels(bob.acct.User) {
		if p.Kind == wire.KindCoop && p.MessageID == bobs.ID {
			r.appendParcel(me, p)
		}
	}
	// Alice's own notice, as if a user had sent it, or in a chat.
	fromUser := *genuine
	fromUser.Sender, fromUser.SenderDevice = bob.acct.User, 1
	r.appendParcel(me, &fromUser)
	elsewhere := *genuine
	elsewhere.Conversation = client.DirectConversation(me, bob.acct.User)
	r.appendParcel(me, &elsewhere)

	// A genuine notice after them: once it is stored, they were seen.
	lapsed := &wire.CoopNotice{ID: coop.NoticeID(wire.NoticeMembership, me, "lapsed"), Kind: wire.NoticeMembership, Text: "Your membership lapsed", Status: wire.MemberLapsed}
	if err := svc.Notify(ctx, me, lapsed); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*device{alice, alice2} {
		// Events come in order: once the last notice's has come, so
		// has every one before it.
		d.waitEvent("the last notice", func(ev client.Event) bool {
			mr, ok := ev.(client.MessageReceived)
			return ok && mr.Message.ID == lapsed.ID
		})
		got := d.coopNotices()
		if len(got) != 2 || got[0].ID != dues.ID || got[1].ID != lapsed.ID {
			t.Fatalf("%s holds %d notices: %+v", d.name, len(got), got)
		}
		m := got[0]
		if m.Text != dues.Text || m.Coop == nil || m.Coop.Supports != 30 || m.State != client.StateReceived || m.Outgoing || !m.Peer.IsZero() {
			t.Fatalf("%s: the dues notice is %+v", d.name, m)
		}
		n, err := d.c.CoopNoticesDropped(ctx)
		if err != nil || n != 4 {
			t.Fatalf("%s dropped %d notices (%v), want 4", d.name, n, err)
		}
		received := 0
		d.mu.Lock()
		for _, ev := range d.events {
			if mr, ok := ev.(client.MessageReceived); ok && mr.Message.Coop != nil && mr.Message.ID == dues.ID {
				received++
			}
		}
		d.mu.Unlock()
		if received != 1 {
			t.Fatalf("%s: %d MessageReceived events of the dues notice, want 1", d.name, received)
		}

		chats, err := d.c.Chats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ch *client.Chat
		for i := range chats {
			if chats[i].Coop {
				ch = &chats[i]
			}
		}
		if ch == nil || ch.Contact.Name() != client.CoopChatName || ch.Contact.Conversation != wire.CoopConversation || ch.Unread != 2 || ch.Last == nil || ch.Last.ID != lapsed.ID {
			t.Fatalf("%s: the co-op's chat is %+v", d.name, ch)
		}
	}
	if err := alice.c.MarkRead(ctx, wire.CoopConversation); err != nil {
		t.Fatal(err)
	}
	if chats, _ := alice.c.Chats(ctx); len(chats) != 1 || chats[0].Unread != 0 {
		t.Fatalf("after reading: %+v", chats)
	}

	// No one writes to the co-op's conversation.
	if _, err := alice.c.Send(ctx, wire.UserID{}, "hello co-op"); !errors.Is(err, client.ErrCoopConversation) {
		t.Fatalf("send to the co-op: %v", err)
	}
	if _, err := alice.c.SendGroup(ctx, wire.CoopConversation, "hello co-op"); !errors.Is(err, client.ErrCoopConversation) {
		t.Fatalf("send to the co-op as a group: %v", err)
	}
}

// TestCoopKeyPinned: a device keeps the first co-op key it was told: a
// key offered later is not taken, and the relay's notices still show.
// (Every Welcome offers the relay's key: a device that took the latest
// would take a forger's key from a Welcome of theirs.)
func TestCoopKeyPinned(t *testing.T) {
	r := startCoopRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org") // pins the relay's key
	ctx := ctxT(t)
	other, _, _ := ed25519.GenerateKey(nil)
	if err := client.PinCoopKey(ctx, alice.c, other); err != nil {
		t.Fatal(err)
	}
	n := &wire.CoopNotice{ID: coop.NoticeID(wire.NoticeMembership, alice.acct.User, "x"), Kind: wire.NoticeMembership, Text: "Welcome", Status: wire.MemberActive}
	if err := r.Server().Coop().Notify(ctx, alice.acct.User, n); err != nil {
		t.Fatal(err)
	}
	alice.waitNotice(n.ID)
	if dropped, _ := alice.c.CoopNoticesDropped(ctx); dropped != 0 {
		t.Fatalf("%d dropped", dropped)
	}
}

// TestCoopInfo: the co-op's figures and this account's standing, as the
// relay's co-op answers them, and what an operator may do.
func TestCoopInfo(t *testing.T) {
	r := startCoopRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	ctx := ctxT(t)
	month := time.Now().UTC().Format("2006-01")

	var info client.CoopInfo
	alice.eventually("both sign-ins counted", func() bool {
		var err error
		info, err = alice.c.Coop(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.Current().ActiveUsers == 2
	})
	if info.Name != "Mutual Test" || info.Currency != "GBP" || info.Member() || len(info.Roles) != 0 ||
		info.Current().Month != month || len(info.Plans) != 1 || info.Plans[0].Amount != 1000 {
		t.Fatalf("info: %+v", info)
	}

	// Only operators enter costs and grant roles.
	var we *wire.Error
	if _, err := alice.c.SetCost(ctx, month, "infrastructure", 12_000, "servers"); !errors.As(err, &we) || we.Code != wire.CodeForbidden {
		t.Fatalf("a cost set by a member: %v", err)
	}
	if err := alice.c.Grant(ctx, wire.RoleContributor, bob.address, false); !errors.As(err, &we) || we.Code != wire.CodeForbidden {
		t.Fatalf("a grant by a member: %v", err)
	}
	// The first operator is made on the server.
	dir, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(r.Dir(), "mutual.db")})
	if err != nil {
		t.Fatal(err)
	}
	err = dir.SetRole(ctx, coop.RoleGrant{User: alice.acct.User, Role: wire.RoleOperator, Granted: time.Now()}, true)
	dir.Close()
	if err != nil {
		t.Fatal(err)
	}
	info, err = alice.c.SetCost(ctx, month, "infrastructure", 12_000, "servers")
	if err != nil {
		t.Fatal(err)
	}
	cur := info.Current()
	if !info.HasRole(wire.RoleOperator) || len(cur.Costs) != 1 || cur.TotalCosts() != 12_000 || cur.CostPerUser() != 6000 || cur.Coverage() != 0 {
		t.Fatalf("after the cost: %+v", info)
	}
	if err := alice.c.Grant(ctx, wire.RoleContributor, bob.address, false); err != nil {
		t.Fatal(err)
	}
	bobs, err := bob.c.Coop(ctx)
	if err != nil || !bobs.HasRole(wire.RoleContributor) || bobs.Current().TotalCosts() != 12_000 {
		t.Fatalf("bob's: %+v, %v", bobs, err)
	}
	if info, err = bob.c.SetCoopNotices(ctx, false); err != nil || !info.NoticesOff {
		t.Fatalf("notices off: %+v, %v", info, err)
	}
	if _, err := bob.c.Join(ctx, "stripe", "monthly"); !errors.As(err, &we) {
		t.Fatalf("joining through a provider the relay lacks: %v", err)
	}
	if _, err := bob.c.CancelMembership(ctx); !errors.As(err, &we) || we.Code != wire.CodeNotFound {
		t.Fatalf("cancelling no membership: %v", err)
	}
}
