package ui

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

func groupID(b byte) wire.ConversationID {
	var id wire.ConversationID
	id[0], id[15] = 0xc0, b
	return id
}

// family is a group of Ann (this account, an admin), Ben and Cleo (who
// has not joined yet).
func family() client.Group {
	ann, ben, cleo := user(1), user(2), user(3)
	return client.Group{
		ID: groupID(1), Name: "Family", Status: client.GroupJoined, Admin: true,
		Members: []client.GroupMember{
			{User: ann, Admin: true, Joined: true, Name: "Ann"},
			{User: ben, Joined: true, AddedBy: ann, Name: "Ben"},
			{User: cleo, AddedBy: ann, Name: "Cleo"},
		},
	}
}

func TestParseGroupRoute(t *testing.T) {
	id := groupID(7)
	for _, tc := range []struct {
		path  string
		kind  routeKind
		group wire.ConversationID
	}{
		{"/new-group", routeNewGroup, wire.ConversationID{}},
		{"/new-group/", routeNewGroup, wire.ConversationID{}},
		{"/group/" + id.String(), routeGroup, id},
		{"/group/" + strings.ToUpper(id.String()), routeGroup, id},
		{"/group/" + id.String() + "/info", routeGroupInfo, id},
		{"/group/" + id.String() + "/info/", routeGroupInfo, id},
		{"/group/" + id.String() + "/members", routeNotFound, wire.ConversationID{}},
		{"/group/" + id.String()[:30], routeNotFound, wire.ConversationID{}},
		{"/group/" + strings.Repeat("0", 32), routeNotFound, wire.ConversationID{}},
		{"/group/" + strings.Repeat("zz", 16), routeNotFound, wire.ConversationID{}},
		{"/group/", routeNotFound, wire.ConversationID{}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := parseRoute(tc.path)
			if r.kind != tc.kind || r.group != tc.group {
				t.Errorf("parseRoute(%q) = %+v, want kind %d group %s", tc.path, r, tc.kind, tc.group)
			}
			if KnownPath(tc.path) != (tc.kind != routeNotFound) {
				t.Errorf("KnownPath(%q) = %v", tc.path, KnownPath(tc.path))
			}
		})
	}
	if got := groupPath(id); got != "/group/"+id.String() || parseRoute(got).group != id {
		t.Errorf("groupPath = %q", got)
	}
	if got := groupInfoPath(id); parseRoute(got).kind != routeGroupInfo {
		t.Errorf("groupInfoPath = %q", got)
	}
	for kind, want := range map[routeKind]string{routeGroup: "detail", routeGroupInfo: "page", routeNewGroup: "page"} {
		if got := (route{kind: kind}).view(); got != want {
			t.Errorf("route %d: view %q, want %q", kind, got, want)
		}
		if got := (route{kind: kind}).section(); got != "chats" {
			t.Errorf("route %d: section %q, want chats", kind, got)
		}
	}
}

func TestEventText(t *testing.T) {
	me, ann, ben, cleo := user(9), user(1), user(2), user(3)
	gone := user(4) // left, and not a contact: named by a short ID
	p := people{ann: "Ann", ben: "Ben", cleo: "Cleo"}
	many := []wire.UserID{ann, ben, cleo, user(5), user(6), user(7)}
	for _, tc := range []struct {
		name string
		ev   client.GroupEvent
		want string
	}{
		{"created", client.GroupEvent{Kind: client.EventCreated, Actor: ann, Name: "Family"}, "Ann created the group “Family”"},
		{"created by me", client.GroupEvent{Kind: client.EventCreated, Actor: me, Name: "Family"}, "You created the group “Family”"},
		{"added one", client.GroupEvent{Kind: client.EventAdded, Actor: ann, Subjects: []wire.UserID{ben}}, "Ann added Ben"},
		{"added two", client.GroupEvent{Kind: client.EventAdded, Actor: ann, Subjects: []wire.UserID{ben, cleo}}, "Ann added Ben and Cleo"},
		{"added me", client.GroupEvent{Kind: client.EventAdded, Actor: ann, Subjects: []wire.UserID{me, ben}}, "Ann added you and Ben"},
		{"added four", client.GroupEvent{Kind: client.EventAdded, Actor: me, Subjects: many[:4]}, "You added Ann, Ben, Cleo and " + user(5).String()[:8]},
		{"added many", client.GroupEvent{Kind: client.EventAdded, Actor: me, Subjects: many}, "You added Ann, Ben, Cleo and 3 others"},
		{"removed", client.GroupEvent{Kind: client.EventRemoved, Actor: ann, Subjects: []wire.UserID{cleo}}, "Ann removed Cleo"},
		{"removed me", client.GroupEvent{Kind: client.EventRemoved, Actor: ann, Subjects: []wire.UserID{me}}, "You were removed by Ann"},
		{"I removed", client.GroupEvent{Kind: client.EventRemoved, Actor: me, Subjects: []wire.UserID{gone}}, "You removed " + gone.String()[:8]},
		{"left", client.GroupEvent{Kind: client.EventLeft, Actor: cleo}, "Cleo left"},
		{"I left", client.GroupEvent{Kind: client.EventLeft, Actor: me}, "You left"},
		{"joined", client.GroupEvent{Kind: client.EventJoined, Actor: ben}, "Ben joined"},
		{"renamed", client.GroupEvent{Kind: client.EventRenamed, Actor: ann, Name: "Family 🏡"}, "Ann renamed the group to “Family 🏡”"},
		{"admin", client.GroupEvent{Kind: client.EventAdmin, Actor: ann, Subjects: []wire.UserID{ben}}, "Ann made Ben an admin"},
		{"admins", client.GroupEvent{Kind: client.EventAdmin, Actor: ann, Subjects: []wire.UserID{ben, me}}, "Ann made Ben and you admins"},
		{"not admin", client.GroupEvent{Kind: client.EventNotAdmin, Actor: ann, Subjects: []wire.UserID{me}}, "Ann removed you as admin"},
		{"everyone adds", client.GroupEvent{Kind: client.EventSettings, Actor: ann, MembersCanAdd: true}, "Ann let every member add members"},
		{"admins add", client.GroupEvent{Kind: client.EventSettings, Actor: me}, "You let only admins add members"},
		{"unknown kind", client.GroupEvent{Kind: 99, Actor: ann}, "Ann changed the group"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := eventText(tc.ev, me, p); got != tc.want {
				t.Errorf("eventText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGroupPeople(t *testing.T) {
	g := family()
	left := client.Contact{User: user(5), ProfileName: "Dan", State: client.ContactAllowed}
	renamed := client.Contact{User: user(2), Nickname: "Benji", State: client.ContactAllowed}
	stranger := client.Contact{User: user(6), ProfileName: "Bank", State: client.ContactRequest}
	p := groupPeople([]*client.Group{&g}, []client.Contact{left, renamed, stranger})
	for u, want := range map[wire.UserID]string{
		user(1): "Ann", user(2): "Benji", user(3): "Cleo", user(5): "Dan",
		user(6): user(6).String()[:8], // a request is not named by the name it gives
	} {
		if got := p.name(u); got != want {
			t.Errorf("name(%s) = %q, want %q", u, got, want)
		}
	}
}

// TestPeopleMerged: a member who has left is still named by the view
// that knew them.
func TestPeopleMerged(t *testing.T) {
	before := people{user(2): "Ben", user(3): "Cleo"}
	after := before.merged(people{user(2): "Benji"})
	if after.name(user(3)) != "Cleo" || after.name(user(2)) != "Benji" {
		t.Errorf("merged: %v", after)
	}
	if before.name(user(2)) != "Ben" {
		t.Error("merged changed the names it started from")
	}
	if got := people(nil).merged(nil).name(user(4)); got != user(4).String()[:8] {
		t.Errorf("an unknown user is named %q", got)
	}
}

func TestAuthorColour(t *testing.T) {
	seen := make(map[int]bool)
	for i := range 256 {
		var u wire.UserID
		u[0], u[7] = byte(i), byte(i*7)
		c := authorColour(u)
		if c < 0 || c >= authorColours {
			t.Fatalf("authorColour(%s) = %d, out of range", u, c)
		}
		if authorColour(u) != c {
			t.Fatalf("authorColour(%s) changes", u)
		}
		seen[c] = true
	}
	if len(seen) != authorColours {
		t.Errorf("256 users get %d of the %d colours", len(seen), authorColours)
	}
	if authorClass(user(1)) != "author-"+strconv.Itoa(authorColour(user(1))) {
		t.Errorf("authorClass = %q", authorClass(user(1)))
	}
}

// TestAuthorColours: every author colour the style sheet defines is
// readable (WCAG AA, 4.5:1) on the bubbles and on the conversation's
// background, in the light and the dark theme.
func TestAuthorColours(t *testing.T) {
	css, err := os.ReadFile("../../pwa/static/styles/mutual.css")
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, theme := range []struct{ name, selector string }{
		{"light", ":root {"}, {"dark", `html[data-theme="dark"] {`},
	} {
		start := strings.Index(string(css), theme.selector)
		if start < 0 {
			t.Fatalf("no %s theme in the style sheet", theme.name)
		}
		end := strings.Index(string(css[start:]), "\n}")
		blocks[theme.name] = string(css[start : start+end])
	}
	prop := regexp.MustCompile(`--([a-z0-9-]+):\s*(#[0-9a-fA-F]{6});`)
	for theme, block := range blocks {
		vars := map[string]string{}
		for _, m := range prop.FindAllStringSubmatch(block, -1) {
			vars[m[1]] = m[2]
		}
		for i := range authorColours {
			name := fmt.Sprintf("author-%d", i)
			c, ok := vars[name]
			if !ok {
				t.Errorf("%s theme: no --%s", theme, name)
				continue
			}
			for _, bg := range []string{"in-bg", "surface"} {
				if r := contrast(c, vars[bg]); r < 4.5 {
					t.Errorf("%s theme: --%s %s on --%s %s has a contrast of %.2f, want at least 4.5", theme, name, c, bg, vars[bg], r)
				}
			}
		}
		if !strings.Contains(string(css), "."+fmt.Sprintf("author-%d", authorColours-1)+" {") {
			t.Errorf("no class for the last author colour")
		}
	}
}

// contrast is the WCAG contrast ratio of two colours written #rrggbb.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		if len(hex) != 7 {
			return math.NaN()
		}
		var l float64
		for i, w := range []float64{0.2126, 0.7152, 0.0722} {
			v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			c := float64(v) / 255
			if c <= 0.03928 {
				c /= 12.92
			} else {
				c = math.Pow((c+0.055)/1.055, 2.4)
			}
			l += w * c
		}
		return l
	}
	x, y := lum(a), lum(b)
	if x < y {
		x, y = y, x
	}
	return (x + 0.05) / (y + 0.05)
}

func TestCheckGroupName(t *testing.T) {
	for _, tc := range []struct {
		name, typed string
		ok          bool
	}{
		{"empty", "", false},
		{"spaces", "   ", false},
		{"short", "Family", true},
		{"at the limit", strings.Repeat("a", client.MaxGroupName), true},
		{"over the limit", strings.Repeat("a", client.MaxGroupName+1), false},
		{"over in bytes, not in characters", strings.Repeat("é", client.MaxGroupName/2+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkGroupName(tc.typed); (got == "") != tc.ok {
				t.Errorf("checkGroupName(%q) = %q", tc.typed, got)
			}
		})
	}
}

func TestGroupErrorText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		online bool
		want   string
	}{
		{"none", nil, true, ""},
		{"not connected", fmt.Errorf("create group: %w", client.ErrOffline), true, "Connect to create a group."},
		{"offline", context.DeadlineExceeded, false, "Connect to create a group."},
		{"forbidden", &wire.Error{Code: wire.CodeForbidden}, true, "The server refused: you are not allowed to create a group in this group."},
		{"too many", &wire.Error{Code: wire.CodeTooManyRecipients}, true, "A group has at most 1024 members."},
		{"rate limited", &wire.Error{Code: wire.CodeRateLimited, RetryAfterMS: 90_000}, true, "Too many attempts. Try again in 2 minutes."},
		{"closed", client.ErrClosed, false, "The app is restarting. Try again in a moment."},
		{"not an admin", fmt.Errorf("create group: %w", client.ErrNotAllowed), true, "Only the group's admins can create a group."},
		{"not a member", client.ErrNotMember, true, "You can't create a group: you are not a member of this group."},
		{"full", client.ErrGroupFull, true, "A group has at most 1024 members."},
		{"other", errors.New("boom"), true, "Couldn't reach the Mutual server. Try again in a moment."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := groupErrorText(tc.err, tc.online, "create a group"); got != tc.want {
				t.Errorf("groupErrorText = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestGroupChatItem(t *testing.T) {
	me := user(1)
	g := family()
	invited := client.Group{ID: groupID(2), Name: "Book club", Status: client.GroupInvited, InvitedBy: user(7),
		Members: []client.GroupMember{{User: user(7), Admin: true, Joined: true, Name: "Zoe"}, {User: me}}}
	quiet := client.Group{ID: groupID(3), Name: "Quiet", Status: client.GroupJoined, Members: g.Members}
	ben := client.Contact{User: user(2), ProfileName: "Ben", State: client.ContactAllowed}
	chats := []client.Chat{
		{Contact: ben, Activity: testNow.Add(-72 * time.Hour)},
		{Group: &g, Unread: 2, Activity: testNow.Add(-time.Hour),
			Last: &client.Message{Conversation: g.ID, Author: user(2), Text: "hello\nall", SentAt: testNow.Add(-time.Hour), State: client.StateReceived}},
		{Group: &invited, Activity: testNow.Add(-30 * time.Minute)},
		{Group: &quiet, Activity: testNow.Add(-48 * time.Hour),
			Last: &client.Message{Conversation: quiet.ID, Author: user(3), SentAt: testNow.Add(-48 * time.Hour),
				Event: &client.GroupEvent{Kind: client.EventLeft, Actor: user(3)}}},
	}
	mine := client.Group{ID: groupID(4), Name: "Mine", Status: client.GroupJoined, Members: g.Members}
	chats = append(chats, client.Chat{Group: &mine, Activity: testNow.Add(-96 * time.Hour),
		Last: &client.Message{Conversation: mine.ID, Outgoing: true, Author: me, Text: "ping", SentAt: testNow.Add(-96 * time.Hour), State: client.StateDelivered}})
	d := render(t, func() app.UI {
		return chatListView(chatListProps{chats: chats, activeGroup: g.ID, me: me, now: testNow, loaded: true}, nil)
	})
	rows := d.all("li", ".chat-group")
	if len(rows) != 4 {
		t.Fatalf("%d group rows, want 4", len(rows))
	}
	for i, want := range []struct {
		group   wire.ConversationID
		name    string
		preview string
		unread  string
		invite  bool
		ticks   string
	}{
		{invited.ID, "Book club", "Zoe added you to Book club", "", true, ""},
		{g.ID, "Family", "Ben: hello all", "2", false, ""},
		{quiet.ID, "Quiet", "Cleo left", "", false, ""},
		{mine.ID, "Mine", "You: ping", "", false, "Delivered"},
	} {
		r := d.within(rows[i])
		if attr(rows[i], "data-group") != want.group.String() {
			t.Errorf("row %d: data-group %q", i, attr(rows[i], "data-group"))
		}
		if got := text(r.one(".chat-name")); got != "Group: "+want.name {
			t.Errorf("row %d: name %q", i, got)
		}
		if got := text(r.one(".chat-preview")); got != want.preview {
			t.Errorf("row %d: preview %q, want %q", i, got, want.preview)
		}
		if got := attr(r.one("a"), "href"); got != "/group/"+want.group.String() {
			t.Errorf("row %d: link %q", i, got)
		}
		if len(r.all(".avatar-group")) != 1 {
			t.Errorf("row %d: no group icon", i)
		}
		unread := r.all(".chat-unread")
		if (want.unread == "") != (len(unread) == 0) || (len(unread) == 1 && text(unread[0]) != want.unread) {
			t.Errorf("row %d: unread %d badges, want %q", i, len(unread), want.unread)
		}
		if hasClass(rows[i], "chat-request") != want.invite || (len(r.all(".badge-request")) == 1) != want.invite {
			t.Errorf("row %d: invitation marking wrong", i)
		}
		tk := r.all(".ticks")
		if (want.ticks == "") != (len(tk) == 0) || (len(tk) == 1 && attr(tk[0], "aria-label") != want.ticks) {
			t.Errorf("row %d: ticks %d, want %q", i, len(tk), want.ticks)
		}
	}
	if attr(d.within(rows[1]).one("a"), "aria-current") != "page" {
		t.Error("the open group is not marked current")
	}
	if len(d.all("h1")) != 0 {
		t.Error("beside an open group the list's title should be a second-level heading")
	}
	if got := attr(d.one("#new-group"), "href"); got != pathNewGroup {
		t.Errorf("New group goes to %q", got)
	}
	var names []string
	for _, ch := range filterChats(chats, "FAM") {
		names = append(names, ch.Group.Name)
	}
	if strings.Join(names, "|") != "Family" {
		t.Errorf("the filter FAM keeps %q", names)
	}
	if got := filterChats(chats, "unknown"); len(got) != 0 {
		t.Errorf("the filter unknown keeps %d chats", len(got))
	}
}

func TestGroupMessages(t *testing.T) {
	g := family()
	me, ben, cleo := user(1), user(2), user(3)
	at := func(min int) time.Time { return testNow.Add(time.Duration(min-60) * time.Minute) }
	msgs := []client.Message{
		{ID: msgID(1), Seq: 1, Author: me, Outgoing: true, SentAt: at(0), State: client.StateRead,
			Event: &client.GroupEvent{Kind: client.EventCreated, Actor: me, Name: "Family"}},
		{ID: msgID(2), Seq: 2, Author: ben, Text: "hi", SentAt: at(1), State: client.StateRead},
		{ID: msgID(3), Seq: 3, Author: ben, Text: "how are you?", SentAt: at(2), State: client.StateRead},
		{ID: msgID(4), Seq: 4, Author: cleo, Text: "fine", SentAt: at(3), State: client.StateRead},
		{ID: msgID(5), Seq: 5, Author: me, Outgoing: true, Text: "good", SentAt: at(4), State: client.StateDelivered},
		{ID: msgID(6), Seq: 6, Author: me, Outgoing: true, SentAt: at(5), State: client.StateRead,
			Event: &client.GroupEvent{Kind: client.EventRemoved, Actor: me, Subjects: []wire.UserID{cleo}}},
		{ID: msgID(7), Seq: 7, Author: ben, Text: "oh", SentAt: at(6), State: client.StateRead},
		{ID: msgID(8), Seq: 8, Author: me, Outgoing: true, Text: "lost", SentAt: at(7), State: client.StateFailed, Failure: wire.CodeNotAccepted},
	}
	p := msgListProps{msgs: msgs, now: testNow, group: &g, me: me, people: groupPeople([]*client.Group{&g}, nil), peerName: g.Name}
	d := render(t, func() app.UI { return app.Div().ID("messages").Body(messageItems(p)...) })
	system := d.all(".msg-system")
	if len(system) != 2 || text(system[0]) != "You created the group “Family” at 14:00" || text(system[1]) != "You removed Cleo at 14:05" {
		var got []string
		for _, s := range system {
			got = append(got, text(s))
		}
		t.Errorf("system lines %q", got)
	}
	for _, s := range system {
		if hasClass(s, "msg-in") || hasClass(s, "msg-out") || len(d.within(s).all(".bubble")) != 0 {
			t.Error("a system line is drawn as a message")
		}
	}
	// Authors above the first of each run of theirs, in their colour.
	var authors []string
	for _, a := range d.all(".msg-author") {
		authors = append(authors, text(a))
		want := authorClass(ben)
		if text(a) == "Cleo" {
			want = authorClass(cleo)
		}
		if !hasClass(a, want) {
			t.Errorf("%s's name is not in their colour: %q", text(a), attr(a, "class"))
		}
	}
	if strings.Join(authors, "|") != "Ben|Cleo|Ben" {
		t.Errorf("authors shown %q, want Ben|Cleo|Ben", authors)
	}
	cont := func(id wire.MessageID) bool {
		return hasClass(d.one(".msg", "[data-id="+id.String()+"]"), "msg-cont")
	}
	if !cont(msgID(3)) || cont(msgID(4)) || cont(msgID(7)) {
		t.Error("runs of one author are not grouped, or different authors are")
	}
	if got := text(d.within(d.one(".msg", "[data-id="+msgID(2).String()+"]")).one(".msg-text")); got != "Ben: hi" {
		t.Errorf("a screen reader does not hear who wrote: %q", got)
	}
	own := d.one(".msg", "[data-id="+msgID(5).String()+"]")
	if b := d.within(own).all("button", ".msg-info"); len(b) != 1 || !strings.Contains(text(b[0]), "Message info") {
		t.Error("an own message has no button for its info")
	}
	if got := text(d.within(d.one(".msg", "[data-id="+msgID(8).String()+"]")).one(".msg-failure")); !strings.Contains(got, "no longer a member") {
		t.Errorf("a refused group message says %q", got)
	}
	edge := render(t, func() app.UI { return historyEdge(p) })
	if got := text(edge.one(".history-edge")); !strings.Contains(got, "Only the members of Family can read them.") {
		t.Errorf("the history's edge says %q", got)
	}
}

func TestReceiptsView(t *testing.T) {
	rs := []client.Receipt{
		{User: user(3), Name: "cleo", State: client.StateDelivered, At: testNow.Add(-time.Hour)},
		{User: user(2), Name: "Ben", State: client.StateRead, At: testNow.Add(-30 * time.Minute)},
		{User: user(4), Name: "Dan", State: client.StateSent},
		{User: user(5), Name: "Abe", State: client.StateDelivered, At: testNow.Add(-2 * time.Hour)},
	}
	d := render(t, func() app.UI { return receiptsView(rs, testNow) })
	for _, want := range []struct{ id, title, names string }{
		{"read-by", "Read by", "Ben 14:30"},
		{"delivered-to", "Delivered to", "Abe 13:00 cleo 14:00"},
		{"not-delivered", "Not delivered yet", "Dan"},
	} {
		sec := d.within(d.one("#" + want.id))
		if got := text(sec.one("h3")); got != want.title {
			t.Errorf("%s: title %q", want.id, got)
		}
		if got := text(sec.one("ul")); got != want.names {
			t.Errorf("%s: %q, want %q", want.id, got, want.names)
		}
	}
	d = render(t, func() app.UI { return receiptsView(rs[1:2], testNow) })
	if len(d.all("section")) != 1 {
		t.Error("empty sections are shown")
	}
}

func TestGroupInfoView(t *testing.T) {
	g := family()
	ben := client.Contact{User: user(2), ProfileName: "Ben", VerifiedAddress: "email:ben@example.org", State: client.ContactAllowed}
	dan := client.Contact{User: user(4), ProfileName: "Dan", State: client.ContactAllowed}
	st := groupInfoState{id: g.ID, group: &g, me: user(1), name: g.Name,
		contacts: map[wire.UserID]client.Contact{ben.User: ben, dan.User: dan}}
	st.pick.setContacts([]client.Contact{ben, dan}, func(u wire.UserID) bool { return isMember(g, u) })

	t.Run("admin", func(t *testing.T) {
		d := render(t, func() app.UI { return groupInfoView(st, groupInfoHandlers{}) })
		if got := text(d.one("#group-heading")); got != "Family" {
			t.Errorf("name %q", got)
		}
		if got := text(d.one("#members-heading")); got != "3 members" {
			t.Errorf("members heading %q", got)
		}
		for _, id := range []string{"#group-rename", "#rename-group", "#add-members", "#members-can-add", "#leave-group", "#leave-dialog"} {
			if len(d.all(id)) != 1 {
				t.Errorf("an admin has no %s", id)
			}
		}
		member := func(u wire.UserID) doc { return d.within(d.one("li", ".member", "[data-user="+u.String()+"]")) }
		me := member(user(1))
		if got := text(me.one(".person-name")); got != "Ann" || text(me.one(".badge-you")) != "You" || len(me.all(".badge-admin")) != 1 {
			t.Errorf("this account is shown as %q without its marks", got)
		}
		if len(me.all(".member-actions")) != 0 {
			t.Error("an admin can remove themself from the members list")
		}
		b := member(ben.User)
		if got := attr(b.one("a", ".member-safety"), "href"); got != "/safety/"+ben.User.String() {
			t.Errorf("Ben's name links to %q, want his safety number", got)
		}
		if got := strings.ReplaceAll(text(b.one(".address")), " ", ""); got != "ben@example.org" {
			t.Errorf("Ben's address %q", got)
		}
		if len(b.all(".member-admin")) != 1 || len(b.all(".member-remove")) != 1 {
			t.Error("an admin cannot manage Ben")
		}
		c := member(user(3))
		if len(c.all(".badge-invited")) != 1 || len(c.all("a", ".member-safety")) != 0 {
			t.Error("Cleo (invited, not a contact) is not marked, or links to a safety number")
		}
		if got := text(c.one(".member-stranger")); !strings.Contains(got, "Not in your contacts") {
			t.Errorf("Cleo, not a contact, is described as %q", got)
		}
	})
	t.Run("adding", func(t *testing.T) {
		st := st
		st.adding = true
		d := render(t, func() app.UI { return groupInfoView(st, groupInfoHandlers{}) })
		picks := d.all("li", ".pick")
		if len(picks) != 1 || attr(picks[0], "data-user") != dan.User.String() {
			t.Errorf("the contacts to add are %d, want Dan alone (the others are members)", len(picks))
		}
		if len(d.all("#pick-"+dan.User.String())) != 1 {
			t.Error("Dan has no checkbox")
		}
		if _, ok := attrOK(d.one("#confirm-add"), "disabled"); !ok {
			t.Error("Add is on with nobody chosen")
		}
	})
	t.Run("member", func(t *testing.T) {
		g := g
		g.Admin = false
		st := st
		st.group = &g
		d := render(t, func() app.UI { return groupInfoView(st, groupInfoHandlers{}) })
		for _, id := range []string{"#group-rename", "#add-members", "#members-can-add", ".member-actions"} {
			if len(d.all(id)) != 0 {
				t.Errorf("a member who is not an admin has %s", id)
			}
		}
		if len(d.all("#leave-group")) != 1 {
			t.Error("a member cannot leave")
		}
		g.MembersCanAdd = true
		d = render(t, func() app.UI { return groupInfoView(st, groupInfoHandlers{}) })
		if len(d.all("#add-members")) != 1 {
			t.Error("a member cannot add members when everyone may")
		}
	})
	t.Run("removed", func(t *testing.T) {
		g := g
		g.Status = client.GroupRemoved
		st := st
		st.group = &g
		d := render(t, func() app.UI { return groupInfoView(st, groupInfoHandlers{}) })
		if got := text(d.one("#group-status")); got != "You were removed from this group." {
			t.Errorf("status %q", got)
		}
		for _, id := range []string{"#group-rename", "#add-members", "#leave-group", ".member-actions"} {
			if len(d.all(id)) != 0 {
				t.Errorf("a removed account has %s", id)
			}
		}
	})
	t.Run("busy", func(t *testing.T) {
		st := st
		st.busy = true
		d := render(t, func() app.UI { return groupInfoView(st, groupInfoHandlers{}) })
		for _, b := range d.all("button") {
			if _, ok := attrOK(b, "disabled"); !ok && attr(b, "id") != "" {
				t.Errorf("#%s is on while a change runs", attr(b, "id"))
			}
		}
	})
}

func TestNewGroupView(t *testing.T) {
	ben := client.Contact{User: user(2), ProfileName: "Ben", State: client.ContactAllowed}
	cleo := client.Contact{User: user(3), Nickname: "Cleo", Address: "email:cleo@example.org", State: client.ContactAllowed}
	blocked := client.Contact{User: user(4), ProfileName: "Eve", State: client.ContactBlocked}
	var st newGroupState
	st.loaded = true
	st.pick.setContacts([]client.Contact{cleo, blocked, ben}, nil)
	st.pick.toggle(cleo.User, true)
	d := render(t, func() app.UI { return newGroupView(st, newGroupHandlers{}) })
	var names []string
	for _, li := range d.all("li", ".pick") {
		names = append(names, text(d.within(li).one(".person-name")))
	}
	if strings.Join(names, "|") != "Ben|Cleo" {
		t.Errorf("the contacts to choose are %q, want Ben|Cleo (not the blocked one)", names)
	}
	if _, ok := attrOK(d.one("#pick-"+cleo.User.String()), "checked"); !ok {
		t.Error("Cleo, chosen, is not checked")
	}
	if got := text(d.one("#pick-count")); got != "1 chosen" {
		t.Errorf("count %q", got)
	}
	if got := attr(d.one("#group-name"), "maxlength"); got != strconv.Itoa(client.MaxGroupName) {
		t.Errorf("the name's maxlength is %q", got)
	}
	if len(d.all("label", "[for=group-name]")) != 1 || len(d.all("label", "[for=pick-filter]")) != 1 {
		t.Error("a field has no label")
	}
	st.pick.filter = "CLEO@"
	if got := st.pick.shown(); len(got) != 1 || got[0].User != cleo.User {
		t.Errorf("searching CLEO@ shows %d contacts", len(got))
	}
	if got := st.pick.selected(); len(got) != 1 || got[0] != cleo.User {
		t.Errorf("selected %v", got)
	}
	// A contact chosen, then blocked, is no longer chosen.
	cleo.State = client.ContactBlocked
	st.pick.setContacts([]client.Contact{cleo, ben}, nil)
	if got := st.pick.selected(); len(got) != 0 {
		t.Errorf("a blocked contact is still chosen: %v", got)
	}
}

// TestGroupChatFooter: the composer while this account is a member;
// Join and Decline for an invitation; a note, and no composer, once it
// has left or was removed.
func TestGroupChatFooter(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   client.GroupStatus
		composer bool
		buttons  []string
		note     string
	}{
		{"joined", client.GroupJoined, true, nil, ""},
		{"invited", client.GroupInvited, false, []string{"#decline-group", "#join-group"}, ""},
		{"left", client.GroupLeft, false, nil, "You left this group."},
		{"removed", client.GroupRemoved, false, nil, "You were removed from this group."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := family()
			g.Status, g.InvitedBy = tc.status, user(2)
			c := &conversation{Group: g.ID.String(), conv: g.ID}
			c.grp.group, c.grp.people, c.grp.stranger = &g, groupPeople([]*client.Group{&g}, nil), true
			d := render(t, func() app.UI { return c.groupFooter() })
			if got := len(d.all("textarea", "#composer")) == 1 && len(d.all("button", "#send")) == 1; got != tc.composer {
				t.Errorf("composer %v, want %v", got, tc.composer)
			}
			for _, b := range tc.buttons {
				if len(d.all("button", b)) != 1 {
					t.Errorf("no %s", b)
				}
			}
			if tc.status == client.GroupInvited && (!strings.HasPrefix(text(d.one("#invitation")), "Ben added you to Family.") ||
				text(d.one(".badge-stranger")) != "Not in your contacts") {
				t.Errorf("the invitation from a stranger says %q", text(d.root))
			}
			if tc.note != "" && !strings.HasPrefix(text(d.one("#group-gone")), tc.note) {
				t.Errorf("the note says %q, want %q…", text(d.one("#group-gone")), tc.note)
			}
		})
	}
	g := family()
	c := &conversation{Group: g.ID.String(), conv: g.ID}
	c.grp.group = &g
	d := render(t, func() app.UI { return c.groupHead() })
	if text(d.one("#chat-title")) != "Family" || text(d.one("#group-members")) != "3 members" {
		t.Errorf("the header says %q", text(d.root))
	}
	if got := attr(d.one("a", "#group-info"), "href"); got != groupInfoPath(g.ID) {
		t.Errorf("the header's info goes to %q", got)
	}
}

func TestShellGroupPages(t *testing.T) {
	id := groupID(5).String()
	for _, tc := range []struct {
		path, view string
		want       []string
	}{
		{"/new-group", "page", []string{"#new-group-form", "#create-group"}},
		{"/group/" + id, "detail", []string{"#chat-filter", "#messages", "#chat-title", "#group-info", "#message-info"}},
		{"/group/" + id + "/info", "page", []string{".group-info"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			s := testSession(t, true)
			h := &shell{s: s, route: parseRoute(tc.path), status: s.Status()}
			d := render(t, func() app.UI { return h.Render() })
			if got := attr(d.one("#app"), "data-view"); got != tc.view {
				t.Errorf("data-view %q, want %q", got, tc.view)
			}
			for _, sel := range tc.want {
				if len(d.all(sel)) == 0 {
					t.Errorf("no %s", sel)
				}
			}
			k := &skeleton{route: parseRoute(tc.path)}
			d = render(t, func() app.UI { return k.Render() })
			if got := attr(d.one("#app"), "data-view"); got != tc.view {
				t.Errorf("the skeleton's data-view %q, want %q", got, tc.view)
			}
		})
	}
}
