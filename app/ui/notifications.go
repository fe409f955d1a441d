package ui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Notifications (Web Push). The settings' Notifications card subscribes
// this browser with its push service under the relay's key
// (client.PushKey) and gives the subscription to the client
// (client.SetPushSubscription), which hands it to the relay. The relay
// then pushes, while the app is closed, that something arrived in a
// conversation; the service worker (pwa/app-worker.js) shows "New
// message" and a click opens /?open=<conversation>, which the chats list
// turns into the chat's page. With "Show names in notifications" the page
// keeps the chats' names in a small IndexedDB database of its own for the
// worker to read, and empties it when the option is turned off. Each chat
// can be muted from its header (muteMenu, client.MuteChat).

const (
	// notifyNamesKey (local storage): "Show names in notifications" is on.
	notifyNamesKey = "mutual-notify-names"
	// notifyDB and notifyStore hold conversation ID (hex) → chat name for
	// the service worker, which opens them the same way.
	notifyDB    = "mutual-notify"
	notifyStore = "names"
	// openParam: the chats list at /?open=<conversation ID, hex> opens
	// that chat (a notification's click).
	openParam = "open"
)

// Icons of the mute menu.
const (
	iconBell    = svgOpen + `<path d="M6 16V11a6 6 0 0 1 12 0v5l1.5 2h-15z"/><path d="M10 20.5a2 2 0 0 0 4 0"/>` + svgClose
	iconBellOff = svgOpen + `<path d="M8.5 5.8A6 6 0 0 1 18 11v4"/><path d="M6 11v5l-1.5 2H17"/><path d="M10 20.5a2 2 0 0 0 4 0"/><path d="M3 3l18 18"/>` + svgClose
)

// pushSupport is whether this browser can receive notifications.
type pushSupport int

const (
	pushAvailable    pushSupport = iota
	pushUnsupported              // no Push API
	pushNeedsInstall             // iOS and iPadOS: only for an app added to the Home Screen
	pushBlocked                  // the person blocked notifications for Mutual
)

// browserPushSupport looks at this browser.
func browserPushSupport() pushSupport {
	if app.IsServer {
		return pushUnsupported
	}
	w := app.Window()
	nav := w.Get("navigator")
	standalone := nav.Get("standalone").Truthy() || w.Call("matchMedia", "(display-mode: standalone)").Get("matches").Truthy()
	permission := ""
	if n := w.Get("Notification"); n.Truthy() {
		permission = n.Get("permission").String()
	}
	api := w.Get("PushManager").Truthy() && nav.Get("serviceWorker").Truthy() && w.Get("Notification").Truthy()
	return pushSupportOf(nav.Get("userAgent").String(), nav.Get("maxTouchPoints").Int(), standalone, api, permission)
}

// pushSupportOf decides from the user agent, the touch points, whether
// the app runs installed, whether the Push API is there, and the
// notification permission. Safari on iOS and iPadOS (whose user agent
// says Macintosh, with touch) offers pushes only to an installed app.
func pushSupportOf(userAgent string, touchPoints int, standalone, api bool, permission string) pushSupport {
	apple := strings.Contains(userAgent, "iPhone") || strings.Contains(userAgent, "iPad") ||
		(strings.Contains(userAgent, "Macintosh") && touchPoints > 1)
	switch {
	case apple && !standalone:
		return pushNeedsInstall
	case !api:
		return pushUnsupported
	case permission == "denied":
		return pushBlocked
	}
	return pushAvailable
}

// notifyState is what the Notifications card shows.
type notifyState struct {
	loaded  bool
	key     []byte // the relay's push key; nil: it sends no notifications
	support pushSupport
	on      bool // this device is subscribed
	names   bool // "Show names in notifications"
	busy    bool
	err     string
}

// notifySettings is the settings' Notifications card.
type notifySettings struct {
	app.Compo
	s *Session
	// ctx is the card's own context, from OnMount: what a switch starts
	// reports back through it, as the switch may be drawn anew meanwhile
	// (a hint appearing above it) and go-app drops what is dispatched to
	// an element no longer there.
	ctx app.Context
	st  notifyState
}

// OnMount reads the subscription and the relay's key, again once
// connected (a relay's first Welcome brings the key).
func (n *notifySettings) OnMount(ctx app.Context) {
	n.ctx = ctx
	n.st.support = browserPushSupport()
	n.st.names = notifyNamesOn(ctx)
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		if _, ok := a.Value.(client.Connected); ok {
			n.load(ctx)
			return
		}
		ctx.PreventUpdate()
	})
	n.load(ctx)
}

func (n *notifySettings) load(ctx app.Context) {
	s := n.s
	ctx.Async(func() {
		var key []byte
		var on bool
		c, err := s.client()
		if err == nil {
			key = c.PushKey()
			on, err = c.PushSubscribed(context.Background())
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				n.st.err = errorText(err, true)
				return
			}
			if !n.st.busy {
				n.st.key, n.st.on, n.st.loaded = key, on, true
			}
		})
	})
}

// Why notifications could not be turned on: the person did not allow
// them when asked; the browser's push service failed.
var (
	errNotAllowed  = errors.New("notifications not allowed")
	errPushBrowser = errors.New("push subscription")
)

// toggle turns notifications on (asking the browser's permission, from
// this click only) or off.
func (n *notifySettings) toggle(ctx app.Context, e app.Event) {
	on := ctx.JSSrc().Get("checked").Bool()
	if n.st.busy {
		return
	}
	n.st.busy, n.st.err, n.st.on = true, "", on
	// Asked here, in the click's handler: browsers ask the person only
	// for a page they are acting on.
	var permission app.Value
	if on {
		permission = app.Window().Get("Notification").Call("requestPermission")
	}
	s, key := n.s, n.st.key
	ctx = n.ctx
	ctx.Async(func() {
		var err error
		if on {
			err = subscribePush(s, permission, key)
		} else {
			err = unsubscribePush(s)
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			n.st.busy = false
			n.st.support = browserPushSupport()
			if err != nil {
				n.st.on = !on
				n.st.err = pushErrorText(err, online)
			}
		})
	})
}

// subscribePush waits for the permission, subscribes the service
// worker's registration with the push service under key and gives the
// subscription to the client (which tells the relay). Runs in Async.
func subscribePush(s *Session, permission app.Value, key []byte) error {
	granted, err := await(permission)
	if err != nil {
		return fmt.Errorf("%w: %w", errPushBrowser, err)
	}
	if granted.String() != "granted" {
		return errNotAllowed
	}
	reg, err := await(app.Window().Get("navigator").Get("serviceWorker").Get("ready"))
	if err != nil {
		return fmt.Errorf("%w: %w", errPushBrowser, err)
	}
	appKey := app.Window().Get("Uint8Array").New(len(key))
	app.CopyBytesToJS(appKey, key)
	sub, err := await(reg.Get("pushManager").Call("subscribe", map[string]any{
		"userVisibleOnly": true, "applicationServerKey": appKey,
	}))
	if err != nil {
		return fmt.Errorf("%w: %w", errPushBrowser, err)
	}
	ps := &client.PushSubscription{
		Endpoint: sub.Get("endpoint").String(),
		P256dh:   bufferBytes(sub.Call("getKey", "p256dh")),
		Auth:     bufferBytes(sub.Call("getKey", "auth")),
	}
	c, err := s.client()
	if err == nil {
		ctx, cancel := withTimeout(context.Background())
		err = c.SetPushSubscription(ctx, ps)
		cancel()
	}
	if err != nil {
		await(sub.Call("unsubscribe"))
		return err
	}
	return nil
}

// unsubscribePush ends the browser's subscription and tells the client.
// Runs in Async.
func unsubscribePush(s *Session) error {
	if reg, err := await(app.Window().Get("navigator").Get("serviceWorker").Get("ready")); err == nil {
		if sub, err := await(reg.Get("pushManager").Call("getSubscription")); err == nil && sub.Truthy() {
			await(sub.Call("unsubscribe"))
		}
	}
	c, err := s.client()
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	return c.SetPushSubscription(ctx, nil)
}

// bufferBytes copies an ArrayBuffer (nil: none).
func bufferBytes(buf app.Value) []byte {
	if !buf.Truthy() {
		return nil
	}
	arr := app.Window().Get("Uint8Array").New(buf)
	b := make([]byte, arr.Length())
	app.CopyBytesToGo(b, arr)
	return b
}

// pushErrorText says why notifications could not be turned on or off.
func pushErrorText(err error, online bool) string {
	var we *wire.Error
	switch {
	case errors.Is(err, errNotAllowed):
		return "Notifications were not allowed. Mutual asks again when you turn them on."
	case errors.As(err, &we) && we.Code == wire.CodeBadRequest:
		return "This relay does not accept this browser's push service."
	case errors.As(err, &we) && we.Code == wire.CodeUnavailable:
		return "This relay does not send notifications."
	case errors.Is(err, errNoBrowser):
		return "This browser cannot receive notifications."
	case errors.Is(err, errPushBrowser):
		return "The browser could not turn on notifications (" + strings.TrimPrefix(err.Error(), errPushBrowser.Error()+": ") + ")."
	}
	return errorText(err, online)
}

// setNames turns "Show names in notifications" on (the names are written
// now) or off (they are erased).
func (n *notifySettings) setNames(ctx app.Context, e app.Event) {
	on := ctx.JSSrc().Get("checked").Bool()
	n.st.names = on
	ctx.LocalStorage().Set(notifyNamesKey, on)
	if !on {
		writeNotifyNames(nil)
		return
	}
	s := n.s
	ctx = n.ctx
	ctx.Async(func() {
		c, err := s.client()
		var chats []client.Chat
		if err == nil {
			chats, err = c.Chats(context.Background())
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				n.st.err = errorText(err, true)
				return
			}
			if notifyNamesOn(ctx) {
				writeNotifyNames(notifyNames(chats))
			}
		})
	})
}

// Render draws the card.
func (n *notifySettings) Render() app.UI {
	return notifySettingsView(n.st, n.toggle, n.setNames)
}

// notifySettingsView draws the Notifications card; the handlers may be
// nil (tests).
func notifySettingsView(st notifyState, toggle, names app.EventHandler) app.UI {
	why := ""
	switch {
	case !st.loaded:
	case len(st.key) == 0:
		why = "This relay does not send notifications."
	case st.support == pushNeedsInstall:
		why = "On iPhone and iPad, notifications need Mutual on the Home Screen: in Safari, tap Share, then “Add to Home Screen”, and open Mutual from there."
	case st.support == pushUnsupported:
		why = "This browser cannot receive notifications."
	case st.support == pushBlocked && !st.on:
		why = "Notifications are blocked for Mutual in this browser's settings. Allow them there, then turn them on here."
	}
	usable := st.loaded && !st.busy && (st.on || why == "")
	return app.Section().ID("notifications").Class("card").Aria("labelledby", "notifications-heading").Body(
		app.H2().ID("notifications-heading").Text("Notifications"),
		app.P().ID("notifications-hint").Class("hint").Text("Get a notification when a message arrives while Mutual is closed. Mutual's server and your browser's push service learn only that something arrived for this device: never what, nor from whom."),
		app.Div().Class("switch-row").Body(
			app.Input().ID("notifications-switch").Type("checkbox").Class("switch").Checked(st.on).
				Disabled(!usable).Aria("describedby", "notifications-hint").OnChange(toggle),
			app.Label().For("notifications-switch").Text("Notify me of new messages"),
		),
		app.If(why != "", func() app.UI { return app.P().ID("notifications-unavailable").Class("hint").Role("status").Text(why) }),
		app.Div().Class("switch-row").Body(
			app.Input().ID("notification-names").Type("checkbox").Class("switch").Checked(st.names).
				Disabled(!st.loaded).Aria("describedby", "notification-names-hint").OnChange(names),
			app.Label().For("notification-names").Text("Show names in notifications"),
		),
		app.P().ID("notification-names-hint").Class("hint").Text("Notifications say “New message”. With names on, they say who wrote, and this device keeps your chats' names for that. Message text is never shown: only the app, with this device's keys, can read it."),
		app.If(st.err != "", func() app.UI { return app.P().Class("error").Role("alert").Text(st.err) }),
	)
}

// notifyNamesOn reports whether "Show names in notifications" is on.
func notifyNamesOn(ctx app.Context) bool {
	var on bool
	if err := ctx.LocalStorage().Get(notifyNamesKey, &on); err != nil {
		return false
	}
	return on
}

// notifyNames is what the service worker names the chats by:
// conversation ID (hex) → the chat's name.
func notifyNames(chats []client.Chat) map[string]string {
	names := make(map[string]string, len(chats))
	for _, ch := range chats {
		switch {
		case ch.Group != nil:
			names[ch.Group.ID.String()] = ch.Group.Name
		case ch.Coop:
			names[ch.Contact.Conversation.String()] = coopChatName
		default:
			names[ch.Contact.Conversation.String()] = displayName(ch.Contact)
		}
	}
	return names
}

// noteNames keeps the service worker's names up to date with the chats
// the list read, while "Show names in notifications" is on.
func (l *chatList) noteNames(ctx app.Context, chats []client.Chat) {
	if !notifyNamesOn(ctx) {
		return
	}
	names := notifyNames(chats)
	if sameNames(names, l.notified) {
		return
	}
	l.notified = names
	writeNotifyNames(names)
}

func sameNames(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// writeNotifyNames replaces the names the service worker reads (nil:
// none). It returns at once; the browser writes them after.
func writeNotifyNames(names map[string]string) {
	idb := app.Window().Get("indexedDB")
	if app.IsServer || !idb.Truthy() {
		return
	}
	req := idb.Call("open", notifyDB, 1)
	var upgrade, done, failed app.Func
	release := func() {
		upgrade.Release()
		done.Release()
		failed.Release()
	}
	upgrade = app.FuncOf(func(app.Value, []app.Value) any {
		req.Get("result").Call("createObjectStore", notifyStore)
		return nil
	})
	done = app.FuncOf(func(app.Value, []app.Value) any {
		db := req.Get("result")
		st := db.Call("transaction", notifyStore, "readwrite").Call("objectStore", notifyStore)
		st.Call("clear")
		for conv, name := range names {
			st.Call("put", name, conv)
		}
		db.Call("close") // after the transaction
		release()
		return nil
	})
	failed = app.FuncOf(func(app.Value, []app.Value) any {
		release()
		return nil
	})
	req.Set("onupgradeneeded", upgrade)
	req.Set("onsuccess", done)
	req.Set("onerror", failed)
}

// openRequested opens the chat a notification named (/?open=<ID>): the
// address becomes the chats list's, and the chat's page follows once the
// chat is found (a person's, a group's or the co-op's).
func (l *chatList) openRequested(ctx app.Context) {
	u := ctx.Page().URL()
	conv, ok := parseGroupID(strings.ToLower(u.Query().Get(openParam)))
	if u.Query().Get(openParam) == "" {
		return
	}
	ctx.Page().ReplaceURL(&url.URL{Path: pathChats})
	if !ok {
		return
	}
	s := l.s
	ctx.Async(func() {
		var chats []client.Chat
		c, err := s.client()
		if err == nil {
			chats, err = c.Chats(context.Background())
		}
		path := ""
		if err == nil {
			path = conversationPath(chats, conv)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if path != "" {
				ctx.Navigate(path)
			}
		})
	})
}

// conversationPath is the page of the chat of conv; "" if there is none.
func conversationPath(chats []client.Chat, conv wire.ConversationID) string {
	for _, ch := range chats {
		switch {
		case ch.Group != nil:
			if ch.Group.ID == conv {
				return groupPath(conv)
			}
		case ch.Contact.Conversation == conv && ch.Coop:
			return pathCoopNotices
		case ch.Contact.Conversation == conv:
			return chatPath(ch.Contact.User)
		}
	}
	return ""
}

// The mute menu's choices.
var muteChoices = []struct {
	id, label string
	d         time.Duration // 0: until unmuted
}{
	{"mute-1h", "for 1 hour", time.Hour},
	{"mute-8h", "for 8 hours", 8 * time.Hour},
	{"mute-1w", "for 1 week", 7 * 24 * time.Hour},
	{"mute-always", "always", 0},
}

// muteMenu is a chat header's button and menu that mute the chat's
// notifications.
type muteMenu struct {
	app.Compo
	// Conv is the conversation's ID in hex.
	Conv string

	s *Session
	// ctx is the menu's own context, from OnMount: a mute is saved after
	// the menu item chosen is gone (the menu closes at once), and go-app
	// drops what is dispatched to an element no longer there, so the
	// save reports back through this one.
	ctx   app.Context
	conv  wire.ConversationID
	until time.Time // when the mute ends; zero: not muted
	open  bool
	busy  bool
	err   string
}

// OnMount reads the mute.
func (m *muteMenu) OnMount(ctx app.Context) {
	m.ctx = ctx
	m.load(ctx)
}

// OnUpdate reads the mute of another conversation.
func (m *muteMenu) OnUpdate(ctx app.Context) { m.load(ctx) }

func (m *muteMenu) load(ctx app.Context) {
	conv, ok := parseGroupID(m.Conv)
	if !ok || conv == m.conv {
		return
	}
	m.conv, m.until = conv, time.Time{}
	s := m.s
	ctx.Async(func() {
		var until time.Time
		c, err := s.client()
		if err == nil {
			until, err = c.MutedUntil(context.Background(), conv)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err == nil && m.conv == conv {
				m.until = until
			}
		})
	})
}

func (m *muteMenu) toggle(ctx app.Context, e app.Event) {
	if m.busy {
		return
	}
	m.open, m.err = !m.open, ""
	if m.open {
		first := muteChoices[0].id
		if !m.until.IsZero() {
			first = "unmute"
		}
		ctx.Defer(func(app.Context) { focusID(first) })
	}
}

// onKey closes the menu on Escape, giving the focus back to its button.
func (m *muteMenu) onKey(ctx app.Context, e app.Event) {
	if e.Get("key").String() != "Escape" {
		ctx.PreventUpdate()
		return
	}
	e.PreventDefault()
	e.Call("stopPropagation")
	m.open = false
	// The menu, which the key came from, is gone once drawn: the menu's
	// own context gives the focus back.
	m.ctx.Defer(func(app.Context) { focusID("mute-button") })
}

// mute mutes for d (0: until unmuted), or unmutes (d < 0).
func (m *muteMenu) mute(d time.Duration) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if m.busy {
			return
		}
		var until time.Time
		switch {
		case d == 0:
			until = client.MuteForever
		case d > 0:
			until = m.s.now().Add(d)
		}
		m.busy, m.open, m.err = true, false, ""
		s, conv := m.s, m.conv
		ctx = m.ctx
		ctx.Async(func() {
			c, err := s.client()
			if err == nil {
				rctx, cancel := withTimeout(context.Background())
				err = c.MuteChat(rctx, conv, until)
				cancel()
			}
			online := s.isOnline()
			ctx.Dispatch(func(ctx app.Context) {
				m.busy = false
				if err != nil {
					m.err = errorText(err, online)
					return
				}
				m.until = until
				ctx.NewAction(actionChatsChanged)
				ctx.Defer(func(app.Context) { focusID("mute-button") })
			})
		})
	}
}

// Render draws the button, and the menu when open.
func (m *muteMenu) Render() app.UI {
	if m.conv == (wire.ConversationID{}) {
		return app.Span().Class("mute")
	}
	muted := !m.until.IsZero()
	label, svg := "Mute notifications", iconBell
	if muted {
		label, svg = mutedText(m.until, m.s.now()), iconBellOff
	}
	items := []app.UI{app.P().Class("mute-menu-title").Text(label)}
	if muted {
		items = append(items, app.Button().ID("unmute").Type("button").Class("attach-item").Role("menuitem").
			OnClick(m.mute(-1)).Text("Unmute"))
	}
	for _, ch := range muteChoices {
		items = append(items, app.Button().ID(ch.id).Type("button").Class("attach-item").Role("menuitem").
			OnClick(m.mute(ch.d)).Text("Mute "+ch.label))
	}
	return app.Div().Class("mute").DataSet("muted", muted).Body(
		app.Button().ID("mute-button").Type("button").Class("icon-button").
			Aria("label", label).Title(label).Aria("haspopup", "menu").Aria("expanded", m.open).
			DataSet("busy", m.busy).OnClick(m.toggle).Body(icon(svg)),
		app.If(m.open, func() app.UI {
			return app.Div().ID("mute-menu").Class("attach-menu", "mute-menu").Role("menu").Aria("label", "Mute notifications").
				OnKeyDown(m.onKey).Body(items...)
		}),
		app.If(m.err != "", func() app.UI { return app.P().Class("error", "mute-error").Role("alert").Text(m.err) }),
	)
}

// convHex is a conversation's ID in hex, "" while it is not known.
func convHex(conv wire.ConversationID) string {
	if conv == (wire.ConversationID{}) {
		return ""
	}
	return conv.String()
}

// mutedText says until when a chat is muted.
func mutedText(until, now time.Time) string {
	switch {
	case !until.Before(client.MuteForever):
		return "Muted"
	case until.Sub(now) < 24*time.Hour && until.In(now.Location()).Day() == now.Day():
		return "Muted until " + until.In(now.Location()).Format("15:04")
	default:
		return "Muted until " + until.In(now.Location()).Format("Mon 2 Jan, 15:04")
	}
}

// mutedMark is the chats list's sign of a muted chat; nil if it is not.
func mutedMark(ch client.Chat) app.UI {
	if ch.Muted.IsZero() {
		return nil
	}
	return app.Span().Class("chat-muted").Title("Muted").Aria("label", "Muted").Body(icon(iconBellOff))
}
