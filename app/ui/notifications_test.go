package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestPushSupport(t *testing.T) {
	const (
		iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
		ipad   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
		chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
	)
	for _, tc := range []struct {
		name       string
		ua         string
		touch      int
		standalone bool
		api        bool
		permission string
		want       pushSupport
	}{
		{"Safari on an iPhone, in a tab", iphone, 5, false, false, "", pushNeedsInstall},
		{"Safari on an iPad, in a tab", ipad, 5, false, true, "default", pushNeedsInstall},
		{"on the Home Screen", iphone, 5, true, true, "default", pushAvailable},
		{"Safari on a Mac", ipad, 0, false, true, "default", pushAvailable},
		{"Chrome", chrome, 0, false, true, "default", pushAvailable},
		{"Chrome, allowed", chrome, 0, false, true, "granted", pushAvailable},
		{"Chrome, blocked", chrome, 0, false, true, "denied", pushBlocked},
		{"no Push API", chrome, 0, false, false, "default", pushUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pushSupportOf(tc.ua, tc.touch, tc.standalone, tc.api, tc.permission); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestNotifySettingsView(t *testing.T) {
	key := make([]byte, wire.PushKeyLen)
	for _, tc := range []struct {
		name     string
		st       notifyState
		enabled  bool
		why      string // in the reason the switch is off; "" for none
		checked  bool
		namesOff bool
	}{
		{"loading", notifyState{}, false, "", false, true},
		{"no push at the relay", notifyState{loaded: true, support: pushAvailable}, false, "This relay does not send notifications", false, false},
		{"available", notifyState{loaded: true, key: key}, true, "", false, false},
		{"on", notifyState{loaded: true, key: key, on: true, names: true}, true, "", true, false},
		{"iPhone in a tab", notifyState{loaded: true, key: key, support: pushNeedsInstall}, false, "Add to Home Screen", false, false},
		{"blocked", notifyState{loaded: true, key: key, support: pushBlocked}, false, "blocked for Mutual", false, false},
		{"blocked while on: can be turned off", notifyState{loaded: true, key: key, support: pushBlocked, on: true}, true, "", true, false},
		{"busy", notifyState{loaded: true, key: key, busy: true}, false, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := render(t, func() app.UI { return notifySettingsView(tc.st, nil, nil) })
			sw := d.one("#notifications-switch")
			if disabled := isSet(sw, "disabled"); disabled == tc.enabled {
				t.Errorf("switch disabled %v, want enabled %v", disabled, tc.enabled)
			}
			if checked := isSet(sw, "checked"); checked != tc.checked {
				t.Errorf("switch checked %v, want %v", checked, tc.checked)
			}
			why := d.all("#notifications-unavailable")
			switch {
			case tc.why == "" && len(why) > 0:
				t.Errorf("a reason: %q", text(why[0]))
			case tc.why != "" && (len(why) == 0 || !strings.Contains(text(why[0]), tc.why)):
				t.Errorf("no reason saying %q", tc.why)
			}
			if disabled := isSet(d.one("#notification-names"), "disabled"); disabled != tc.namesOff {
				t.Errorf("names switch disabled %v, want %v", disabled, tc.namesOff)
			}
			all := text(d.one("#notifications"))
			for _, want := range []string{"never what, nor from whom", "Message text is never shown"} {
				if !strings.Contains(all, want) {
					t.Errorf("the card does not say %q: %q", want, all)
				}
			}
		})
	}
}

func TestConversationPath(t *testing.T) {
	ann := wire.UserID{1}
	annConv := wire.ConversationID{2}
	group := wire.ConversationID{3}
	chats := []client.Chat{
		{Contact: client.Contact{User: ann, Conversation: annConv}},
		{Group: &client.Group{ID: group, Name: "Family"}},
		{Coop: true, Contact: client.Contact{Conversation: wire.CoopConversation}},
	}
	for _, tc := range []struct {
		conv wire.ConversationID
		want string
	}{
		{annConv, chatPath(ann)},
		{group, groupPath(group)},
		{wire.CoopConversation, pathCoopNotices},
		{wire.ConversationID{9}, ""},
	} {
		if got := conversationPath(chats, tc.conv); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.conv, got, tc.want)
		}
	}
	names := notifyNames(chats)
	if names[group.String()] != "Family" || names[wire.CoopConversation.String()] != coopChatName || len(names) != 3 {
		t.Errorf("names: %v", names)
	}
}

func TestMutedText(t *testing.T) {
	now := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		until time.Time
		want  string
	}{
		{client.MuteForever, "Muted"},
		{now.Add(time.Hour), "Muted until 11:00"},
		{now.Add(20 * time.Hour), "Muted until Wed 5 Mar, 06:00"},
		{now.Add(7 * 24 * time.Hour), "Muted until Tue 11 Mar, 10:00"},
	} {
		if got := mutedText(tc.until, now); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.until, got, tc.want)
		}
	}
}

func TestMutedMark(t *testing.T) {
	ch := client.Chat{Contact: client.Contact{User: wire.UserID{1}, Conversation: wire.ConversationID{2}, State: client.ContactAllowed}}
	now := time.Now()
	if d := render(t, func() app.UI { return chatItem(ch, wire.UserID{}, now) }); len(d.all(".chat-muted")) != 0 {
		t.Error("a chat that is not muted is marked")
	}
	ch.Muted = client.MuteForever
	d := render(t, func() app.UI { return chatItem(ch, wire.UserID{}, now) })
	if m := d.all(".chat-muted"); len(m) != 1 || attr(m[0], "aria-label") != "Muted" {
		t.Errorf("a muted chat's mark: %d", len(m))
	}
}
