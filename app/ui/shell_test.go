package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// testSession is a Session in a given state, without a client.
func testSession(t *testing.T, registered bool) *Session {
	t.Helper()
	s, err := NewSession(Config{
		Open: func(context.Context) (*client.Client, func() error, error) { return nil, nil, errors.New("unused") },
		Wipe: func(context.Context) error { return nil },
		Now:  func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.registered = registered
	return s
}

func TestShellPages(t *testing.T) {
	peer := user(5).String()
	for _, tc := range []struct {
		name       string
		registered bool
		path       string
		setup      func(*Session)
		view       string
		want       []string // selectors that must be there
		wantText   string
	}{
		{name: "not signed in", path: "/welcome", view: "welcome", want: []string{"#address", "#send-code", "#onboarding-error"}},
		{name: "chats", registered: true, path: "/", view: "list", want: []string{"#chat-filter", "ul#chats", ".placeholder"}},
		{name: "a chat", registered: true, path: "/chat/" + peer, view: "detail",
			want: []string{"#chat-filter", "#messages", "#composer", "#send", "#chat-title"}},
		{name: "contacts", registered: true, path: "/contacts", view: "page", want: []string{"#contact-address", "#add-contact", "ul#contacts"}},
		{name: "safety", registered: true, path: "/safety/" + peer, view: "page", want: []string{".safety"}},
		{name: "settings", registered: true, path: "/settings", view: "page",
			want: []string{"#display-name", "#save-name", "#read-receipts", "#theme", "#device-info", "#sign-out", "#confirm-sign-out"}},
		{name: "not found", registered: true, path: "/nowhere", view: "page", wantText: "Page not found"},
		{name: "another tab", registered: true, path: "/", view: "welcome",
			setup: func(s *Session) { s.elsewhere = true }, want: []string{"#use-here"}},
		{name: "no storage", path: "/", view: "welcome",
			setup: func(s *Session) { s.openErr = errors.New("no IndexedDB") }, wantText: "Mutual cannot start"},
		{name: "device removed", registered: true, path: "/", view: "list",
			setup: func(s *Session) { s.removed = true }, wantText: "no longer signed in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSession(t, tc.registered)
			if tc.setup != nil {
				tc.setup(s)
			}
			h := &shell{s: s, route: parseRoute(tc.path), status: s.Status()}
			if !tc.registered && h.route.kind != routeWelcome {
				h.route = route{kind: routeWelcome}
			}
			d := render(t, func() app.UI { return h.Render() })
			if got := attr(d.one("#app"), "data-view"); got != tc.view {
				t.Errorf("data-view %q, want %q", got, tc.view)
			}
			for _, sel := range tc.want {
				if len(d.all(strings.Fields(strings.ReplaceAll(sel, "#", " #"))...)) == 0 {
					t.Errorf("no %s", sel)
				}
			}
			if tc.wantText != "" && !strings.Contains(text(d.root), tc.wantText) {
				t.Errorf("the page does not say %q", tc.wantText)
			}
			if len(d.all("#update-banner")) != 0 {
				t.Error("an update banner without an update")
			}
		})
	}
}

func TestShellUpdateBanner(t *testing.T) {
	h := &shell{s: testSession(t, true), route: route{kind: routeChats}, updateReady: true}
	d := render(t, func() app.UI { return h.Render() })
	b := d.one("#update-banner")
	if attr(b, "role") != "status" || len(d.within(b).all("button", "#reload")) != 1 {
		t.Error("the update banner is incomplete")
	}
}
