package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"golang.org/x/net/html"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

var testNow = time.Date(2026, 3, 12, 15, 0, 0, 0, time.UTC) // a Thursday

func user(b byte) wire.UserID {
	var u wire.UserID
	u[0], u[15] = b, b
	return u
}

func msgID(b byte) wire.MessageID {
	var id wire.MessageID
	id[0], id[15] = b, 0xee
	return id
}

func TestTicksMatch(t *testing.T) {
	for _, tc := range []struct {
		state client.MessageState
		class string
		label string
	}{
		{client.StateSending, "ticks", "Sending"},
		{client.StateWaiting, "ticks ticks-waiting", "Waiting"},
		{client.StateSent, "ticks", "Sent"},
		{client.StateDelivered, "ticks", "Delivered"},
		{client.StateRead, "ticks ticks-read", "Read"},
		{client.StateFailed, "ticks ticks-failed", "Not delivered"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			want := app.Span().Class(tc.class).Role("img").Aria("label", tc.label).Title(tc.label)
			if err := app.Match(want, ticks(tc.state)); err != nil {
				t.Error(err)
			}
		})
	}
	if ticks(client.StateReceived) != nil {
		t.Error("a received message has ticks")
	}
}

func TestMessageList(t *testing.T) {
	yesterday := testNow.Add(-24 * time.Hour)
	msgs := []client.Message{
		{ID: msgID(1), Seq: 1, Outgoing: true, Text: "hi", SentAt: yesterday.Add(-time.Hour), State: client.StateRead},
		{ID: msgID(2), Seq: 2, Text: "hello\nthere", SentAt: yesterday, State: client.StateRead},
		{ID: msgID(3), Seq: 3, Outgoing: true, Text: "today", SentAt: testNow.Add(-3 * time.Hour), State: client.StateDelivered},
		{ID: msgID(4), Seq: 4, Outgoing: true, Text: "and now", SentAt: testNow.Add(-3*time.Hour + time.Minute), State: client.StateSent},
		{ID: msgID(5), Seq: 5, Outgoing: true, Text: "sending", SentAt: testNow.Add(-time.Minute), State: client.StateSending},
		{ID: msgID(6), Seq: 6, Outgoing: true, Text: "refused", SentAt: testNow, State: client.StateFailed, Failure: wire.CodeNotAccepted},
		{ID: msgID(7), Seq: 7, Text: "new one", SentAt: testNow, State: client.StateReceived},
	}
	retries := 0
	d := render(t, func() app.UI {
		p := msgListProps{msgs: msgs, peerName: "Bob", now: testNow, firstUnread: msgID(7),
			onRetry: func(client.Message) app.EventHandler { retries++; return func(app.Context, app.Event) {} }}
		return app.Div().ID("messages").Body(messageItems(p)...)
	})

	seps := d.all(".day-separator")
	if len(seps) != 2 || text(seps[0]) != "Yesterday" || text(seps[1]) != "Today" {
		var got []string
		for _, s := range seps {
			got = append(got, text(s))
		}
		t.Fatalf("day separators %q, want [Yesterday Today]", got)
	}
	nodes := d.all(".msg")
	if len(nodes) != len(msgs) {
		t.Fatalf("%d .msg, want %d", len(nodes), len(msgs))
	}
	wantStates := []string{"read", "read", "delivered", "sent", "sending", "failed", "received"}
	wantTicks := []string{"Read", "", "Delivered", "Sent", "Sending", "Not delivered", ""}
	for i, n := range nodes {
		m := msgs[i]
		if attr(n, "data-id") != m.ID.String() || attr(n, "data-state") != wantStates[i] {
			t.Errorf("message %d: data-id %q data-state %q", i, attr(n, "data-id"), attr(n, "data-state"))
		}
		if hasClass(n, "msg-out") != m.Outgoing || hasClass(n, "msg-in") == m.Outgoing {
			t.Errorf("message %d: classes %q", i, attr(n, "class"))
		}
		sub := d.within(n)
		if got := text(sub.one(".msg-text")); !strings.HasSuffix(got, strings.Join(strings.Fields(m.Text), " ")) {
			t.Errorf("message %d: text %q", i, got)
		}
		if got := text(sub.one(".msg-time")); got != m.SentAt.Format("15:04") {
			t.Errorf("message %d: time %q", i, got)
		}
		ticks := sub.all(".ticks")
		switch {
		case wantTicks[i] == "" && len(ticks) != 0:
			t.Errorf("message %d: unexpected ticks", i)
		case wantTicks[i] != "" && (len(ticks) != 1 || attr(ticks[0], "aria-label") != wantTicks[i]):
			t.Errorf("message %d: ticks %v, want %q", i, ticks, wantTicks[i])
		}
	}
	// The outgoing message a minute after another is drawn in its group.
	if !hasClass(nodes[3], "msg-cont") || hasClass(nodes[2], "msg-cont") || hasClass(nodes[1], "msg-cont") {
		t.Error("grouping of consecutive messages is wrong")
	}
	if !hasClass(d.one(".ticks-read"), "ticks") {
		t.Error("read ticks are not marked")
	}
	failure := d.one(".msg-failure")
	if !strings.Contains(text(failure), "haven't accepted") || len(d.within(failure).all("button", ".msg-retry")) != 1 {
		t.Errorf("failure line %q", text(failure))
	}
	if retries != 7 {
		t.Errorf("onRetry asked %d times", retries)
	}
	unread := d.one("#unread-separator")
	if unread.NextSibling == nil || !strings.Contains(attr(nextElement(unread), "class"), "msg") || attr(nextElement(unread), "data-id") != msgID(7).String() {
		t.Error("the unread separator is not right above the first unread message")
	}
	if got := text(d.within(nodes[1]).one(".sr-only")); got != "Bob:" {
		t.Errorf("screen readers hear %q before an incoming message", got)
	}
}

func nextElement(n *html.Node) *html.Node {
	for n = n.NextSibling; n != nil && n.Type != html.ElementNode; n = n.NextSibling {
	}
	return n
}

func TestHistoryEdge(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    msgListProps
		want string
	}{
		{"loading", msgListProps{loading: true}, "Loading messages"},
		{"older to come", msgListProps{hasOlder: true, msgs: make([]client.Message, 3)}, "Loading older"},
		{"empty", msgListProps{peerName: "Bob"}, "No messages yet"},
		{"the beginning", msgListProps{peerName: "Bob", msgs: make([]client.Message, 3)}, "Only you and Bob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := render(t, func() app.UI { return historyEdge(tc.p) })
			if got := text(d.one(".history-edge")); !strings.Contains(got, tc.want) {
				t.Errorf("edge %q, want %q", got, tc.want)
			}
		})
	}
}

func TestChatList(t *testing.T) {
	alice := client.Contact{User: user(1), ProfileName: "Alice Martin", State: client.ContactAllowed, Accepted: true}
	bob := client.Contact{User: user(2), Address: "email:bob@example.org", State: client.ContactAllowed}
	carol := client.Contact{User: user(3), Nickname: "Carol", State: client.ContactRequest}
	dave := client.Contact{User: user(4), State: client.ContactAllowed}
	chats := []client.Chat{
		{Contact: bob, Activity: testNow.Add(-48 * time.Hour)},
		{Contact: alice, Unread: 3, Activity: testNow.Add(-time.Hour),
			Last: &client.Message{Text: "see you\nsoon", SentAt: testNow.Add(-time.Hour), State: client.StateReceived}},
		{Contact: carol, Unread: 150, Activity: testNow.Add(-10 * time.Minute),
			Last: &client.Message{Text: "can we talk?", SentAt: testNow.Add(-10 * time.Minute), State: client.StateReceived}},
		{Contact: dave, Activity: testNow.Add(-400 * 24 * time.Hour),
			Last: &client.Message{Outgoing: true, Text: "ping", SentAt: testNow.Add(-400 * 24 * time.Hour), State: client.StateRead}},
	}
	d := render(t, func() app.UI {
		return chatListView(chatListProps{chats: chats, active: alice.User, now: testNow, loaded: true}, nil)
	})
	items := d.all("ul", "#chats")
	if len(items) != 1 {
		t.Fatal("no ul#chats")
	}
	rows := d.within(items[0]).all("li", ".chat")
	var order []string
	for _, r := range rows {
		order = append(order, text(d.within(r).one(".chat-name")))
	}
	if want := []string{"Carol", "Alice Martin", "bob@example.org", dave.User.String()[:8]}; strings.Join(order, "|") != strings.Join(want, "|") {
		t.Fatalf("order %q, want %q", order, want)
	}
	for i, want := range []struct {
		user    wire.UserID
		preview string
		time    string
		unread  string
		request bool
	}{
		{carol.User, "can we talk?", "14:50", "99+", true},
		{alice.User, "see you soon", "14:00", "3", false},
		{bob.User, "No messages yet", "Tue", "", false},
		{dave.User, "You: ping", "5 Feb 2025", "", false},
	} {
		r := d.within(rows[i])
		if attr(rows[i], "data-user") != want.user.String() {
			t.Errorf("row %d: data-user %q", i, attr(rows[i], "data-user"))
		}
		if got := text(r.one(".chat-preview")); got != want.preview {
			t.Errorf("row %d: preview %q, want %q", i, got, want.preview)
		}
		if got := text(r.one(".chat-time")); got != want.time {
			t.Errorf("row %d: time %q, want %q", i, got, want.time)
		}
		unread := r.all(".chat-unread")
		switch {
		case want.unread == "" && len(unread) != 0:
			t.Errorf("row %d: an unread badge without unread messages", i)
		case want.unread != "" && (len(unread) != 1 || text(unread[0]) != want.unread):
			t.Errorf("row %d: unread %v, want %q", i, unread, want.unread)
		}
		if hasClass(rows[i], "chat-request") != want.request || (len(r.all(".badge-request")) == 1) != want.request {
			t.Errorf("row %d: request marking wrong", i)
		}
		if got := attr(r.one("a"), "href"); got != "/chat/"+want.user.String() {
			t.Errorf("row %d: link %q", i, got)
		}
	}
	if attr(d.within(rows[1]).one("a"), "aria-current") != "page" || attr(d.within(rows[0]).one("a"), "aria-current") != "" {
		t.Error("the open chat is not marked current")
	}
	if len(d.all("h1")) != 0 || len(d.all("h2", ".pane-title")) != 1 {
		t.Error("beside an open chat the list's title should be a second-level heading")
	}
	if d.one("#chat-filter") == nil || len(d.all("label", "[for=chat-filter]")) != 1 {
		t.Error("the filter has no label")
	}
}

func TestChatListFilter(t *testing.T) {
	chats := []client.Chat{
		{Contact: client.Contact{User: user(1), ProfileName: "Alice Martin", State: client.ContactAllowed}},
		{Contact: client.Contact{User: user(2), Address: "email:bob@example.org", State: client.ContactAllowed}},
		{Contact: client.Contact{User: user(3), Nickname: "Martine", Address: "email:m@example.org", State: client.ContactAllowed}},
	}
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"", []string{"Alice Martin", "bob@example.org", "Martine"}},
		{"mart", []string{"Alice Martin", "Martine"}},
		{"  BOB ", []string{"bob@example.org"}},
		{"m@example", []string{"Martine"}},
		{"zed", nil},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			var got []string
			for _, ch := range filterChats(chats, tc.filter) {
				got = append(got, displayName(ch.Contact))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("filter %q: %q, want %q", tc.filter, got, tc.want)
			}
		})
	}
	d := render(t, func() app.UI {
		return chatListView(chatListProps{chats: chats, filter: "zed", now: testNow, loaded: true}, nil)
	})
	if got := text(d.one(".empty")); !strings.Contains(got, "No chats match “zed”") {
		t.Errorf("empty filter result says %q", got)
	}
	d = render(t, func() app.UI { return chatListView(chatListProps{now: testNow, loaded: true}, nil) })
	if got := text(d.one(".empty")); !strings.Contains(got, "No chats yet") {
		t.Errorf("no chats says %q", got)
	}
	if len(d.all("h1", ".pane-title")) != 1 {
		t.Error("the chats page has no first-level heading")
	}
}

func TestOnboardingView(t *testing.T) {
	t.Run("address", func(t *testing.T) {
		d := render(t, func() app.UI {
			return onboardingView(onboardingState{err: errorText(errBadAddress, true)}, nil, nil, nil)
		})
		in := d.one("input", "#address")
		if attr(in, "type") != "email" || attr(in, "autocomplete") != "email" {
			t.Errorf("address field: %v", in.Attr)
		}
		if label := d.one("label", "[for=address]"); text(label) != "Email address" {
			t.Errorf("label %q", text(label))
		}
		if d.one("button", "#send-code") == nil || len(d.all("#code")) != 0 {
			t.Error("wrong fields on the first step")
		}
		e := d.one("#onboarding-error")
		if attr(e, "role") != "alert" || !strings.Contains(text(e), "Enter an email address") {
			t.Errorf("error %q role %q", text(e), attr(e, "role"))
		}
	})
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"wrong code", &wire.Error{Code: wire.CodeBadCode}, "That code isn't right"},
		{"expired code", &wire.Error{Code: wire.CodeCodeExpired}, "That code has expired"},
		{"rate limited", &wire.Error{Code: wire.CodeRateLimited, RetryAfterMS: 30_000}, "Too many attempts. Try again in 30 seconds."},
		{"offline", client.ErrOffline, "You're offline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := onboardingState{step: stepCode, address: "email:alice@example.org", err: errorText(tc.err, tc.name != "offline")}
			d := render(t, func() app.UI { return onboardingView(st, nil, nil, nil) })
			code := d.one("input", "#code")
			if attr(code, "inputmode") != "numeric" || attr(code, "autocomplete") != "one-time-code" {
				t.Errorf("code field: %v", code.Attr)
			}
			if len(d.all("label", "[for=code]")) != 1 || d.one("button", "#verify") == nil {
				t.Error("the code step lacks its label or button")
			}
			if !strings.Contains(text(d.root), "We sent a code to alice@example.org") {
				t.Errorf("the code step does not say where the code went")
			}
			if got := text(d.one("#onboarding-error")); !strings.Contains(got, tc.want) {
				t.Errorf("error %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSafetyView(t *testing.T) {
	digits := strings.Repeat("0123456789", 6)
	qr, err := qrSVG([]byte("\x08\x02\x12\x22scannable payload"), "QR code")
	if err != nil {
		t.Fatal(err)
	}
	st := safetyState{name: "Bob", peer: user(2), loaded: true,
		devices: []safetyDevice{{device: 1, groups: digitGroups(digits), qr: qr}}}
	d := render(t, func() app.UI { return safetyView(st, safetyActions{}) })
	num := d.one("#safety-number")
	groups := d.within(num).all(".digits")
	if len(groups) != 12 {
		t.Fatalf("%d groups, want 12", len(groups))
	}
	for _, g := range groups {
		if !regexp.MustCompile(`^[0-9]{5}$`).MatchString(text(g)) {
			t.Errorf("group %q", text(g))
		}
	}
	if got := strings.ReplaceAll(text(num), " ", ""); got != digits {
		t.Errorf("number %q, want %q", got, digits)
	}
	if svg := d.within(d.one("#safety-qr")).all("svg"); len(svg) != 1 || attr(svg[0], "role") != "img" || attr(svg[0], "aria-label") == "" {
		t.Error("no labelled QR code")
	}
	if len(d.all("#accept-identity")) != 0 {
		t.Error("an accept button without a change")
	}

	st.changed = true
	st.devices = append(st.devices, safetyDevice{device: 4, groups: digitGroups(digits), unverified: true})
	d = render(t, func() app.UI { return safetyView(st, safetyActions{}) })
	if len(d.all("button", "#accept-identity")) != 1 {
		t.Error("no accept button after a change")
	}
	if len(d.all("#safety-number-2")) != 1 || len(d.all("h2")) != 2 {
		t.Error("a second device has no number or title of its own")
	}
}

func TestDigitGroups(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{strings.Repeat("1", 60), strings.TrimSpace(strings.Repeat("11111 ", 12))},
		{"123456", "12345 6"},
		{"", ""},
	} {
		if got := strings.Join(digitGroups(tc.in), " "); got != tc.want {
			t.Errorf("digitGroups(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestQRSVG(t *testing.T) {
	payload := make([]byte, 80)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	svg, err := qrSVG(payload, `Bob's "code" <x>`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(svg, "<svg") || !strings.HasSuffix(svg, "</svg>") || strings.Count(svg, "<path") != 1 {
		t.Fatalf("not one SVG with one path: %.80s…", svg)
	}
	if !strings.Contains(svg, `aria-label="Bob&#39;s &quot;code&quot; &lt;x&gt;"`) && !strings.Contains(svg, `aria-label="Bob's &quot;code&quot; &lt;x&gt;"`) {
		t.Errorf("label not escaped: %.300s", svg)
	}
	m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
	if m == nil || m[1] != m[2] {
		t.Fatalf("no square viewBox")
	}
	// A version 5 code (37 modules) or more, with the 4-module quiet zone on
	// each side.
	if n := len(m[1]); n < 2 {
		t.Errorf("viewBox %s too small", m[1])
	}
}

func TestContactsView(t *testing.T) {
	st := contactsState{
		loaded: true,
		err:    errorText(client.ErrNoSuchUser, true),
		contacts: []client.Contact{
			{User: user(1), Address: "email:alice@example.org", ProfileName: "Alice", State: client.ContactAllowed},
			{User: user(2), Address: "email:bob@example.org", State: client.ContactBlocked},
		},
		requests: []client.Contact{{User: user(3), State: client.ContactRequest}},
		busy:     map[wire.UserID]bool{},
	}
	d := render(t, func() app.UI { return contactsView(st, nil, nil) })
	if d.one("input", "#contact-address") == nil || len(d.all("label", "[for=contact-address]")) != 1 || d.one("button", "#add-contact") == nil {
		t.Fatal("the add form is incomplete")
	}
	if e := d.one("#contacts-error"); attr(e, "role") != "alert" || !strings.Contains(text(e), "Nobody has signed up") {
		t.Errorf("contacts error %q", text(e))
	}
	reqs := d.all("ul", "#requests")
	if len(reqs) != 1 {
		t.Fatal("no ul#requests")
	}
	r := d.within(reqs[0]).one("li", ".request")
	if attr(r, "data-user") != user(3).String() || len(d.within(r).all("button", ".accept")) != 1 || len(d.within(r).all("button", ".block")) != 1 {
		t.Error("a request lacks its buttons")
	}
	cts := d.within(d.one("ul", "#contacts")).all("li", ".contact")
	if len(cts) != 2 {
		t.Fatalf("%d contacts", len(cts))
	}
	for i, u := range []wire.UserID{user(1), user(2)} {
		c := d.within(cts[i])
		if attr(cts[i], "data-user") != u.String() ||
			attr(c.one("a", ".contact-chat"), "href") != "/chat/"+u.String() ||
			attr(c.one("a", ".contact-safety"), "href") != "/safety/"+u.String() {
			t.Errorf("contact %d: links wrong", i)
		}
	}
	if len(d.within(cts[1]).all("button", ".unblock")) != 1 || len(d.within(cts[0]).all(".unblock")) != 0 {
		t.Error("only the blocked contact can be unblocked")
	}

	d = render(t, func() app.UI { return contactsView(contactsState{loaded: true}, nil, nil) })
	if len(d.all("#requests")) != 0 || !strings.Contains(text(d.root), "No contacts yet") {
		t.Error("empty contacts page is wrong")
	}
}

func TestSettingsView(t *testing.T) {
	st := settingsState{
		acct:         client.Account{Address: "email:alice@example.org", Device: 2},
		name:         "Alice",
		readReceipts: true,
		theme:        themeDark,
		devices: []wire.DeviceInfo{
			{ID: 1, Name: "Firefox on Linux", LastSeenMS: testNow.Add(-time.Hour).UnixMilli()},
			{ID: 2, Name: "Chrome on Android"},
		},
		confirm: confirmSignOut,
		now:     testNow,
		online:  false,
	}
	d := render(t, func() app.UI { return settingsView(st, settingsHandlers{}) })
	if name := d.one("input", "#display-name"); attr(name, "value") != "Alice" || len(d.all("label", "[for=display-name]")) != 1 {
		t.Error("display name field wrong")
	}
	if d.one("button", "#save-name") == nil {
		t.Error("no save button")
	}
	if rr := d.one("input", "#read-receipts"); attr(rr, "type") != "checkbox" || attr(rr, "checked") == "false" || len(d.all("label", "[for=read-receipts]")) != 1 {
		t.Errorf("read receipts: %v", rr.Attr)
	}
	var selected []string
	for _, o := range d.within(d.one("select", "#theme")).all("option") {
		if v, ok := attrOK(o, "selected"); ok && v != "false" {
			selected = append(selected, attr(o, "value"))
		}
	}
	if strings.Join(selected, ",") != "dark" {
		t.Errorf("selected themes %q, want dark", selected)
	}
	info := text(d.one("#device-info"))
	if !strings.Contains(info, "alice@example.org") || !strings.Contains(info, "Chrome on Android (#2)") {
		t.Errorf("device info %q", info)
	}
	devs := d.all("li", ".device")
	if len(devs) != 2 || !strings.Contains(text(devs[1]), "This device") || len(d.within(devs[0]).all("button", ".remove-device")) != 1 ||
		len(d.within(devs[1]).all(".remove-device")) != 0 || !strings.Contains(text(devs[0]), "Last active 14:00") {
		t.Error("devices list wrong")
	}
	if d.one("button", "#sign-out") == nil {
		t.Error("no sign-out button")
	}
	dlg := d.one("dialog", "#confirm-dialog")
	if attr(dlg, "aria-labelledby") != "confirm-title" || len(d.within(dlg).all("button", "#confirm-sign-out")) != 1 {
		t.Error("the sign-out dialog is incomplete")
	}
	if !strings.Contains(text(dlg), "You are offline") {
		t.Error("the dialog does not warn that the device stays listed when signing out offline")
	}
}

func TestSkeleton(t *testing.T) {
	for _, tc := range []struct {
		path    string
		view    string
		current string
	}{
		{"/", "list", "nav-chats"},
		{"/chat/" + user(9).String(), "detail", "nav-chats"},
		{"/contacts", "page", "nav-contacts"},
		{"/safety/" + user(9).String(), "page", "nav-contacts"},
		{"/settings", "page", "nav-settings"},
		{"/welcome", "welcome", ""},
	} {
		t.Run(tc.path, func(t *testing.T) {
			k := &skeleton{route: parseRoute(tc.path)}
			d := render(t, func() app.UI { return k.Render() })
			if attr(d.one("#app"), "data-view") != tc.view {
				t.Errorf("data-view %q", attr(d.one("#app"), "data-view"))
			}
			if attr(d.one("#status"), "data-state") != "connecting" || d.one("header") == nil || d.one("main", "#main") == nil {
				t.Error("frame incomplete")
			}
			nav := d.one("nav")
			if attr(nav, "aria-label") == "" {
				t.Error("navigation not labelled")
			}
			for _, id := range []string{"nav-chats", "nav-contacts", "nav-settings"} {
				a := d.one("a", "#"+id)
				if cur := attr(a, "aria-current") == "page"; cur != (id == tc.current) {
					t.Errorf("%s current = %v", id, cur)
				}
			}
		})
	}
	if _, ok := Prerender().(*skeleton); !ok {
		t.Error("Prerender is not the skeleton")
	}
}

func TestParseRoute(t *testing.T) {
	u := user(7)
	for _, tc := range []struct {
		path string
		want route
	}{
		{"/", route{kind: routeChats}},
		{"", route{kind: routeChats}},
		{"/welcome", route{kind: routeWelcome}},
		{"/welcome/", route{kind: routeWelcome}},
		{"/contacts", route{kind: routeContacts}},
		{"/settings", route{kind: routeSettings}},
		{"/chat/" + u.String(), route{kind: routeChat, peer: u}},
		{"/chat/" + strings.ToUpper(u.String()), route{kind: routeChat, peer: u}},
		{"/safety/" + u.String(), route{kind: routeSafety, peer: u}},
		{"/chat/zz", route{kind: routeNotFound}},
		{"/chat/" + wire.UserID{}.String(), route{kind: routeNotFound}},
		{"/elsewhere", route{kind: routeNotFound}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if got := parseRoute(tc.path); got != tc.want {
				t.Errorf("parseRoute(%q) = %+v, want %+v", tc.path, got, tc.want)
			}
		})
	}
	if chatPath(u) != "/chat/"+u.String() || safetyPath(u) != "/safety/"+u.String() {
		t.Error("paths")
	}
}
