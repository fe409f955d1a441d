package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"golang.org/x/net/html"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestInviteEventText(t *testing.T) {
	me, ann, ben := user(9), user(1), user(2)
	p := people{ann: "Ann", ben: "Ben"}
	for _, tc := range []struct {
		name string
		ev   client.GroupEvent
		want string
	}{
		{"approve", client.GroupEvent{Kind: client.EventLink, Actor: ann, Link: client.LinkApprove}, "Ann set the invite link: an admin approves who joins"},
		{"open", client.GroupEvent{Kind: client.EventLink, Actor: me, Link: client.LinkOpen}, "You set the invite link: anyone with it can join"},
		{"off", client.GroupEvent{Kind: client.EventLink, Actor: ann}, "Ann turned off the invite link"},
		{"reset", client.GroupEvent{Kind: client.EventLinkReset, Actor: ann}, "Ann reset the invite link"},
		{"joined", client.GroupEvent{Kind: client.EventLinkJoined, Actor: ann, Subjects: []wire.UserID{ben}}, "Ben joined with the invite link"},
		{"I joined", client.GroupEvent{Kind: client.EventLinkJoined, Actor: ann, Subjects: []wire.UserID{me}}, "You joined with the invite link"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := eventText(tc.ev, me, p); got != tc.want {
				t.Errorf("eventText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseJoinRoute(t *testing.T) {
	for _, path := range []string{"/join", "/join/"} {
		if r := parseRoute(path); r.kind != routeJoin || r.title() != "Join a group · Mutual" || !KnownPath(path) {
			t.Errorf("%s: %+v", path, r)
		}
	}
}

// TestInviteCardView: off, the card offers the three modes; on, the
// link, its copy button, its QR code and reset; requests to join, each
// with Approve and Decline.
func TestInviteCardView(t *testing.T) {
	d := render(t, func() app.UI { return inviteCardView(inviteState{}, inviteHandlers{}) })
	if n := d.one("#link-off"); attr(n, "type") != "radio" || !isSet(n, "checked") {
		t.Fatalf("off is not chosen")
	}
	for _, id := range []string{"#link-approve", "#link-open"} {
		d.one(id)
	}
	if len(d.all("#invite-link")) != 0 || len(d.all("#join-requests")) != 0 {
		t.Fatal("a link or requests while off, with none")
	}

	const link = "https://mutual.example.org/join#abc"
	st := inviteState{
		mode: client.LinkOpen, link: link, qr: "<svg class=\"qr\"></svg>",
		requests: []client.JoinRequest{{User: user(3), Name: "Cleo", At: time.Unix(1700000000, 0)}, {User: user(4)}},
	}
	d = render(t, func() app.UI { return inviteCardView(st, inviteHandlers{}) })
	if !isSet(d.one("#link-open"), "checked") || isSet(d.one("#link-off"), "checked") {
		t.Fatal("open is not the mode chosen")
	}
	if n := d.one("#invite-link"); attr(n, "value") != link || !isSet(n, "readonly") {
		t.Fatalf("the link field: %v", n.Attr)
	}
	d.one("#copy-link")
	d.one("#reset-link")
	d.within(d.one("#invite-qr")).one("svg")
	if hint := text(d.one("#invite-link-hint")); !strings.Contains(hint, "joins the group at once") {
		t.Fatalf("the link's hint: %q", hint)
	}
	reqs := d.all(".join-request")
	if len(reqs) != 2 {
		t.Fatalf("%d requests shown", len(reqs))
	}
	if got := text(reqs[0]); !strings.Contains(got, "Cleo") || !strings.Contains(got, "Approve") || !strings.Contains(got, "Decline") {
		t.Fatalf("a request: %q", got)
	}
	if got := text(reqs[1]); !strings.Contains(got, user(4).String()[:8]) {
		t.Fatalf("a request without a name: %q", got)
	}
}

// TestJoinView: the join page names the group and who invites, and
// offers Join or Ask to join; a link that is none says so.
func TestJoinView(t *testing.T) {
	inv := client.Invite{Group: wire.ConversationID{1}, GroupName: "Hikers", Admin: user(1), Mode: client.LinkOpen}
	d := render(t, func() app.UI { return joinView(joinState{inv: inv, inviter: "Ann"}, nil) })
	if got := text(d.one("#join-group-name")); got != "Hikers" {
		t.Fatalf("group name %q", got)
	}
	if got := text(d.one("#join-inviter")); got != "Ann invites you" {
		t.Fatalf("inviter %q", got)
	}
	if got := text(d.one("#join-group")); got != "Join" {
		t.Fatalf("button %q", got)
	}
	inv.Mode = client.LinkApprove
	d = render(t, func() app.UI { return joinView(joinState{inv: inv, inviter: "Ann", step: joinAsked}, nil) })
	if len(d.all("#join-group")) != 0 || !strings.Contains(text(d.one("#join-status")), "once an admin approves") {
		t.Fatal("after asking: the button stays, or no word of the request")
	}
	d = render(t, func() app.UI { return joinView(joinState{inv: inv, inviter: "Ann"}, nil) })
	if got := text(d.one("#join-group")); got != "Ask to join" {
		t.Fatalf("button %q", got)
	}
	d = render(t, func() app.UI { return joinView(joinState{bad: true}, nil) })
	if !strings.Contains(text(d.one("#join-error")), "not a Mutual invite link") || len(d.all("#join-group")) != 0 {
		t.Fatal("a link that is none")
	}
}

// isSet reports whether n has the boolean attribute k (checked,
// readonly) on: go-app writes an attribute that is off as "false".
func isSet(n *html.Node, k string) bool {
	v, ok := attrOK(n, k)
	return ok && v != "false"
}
