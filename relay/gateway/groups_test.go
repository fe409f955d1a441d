package gateway_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// testGroup is a group's ID and its three secrets, as its members' clients
// hold them.
type testGroup struct {
	id               wire.ConversationID
	admin, add, link []byte
}

func newTestGroup() *testGroup {
	g := &testGroup{admin: make([]byte, 32), add: make([]byte, 32), link: make([]byte, 32)}
	rand.Read(g.id[:])
	rand.Read(g.admin)
	rand.Read(g.add)
	rand.Read(g.link)
	return g
}

func sum(b []byte) []byte {
	if b == nil {
		return nil
	}
	h := sha256.Sum256(b)
	return h[:]
}

// frame is the SetGroup that d sends for op: the users' IDs, the proof,
// and for create and keys the hashes of g's secrets.
func (g *testGroup) frame(op wire.GroupOp, proof []byte, users ...*device) *wire.SetGroup {
	s := &wire.SetGroup{Group: g.id, Op: op, Proof: proof}
	for _, u := range users {
		s.Users = append(s.Users, u.user)
	}
	if op == wire.GroupCreate || op == wire.GroupKeys {
		s.AdminHash, s.AddHash, s.LinkHash = sum(g.admin), sum(g.add), sum(g.link)
	}
	return s
}

// must has d make a change that must succeed.
func (g *testGroup) must(d *device, op wire.GroupOp, proof []byte, users ...*device) {
	d.t.Helper()
	if got := d.call(g.frame(op, proof, users...)); !isOK(got) {
		d.t.Fatalf("set group %d: %#v", op, got)
	}
}

// groupRefusals counts the GroupRefused metric by code.
type groupRefusals struct {
	mu sync.Mutex
	n  map[wire.Code]int
}

func (r *groupRefusals) hook(c *gateway.Config) {
	r.n = make(map[wire.Code]int)
	c.Metrics.GroupRefused = func(code wire.Code) {
		r.mu.Lock()
		r.n[code]++
		r.mu.Unlock()
	}
}

func (r *groupRefusals) count(code wire.Code) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[code]
}

// TestSetGroup runs every rule of a group's member list over a real
// connection: who may create, add, remove, join, leave and replace the
// hashes, with which proof, and what each refusal is answered.
func TestSetGroup(t *testing.T) {
	var refusals groupRefusals
	h := newHarness(t, func(c *gateway.Config) {
		c.MaxGroups = 3
		refusals.hook(c)
	})
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	carol := h.register(t, "email:carol@example.org")
	dave := h.register(t, "email:dave@example.org")
	erin := h.register(t, "email:erin@example.org")
	ghost := &device{user: wire.NewUserID()} // no account
	g := newTestGroup()
	other := newTestGroup()
	wrong := bytes.Repeat([]byte{7}, 32)
	oldAdmin := g.admin
	rotate := func() *wire.SetGroup {
		g.admin, g.add, g.link = bytes.Repeat([]byte{8}, 32), bytes.Repeat([]byte{9}, 32), nil
		return g.frame(wire.GroupKeys, oldAdmin)
	}

	steps := []struct {
		name string
		from *device
		set  func() *wire.SetGroup
		want wire.Code // 0: OK
	}{
		{"create without hashes", alice, func() *wire.SetGroup { return &wire.SetGroup{Group: g.id, Op: wire.GroupCreate} }, wire.CodeBadRequest},
		{"create with a short hash", alice, func() *wire.SetGroup {
			s := g.frame(wire.GroupCreate, nil)
			s.AddHash = s.AddHash[:31]
			return s
		}, wire.CodeBadRequest},
		{"no group ID", alice, func() *wire.SetGroup { return &wire.SetGroup{Op: wire.GroupLeave} }, wire.CodeBadRequest},
		{"unknown op", alice, func() *wire.SetGroup { return &wire.SetGroup{Group: g.id, Op: 7} }, wire.CodeBadRequest},
		{"join with users", bob, func() *wire.SetGroup { return g.frame(wire.GroupJoin, nil, carol) }, wire.CodeBadRequest},
		{"create inviting someone not registered", alice, func() *wire.SetGroup { return g.frame(wire.GroupCreate, nil, bob, ghost) }, wire.CodeNotFound},
		{"create", alice, func() *wire.SetGroup { return g.frame(wire.GroupCreate, nil, bob) }, 0},
		{"create again", carol, func() *wire.SetGroup { return g.frame(wire.GroupCreate, nil) }, wire.CodeExists},
		{"add to a group that does not exist", alice, func() *wire.SetGroup { return other.frame(wire.GroupAdd, other.add, carol) }, wire.CodeNotFound},
		{"join a group that does not exist by a link", carol, func() *wire.SetGroup { return other.frame(wire.GroupJoin, other.link) }, wire.CodeNotFound},
		{"add by an invited user", bob, func() *wire.SetGroup { return g.frame(wire.GroupAdd, g.add, carol) }, wire.CodeForbidden},
		{"join when invited", bob, func() *wire.SetGroup { return g.frame(wire.GroupJoin, nil) }, 0},
		{"add without a proof", bob, func() *wire.SetGroup { return g.frame(wire.GroupAdd, nil, carol) }, wire.CodeForbidden},
		{"add with a wrong proof", bob, func() *wire.SetGroup { return g.frame(wire.GroupAdd, wrong, carol) }, wire.CodeForbidden},
		{"add with the link's secret", bob, func() *wire.SetGroup { return g.frame(wire.GroupAdd, g.link, carol) }, wire.CodeForbidden},
		{"add by a stranger with the adders' secret", erin, func() *wire.SetGroup { return g.frame(wire.GroupAdd, g.add, carol) }, wire.CodeForbidden},
		{"add someone not registered", bob, func() *wire.SetGroup { return g.frame(wire.GroupAdd, g.add, ghost) }, wire.CodeNotFound},
		{"add with the adders' secret", bob, func() *wire.SetGroup { return g.frame(wire.GroupAdd, g.add, carol) }, 0},
		{"join uninvited without a proof", dave, func() *wire.SetGroup { return g.frame(wire.GroupJoin, nil) }, wire.CodeForbidden},
		{"join uninvited with a wrong proof", dave, func() *wire.SetGroup { return g.frame(wire.GroupJoin, wrong) }, wire.CodeForbidden},
		{"join by the link", dave, func() *wire.SetGroup { return g.frame(wire.GroupJoin, g.link) }, 0},
		{"remove with the adders' secret", bob, func() *wire.SetGroup { return g.frame(wire.GroupRemove, g.add, dave) }, wire.CodeForbidden},
		{"remove by an invited user", carol, func() *wire.SetGroup { return g.frame(wire.GroupRemove, g.admin, dave) }, wire.CodeForbidden},
		{"remove with the admins' secret", bob, func() *wire.SetGroup { return g.frame(wire.GroupRemove, g.admin, dave) }, 0},
		{"add by a removed member", dave, func() *wire.SetGroup { return g.frame(wire.GroupAdd, g.add, erin) }, wire.CodeForbidden},
		{"decline an invitation", carol, func() *wire.SetGroup { return g.frame(wire.GroupLeave, nil) }, 0},
		{"join after declining", carol, func() *wire.SetGroup { return g.frame(wire.GroupJoin, nil) }, wire.CodeForbidden},
		{"keys without the admins' secret", bob, func() *wire.SetGroup { return g.frame(wire.GroupKeys, g.add) }, wire.CodeForbidden},
		{"keys", bob, rotate, 0},
		{"remove with the old admins' secret", alice, func() *wire.SetGroup { return g.frame(wire.GroupRemove, oldAdmin, bob) }, wire.CodeForbidden},
		{"join by the old link", erin, func() *wire.SetGroup { return g.frame(wire.GroupJoin, bytes.Repeat([]byte{3}, 32)) }, wire.CodeForbidden},
		{"add with the new adders' secret", alice, func() *wire.SetGroup { return g.frame(wire.GroupAdd, g.add, erin) }, 0},
		{"leave", bob, func() *wire.SetGroup { return g.frame(wire.GroupLeave, nil) }, 0},
		{"leave again", bob, func() *wire.SetGroup { return g.frame(wire.GroupLeave, nil) }, 0},
		// Alice is on one list; three is the bound of this relay.
		{"a second list", alice, func() *wire.SetGroup { return newTestGroup().frame(wire.GroupCreate, nil) }, 0},
		{"a third list", alice, func() *wire.SetGroup { return newTestGroup().frame(wire.GroupCreate, nil) }, 0},
		{"a fourth list", alice, func() *wire.SetGroup { return newTestGroup().frame(wire.GroupCreate, nil) }, wire.CodeTooLarge},
		{"invited to a fourth list", bob, func() *wire.SetGroup { return newTestGroup().frame(wire.GroupCreate, nil, alice) }, wire.CodeTooLarge},
	}
	want := make(map[wire.Code]int)
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got := s.from.call(s.set())
			if s.want == 0 {
				if !isOK(got) {
					t.Fatalf("got %#v, want OK", got)
				}
				return
			}
			want[s.want]++
			e, ok := got.(*wire.Error)
			if !ok || e.Code != s.want || e.Message == "" {
				t.Fatalf("got %#v, want %v", got, s.want)
			}
		})
	}
	for code, n := range want {
		if got := refusals.count(code); got != n {
			t.Errorf("%d refusals counted as %v, want %d", got, code, n)
		}
	}
}

// TestSetGroupFullList: a list holds at most 1,024 users, counting those
// invited; a change that would pass that is too_large.
func TestSetGroupFullList(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	// Accounts without devices are enough to be invited.
	ctx := context.Background()
	many := make([]*device, wire.MaxGroupMembers)
	for i := range many {
		u := wire.NewUserID()
		if _, _, err := h.dir.CreateAccount(ctx, u[:], u); err != nil {
			t.Fatal(err)
		}
		many[i] = &device{user: u}
	}
	g := newTestGroup()
	if code := errorCode(t, alice.call(g.frame(wire.GroupCreate, nil, many...))); code != wire.CodeTooLarge {
		t.Fatalf("create with 1,025 users: %v, want too_large", code)
	}
	g.must(alice, wire.GroupCreate, nil, many[1:]...)
	if code := errorCode(t, bob.call(g.frame(wire.GroupJoin, g.link))); code != wire.CodeTooLarge {
		t.Fatalf("join a full list: %v, want too_large", code)
	}
	if code := errorCode(t, alice.call(g.frame(wire.GroupAdd, g.admin, bob))); code != wire.CodeTooLarge {
		t.Fatalf("add to a full list: %v, want too_large", code)
	}
	g.must(alice, wire.GroupRemove, g.admin, many[1])
	g.must(bob, wire.GroupJoin, g.link)
}

// TestSetGroupLimits: SetGroup is limited per account, and creating a
// group further, and neither comes back by connecting again.
func TestSetGroupLimits(t *testing.T) {
	h, gc := frozenHarness(t)
	alice := h.register(t, "email:alice@example.org")
	for i := range 10 {
		g := newTestGroup()
		if got := alice.call(g.frame(wire.GroupCreate, nil)); !isOK(got) {
			t.Fatalf("create %d: %#v", i+1, got)
		}
	}
	create := func() *wire.Error {
		t.Helper()
		e, ok := alice.call(newTestGroup().frame(wire.GroupCreate, nil)).(*wire.Error)
		if !ok || e.Code != wire.CodeRateLimited || e.RetryAfterMS == 0 {
			t.Fatalf("got %#v, want rate_limited with a retry time", e)
		}
		return e
	}
	e := create()
	if wait := time.Duration(e.RetryAfterMS) * time.Millisecond; wait < 9*time.Minute || wait > 10*time.Minute+time.Second {
		t.Fatalf("retry after %v, want about 10 minutes", wait)
	}
	h.reconnect(t, alice)
	create()

	// The general budget: 60 at once, the 12 above included (a create
	// refused is still a change asked for).
	g := newTestGroup()
	n, refusal := untilLimited(t, alice, func() wire.Body { return g.frame(wire.GroupLeave, nil) })
	if n != 60-12 {
		t.Fatalf("%d more changes before rate_limited, want %d", n, 60-12)
	}
	h.reconnect(t, alice)
	if code := errorCode(t, alice.call(g.frame(wire.GroupLeave, nil))); code != wire.CodeRateLimited {
		t.Fatalf("after reconnecting: %v, want rate_limited (refused %#v before)", code, refusal)
	}
	// Ten minutes on, one more group (the general budget has long come
	// back).
	gc.advance(10 * time.Minute)
	if got := alice.call(newTestGroup().frame(wire.GroupCreate, nil)); !isOK(got) {
		t.Fatalf("create after ten minutes: %#v", got)
	}
	create()
}

// groupSend is a Send of a group message from d: shared goes to every
// device, and the devices in own get a part of their own.
func groupSend(g *testGroup, shared []byte, own map[*device]bool, to ...*device) *wire.Send {
	s := &wire.Send{MessageID: wire.NewMessageID(), Conversation: g.id, Kind: wire.KindGroup, Shared: shared}
	for _, d := range to {
		r := wire.Recipient{User: d.user, Device: d.id}
		if own[d] {
			r.Ciphertext = []byte(fmt.Sprintf("sender key for %d", d.id))
		}
		s.Recipients = append(s.Recipients, r)
	}
	return s
}

// TestGroupSend follows group messages from a member's Send to every
// member's devices: one shared ciphertext, stored once in each member's
// inbox; nothing to those who have not joined (the sender hears of
// each), nothing from a non-member, and nothing to a member removed.
func TestGroupSend(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	alice2 := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob2 := h.register(t, "email:bob@example.org")
	carol := h.register(t, "email:carol@example.org")
	dave := h.register(t, "email:dave@example.org") // invited, never joins
	erin := h.register(t, "email:erin@example.org") // not on the list
	g := newTestGroup()
	g.must(alice, wire.GroupCreate, nil, bob, carol, dave)
	g.must(bob, wire.GroupJoin, nil)
	g.must(carol, wire.GroupJoin, nil)
	// Nobody allowed anybody: group messages do not ask contact lists.

	shared := []byte("one sender key message for everyone")
	send := groupSend(g, shared, map[*device]bool{carol: true}, alice2, bob, bob2, carol, dave)
	got := alice.call(send)
	if a, ok := got.(*wire.Accepted); !ok || a.MessageID != send.MessageID {
		t.Fatalf("send: %#v", got)
	}
	for _, d := range []*device{bob, bob2, carol, alice2} {
		env := d.deliver().Envelope
		own := ""
		if d == carol {
			own = fmt.Sprintf("sender key for %d", d.id)
		}
		if env.MessageID != send.MessageID || env.Kind != wire.KindGroup || env.Conversation != g.id || env.Sender != alice.user ||
			env.SenderDevice != alice.id || !bytes.Equal(env.Shared, shared) || string(env.Ciphertext) != own {
			t.Fatalf("device %d of %s got %+v", d.id, d.addr, env)
		}
	}
	if env := alice.deliver().Envelope; env.Kind != wire.KindRejected || env.Code != wire.CodeNotAccepted || env.Subject != dave.user || env.MessageID != send.MessageID {
		t.Fatalf("alice got %+v, want the refusal for dave", env)
	}
	alice2.deliver() // the same refusal
	dave.quiet()
	// Bob's inbox holds one record: the shared ciphertext once, beside
	// his two devices' (empty) parts.
	h.waitInbox(bob.user, 1)
	recs := h.inboxRecords(t, bob.user)
	if len(recs) != 1 || !bytes.Equal(recs[0].Shared, shared) || len(recs[0].Recipients) != 2 || bytes.Count(recs[0].Value, shared) != 1 {
		t.Fatalf("bob's inbox: %+v", recs)
	}

	// Not a member: refused before anything is stored.
	_, before, err := h.bus.Bounds(ctxT(t), bus.InTopic, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []*device{erin, dave} {
		s := groupSend(g, shared, nil, alice, alice2)
		r, ok := from.call(s).(*wire.Rejected)
		if !ok || r.Code != wire.CodeNotAccepted || r.MessageID != s.MessageID || !r.User.IsZero() {
			t.Fatalf("%s sent to the group: %#v, want not_accepted", from.addr, r)
		}
	}
	r, ok := erin.call(groupSend(newTestGroup(), shared, nil, alice, alice2)).(*wire.Rejected)
	if !ok || r.Code != wire.CodeNotAccepted {
		t.Fatalf("a group that does not exist: %#v, want not_accepted", r)
	}
	if _, after, err := h.bus.Bounds(ctxT(t), bus.InTopic, 0); err != nil || after != before {
		t.Fatalf("refused sends were stored: `in` went from %d to %d (%v)", before, after, err)
	}

	// Carol is removed: the next message does not reach her, at once.
	g.must(alice, wire.GroupRemove, g.admin, carol)
	send = groupSend(g, []byte("after carol left"), nil, alice2, bob, bob2, carol)
	if _, ok := alice.call(send).(*wire.Accepted); !ok {
		t.Fatal("send after the removal was not accepted")
	}
	for _, d := range []*device{bob, bob2, alice2} {
		if env := d.deliver().Envelope; env.MessageID != send.MessageID || string(env.Shared) != "after carol left" {
			t.Fatalf("%s got %+v", d.addr, env)
		}
	}
	if env := alice.deliver().Envelope; env.Kind != wire.KindRejected || env.Subject != carol.user || env.MessageID != send.MessageID {
		t.Fatalf("alice got %+v, want the refusal for carol", env)
	}
	alice2.deliver()
	carol.quiet()
	// And a removed member cannot send.
	if r, ok := carol.call(groupSend(g, shared, nil, alice, alice2, bob, bob2)).(*wire.Rejected); !ok || r.Code != wire.CodeNotAccepted {
		t.Fatalf("a removed member sent: %#v, want not_accepted", r)
	}
}

// TestGroupSendChecks: what a group message must be, what only a group
// message may be, and what it costs: its shared ciphertext once for each
// recipient user.
func TestGroupSendChecks(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) {
		// What an account may store a day: less than three copies of
		// the largest shared ciphertext.
		c.Quota.BytesPerDay = 200 << 10
	})
	alice := h.register(t, "email:alice@example.org")
	alice2 := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	carol := h.register(t, "email:carol@example.org")
	g := newTestGroup()
	g.must(alice, wire.GroupCreate, nil, bob, carol)
	g.must(bob, wire.GroupJoin, nil)
	g.must(carol, wire.GroupJoin, nil)
	bob.allow(alice)

	noConversation := groupSend(g, []byte("x"), nil, bob, carol, alice2)
	noConversation.Conversation = wire.ConversationID{}
	tests := []struct {
		name string
		send *wire.Send
		want wire.Code // 0: Accepted
	}{
		{"shared ciphertext, no parts", groupSend(g, []byte("x"), nil, bob, carol, alice2), 0},
		{"pairwise parts only", groupSend(g, nil, map[*device]bool{bob: true, carol: true, alice2: true}, bob, carol, alice2), 0},
		{"no shared ciphertext and a part missing", groupSend(g, nil, map[*device]bool{bob: true, carol: true}, bob, carol, alice2), wire.CodeBadRequest},
		{"no conversation", noConversation, wire.CodeBadRequest},
		{"a member's device left out", groupSend(g, []byte("x"), nil, bob, carol), wire.CodeStaleDevices},
		{"a shared ciphertext in a 1:1 message", &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Recipients: to(bob, alice2), Shared: []byte("x")}, wire.CodeBadRequest},
		{"an empty part in a 1:1 message", &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Recipients: []wire.Recipient{{User: bob.user, Device: bob.id}, to(alice2)[0]}}, wire.CodeBadRequest},
		{"stored once per user: more than a day allows", groupSend(g, make([]byte, 90<<10), nil, bob, carol, alice2), wire.CodeTooLarge},
		{"stored once per user: within a day", groupSend(g, make([]byte, 60<<10), nil, bob, carol, alice2), 0},
		{"over what is left of the day", groupSend(g, make([]byte, 10<<10), nil, bob, carol, alice2), wire.CodeRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alice.call(tt.send)
			if tt.want == 0 {
				if _, ok := got.(*wire.Accepted); !ok {
					t.Fatalf("got %#v, want accepted", got)
				}
				return
			}
			if r, ok := got.(*wire.Rejected); !ok || r.Code != tt.want || r.Message == "" {
				t.Fatalf("got %#v, want %v", got, tt.want)
			}
		})
	}
}

// TestGroupFetchBudget: fetching the bundles of someone who shares a
// group is counted apart from Lookup, so that a member of a large group
// can fetch every member's; a stranger's still counts as a lookup.
func TestGroupFetchBudget(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) {
		c.Rates.Lookup = limit.Rate{Every: time.Hour, Burst: 2}
		c.Rates.GroupFetch = limit.Rate{Every: time.Hour, Burst: 5}
	})
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	carol := h.register(t, "email:carol@example.org") // invited only
	for _, d := range []*device{bob, carol} {
		if got := d.call(keys(10)); !isOK(got) {
			t.Fatalf("publish keys: %#v", got)
		}
	}
	g := newTestGroup()
	g.must(alice, wire.GroupCreate, nil, bob, carol)
	g.must(bob, wire.GroupJoin, nil)
	for i := range 5 {
		if b, ok := alice.call(&wire.FetchBundles{User: bob.user}).(*wire.Bundles); !ok || len(b.Bundles) != 1 {
			t.Fatalf("group fetch %d: %#v", i+1, b)
		}
	}
	if code := errorCode(t, alice.call(&wire.FetchBundles{User: bob.user})); code != wire.CodeRateLimited {
		t.Fatalf("sixth group fetch: %v, want rate_limited", code)
	}
	// The lookup budget is whole: Carol, invited only, is not a member.
	for i := range 2 {
		if _, ok := alice.call(&wire.FetchBundles{User: carol.user}).(*wire.Bundles); !ok {
			t.Fatalf("fetch %d of carol's bundles was refused", i+1)
		}
	}
	if code := errorCode(t, alice.call(&wire.Lookup{Address: "email:carol@example.org"})); code != wire.CodeRateLimited {
		t.Fatalf("third lookup: %v, want rate_limited", code)
	}
}
