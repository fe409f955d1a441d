package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestFormatMoney(t *testing.T) {
	for _, tc := range []struct {
		amount   int64
		currency string
		want     string
	}{
		{1000, "GBP", "£10.00"},
		{5, "GBP", "£0.05"},
		{0, "EUR", "€0.00"},
		{123456789, "USD", "$1,234,567.89"},
		{-250, "gbp", "-£2.50"},
		{1500, "CHF", "CHF 15.00"},
		{1500, "JPY", "JPY 1,500"},
		{1234, "KWD", "KWD 1.234"},
		{100, "", "1.00"},
	} {
		if got := formatMoney(tc.amount, tc.currency); got != tc.want {
			t.Errorf("formatMoney(%d, %q) = %q, want %q", tc.amount, tc.currency, got, tc.want)
		}
	}
	for _, tc := range []struct {
		amount int64
		want   string
	}{{0, "£0"}, {149, "£1"}, {150, "£2"}, {250000, "£2,500"}} {
		if got := formatMoneyWhole(tc.amount, "GBP"); got != tc.want {
			t.Errorf("formatMoneyWhole(%d) = %q, want %q", tc.amount, got, tc.want)
		}
	}
}

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		typed    string
		currency string
		want     int64
		bad      bool
	}{
		{"12.50", "GBP", 1250, false},
		{"12.5", "GBP", 1250, false},
		{"12", "GBP", 1200, false},
		{" £1,250.05 ", "GBP", 125005, false},
		{"GBP 3", "GBP", 300, false},
		{".5", "EUR", 50, false},
		{"0", "GBP", 0, false},
		{"1500", "JPY", 1500, false},
		{"1.5", "JPY", 0, true},
		{"12.345", "GBP", 0, true},
		{"-3", "GBP", 0, true},
		{"", "GBP", 0, true},
		{".", "GBP", 0, true},
		{"12a", "GBP", 0, true},
		{"1e3", "GBP", 0, true},
		{"99999999999999", "GBP", 0, true},
	} {
		got, err := parseMoney(tc.typed, tc.currency)
		if tc.bad {
			if !errors.Is(err, errBadAmount) {
				t.Errorf("parseMoney(%q, %q) = %d, %v; want errBadAmount", tc.typed, tc.currency, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseMoney(%q, %q) = %d, %v; want %d", tc.typed, tc.currency, got, err, tc.want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for v, want := range map[int64]int64{1: 1, 3: 5, 10: 10, 11: 20, 21: 25, 26: 50, 51: 100, 4999: 5000, 123456: 200000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", v, got, want)
		}
	}
}

// testMonths are 14 months of figures, newest first, from 2026-03.
func testMonths() []wire.CoopMonth {
	var out []wire.CoopMonth
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 14 {
		out = append(out, wire.CoopMonth{
			Month: t.AddDate(0, -i, 0).Format("2006-01"), ActiveUsers: 1000, Members: 40, Dues: 40000 - int64(i)*1000,
			Costs: []wire.CoopCost{{Category: "infrastructure", Amount: 30000, Note: "servers"}, {Category: "sms", Amount: 12000 + int64(i)*500}},
		})
	}
	return out
}

// TestCoopHistory: the chart draws the last 12 months (6 on a phone),
// oldest first, a bar of costs and one of dues each, scaled to a round
// top, with a title; the table for screen readers has the same numbers.
func TestCoopHistory(t *testing.T) {
	months := testMonths()
	d := render(t, func() app.UI { return coopHistory(months, "GBP") })
	wide := d.one("svg", ".chart-wide")
	if attr(wide, "role") != "img" || attr(wide, "aria-labelledby") != "coop-chart-title" {
		t.Errorf("the chart is not an image named by its title: %v", wide.Attr)
	}
	if got := text(d.one("#coop-chart-title")); got != "Costs and dues per month, April 2025 to March 2026" {
		t.Errorf("title %q", got)
	}
	within := d.within(wide)
	if n := len(within.all("rect", ".chart-costs")); n != 12 {
		t.Errorf("%d bars of costs, want 12", n)
	}
	if n := len(within.all("rect", ".chart-dues")); n != 12 {
		t.Errorf("%d bars of dues, want 12", n)
	}
	if n := len(d.within(d.one("svg", ".chart-narrow")).all("rect", ".chart-dues")); n != 6 {
		t.Errorf("%d bars of dues on a phone, want 6", n)
	}
	// The largest amount is March 2026's dues, £400.00, under a top of
	// £500: 80% of the plot, which spans 68% of the height.
	dues := within.all("rect", ".chart-dues")
	if got := attr(dues[len(dues)-1], "height"); got != "54.40%" {
		t.Errorf("the newest dues' bar is %s high, want 54.40%%", got)
	}
	if got := text(within.one("text", ".chart-scale")); got != "£500" {
		t.Errorf("scale %q", got)
	}
	rows := d.within(d.one("#coop-history")).within(d.within(d.one("#coop-history")).one("tbody")).all("tr")
	if len(rows) != 12 {
		t.Fatalf("%d rows in the table, want 12", len(rows))
	}
	if got := text(rows[11]); got != "March 2026 £420.00 £400.00 95%" {
		t.Errorf("last row %q", got)
	}
	if !strings.Contains(attr(d.one("#coop-history"), "class"), "sr-only") {
		t.Error("the table is shown: it is for screen readers")
	}

	empty := render(t, func() app.UI { return coopHistory(nil, "GBP") })
	if len(empty.all("svg")) != 0 || !strings.Contains(text(empty.root), "No figures yet") {
		t.Error("an empty history draws a chart")
	}
}

// testInfo is a co-op offering a monthly and a yearly plan by card only.
func testInfo() client.CoopInfo {
	return client.CoopInfo{CoopInfo: wire.CoopInfo{
		Name: "Mutual Co-operative Ltd", Currency: "GBP", Providers: []string{"stripe"},
		Plans: []wire.CoopPlan{
			{Name: "monthly", Amount: 1000, Currency: "GBP", Interval: "month"},
			{Name: "yearly", Amount: 10000, Currency: "GBP", Interval: "year"},
		},
		Months: testMonths(),
	}}
}

// TestCoopView: the screen says who runs Mutual, the month's figures
// with their currency, the costs, the chart; joining offers the plans
// and only the providers offered.
func TestCoopView(t *testing.T) {
	st := coopState{info: testInfo(), loaded: true, now: testNow}
	d := render(t, func() app.UI { return coopView(st, coopHandlers{}) })
	if got := text(d.one("#coop-about")); !strings.Contains(got, "Mutual Co-operative Ltd") || !strings.Contains(got, "no profit") {
		t.Errorf("about %q", got)
	}
	for id, want := range map[string]string{
		"#figures-heading":   "March 2026",
		"#fig-users":         "1000",
		"#fig-members":       "40",
		"#fig-cost-per-user": "£0.42",
		"#fig-per-member":    "25",
		"#fig-coverage":      "95%",
		"#coop-total":        "£420.00",
		"#membership-status": "You are not a member yet.",
	} {
		if got := text(d.one(id)); got != want {
			t.Errorf("%s says %q, want %q", id, got, want)
		}
	}
	if got := text(d.within(d.one("#coop-costs")).one("tbody")); got != "infrastructure servers £300.00 sms £120.00" {
		t.Errorf("costs %q", got)
	}
	if len(d.all("#coop-chart")) != 1 {
		t.Error("no chart")
	}
	if len(d.all("#join-stripe")) != 1 || len(d.all("#join-gocardless")) != 0 {
		t.Error("the join buttons are not those of the providers offered")
	}
	if got := text(d.within(d.one("#join")).one("fieldset")); got != "Dues Monthly: £10.00 a month Yearly: £100.00 a year" {
		t.Errorf("plans %q", got)
	}
	if !isSet(d.one("#plan-monthly"), "checked") || isSet(d.one("#plan-yearly"), "checked") {
		t.Error("the first plan is not chosen")
	}
	for _, id := range []string{"#cancel-membership", "#coop-operator", "#checkout-status"} {
		if len(d.all(id)) != 0 {
			t.Errorf("%s is shown to someone who is not a member, nor an operator, nor back from paying", id)
		}
	}

	st.info.Providers = nil
	d = render(t, func() app.UI { return coopView(st, coopHandlers{}) })
	if len(d.all("#join-unavailable")) != 1 || len(d.all("#join")) != 0 {
		t.Error("joining is offered without a provider")
	}
}

// TestCoopMembership: each status says where the membership stands; a
// paying member has their dues, next payment and Cancel, others the
// ways to join; roles are shown; an operator gets the forms.
func TestCoopMembership(t *testing.T) {
	next := time.Date(2026, 4, 12, 9, 0, 0, 0, time.UTC).UnixMilli()
	for _, tc := range []struct {
		name   string
		m      wire.CoopMembership
		roles  []wire.CoopRole
		status string
		paying bool
	}{
		{"active", wire.CoopMembership{Status: wire.MemberActive, Provider: "stripe", Plan: "monthly", Amount: 1000, Currency: "GBP", NextPaymentMS: next},
			[]wire.CoopRole{wire.RoleMember, wire.RoleOperator}, "You are a member. Thank you for paying for Mutual.", true},
		{"grace", wire.CoopMembership{Status: wire.MemberGrace, Provider: "stripe", Plan: "monthly", Amount: 1000, Currency: "GBP", GraceUntilMS: next},
			[]wire.CoopRole{wire.RoleMember}, "Your last payment did not go through. You remain a member until 12 April 2026. Check your payment details with Stripe.", true},
		{"pending", wire.CoopMembership{Status: wire.MemberPending}, nil, "Your membership starts when your first payment is confirmed.", false},
		{"lapsed", wire.CoopMembership{Status: wire.MemberLapsed}, []wire.CoopRole{wire.RoleContributor}, "Your membership lapsed: its payments did not go through. You can join again.", false},
		{"canceled", wire.CoopMembership{Status: wire.MemberCanceled}, nil, "Your membership is cancelled. You can join again.", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := testInfo()
			info.Membership, info.Roles = tc.m, tc.roles
			st := coopState{info: info, loaded: true, now: testNow}
			d := render(t, func() app.UI { return coopView(st, coopHandlers{}) })
			if got := text(d.one("#membership-status")); got != tc.status {
				t.Errorf("status %q, want %q", got, tc.status)
			}
			if got := attr(d.one("#membership"), "data-status"); got != tc.m.Status.String() {
				t.Errorf("data-status %q", got)
			}
			if tc.paying {
				if len(d.all("#cancel-membership")) != 1 || len(d.all("#join")) != 0 {
					t.Error("a member is not offered Cancel, or is offered to join")
				}
				if got := text(d.one("#membership-plan")); got != "£10.00 a month (Stripe)" {
					t.Errorf("dues %q", got)
				}
			} else if len(d.all("#cancel-membership")) != 0 || len(d.all("#join-stripe")) != 1 {
				t.Error("someone who does not pay is offered Cancel, or not offered to join")
			}
			if tc.name == "active" && text(d.one("#next-payment")) != "12 April 2026" {
				t.Errorf("next payment %q", text(d.one("#next-payment")))
			}
			var roles []string
			for _, n := range d.all(".badge-role") {
				roles = append(roles, text(n))
			}
			var want []string
			for _, r := range tc.roles {
				want = append(want, r.String())
			}
			if fmt.Sprint(roles) != fmt.Sprint(want) {
				t.Errorf("roles %v, want %v", roles, want)
			}
			operator := info.HasRole(wire.RoleOperator)
			if got := len(d.all("#coop-operator")) == 1; got != operator {
				t.Errorf("operator's forms shown: %v, want %v", got, operator)
			}
			if operator {
				for _, id := range []string{"#cost-month", "#cost-category", "#cost-amount", "#cost-note", "#save-cost", "#grant-address", "#grant-role", "#grant-role-button", "#revoke-role-button"} {
					if len(d.all(id)) != 1 {
						t.Errorf("no %s", id)
					}
				}
				if got := attr(d.one("#cost-month"), "value"); got != "2026-03" {
					t.Errorf("the cost's month is %q, want the current one", got)
				}
			}
		})
	}
}

// TestCheckoutBanner: back from paying, the screen thanks and says the
// membership starts once the payment is confirmed, then that it has.
func TestCheckoutBanner(t *testing.T) {
	st := coopState{info: testInfo(), loaded: true, now: testNow, checkout: checkoutDone}
	d := render(t, func() app.UI { return coopView(st, coopHandlers{}) })
	if got := text(d.one("#checkout-status")); got != "Thank you: your membership starts when the payment is confirmed." {
		t.Errorf("banner %q", got)
	}
	st.info.Membership.Status = wire.MemberActive
	d = render(t, func() app.UI { return coopView(st, coopHandlers{}) })
	if got := text(d.one("#checkout-status")); got != "Thank you: you are a member of the co-op." {
		t.Errorf("banner once active %q", got)
	}
	st = coopState{info: testInfo(), loaded: true, now: testNow, checkout: checkoutCanceled}
	d = render(t, func() app.UI { return coopView(st, coopHandlers{}) })
	if got := text(d.one("#checkout-status")); !strings.Contains(got, "nothing was paid") {
		t.Errorf("banner after leaving the payment %q", got)
	}
}

func TestCheckoutURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://checkout.stripe.com/c/pay/cs_1": true,
		"http://127.0.0.1:5000/pay/cs_1":         true,
		"javascript:alert(1)":                    false,
		"data:text/html,hi":                      false,
		"https:///nohost":                        false,
		"/relative":                              false,
	} {
		if err := checkoutURL(u); (err == nil) != ok {
			t.Errorf("checkoutURL(%q) = %v", u, err)
		}
	}
}

func TestCoopErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&wire.Error{Code: wire.CodeForbidden}, "Only the co-op's operators can do that."},
		{&wire.Error{Code: wire.CodeNotFound}, notFoundGrant},
		{&wire.Error{Code: wire.CodeExists}, "You are a member already."},
		{fmt.Errorf("join: %w", &wire.Error{Code: wire.CodeRateLimited, RetryAfterMS: 120000}), "Too many attempts. Try again in 2 minutes."},
		{errBadCheckout, "The server gave a payment link that is not a web page. Try again later."},
	} {
		if got := coopErrorText(tc.err, true, notFoundGrant); got != tc.want {
			t.Errorf("coopErrorText(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestCoopChatView: the co-op's conversation lists its notices with
// their dates, says where they come from, and has no composer.
func TestCoopChatView(t *testing.T) {
	notices := []client.Message{
		{ID: msgID(1), Conversation: wire.CoopConversation, Text: "Your £10.00 this month supports about 25 people on Mutual.",
			ServerTime: time.Date(2026, 3, 2, 10, 30, 0, 0, time.UTC)},
		{ID: msgID(2), Conversation: wire.CoopConversation, Text: "You are 2 contacts away from someone who pays for Mutual.",
			ServerTime: testNow.Add(-time.Hour)},
	}
	d := render(t, func() app.UI { return coopChatView(notices, "", testNow) })
	if got := text(d.one("#chat-title")); got != "Mutual co-op" {
		t.Errorf("title %q", got)
	}
	items := d.within(d.one("#coop-notices-list")).all("li")
	if len(items) != 2 {
		t.Fatalf("%d notices, want 2", len(items))
	}
	if got := text(items[0]); got != "Monday, 2 March, 10:30 Your £10.00 this month supports about 25 people on Mutual." {
		t.Errorf("first notice %q", got)
	}
	if got := text(items[1]); !strings.HasPrefix(got, "Today, 14:00") {
		t.Errorf("second notice %q", got)
	}
	for _, sel := range []string{"#composer", "#send", "form"} {
		if len(d.all(sel)) != 0 {
			t.Errorf("the co-op's conversation has %s", sel)
		}
	}
	if got := text(d.one("#coop-chat-note")); !strings.Contains(got, "signed by the server") {
		t.Errorf("note %q", got)
	}
	if len(d.within(d.one(".avatar-coop")).all("img")) != 1 {
		t.Error("the conversation's avatar is not the app's icon")
	}
}

// TestCoopRoutes: /co-op is the Co-op screen, /co-op/notices the co-op's
// conversation beside the chats list.
func TestCoopRoutes(t *testing.T) {
	for _, tc := range []struct {
		path    string
		kind    routeKind
		view    string
		section string
		title   string
	}{
		{"/co-op", routeCoop, "page", "", "Co-op · Mutual"},
		{"/co-op/", routeCoop, "page", "", "Co-op · Mutual"},
		{"/co-op/notices", routeCoopChat, "detail", "chats", "Mutual co-op · Mutual"},
	} {
		r := parseRoute(tc.path)
		if r.kind != tc.kind || r.view() != tc.view || r.section() != tc.section || r.title() != tc.title {
			t.Errorf("%s: kind %d view %q section %q title %q", tc.path, r.kind, r.view(), r.section(), r.title())
		}
		if !KnownPath(tc.path) {
			t.Errorf("KnownPath(%q) = false", tc.path)
		}
	}
	if KnownPath("/co-op/other") || KnownPath("/coop") {
		t.Error("a path that is not the co-op's is known")
	}
}

// TestShellCoopPages: the shell shows the Co-op screen, the co-op's
// conversation beside the chats list, the chats list's link to the
// screen and the settings' Co-op card; the skeleton lays them out alike.
func TestShellCoopPages(t *testing.T) {
	for _, tc := range []struct {
		path, view string
		want       []string
	}{
		{"/co-op", "page", []string{"#coop", "#coop-about"}},
		{"/co-op/notices", "detail", []string{"#chat-filter", "#coop-link", "#coop-chat", "#chat-title", "#coop-chat-note"}},
		{"/", "list", []string{"#coop-link"}},
		{"/settings", "page", []string{"#coop-settings", "#settings-coop", "#coop-notices", "#read-receipts"}},
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

// TestCoopChatItem: the chats list shows the co-op's notices by name,
// with the app's icon and the newest notice, linked to the
// conversation, and finds it by name.
func TestCoopChatItem(t *testing.T) {
	last := &client.Message{ID: msgID(1), Conversation: wire.CoopConversation, Text: "Your £10.00 this month supports about 25 people on Mutual.",
		ServerTime: testNow.Add(-time.Hour), State: client.StateReceived}
	chats := []client.Chat{
		{Coop: true, Contact: client.Contact{Nickname: client.CoopChatName, Conversation: wire.CoopConversation}, Last: last, Unread: 1, Activity: last.ServerTime},
		{Contact: client.Contact{User: user(2), Nickname: "Ann", State: client.ContactAllowed}, Activity: testNow.Add(-2 * time.Hour)},
	}
	d := render(t, func() app.UI {
		return chatListView(chatListProps{chats: chats, now: testNow, loaded: true, activeCoop: true}, nil)
	})
	item := d.one("li", ".chat-coop")
	if !strings.Contains(attr(item, "class"), "chat-active") {
		t.Error("the open co-op conversation is not marked in the list")
	}
	in := d.within(item)
	if got := attr(in.one("a"), "href"); got != "/co-op/notices" {
		t.Errorf("link %q", got)
	}
	if got := text(in.one(".chat-name")); got != "Mutual co-op" {
		t.Errorf("name %q", got)
	}
	if got := text(in.one(".chat-preview")); got != last.Text {
		t.Errorf("preview %q", got)
	}
	if len(in.all("img")) != 1 || text(in.one(".chat-unread")) != "1" {
		t.Error("no icon, or no unread count")
	}
	d = render(t, func() app.UI {
		return chatListView(chatListProps{chats: chats, now: testNow, loaded: true, filter: "co-op"}, nil)
	})
	if len(d.all("li", ".chat")) != 1 || len(d.all("li", ".chat-coop")) != 1 {
		t.Error("searching for co-op does not find the co-op's notices alone")
	}
}
