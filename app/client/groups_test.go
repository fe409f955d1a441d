//go:build !js

package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// group returns what d knows of the group id (the zero Group if nothing).
func (d *device) group(id wire.ConversationID) client.Group {
	d.t.Helper()
	g, err := d.c.Group(context.Background(), id)
	if err != nil && !errors.Is(err, client.ErrNoSuchGroup) {
		d.t.Fatalf("%s: group: %v", d.name, err)
	}
	return g
}

// waitGroup waits until d's view of the group id satisfies cond.
func (d *device) waitGroup(id wire.ConversationID, what string, cond func(client.Group) bool) client.Group {
	d.t.Helper()
	var g client.Group
	d.eventually(what, func() bool {
		g = d.group(id)
		return cond(g)
	})
	return g
}

// joinedAll reports whether every member of g has joined and there are n.
func joinedAll(n int) func(client.Group) bool {
	return func(g client.Group) bool {
		if g.Status != client.GroupJoined || len(g.Members) != n {
			return false
		}
		for _, m := range g.Members {
			if !m.Joined {
				return false
			}
		}
		return true
	}
}

// groupMessages returns d's messages of the group id.
func (d *device) groupMessages(id wire.ConversationID) []client.Message {
	d.t.Helper()
	ms, err := d.c.Messages(context.Background(), id)
	if err != nil {
		d.t.Fatalf("%s: messages: %v", d.name, err)
	}
	return ms
}

// waitGroupText waits until the group holds a text, and returns it.
func (d *device) waitGroupText(id wire.ConversationID, text string) client.Message {
	d.t.Helper()
	var m client.Message
	d.eventually(fmt.Sprintf("group message %q", text), func() bool {
		for _, x := range d.groupMessages(id) {
			if x.Text == text {
				m = x
				return true
			}
		}
		return false
	})
	return m
}

// hasText reports whether d's group holds a text.
func (d *device) hasText(id wire.ConversationID, text string) bool {
	return slices.ContainsFunc(d.groupMessages(id), func(m client.Message) bool { return m.Text == text })
}

// waitLine waits until the group's history has a system line of kind.
func (d *device) waitLine(id wire.ConversationID, kind client.GroupEventKind) client.GroupEvent {
	d.t.Helper()
	var ev client.GroupEvent
	d.eventually(fmt.Sprintf("a line of kind %d", kind), func() bool {
		for _, m := range d.groupMessages(id) {
			if m.Event != nil && m.Event.Kind == kind {
				ev = *m.Event
				return true
			}
		}
		return false
	})
	return ev
}

func (d *device) sendGroup(id wire.ConversationID, text string) wire.MessageID {
	d.t.Helper()
	mid, err := d.c.SendGroup(ctxT(d.t), id, text)
	if err != nil {
		d.t.Fatalf("%s: send %q to the group: %v", d.name, text, err)
	}
	return mid
}

// makeGroup: a creates a group of the members, each a contact who
// accepted a (so that they join at once), and waits until every device
// sees every member joined.
func makeGroup(t *testing.T, name string, a *device, members ...*device) client.Group {
	t.Helper()
	var ids []wire.UserID
	for _, m := range members {
		ids = append(ids, m.acct.User)
	}
	g, err := a.c.CreateGroup(ctxT(t), name, ids)
	if err != nil {
		t.Fatalf("%s creates a group: %v", a.name, err)
	}
	if g.Name != name || !g.Admin || g.Status != client.GroupJoined || len(g.Members) != len(members)+1 {
		t.Fatalf("created %+v", g)
	}
	for _, d := range append([]*device{a}, members...) {
		d.waitGroup(g.ID, "every member joined", joinedAll(len(members)+1))
	}
	return g
}

// TestGroupChat: three people make a group and chat; each sees the
// others' messages with their authors, delivery and read receipts
// aggregate over the members, a rename reaches everyone, and the relay's
// storage never holds the group's name or a message.
func TestGroupChat(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	befriend(t, ann, ben)
	befriend(t, ann, cleo)
	if err := ann.c.SetProfileName(ctxT(t), "Ann"); err != nil {
		t.Fatal(err)
	}

	const name = "Family 2c9e canary"
	g := makeGroup(t, name, ann, ben, cleo)
	for _, d := range []*device{ben, cleo} {
		got := d.group(g.ID)
		if got.Name != name || got.Admin || got.InvitedBy != ann.acct.User || got.Members[0].User != ann.acct.User || !got.Members[0].Admin {
			t.Fatalf("%s sees %+v", d.name, got)
		}
	}

	// Everyone writes; everyone reads everyone.
	const canary = "the group canary sings at dawn 41b7"
	texts := map[*device]string{ann: canary, ben: "hello from ben", cleo: "hello from cleo"}
	ids := map[*device]wire.MessageID{}
	for _, d := range []*device{ann, ben, cleo} {
		ids[d] = d.sendGroup(g.ID, texts[d])
	}
	for _, d := range []*device{ann, ben, cleo} {
		for _, w := range []*device{ann, ben, cleo} {
			m := d.waitGroupText(g.ID, texts[w])
			if m.Author != w.acct.User || m.Outgoing != (d == w) || m.Conversation != g.ID || !m.Peer.IsZero() {
				t.Fatalf("%s has %+v", d.name, m)
			}
		}
	}

	// Receipts: delivered once both have it, read once both read it.
	ann.waitState(nil, ids[ann], client.StateDelivered)
	if err := ben.c.MarkRead(ctxT(t), g.ID); err != nil {
		t.Fatal(err)
	}
	ann.eventually("ben's read receipt", func() bool {
		rb, err := ann.c.ReadBy(ctxT(t), g.ID, ids[ann])
		if err != nil {
			t.Fatal(err)
		}
		states := map[wire.UserID]client.MessageState{}
		for _, x := range rb {
			states[x.User] = x.State
		}
		return len(rb) == 2 && states[ben.acct.User] == client.StateRead && states[cleo.acct.User] == client.StateDelivered
	})
	if m, _ := ann.c.Message(ctxT(t), ann.acct.User, ids[ann]); m.State != client.StateDelivered {
		t.Fatalf("read by one of two: %s", m.State)
	}
	if err := cleo.c.MarkRead(ctxT(t), g.ID); err != nil {
		t.Fatal(err)
	}
	ann.waitState(nil, ids[ann], client.StateRead)

	// The chat list shows the group.
	chats, err := ben.c.Chats(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(chats, func(ch client.Chat) bool { return ch.Group != nil && ch.Group.ID == g.ID })
	if i < 0 || chats[i].Unread != 0 || chats[i].Last == nil {
		t.Fatalf("ben's chats: %+v", chats)
	}
	if n, want := cleo.group(g.ID).Members[0].Name, cleo.contact(ann).Name(); n != want {
		t.Fatalf("cleo calls ann %q in the group, %q as a contact", n, want)
	}

	// A rename reaches everyone, as a line of the history.
	if err := ben.c.RenameGroup(ctxT(t), g.ID, "Clan"); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member renamed the group: %v", err)
	}
	if err := ann.c.RenameGroup(ctxT(t), g.ID, "Clan"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*device{ann, ben, cleo} {
		d.waitGroup(g.ID, "the new name", func(g client.Group) bool { return g.Name == "Clan" })
		if ev := d.waitLine(g.ID, client.EventRenamed); ev.Actor != ann.acct.User || ev.Name != "Clan" {
			t.Fatalf("%s's line: %+v", d.name, ev)
		}
	}

	// The export holds the group, its messages and its lines.
	a, err := ann.c.Export(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	i = slices.IndexFunc(a.Conversations, func(c client.ArchivedConversation) bool { return c.Group == g.ID.String() })
	if i < 0 || a.Conversations[i].Name != "Clan" {
		t.Fatalf("the export's conversations: %+v", a.Conversations)
	}
	var own, fromBen, renamed bool
	for _, m := range a.Conversations[i].Messages {
		own = own || (m.Text == canary && m.From == "me" && m.State == "read")
		fromBen = fromBen || (m.Text == "hello from ben" && m.FromUser == ben.acct.User.String())
		renamed = renamed || m.Event == `me renamed the group to "Clan"`
	}
	if !own || !fromBen || !renamed {
		t.Fatalf("the group in the export: %+v", a.Conversations[i])
	}

	assertNoCanary(t, r.Dir(), name)
	assertNoCanary(t, r.Dir(), canary)
}

// TestGroupRemoveAndLeave: a removed member is told, and cannot read what
// the others write after the removal, even with every sender key they
// held; a member who leaves is gone from everyone's list; a member left
// alone still writes.
func TestGroupRemoveAndLeave(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	befriend(t, ann, ben)
	befriend(t, ann, cleo)
	g := makeGroup(t, "Family", ann, ben, cleo)
	ann.sendGroup(g.ID, "before, from ann")
	ben.sendGroup(g.ID, "before, from ben")
	cleo.waitGroupText(g.ID, "before, from ann")
	cleo.waitGroupText(g.ID, "before, from ben")
	kept, err := client.SenderKeyRecords(ctxT(t), cleo.c, g.ID)
	if err != nil || len(kept) < 2 {
		t.Fatalf("cleo's sender keys: %d %v", len(kept), err)
	}

	// What Ann and Ben send from now on.
	var mu sync.Mutex
	var shared [][]byte
	for _, d := range []*device{ann, ben} {
		d.stop()
		client.SetBeforeSend(d.c, func(s *wire.Send) {
			if s.Kind == wire.KindGroup && len(s.Shared) > 0 {
				mu.Lock()
				shared = append(shared, s.Shared)
				mu.Unlock()
			}
		})
		d.start()
	}

	if err := ben.c.RemoveMember(ctxT(t), g.ID, cleo.acct.User); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member removed another: %v", err)
	}
	if err := ann.c.RemoveMember(ctxT(t), g.ID, cleo.acct.User); err != nil {
		t.Fatal(err)
	}
	cleo.waitGroup(g.ID, "being removed", func(g client.Group) bool { return g.Status == client.GroupRemoved })
	if ev := cleo.waitLine(g.ID, client.EventRemoved); ev.Actor != ann.acct.User || !slices.Equal(ev.Subjects, []wire.UserID{cleo.acct.User}) {
		t.Fatalf("cleo's line: %+v", ev)
	}
	if _, err := cleo.c.SendGroup(ctxT(t), g.ID, "still here?"); !errors.Is(err, client.ErrNotMember) {
		t.Fatalf("a removed member wrote: %v", err)
	}
	ben.waitGroup(g.ID, "cleo removed", func(g client.Group) bool { return len(g.Members) == 2 })
	ann.sendGroup(g.ID, "after, from ann")
	ben.sendGroup(g.ID, "after, from ben")
	ben.waitGroupText(g.ID, "after, from ann")
	ann.waitGroupText(g.ID, "after, from ben")

	mu.Lock()
	after := slices.Clone(shared)
	mu.Unlock()
	if len(after) < 3 { // the removal, and one text each
		t.Fatalf("%d group messages sent after the removal", len(after))
	}
	for i, s := range after {
		if client.OpensWith(kept, s) {
			t.Fatalf("message %d sent after the removal opens with the keys cleo held", i)
		}
	}
	for _, text := range []string{"after, from ann", "after, from ben"} {
		if cleo.hasText(g.ID, text) {
			t.Fatalf("cleo has %q", text)
		}
	}

	// Ben leaves: Ann sees him go, and is left alone.
	if err := ben.c.LeaveGroup(ctxT(t), g.ID); err != nil {
		t.Fatal(err)
	}
	if got := ben.group(g.ID); got.Status != client.GroupLeft {
		t.Fatalf("ben after leaving: %+v", got)
	}
	ann.waitGroup(g.ID, "ben gone", func(g client.Group) bool { return len(g.Members) == 1 })
	if ev := ann.waitLine(g.ID, client.EventLeft); ev.Actor != ben.acct.User {
		t.Fatalf("ann's line: %+v", ev)
	}
	ben.eventually("ben's keys forgotten", func() bool {
		k, err := client.SenderKeyRecords(ctxT(t), ben.c, g.ID)
		return err == nil && len(k) == 0
	})
	id := ann.sendGroup(g.ID, "alone")
	ann.waitState(nil, id, client.StateSent)
}

// TestGroupInvitationFromStranger: an invitation from someone who is not
// a contact waits for AcceptGroup and makes no contact request; once
// accepted, both write.
func TestGroupInvitationFromStranger(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	dan := r.newDevice("dan", "email:dan@example.org")
	g, err := ann.c.CreateGroup(ctxT(t), "Club", []wire.UserID{dan.acct.User})
	if err != nil {
		t.Fatal(err)
	}
	inv := dan.waitGroup(g.ID, "the invitation", func(g client.Group) bool { return g.Status == client.GroupInvited })
	if inv.InvitedBy != ann.acct.User || inv.Name != "Club" {
		t.Fatalf("dan's invitation: %+v", inv)
	}
	chats, err := dan.c.Chats(ctxT(t))
	if err != nil || len(chats) != 1 || chats[0].Group == nil || chats[0].Group.Status != client.GroupInvited {
		t.Fatalf("dan's chats: %+v %v", chats, err)
	}
	if rs, err := dan.c.Requests(ctxT(t)); err != nil || len(rs) != 0 {
		t.Fatalf("dan's requests: %+v %v", rs, err)
	}
	if _, err := dan.c.SendGroup(ctxT(t), g.ID, "too soon"); !errors.Is(err, client.ErrNotMember) {
		t.Fatalf("an invited member wrote: %v", err)
	}
	if err := dan.c.AcceptGroup(ctxT(t), g.ID); err != nil {
		t.Fatal(err)
	}
	ann.waitGroup(g.ID, "dan joined", joinedAll(2))
	dan.sendGroup(g.ID, "thanks, ann")
	ann.waitGroupText(g.ID, "thanks, ann")
	ann.sendGroup(g.ID, "welcome, dan")
	dan.waitGroupText(g.ID, "welcome, dan")
}

// TestGroupSecondDevice: a member's new device gets the groups from the
// account's other device and the members' sender keys from them (once
// they accept the new device), and reads the group's new messages.
func TestGroupSecondDevice(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	befriend(t, ann, ben)
	g := makeGroup(t, "Pair", ann, ben)
	ann.sendGroup(g.ID, "before the new device")
	ben.waitGroupText(g.ID, "before the new device")

	ben2 := r.newDevice("ben2", ben.address)
	ann.sendGroup(g.ID, "for both of ben's devices")
	// Ann's device meets Ben's new one: as in a 1:1 chat, nothing is
	// encrypted to it until Ann accepts it.
	ann.waitEvent("ben's new device", func(ev client.Event) bool {
		ic, ok := ev.(client.IdentityChanged)
		return ok && ic.Contact == ben.acct.User
	})
	if err := ann.c.AcceptIdentity(ctxT(t), ben.acct.User); err != nil {
		t.Fatal(err)
	}
	ben2.waitGroup(g.ID, "the group", joinedAll(2))
	ben2.waitGroupText(g.ID, "for both of ben's devices")
	ben.waitGroupText(g.ID, "for both of ben's devices")
	ben2.sendGroup(g.ID, "from ben's new device")
	ann.waitGroupText(g.ID, "from ben's new device")
	m := ben.waitGroupText(g.ID, "from ben's new device")
	if !m.Outgoing || m.Author != ben.acct.User {
		t.Fatalf("ben's first device has %+v", m)
	}
}

// TestGroupOfflineAndRestart: a message written offline goes once the
// device is back, and the group and its history survive closing and
// opening the store.
func TestGroupOfflineAndRestart(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	befriend(t, ann, ben)
	g := makeGroup(t, "Pair", ann, ben)

	ann.stop()
	if _, err := ann.c.CreateGroup(ctxT(t), "Offline", []wire.UserID{ben.acct.User}); !errors.Is(err, client.ErrOffline) {
		t.Fatalf("created a group offline: %v", err)
	}
	id := ann.sendGroup(g.ID, "written offline")
	if m, err := ann.c.Message(ctxT(t), ann.acct.User, id); err != nil || m.State != client.StateSending {
		t.Fatalf("offline: %+v %v", m, err)
	}
	ann.close()
	ann.open()
	ann.start()
	ben.waitGroupText(g.ID, "written offline")
	ann.waitState(nil, id, client.StateDelivered)

	ben.restart()
	if got := ben.group(g.ID); got.Name != "Pair" || got.Status != client.GroupJoined {
		t.Fatalf("ben's group after a restart: %+v", got)
	}
	page, err := ben.c.History(ctxT(t), g.ID, 0, 50)
	if err != nil || !slices.ContainsFunc(page, func(m client.Message) bool { return m.Text == "written offline" }) {
		t.Fatalf("ben's history after a restart: %+v %v", page, err)
	}
	ben.sendGroup(g.ID, "after the restart")
	ann.waitGroupText(g.ID, "after the restart")
}

// TestGroupAddMembers: an admin lets every member add; a member adds
// someone who is not their contact, whose invitation waits until they
// accept; roles change, and a member made member only again, or once
// members may no longer add, can no longer change the list.
func TestGroupAddMembers(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	dan := r.newDevice("dan", "email:dan@example.org")
	eve := r.newDevice("eve", "email:eve@example.org")
	befriend(t, ann, ben)
	g := makeGroup(t, "Club", ann, ben)

	if err := ben.c.AddMembers(ctxT(t), g.ID, dan.acct.User); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member added someone: %v", err)
	}
	if err := ann.c.SetMembersCanAdd(ctxT(t), g.ID, true); err != nil {
		t.Fatal(err)
	}
	ben.waitGroup(g.ID, "members may add", func(g client.Group) bool { return g.MembersCanAdd })
	if err := ben.c.AddMembers(ctxT(t), g.ID, dan.acct.User); err != nil {
		t.Fatal(err)
	}
	inv := dan.waitGroup(g.ID, "ben's invitation", func(g client.Group) bool { return g.Status == client.GroupInvited })
	if inv.InvitedBy != ben.acct.User || len(inv.Members) != 3 {
		t.Fatalf("dan's invitation: %+v", inv)
	}
	if err := dan.c.AcceptGroup(ctxT(t), g.ID); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*device{ann, ben, dan} {
		d.waitGroup(g.ID, "dan joined", joinedAll(3))
	}
	dan.sendGroup(g.ID, "hello from dan")
	ann.waitGroupText(g.ID, "hello from dan")
	ben.waitGroupText(g.ID, "hello from dan")

	// Roles: Ben made admin can remove; made member only again, he can
	// no longer (his admins' secret is replaced).
	if err := ann.c.SetAdmin(ctxT(t), g.ID, ben.acct.User, true); err != nil {
		t.Fatal(err)
	}
	ben.waitGroup(g.ID, "ben an admin", func(g client.Group) bool { return g.Admin })
	if err := ann.c.SetAdmin(ctxT(t), g.ID, ben.acct.User, false); err != nil {
		t.Fatal(err)
	}
	ben.waitGroup(g.ID, "ben a member only", func(g client.Group) bool { return !g.Admin })
	if err := ben.c.RemoveMember(ctxT(t), g.ID, dan.acct.User); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member only removed someone: %v", err)
	}
	// Members may no longer add: Ben's adders' secret is replaced too.
	if err := ann.c.SetMembersCanAdd(ctxT(t), g.ID, false); err != nil {
		t.Fatal(err)
	}
	ben.waitGroup(g.ID, "members may not add", func(g client.Group) bool { return !g.MembersCanAdd })
	if err := ben.c.AddMembers(ctxT(t), g.ID, eve.acct.User); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member added someone: %v", err)
	}
	if err := ann.c.AddMembers(ctxT(t), g.ID, eve.acct.User); err != nil {
		t.Fatalf("the admin adds, with the new secret: %v", err)
	}
	eve.waitGroup(g.ID, "ann's invitation", func(g client.Group) bool { return g.Status == client.GroupInvited })
}
