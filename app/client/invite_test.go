//go:build !js

package client_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// inviteLink has admin turn the group's invite link on in mode and
// returns it, as the person it is given to reads it.
func inviteLink(t *testing.T, admin *device, id wire.ConversationID, mode client.LinkMode) client.Invite {
	t.Helper()
	if err := admin.c.SetInviteLink(ctxT(t), id, mode); err != nil {
		t.Fatalf("%s turns the invite link on (%s): %v", admin.name, mode, err)
	}
	return currentInvite(t, admin, id)
}

// currentInvite returns the group's invite link as admin gives it.
func currentInvite(t *testing.T, admin *device, id wire.ConversationID) client.Invite {
	t.Helper()
	token, err := admin.c.InviteToken(ctxT(t), id)
	if err != nil {
		t.Fatalf("%s's invite link: %v", admin.name, err)
	}
	inv, err := client.ParseInvite("https://mutual.example.org/join#" + token)
	if err != nil {
		t.Fatalf("parse the invite link: %v", err)
	}
	return inv
}

// asked waits until admin's device shows who asking to join the group.
func asked(admin *device, id wire.ConversationID, who *device) client.JoinRequest {
	admin.t.Helper()
	var q client.JoinRequest
	admin.waitGroup(id, who.name+" asking to join", func(g client.Group) bool {
		for _, x := range g.JoinRequests {
			if x.User == who.acct.User {
				q = x
				return true
			}
		}
		return false
	})
	return q
}

// processed waits until admin has read what from sent before now: a
// text from them, which comes after it.
func processed(t *testing.T, admin, from *device, text string) {
	t.Helper()
	from.send(admin, text)
	admin.waitText(from, text)
}

// TestInviteOpen: with "anyone with the link joins", a stranger joins at
// once: an admin's device lets them in, every member sees "joined with
// the invite link", and they read the group's next message and write to
// it.
func TestInviteOpen(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	befriend(t, ann, ben)
	if err := cleo.c.SetProfileName(ctxT(t), "Cleo"); err != nil {
		t.Fatal(err)
	}
	g := makeGroup(t, "Hikers", ann, ben)

	inv := inviteLink(t, ann, g.ID, client.LinkOpen)
	if inv.Group != g.ID || inv.GroupName != "Hikers" || inv.Admin != ann.acct.User || inv.Mode != client.LinkOpen {
		t.Fatalf("the invite: %+v", inv)
	}
	ben.waitGroup(g.ID, "the link on", func(g client.Group) bool { return g.Link == client.LinkOpen })

	if err := cleo.c.JoinByInvite(ctxT(t), inv); err != nil {
		t.Fatalf("cleo joins with the link: %v", err)
	}
	for _, d := range []*device{ann, ben, cleo} {
		d.waitGroup(g.ID, "cleo a member", joinedAll(3))
		ev := d.waitLine(g.ID, client.EventLinkJoined)
		if ev.Actor != ann.acct.User || len(ev.Subjects) != 1 || ev.Subjects[0] != cleo.acct.User {
			t.Fatalf("%s's line: %+v", d.name, ev)
		}
	}
	if got := cleo.group(g.ID); got.Status != client.GroupJoined || got.Admin || got.InvitedBy != ann.acct.User || got.Name != "Hikers" {
		t.Fatalf("cleo's group: %+v", got)
	}
	if got := ann.group(g.ID); len(got.JoinRequests) != 0 || got.Members[2].Name != "Cleo" {
		t.Fatalf("ann's group: %+v", got)
	}

	ann.sendGroup(g.ID, "welcome, cleo")
	ben.sendGroup(g.ID, "hi cleo")
	cleo.waitGroupText(g.ID, "welcome, cleo")
	cleo.waitGroupText(g.ID, "hi cleo")
	cleo.sendGroup(g.ID, "thanks")
	ann.waitGroupText(g.ID, "thanks")
	ben.waitGroupText(g.ID, "thanks")

	// The export says how they joined.
	a, err := ann.c.Export(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range a.Conversations {
		for _, m := range c.Messages {
			if m.Event != "" {
				lines = append(lines, m.Event)
			}
		}
	}
	if !slices.Contains(lines, "me set the invite link: anyone with it joins") || !slices.Contains(lines, "Cleo joined with the invite link") {
		t.Fatalf("the export's lines: %q", lines)
	}

	// Asking again changes nothing.
	if err := cleo.c.JoinByInvite(ctxT(t), inv); err != nil {
		t.Fatal(err)
	}
}

// TestInviteApprove: with "an admin approves", a request waits in the
// group's info on the admins' devices; approving it adds them, and their
// device joins at once; declining leaves them out.
func TestInviteApprove(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	dan := r.newDevice("dan", "email:dan@example.org")
	befriend(t, ann, ben)
	g := makeGroup(t, "Choir", ann, ben)
	if err := ann.c.SetAdmin(ctxT(t), g.ID, ben.acct.User, true); err != nil {
		t.Fatal(err)
	}
	ben.waitGroup(g.ID, "ben an admin", func(g client.Group) bool { return g.Admin })

	inv := inviteLink(t, ann, g.ID, client.LinkApprove)
	if err := cleo.c.SetProfileName(ctxT(t), "Cleo"); err != nil {
		t.Fatal(err)
	}
	if err := cleo.c.JoinByInvite(ctxT(t), inv); err != nil {
		t.Fatalf("cleo asks to join: %v", err)
	}
	if err := dan.c.JoinByInvite(ctxT(t), inv); err != nil {
		t.Fatalf("dan asks to join: %v", err)
	}
	// Both admins see both requests: ben's through ann's device.
	for _, d := range []*device{ann, ben} {
		if q := asked(d, g.ID, cleo); q.Name != "Cleo" || q.At.IsZero() {
			t.Fatalf("%s sees cleo's request as %+v", d.name, q)
		}
		asked(d, g.ID, dan)
	}
	if got := cleo.group(g.ID); got.Status != 0 {
		t.Fatalf("cleo sees the group before an admin let her in: %+v", got)
	}

	if err := ann.c.ApproveJoin(ctxT(t), g.ID, cleo.acct.User); err != nil {
		t.Fatalf("ann approves cleo: %v", err)
	}
	for _, d := range []*device{ann, ben, cleo} {
		d.waitGroup(g.ID, "cleo a member", func(g client.Group) bool {
			return len(g.Members) == 3 && g.Members[2].User == cleo.acct.User && g.Members[2].Joined
		})
	}
	ben.waitGroup(g.ID, "cleo's request answered", func(g client.Group) bool { return len(g.JoinRequests) == 1 })
	ann.sendGroup(g.ID, "welcome to the choir")
	cleo.waitGroupText(g.ID, "welcome to the choir")

	if err := ben.c.DeclineJoin(ctxT(t), g.ID, dan.acct.User); err != nil {
		t.Fatalf("ben declines dan: %v", err)
	}
	for _, d := range []*device{ann, ben} {
		d.waitGroup(g.ID, "dan's request gone", func(g client.Group) bool { return len(g.JoinRequests) == 0 })
	}
	if err := ann.c.ApproveJoin(ctxT(t), g.ID, dan.acct.User); !errors.Is(err, client.ErrNoJoinRequest) {
		t.Fatalf("approving a declined request: %v", err)
	}
	ann.sendGroup(g.ID, "after dan was declined")
	cleo.waitGroupText(g.ID, "after dan was declined")
	if got := dan.group(g.ID); got.Status != 0 || len(ann.group(g.ID).Members) != 3 {
		t.Fatalf("dan after the decline: %+v", got)
	}
	if _, err := dan.c.SendGroup(ctxT(t), g.ID, "let me in"); !errors.Is(err, client.ErrNoSuchGroup) {
		t.Fatalf("dan writes to the group: %v", err)
	}
}

// TestInviteReset: a reset link admits nobody, whether anyone joins (the
// relay refuses it) or an admin approves (the admins' devices drop the
// request); the new link works.
func TestInviteReset(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	befriend(t, ann, ben)
	befriend(t, cleo, ann)
	g := makeGroup(t, "Book club", ann, ben)

	old := inviteLink(t, ann, g.ID, client.LinkOpen)
	if err := ann.c.ResetInviteLink(ctxT(t), g.ID); err != nil {
		t.Fatalf("reset the link: %v", err)
	}
	ann.waitLine(g.ID, client.EventLinkReset)
	if err := cleo.c.JoinByInvite(ctxT(t), old); !errors.Is(err, client.ErrLinkExpired) {
		t.Fatalf("joining with the old link: %v", err)
	}

	// An admin approves: the old link's request goes, and is dropped.
	if err := ann.c.SetInviteLink(ctxT(t), g.ID, client.LinkApprove); err != nil {
		t.Fatal(err)
	}
	old.Mode = client.LinkApprove
	if err := cleo.c.JoinByInvite(ctxT(t), old); err != nil {
		t.Fatal(err)
	}
	processed(t, ann, cleo, "did my request come?")
	if q := ann.group(g.ID).JoinRequests; len(q) != 0 {
		t.Fatalf("a request with the old link waits: %+v", q)
	}

	// The new link works.
	if err := cleo.c.JoinByInvite(ctxT(t), currentInvite(t, ann, g.ID)); err != nil {
		t.Fatal(err)
	}
	asked(ann, g.ID, cleo)
}

// TestInviteForged: a link with a secret of someone's guess admits
// nobody: the relay refuses it when anyone joins, and the admin's device
// drops the request when an admin approves.
func TestInviteForged(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	cleo := r.newDevice("cleo", "email:cleo@example.org")
	befriend(t, ann, ben)
	befriend(t, cleo, ann)
	g := makeGroup(t, "Team", ann, ben)

	forged := client.ForgeInvite(inviteLink(t, ann, g.ID, client.LinkOpen))
	if err := cleo.c.JoinByInvite(ctxT(t), forged); !errors.Is(err, client.ErrLinkExpired) {
		t.Fatalf("joining with a forged link: %v", err)
	}
	if err := ann.c.SetInviteLink(ctxT(t), g.ID, client.LinkApprove); err != nil {
		t.Fatal(err)
	}
	forged.Mode = client.LinkApprove
	if err := cleo.c.JoinByInvite(ctxT(t), forged); err != nil {
		t.Fatal(err)
	}
	processed(t, ann, cleo, "did my forged request come?")
	if q := ann.group(g.ID).JoinRequests; len(q) != 0 {
		t.Fatalf("a forged request waits: %+v", q)
	}
	if got := ann.group(g.ID); len(got.Members) != 2 {
		t.Fatalf("the group after a forged request: %+v", got)
	}
}

// TestInviteNotAdmin: only admins make, reset or give out a group's
// invite link.
func TestInviteNotAdmin(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	befriend(t, ann, ben)
	g := makeGroup(t, "Band", ann, ben)
	if err := ben.c.SetInviteLink(ctxT(t), g.ID, client.LinkOpen); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member makes a link: %v", err)
	}
	if _, err := ben.c.InviteToken(ctxT(t), g.ID); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member gives out the link: %v", err)
	}
	if _, err := ann.c.InviteToken(ctxT(t), g.ID); !errors.Is(err, client.ErrNoLink) {
		t.Fatalf("the link while off: %v", err)
	}
	inviteLink(t, ann, g.ID, client.LinkOpen)
	ben.waitLine(g.ID, client.EventLink)
	if err := ben.c.ResetInviteLink(ctxT(t), g.ID); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member resets the link: %v", err)
	}
	if _, err := ben.c.InviteToken(ctxT(t), g.ID); !errors.Is(err, client.ErrNotAllowed) {
		t.Fatalf("a member gives out the link: %v", err)
	}
	if err := ann.c.SetInviteLink(ctxT(t), g.ID, client.LinkOff); err != nil {
		t.Fatal(err)
	}
	ben.waitGroup(g.ID, "the link off", func(g client.Group) bool { return g.Link == client.LinkOff })
}

// TestInviteToken: tokens round-trip, links are read from their
// fragment, and what is not a link is refused.
func TestInviteToken(t *testing.T) {
	inv := client.InviteWith(client.Invite{
		Group: wire.ConversationID{1}, GroupName: "Family", Admin: wire.UserID{2}, AdminName: "Ann", Mode: client.LinkApprove,
	}, bytes.Repeat([]byte{3}, 32))
	got, err := client.ParseInvite("http://localhost:8080/join#" + inv.Token())
	if err != nil || got.Token() != inv.Token() || got.GroupName != "Family" || got.AdminName != "Ann" || got.Mode != client.LinkApprove {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if strings.Contains(got.String(), "\x03") {
		t.Fatalf("String shows the secret: %q", got.String())
	}
	for _, bad := range []string{
		"", "https://example.org/join#", "not base64!",
		client.InviteWith(client.Invite{Group: wire.ConversationID{1}, GroupName: "x", Admin: wire.UserID{2}, Mode: client.LinkOpen}, []byte{1}).Token(),
		client.InviteWith(client.Invite{Group: wire.ConversationID{1}, GroupName: "x", Admin: wire.UserID{2}}, bytes.Repeat([]byte{3}, 32)).Token(),
		client.InviteWith(client.Invite{Group: wire.ConversationID{1}, Admin: wire.UserID{2}, Mode: client.LinkOpen}, bytes.Repeat([]byte{3}, 32)).Token(),
		client.InviteWith(client.Invite{GroupName: "x", Admin: wire.UserID{2}, Mode: client.LinkOpen}, bytes.Repeat([]byte{3}, 32)).Token(),
		strings.Repeat("A", 2000),
	} {
		if _, err := client.ParseInvite(bad); !errors.Is(err, client.ErrBadInvite) {
			t.Errorf("ParseInvite(%.40q): %v", bad, err)
		}
	}
}

// FuzzParseInvite: the token decoder never panics, and what it accepts
// encodes back to a token it reads the same.
func FuzzParseInvite(f *testing.F) {
	f.Add(client.InviteWith(client.Invite{
		Group: wire.ConversationID{1}, GroupName: "Family", Admin: wire.UserID{2}, AdminName: "Ann", Mode: client.LinkOpen,
	}, bytes.Repeat([]byte{3}, 32)).Token())
	f.Add("https://mutual.example.org/join#eAE")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := client.ParseInvite(s)
		if err != nil {
			return
		}
		again, err := client.ParseInvite(inv.Token())
		if err != nil || again.Token() != inv.Token() || again.Group != inv.Group || again.Mode != inv.Mode {
			t.Fatalf("%q: round trip %+v, %v", s, again, err)
		}
	})
}
