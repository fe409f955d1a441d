//go:build !js

package client_test

import (
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// countText counts d's messages of the group with text.
func (d *device) countText(id wire.ConversationID, text string) int {
	n := 0
	for _, m := range d.groupMessages(id) {
		if m.Text == text {
			n++
		}
	}
	return n
}

// memberJoined reports whether u has joined g, as g says.
func memberJoined(u wire.UserID) func(client.Group) bool {
	return func(g client.Group) bool {
		return slices.ContainsFunc(g.Members, func(m client.GroupMember) bool { return m.User == u && m.Joined })
	}
}

// TestGroupMessageBeforeJoin: a message written to a new group before
// anyone has joined reaches every member invited before it, once each,
// when they join; a member invited after it was written never gets it.
func TestGroupMessageBeforeJoin(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	dan := r.newDevice("dan", "email:dan@example.org")
	for _, d := range []*device{ben, cleo, dan} {
		befriend(t, ann, d)
	}

	// Ben and Cleo are offline: they cannot join before Ann writes.
	ben.stop()
	cleo.stop()
	g, err := ann.c.CreateGroup(ctxT(t), "Family", []wire.UserID{ben.acct.User, cleo.acct.User})
	if err != nil {
		t.Fatal(err)
	}
	const hello = "Hello family!"
	id := ann.sendGroup(g.ID, hello)
	ann.waitState(nil, id, client.StateSent)

	// Dan is invited after it, and joins.
	if err := ann.c.AddMembers(ctxT(t), g.ID, dan.acct.User); err != nil {
		t.Fatal(err)
	}
	ann.waitGroup(g.ID, "dan joined", memberJoined(dan.acct.User))

	ben.start()
	cleo.start()
	ann.waitGroup(g.ID, "every member joined", joinedAll(4))
	for _, d := range []*device{ben, cleo} {
		m := d.waitGroupText(g.ID, hello)
		if m.ID != id || m.Author != ann.acct.User || m.Outgoing {
			t.Fatalf("%s has %+v", d.name, m)
		}
	}
	// Ben and Cleo learn of Dan from Ann's change, written before they
	// joined, and Dan of them.
	for _, d := range []*device{ben, cleo, dan} {
		d.waitGroup(g.ID, "every member joined", joinedAll(4))
	}
	const after = "now that everyone is here"
	ann.sendGroup(g.ID, after)
	for _, d := range []*device{ben, cleo} {
		d.waitGroupText(g.ID, after)
		if n := d.countText(g.ID, hello); n != 1 {
			t.Fatalf("%s has the first message %d times", d.name, n)
		}
	}
	// What Ann sends to the group goes in order: once Dan has the later
	// message, the first would have come before it.
	dan.waitGroupText(g.ID, after)
	if dan.hasText(g.ID, hello) {
		t.Fatal("dan, invited after the message was written, received it")
	}

	// Ben's and Cleo's receipts count; Dan is not among those it went to.
	ann.waitState(nil, id, client.StateDelivered)
	rb, err := ann.c.ReadBy(ctxT(t), g.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	var who []wire.UserID
	for _, x := range rb {
		who = append(who, x.User)
	}
	if len(who) != 2 || !slices.Contains(who, ben.acct.User) || !slices.Contains(who, cleo.acct.User) {
		t.Fatalf("ann's message went to %v", who)
	}
}

// TestGroupMessageJoinNotApplied: a member who has joined the relay's
// list, but whose join the writer has not applied yet (the writer's
// state still says invited), gets a message written meanwhile once the
// join arrives.
func TestGroupMessageJoinNotApplied(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	befriend(t, ann, ben)
	befriend(t, ann, cleo)

	ben.stop()
	g, err := ann.c.CreateGroup(ctxT(t), "Family", []wire.UserID{ben.acct.User, cleo.acct.User})
	if err != nil {
		t.Fatal(err)
	}
	ann.waitGroup(g.ID, "cleo joined", memberJoined(cleo.acct.User))

	// Ben's device joins the relay's list, and says nothing yet.
	ctx := ctxT(t)
	conn, err := transport.Dial(ctx, r.URL(), transport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	user, dev, cred := client.Credentials(ben.c)
	if _, err := conn.Auth(ctx, user, dev, cred); err != nil {
		t.Fatal(err)
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, &wire.SetGroup{Group: g.ID, Op: wire.GroupJoin}); err != nil {
		t.Fatalf("ben joins the list: %v", err)
	}
	conn.Close()

	const text = "written while ben's join is on its way"
	id := ann.sendGroup(g.ID, text)
	cleo.waitGroupText(g.ID, text)
	if memberJoined(ben.acct.User)(ann.group(g.ID)) {
		t.Fatal("ann knew of ben's join before writing")
	}

	ben.start()
	ann.waitGroup(g.ID, "ben joined", joinedAll(3))
	m := ben.waitGroupText(g.ID, text)
	if m.ID != id || m.Author != ann.acct.User {
		t.Fatalf("ben has %+v", m)
	}
	ann.waitState(nil, id, client.StateDelivered)
	if n := ben.countText(g.ID, text); n != 1 {
		t.Fatalf("ben has the message %d times", n)
	}
}
