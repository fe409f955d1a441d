package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Paths of the app's pages.
const (
	pathChats    = "/"
	pathWelcome  = "/welcome"
	pathLink     = "/link" // linking this new device from another (link.go)
	pathContacts = "/contacts"
	pathSettings = "/settings"
	prefixChat   = "/chat/"
	prefixSafety = "/safety/"
	pathNewGroup = "/new-group"
	prefixGroup  = "/group/"
	suffixInfo   = "/info"
	suffixMedia  = "/media"
)

// Routes registers every page of the app with go-app, each made by
// newPage: the browser passes a factory of its root component (see
// Session.NewPage), the server one returning Prerender().
func Routes(newPage func() app.Composer) {
	app.Route(pathChats, newPage)
	app.Route(pathWelcome, newPage)
	app.Route(pathLink, newPage)
	app.Route(pathContacts, newPage)
	app.Route(pathSettings, newPage)
	app.RouteWithRegexp("^"+prefixChat+"[0-9a-fA-F]{32}$", newPage)
	app.RouteWithRegexp("^"+prefixSafety+"[0-9a-fA-F]{32}$", newPage)
	app.Route(pathNewGroup, newPage)
	app.RouteWithRegexp("^"+prefixGroup+"[0-9a-fA-F]{32}("+suffixInfo+")?$", newPage)
	app.Route(pathJoin, newPage)
	app.RouteWithRegexp("^("+prefixChat+"|"+prefixGroup+")[0-9a-fA-F]{32}"+suffixMedia+"$", newPage)
	app.Route(pathCoop, newPage)
	app.Route(pathCoopNotices, newPage)
	app.Route(pathRestore, newPage)
	// Every other path too: the app says it has no such page, in its
	// own frame, with a way back (the server answers it with status 404,
	// see KnownPath).
	app.RouteWithRegexp("^/", newPage)
}

// KnownPath reports whether path is one of the app's pages. The server
// answers the others with the app's not-found page and status 404.
func KnownPath(path string) bool {
	return parseRoute(path).kind != routeNotFound
}

// Prerender returns the component the server renders for every page: the
// app's frame (header, navigation, an empty main area) without client
// logic, the same size as the app's, so that the page does not move when
// the WebAssembly takes over.
func Prerender() app.Composer { return &skeleton{} }

// routeKind is which page a path shows.
type routeKind int

const (
	routeChats routeKind = iota
	routeWelcome
	routeChat
	routeContacts
	routeSafety
	routeSettings
	routeNotFound
	routeNewGroup
	routeGroup     // a group's chat
	routeGroupInfo // a group's members and settings
	routeJoin      // an invite link: its token follows "#" (invite.go)
	routeMedia     // a chat's photos, videos, files and voice notes (gallery.go)
	routeCoop      // the Co-op screen (coop.go)
	routeCoopChat  // the co-op's notices, a conversation (coopchat.go)
	routeLink      // linking this new device from another (link.go)
	routeRestore   // restoring the account's backup after signing in (restore.go)
)

// route is a parsed path.
type route struct {
	kind  routeKind
	peer  wire.UserID         // with routeChat and routeSafety, and routeMedia of a 1:1 chat
	group wire.ConversationID // with routeGroup and routeGroupInfo, and routeMedia of a group
}

// parseRoute parses a page's path.
func parseRoute(path string) route {
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	switch path {
	case "", pathChats:
		return route{kind: routeChats}
	case pathWelcome:
		return route{kind: routeWelcome}
	case pathLink:
		return route{kind: routeLink}
	case pathContacts:
		return route{kind: routeContacts}
	case pathSettings:
		return route{kind: routeSettings}
	case pathNewGroup:
		return route{kind: routeNewGroup}
	case pathJoin:
		return route{kind: routeJoin}
	case pathCoop:
		return route{kind: routeCoop}
	case pathCoopNotices:
		return route{kind: routeCoopChat}
	case pathRestore:
		return route{kind: routeRestore}
	}
	if chat, ok := strings.CutSuffix(path, suffixMedia); ok {
		return mediaRoute(parseRoute(chat))
	}
	if rest, ok := strings.CutPrefix(path, prefixGroup); ok {
		return parseGroupRoute(rest)
	}
	for _, p := range []struct {
		prefix string
		kind   routeKind
	}{{prefixChat, routeChat}, {prefixSafety, routeSafety}} {
		if rest, ok := strings.CutPrefix(path, p.prefix); ok {
			u, err := wire.ParseUserID(strings.ToLower(rest))
			if err != nil || u.IsZero() {
				return route{kind: routeNotFound}
			}
			return route{kind: p.kind, peer: u}
		}
	}
	return route{kind: routeNotFound}
}

func chatPath(u wire.UserID) string   { return prefixChat + u.String() }
func safetyPath(u wire.UserID) string { return prefixSafety + u.String() }

// title is the document title of a page.
func (r route) title() string {
	switch r.kind {
	case routeWelcome:
		return "Welcome · Mutual"
	case routeLink:
		return "Link this device · Mutual"
	case routeContacts:
		return "Contacts · Mutual"
	case routeSettings:
		return "Settings · Mutual"
	case routeSafety:
		return "Safety number · Mutual"
	case routeNewGroup:
		return "New group · Mutual"
	case routeGroupInfo:
		return "Group info · Mutual"
	case routeJoin:
		return "Join a group · Mutual"
	case routeMedia:
		return "Media · Mutual"
	case routeCoop:
		return "Co-op · Mutual"
	case routeCoopChat:
		return coopChatName + " · Mutual"
	case routeNotFound:
		return "Page not found · Mutual"
	case routeRestore:
		return "Restore from backup · Mutual"
	default:
		return "Mutual"
	}
}

// view is how the frame lays the page out: "list" (the chats list, alone
// on a phone), "detail" (a conversation, alone on a phone), "page" (one
// centred column) or "welcome" (onboarding, no navigation).
func (r route) view() string {
	switch r.kind {
	case routeChats:
		return "list"
	case routeChat, routeGroup, routeCoopChat:
		return "detail"
	case routeWelcome, routeLink, routeRestore:
		return "welcome"
	default:
		return "page"
	}
}

// section is which navigation link is current.
func (r route) section() string {
	switch r.kind {
	case routeChats, routeChat, routeNewGroup, routeGroup, routeGroupInfo, routeJoin, routeMedia, routeCoopChat:
		return "chats"
	case routeContacts, routeSafety:
		return "contacts"
	case routeSettings:
		return "settings"
	default:
		return ""
	}
}

// frame is what the frame shows around the page.
type frame struct {
	route  route
	status Status
}

// layout renders the app's frame around main; extra goes after main
// (banners, dialogs, the announcer). The skeleton and the app share it.
func layout(f frame, main app.UI, extra ...app.UI) app.UI {
	view := f.route.view()
	section := f.route.section()
	navLink := func(id, href, label, svg, name string) app.UI {
		a := app.A().ID(id).Class("tab").Href(href).Body(
			icon(svg),
			app.Span().Class("tab-label").Text(label),
		)
		if section == name {
			a = a.Aria("current", "page")
		}
		return a
	}
	return app.Div().ID("app").Class("app").DataSet("view", view).Body(
		app.A().Class("skip-link").Href("#main").Text("Skip to content"),
		app.Header().Class("topbar").Body(
			app.A().Class("brand").Href(pathChats).Aria("label", "Mutual, chats").Body(
				icon(logo),
				app.Span().Class("brand-name").Text("Mutual"),
			),
			app.Span().ID("status").Class("status").DataSet("state", f.status.String()).
				Role("status").Aria("live", "polite").Body(
				app.Span().Class("status-dot").Aria("hidden", "true"),
				app.Span().Class("status-text").Text(f.status.label()),
			),
		),
		app.Nav().Class("tabs").Aria("label", "Main").Body(
			navLink("nav-chats", pathChats, "Chats", iconChats, "chats"),
			navLink("nav-contacts", pathContacts, "Contacts", iconContacts, "contacts"),
			navLink("nav-settings", pathSettings, "Settings", iconSettings, "settings"),
		),
		app.Main().ID("main").Class("main").TabIndex(-1).Body(main),
		app.Range(extra).Slice(func(i int) app.UI { return extra[i] }),
	)
}

// split is the two-pane body of the chats pages.
func split(list, detail app.UI) app.UI {
	return app.Div().Class("split").Body(
		app.Section().Class("pane", "pane-list").Aria("label", "Chats").Body(list),
		app.Section().Class("pane", "pane-detail").Body(detail),
	)
}

// skeleton is the server's rendering of every page.
type skeleton struct {
	app.Compo
	route route
}

// OnPreRender learns the page from the request's path.
func (k *skeleton) OnPreRender(ctx app.Context) {
	k.route = parseRoute(ctx.Page().URL().Path)
	ctx.Page().SetTitle("%s", k.route.title())
}

// Render draws the frame with empty panes.
func (k *skeleton) Render() app.UI {
	var main app.UI = app.Div().Class("page")
	switch k.route.kind {
	case routeChats, routeChat, routeGroup, routeCoopChat:
		main = split(app.Div().Class("chat-list"), app.Div().Class("placeholder"))
	case routeWelcome, routeLink, routeRestore:
		main = app.Div().Class("welcome")
	case routeNotFound:
		main = notFoundView()
	}
	return layout(frame{route: k.route, status: StatusConnecting}, main)
}

// notFoundView is the page of a path the app does not have: the server's
// and the app's.
func notFoundView() app.UI {
	return app.Div().ID("not-found").Class("page", "not-found").Body(
		app.H1().TabIndex(-1).Text("Page not found"),
		app.P().Text("Mutual has no page at this address. The link may be mistyped, or the page may have moved."),
		app.A().ID("not-found-home").Class("button", "button-primary").Href(pathChats).Text("Go to your chats"),
	)
}
