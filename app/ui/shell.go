package ui

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// Actions posted on the UI goroutine.
const (
	// actionEvent carries a client event (or the Session's) to the
	// components that handle it.
	actionEvent = "mutual/event"
	// actionChatsChanged: something the chats list shows changed here
	// (messages read or sent).
	actionChatsChanged = "mutual/chats-changed"
	// actionAnnounce carries a text for screen readers.
	actionAnnounce = "mutual/announce"
)

// notice is a dismissable message of the frame.
type notice struct {
	id   int
	text string
	href string // a link to act on it, if any
	link string
}

// shell is the app's root component for every page: the frame, the page
// of the current path and what concerns the whole app (status, update
// banner, notices, theme). go-app keeps one mounted while the user
// navigates; OnNav switches the page.
type shell struct {
	app.Compo
	s *Session

	route       route
	status      Status
	updateReady bool
	controlled  bool // a service worker served this page: an update replaces it
	notices     []notice
	nextNotice  int
	announce    string
	taking      bool   // taking over from another tab
	takeErr     string // why that failed
	releases    []func()

	unread        int  // received messages not read, in every chat
	loadingUnread bool // a count is under way
	unreadAgain   bool // count again when it ends
}

// OnMount subscribes to the Session and to the browser's events.
func (h *shell) OnMount(ctx app.Context) {
	h.route = parseRoute(ctx.Page().URL().Path)
	h.s.setOnline(browserOnline())
	h.status = h.s.Status()
	h.controlled = servedByWorker()
	h.updateReady = h.controlled && ctx.AppUpdateAvailable()

	h.releases = append(h.releases, h.s.subscribe(func(ev any) {
		ctx.Dispatch(func(ctx app.Context) { h.onEvent(ctx, ev) })
	}))
	win := app.Window()
	h.releases = append(h.releases,
		listen(win, "online", func() { h.s.setOnline(true) }),
		listen(win, "offline", func() { h.s.setOnline(false) }),
		// An app left open for days looks for a new version when its
		// user comes back to it, as it does when it reconnects.
		listen(win.Get("document"), "visibilitychange", func() {
			if win.Get("document").Get("visibilityState").String() == "visible" {
				app.TryUpdate()
			}
		}),
	)
	pref := loadTheme(ctx)
	applyTheme(pref)
	if q := darkQuery(); q.Truthy() {
		h.releases = append(h.releases, listen(q, "change", func() {
			ctx.Dispatch(func(ctx app.Context) { applyTheme(loadTheme(ctx)) })
		}))
	}
	ctx.Handle(actionAnnounce, func(ctx app.Context, a app.Action) {
		if s, ok := a.Value.(string); ok {
			h.announce = s
		}
	})
	if h.s.Registered() {
		requestPersistence()
	}
	ctx.Handle(actionChatsChanged, func(ctx app.Context, a app.Action) { h.loadUnread(ctx) })
	h.releases = append(h.releases, listenEscape(func() {
		ctx.Dispatch(func(ctx app.Context) { h.onEscape(ctx) })
	}))
	h.settle(ctx, false)
	h.loadUnread(ctx)
}

// OnDismount releases the subscriptions.
func (h *shell) OnDismount() {
	for _, r := range h.releases {
		r()
	}
	h.releases = nil
}

// OnNav switches to the page of the new path.
func (h *shell) OnNav(ctx app.Context) {
	h.route = parseRoute(ctx.Page().URL().Path)
	h.settle(ctx, true)
}

// OnAppUpdate shows the update banner.
func (h *shell) OnAppUpdate(ctx app.Context) {
	h.updateReady = h.controlled && ctx.AppUpdateAvailable()
}

// settle sends a visitor who is not signed in to onboarding (and one who
// is away from it), sets the title and, after a navigation, moves the
// focus to the new page.
func (h *shell) settle(ctx app.Context, navigated bool) {
	registered := h.s.Registered()
	switch {
	case h.s.isElsewhere() || h.s.openError() != nil:
		// The page says why nothing else can be shown.
	case !registered && h.route.kind != routeWelcome && h.route.kind != routeLink && h.route.kind != routeNotFound:
		keepInvite(ctx, h.route)
		h.route = route{kind: routeWelcome}
		ctx.Page().ReplaceURL(&url.URL{Path: pathWelcome})
	case registered && (h.route.kind == routeWelcome || h.route.kind == routeLink):
		h.route = route{kind: routeChats}
		ctx.Page().ReplaceURL(&url.URL{Path: pathChats})
	}
	h.setTitle(ctx)
	// A conversation puts the cursor in its composer, onboarding in its
	// field.
	if navigated && h.route.kind != routeChat && h.route.kind != routeGroup && h.route.kind != routeWelcome && h.route.kind != routeLink {
		ctx.Defer(func(app.Context) {
			if h := app.Window().Get("document").Call("querySelector", "#main h1"); h.Truthy() {
				h.Call("focus", map[string]any{"preventScroll": true})
			}
		})
	}
}

// onEvent handles an event on the UI goroutine and passes it on.
func (h *shell) onEvent(ctx app.Context, ev any) {
	h.status = h.s.Status()
	switch ev.(type) {
	case sessionReset:
		h.notices = nil
		h.setUnread(ctx, 0)
		ctx.Navigate(pathWelcome)
		return
	case signedIn:
		requestPersistence()
		h.settle(ctx, false)
		h.loadUnread(ctx)
	case client.MessageReceived, client.MessageStateChanged, client.ContactChanged, client.Connected, client.GroupChanged:
		h.loadUnread(ctx)
	case client.OwnDeviceSeen:
		h.addNotice("A new device signed in to your account. If it wasn't you, remove it in Settings.", pathSettings, "Settings")
	case client.MessagesMissed:
		h.addNotice("This device was away too long: some messages expired before it came back.", "", "")
	case elsewhereChanged:
		h.settle(ctx, false)
		return
	case statusChanged:
		return
	}
	ctx.NewActionWithValue(actionEvent, ev)
}

func (h *shell) addNotice(text, href, link string) {
	h.nextNotice++
	h.notices = append(h.notices, notice{id: h.nextNotice, text: text, href: href, link: link})
	if len(h.notices) > 3 {
		h.notices = h.notices[len(h.notices)-3:]
	}
}

func (h *shell) dismiss(id int) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		for i, n := range h.notices {
			if n.id == id {
				h.notices = append(h.notices[:i:i], h.notices[i+1:]...)
				return
			}
		}
	}
}

// Render draws the frame and the current page.
func (h *shell) Render() app.UI {
	f := frame{route: h.route, status: h.status}
	if h.s.isElsewhere() || h.s.openError() != nil {
		f.route = route{kind: routeWelcome}
	}
	return layout(f, h.page(),
		h.banners(),
		app.Div().ID("announcer").Class("sr-only").Aria("live", "polite").Text(h.announce),
	)
}

func (h *shell) page() app.UI {
	if h.s.isElsewhere() {
		return elsewhereView(h.taking, h.takeErr, h.takeOver)
	}
	if err := h.s.openError(); err != nil {
		return app.Div().Class("page").Body(
			app.H1().TabIndex(-1).Text("Mutual cannot start"),
			app.P().Text("This browser did not let Mutual open its storage. Private windows and some privacy settings block it; open Mutual in a normal window."),
		)
	}
	if h.route.kind == routeNotFound {
		return notFoundView()
	}
	if !h.s.Registered() {
		if h.route.kind == routeLink {
			return &linkPage{s: h.s}
		}
		return &onboarding{s: h.s}
	}
	// A held device may restore the account's backup while it waits
	// (signing in by code leads there first); anything else waits.
	if !h.s.heldUntil().IsZero() && h.route.kind != routeRestore {
		return &heldPage{s: h.s}
	}
	switch h.route.kind {
	case routeChats:
		return split(&chatList{s: h.s}, emptyDetail())
	case routeChat:
		return split(&chatList{s: h.s, Active: h.route.peer.String()}, &conversation{s: h.s, Peer: h.route.peer.String()})
	case routeContacts:
		return &contactsPage{s: h.s}
	case routeSafety:
		return &safetyPage{s: h.s, Peer: h.route.peer.String()}
	case routeSettings:
		return &settingsPage{s: h.s}
	case routeNewGroup:
		return &newGroupPage{s: h.s}
	case routeGroup:
		id := h.route.group.String()
		return split(&chatList{s: h.s, ActiveGroup: id}, &conversation{s: h.s, Group: id})
	case routeGroupInfo:
		return &groupInfoPage{s: h.s, Group: h.route.group.String()}
	case routeJoin:
		return &joinPage{s: h.s}
	case routeMedia:
		return newGalleryPage(h.s, h.route)
	case routeCoop:
		return &coopPage{s: h.s}
	case routeCoopChat:
		return split(&chatList{s: h.s, ActiveCoop: true}, &coopChat{s: h.s})
	case routeRestore:
		return &restorePage{s: h.s}
	default:
		return notFoundView()
	}
}

// takeOverTimeout bounds waiting for another tab to let go.
const takeOverTimeout = 30 * time.Second

// takeOver makes this tab the one that runs Mutual.
func (h *shell) takeOver(ctx app.Context, e app.Event) {
	if h.taking {
		return
	}
	h.taking, h.takeErr = true, ""
	s := h.s
	ctx.Async(func() {
		tctx, cancel := context.WithTimeout(context.Background(), takeOverTimeout)
		err := s.takeOver(tctx)
		cancel()
		ctx.Dispatch(func(ctx app.Context) {
			h.taking = false
			switch {
			case errors.Is(err, context.DeadlineExceeded):
				h.takeErr = "The other tab did not let go. Close it, then try again."
			case err != nil:
				h.takeErr = errorText(err, true)
			}
			h.status = h.s.Status()
			h.settle(ctx, false)
		})
	})
}

// elsewhereView is shown while another tab runs Mutual.
func elsewhereView(taking bool, takeErr string, takeOver app.EventHandler) app.UI {
	label := "Use Mutual here"
	if taking {
		label = "Switching…"
	}
	return app.Div().Class("welcome").Body(
		app.Div().Class("welcome-card").Body(
			app.Div().Class("welcome-logo").Body(icon(logo)),
			app.H1().TabIndex(-1).Text("Mutual is open in another tab"),
			app.P().Class("lead").Text("Mutual runs in one tab or window at a time, so that your messages stay in order. Close the other one, or use Mutual here instead."),
			app.Button().ID("use-here").Type("button").Class("button", "button-primary").
				Disabled(taking).OnClick(takeOver).Text(label),
			app.P().Class("error").Role("alert").Text(takeErr),
		),
	)
}

// emptyDetail is the conversation pane when no chat is open (desktop).
func emptyDetail() app.UI {
	return app.Div().Class("placeholder").Body(
		icon(iconChats),
		app.P().Text("Choose a chat to start messaging."),
	)
}

// banners are the update prompt, the notices and the warning of a device
// the relay no longer accepts.
func (h *shell) banners() app.UI {
	return app.Div().Class("banners").Body(
		app.If(h.s.deviceRemoved(), func() app.UI {
			return app.Div().Class("banner", "banner-danger").Role("alert").Body(
				app.P().Text("This device is no longer signed in to your account."),
				app.A().Class("button").Href(pathSettings).Text("Sign out"),
			)
		}),
		app.If(h.s.Registered() && h.route.kind != routeSettings, func() app.UI { return &approvalBanner{s: h.s} }),
		app.Range(h.notices).Slice(func(i int) app.UI {
			n := h.notices[i]
			return app.Div().Class("banner").Role("status").Body(
				app.P().Text(n.text),
				app.If(n.href != "", func() app.UI {
					return app.A().Class("button", "button-ghost").Href(n.href).Text(n.link)
				}),
				app.Button().Type("button").Class("icon-button").Aria("label", "Dismiss").
					OnClick(h.dismiss(n.id)).Text("×"),
			)
		}),
		app.If(h.updateReady, func() app.UI {
			return app.Div().ID("update-banner").Class("banner", "banner-update").Role("status").Body(
				app.P().Text("A new version of Mutual is ready."),
				app.Button().ID("reload").Type("button").Class("button").
					OnClick(func(ctx app.Context, e app.Event) { ctx.Reload() }).Text("Reload"),
			)
		}),
	)
}

// busyTimeout bounds calls that need the relay.
const busyTimeout = 20 * time.Second

// withTimeout returns a context for one call to the relay.
func withTimeout(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, busyTimeout)
}
