package router_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/router"
	"github.com/mutualcoop/mutual/relay/wire"
)

var groupLimits = directory.GroupLimits{Members: wire.MaxGroupMembers, Lists: 1000}

// adminSecret is the admins' secret of every group these tests create.
var adminSecret = bytes.Repeat([]byte{1}, 32)

// newGroup has creator create a group with invited users on its list, and
// those of them in joiners join it.
func (f *fixture) newGroup(tb testing.TB, creator wire.UserID, invited []wire.UserID, joiners ...wire.UserID) wire.ConversationID {
	tb.Helper()
	ctx := context.Background()
	g := wire.ConversationID(wire.NewMessageID())
	admin := sha256.Sum256(adminSecret)
	c := directory.GroupChange{Group: g, Op: wire.GroupCreate, Actor: creator, Users: invited, Hashes: directory.GroupHashes{Admin: admin[:], Add: admin[:]}}
	if err := f.dir.ChangeGroup(ctx, c, groupLimits); err != nil {
		tb.Fatal(err)
	}
	for _, u := range joiners {
		if err := f.dir.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupJoin, Actor: u}, groupLimits); err != nil {
			tb.Fatal(err)
		}
	}
	return g
}

// groupRecord is a group message from one device of from: the shared
// ciphertext, and one entry per device of each recipient user; the first
// device of each user also gets a part of its own.
func groupRecord(g wire.ConversationID, from wire.UserID, to map[wire.UserID][]wire.DeviceID, order ...wire.UserID) bus.Record {
	rec := bus.Parcel{MessageID: wire.NewMessageID(), Conversation: g, Sender: from, SenderDevice: 1, Kind: wire.KindGroup, Shared: []byte("shared ciphertext")}
	for _, u := range order {
		for i, d := range to[u] {
			r := wire.Recipient{User: u, Device: d}
			if i == 0 {
				r.Ciphertext = []byte(fmt.Sprint("own part for ", d))
			}
			rec.Recipients = append(rec.Recipients, r)
		}
	}
	return bus.Record{Topic: bus.InTopic, Value: bus.AppendParcel(nil, &rec)}
}

// fanouts records the router's group metrics.
type fanouts struct {
	mu      sync.Mutex
	users   []int
	dropped int
}

func (m *fanouts) metrics() router.Metrics {
	return router.Metrics{
		GroupFanout: func(n int) {
			m.mu.Lock()
			m.users = append(m.users, n)
			m.mu.Unlock()
		},
		GroupDropped: func() {
			m.mu.Lock()
			m.dropped++
			m.mu.Unlock()
		},
	}
}

// TestRouteGroup: a group message reaches each joined member once, with
// the shared ciphertext and that user's devices' parts; the sender's
// other devices get theirs; an invited user and a stranger get nothing,
// and the sender hears of each; a sender who has not joined is dropped
// whole, without a word.
func TestRouteGroup(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var m fanouts
	r, err := router.New(router.Config{Now: f.clock, Metrics: m.metrics()}, f.bus, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob, carol, dave, erin := f.user(t), f.user(t), f.user(t), f.user(t), f.user(t)
	g := f.newGroup(t, alice, []wire.UserID{bob, carol, erin}, bob, erin)
	// Bob allowed nobody: group messages do not ask the contact list.
	to := map[wire.UserID][]wire.DeviceID{alice: {2}, bob: {1, 2}, carol: {1}, dave: {1}, erin: {3}}
	msg := groupRecord(g, alice, to, bob, alice, carol, dave, erin)
	fromCarol := groupRecord(g, carol, to, alice, bob)               // invited only
	fromStranger := groupRecord(g, dave, to, alice, bob)             // not on the list
	toNoGroup := groupRecord(wire.ConversationID{9}, alice, to, bob) // no such group
	if err := r.Route(ctx, []bus.Record{msg, fromCarol, fromStranger, toNoGroup}); err != nil {
		t.Fatal(err)
	}
	sent, err := bus.DecodeParcel(msg.Value)
	if err != nil {
		t.Fatal(err)
	}

	for _, u := range []wire.UserID{bob, erin} {
		got := f.inbox(t, u)
		if len(got) != 1 {
			t.Fatalf("%v's inbox holds %d records, want the one message", u, len(got))
		}
		rec := got[0]
		if rec.MessageID != sent.MessageID || rec.Kind != wire.KindGroup || rec.Conversation != g || string(rec.Shared) != "shared ciphertext" {
			t.Fatalf("%v got %+v", u, rec)
		}
		if len(rec.Recipients) != len(to[u]) {
			t.Fatalf("%v's record names %d devices, want %d (its own only)", u, len(rec.Recipients), len(to[u]))
		}
		for i, d := range to[u] {
			env, ok := rec.EnvelopeFor(d)
			own := ""
			if i == 0 {
				own = fmt.Sprint("own part for ", d)
			}
			if !ok || string(env.Shared) != "shared ciphertext" || string(env.Ciphertext) != own {
				t.Fatalf("device %d of %v: %+v, %v", d, u, env, ok)
			}
		}
	}
	for _, u := range []wire.UserID{carol, dave} {
		if got := f.inbox(t, u); len(got) != 0 {
			t.Fatalf("%v, not a member, got %+v", u, got)
		}
	}
	// Alice's other device has its copy, then one notice per recipient
	// who has not joined, as for a 1:1 refusal.
	got := f.inbox(t, alice)
	if len(got) != 3 || got[0].Kind != wire.KindGroup || len(got[0].Recipients) != 1 || got[0].Recipients[0].Device != 2 {
		t.Fatalf("alice's inbox: %+v", got)
	}
	for i, u := range []wire.UserID{carol, dave} {
		n := got[1+i]
		if n.Kind != wire.KindRejected || n.Code != wire.CodeNotAccepted || n.Subject != u || n.MessageID != sent.MessageID || len(n.Shared) != 0 {
			t.Fatalf("notice %d: %+v, want not_accepted for %v", i, n, u)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.users) != 1 || m.users[0] != 3 || m.dropped != 3 {
		t.Fatalf("fan-outs %v and %d dropped, want [3] (bob, erin, alice) and 3", m.users, m.dropped)
	}
}

// TestGroupRemovalTakesEffect: a removed member gets no group message
// once the router's cache of the list has expired, or at once when the
// gateway of the same process tells it.
func TestGroupRemovalTakesEffect(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	r, err := router.New(router.Config{Now: f.clock, GroupCacheTTL: time.Second}, f.bus, f.dir)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := f.user(t), f.user(t)
	g := f.newGroup(t, alice, []wire.UserID{bob}, bob)
	to := map[wire.UserID][]wire.DeviceID{bob: {1}}
	route := func() {
		t.Helper()
		if err := r.Route(ctx, []bus.Record{groupRecord(g, alice, to, bob)}); err != nil {
			t.Fatal(err)
		}
	}
	set := func(op wire.GroupOp) {
		t.Helper()
		c := directory.GroupChange{Group: g, Op: op, Actor: alice, Users: []wire.UserID{bob}, Proof: adminSecret}
		if op == wire.GroupJoin {
			c = directory.GroupChange{Group: g, Op: op, Actor: bob}
		}
		if err := f.dir.ChangeGroup(ctx, c, groupLimits); err != nil {
			t.Fatal(err)
		}
	}
	route() // delivered, and the list cached
	set(wire.GroupRemove)
	route() // from the cache: still delivered
	f.advance(time.Second)
	route() // refused
	set(wire.GroupAdd)
	set(wire.GroupJoin)
	route() // refused from the cache
	r.ForgetGroup(g)
	route() // delivered
	set(wire.GroupRemove)
	r.ForgetGroup(g)
	route() // refused

	var kinds []wire.Kind
	for _, rec := range f.inbox(t, bob) {
		kinds = append(kinds, rec.Kind)
	}
	if len(kinds) != 3 {
		t.Fatalf("bob's inbox holds %d records, want 3 (before the first removal took effect, and after he joined again)", len(kinds))
	}
	if got := f.inbox(t, alice); len(got) != 3 {
		t.Fatalf("alice's inbox holds %d notices, want 3", len(got))
	}
}

func TestGroupCacheTTLBounded(t *testing.T) {
	f := newFixture(t)
	if _, err := router.New(router.Config{GroupCacheTTL: 3 * time.Second}, f.bus, f.dir); err == nil {
		t.Fatal("a group cache of 3s was accepted: removals would take longer than the protocol says")
	}
}

// BenchmarkRouteGroup routes one message to a group of 1,024 members with
// two devices each: the shared ciphertext (a short text, padded, in a
// Sender Key message) stored once per member, every append durable.
func BenchmarkRouteGroup(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	r := f.router(b)
	users := make([]wire.UserID, wire.MaxGroupMembers)
	to := make(map[wire.UserID][]wire.DeviceID, len(users))
	for i := range users {
		users[i] = f.user(b)
		to[users[i]] = []wire.DeviceID{1, 2}
	}
	g := f.newGroup(b, users[0], users[1:], users[1:]...)
	to[users[0]] = []wire.DeviceID{2}
	rec := groupRecord(g, users[0], to, users...)
	p, err := bus.DecodeParcel(rec.Value)
	if err != nil {
		b.Fatal(err)
	}
	p.Shared = make([]byte, 400)
	for i := range p.Recipients {
		p.Recipients[i].Ciphertext = nil
	}
	rec.Value = bus.AppendParcel(nil, p)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Route(ctx, []bus.Record{rec}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
