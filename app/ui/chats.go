package ui

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// chatList is the list of chats: newest activity first, with unread
// counts, filtered by name. On wide screens it stays beside the open
// conversation (Active).
type chatList struct {
	app.Compo
	// Active is the user ID (hex) of the open conversation, if any.
	Active string
	// ActiveGroup is the ID (hex) of the open group's chat, if any.
	ActiveGroup string
	// ActiveCoop is set while the co-op's notices are open.
	ActiveCoop bool

	s       *Session
	chats   []client.Chat
	names   people // of everyone the chats have named since the list opened
	filter  string
	loaded  bool
	loading bool
	again   bool // reload when the current load ends
	err     string
	// notified is what the service worker was last given to name the
	// chats by (notifications.go).
	notified map[string]string
}

// OnMount loads the chats and follows what changes them.
func (l *chatList) OnMount(ctx app.Context) {
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch a.Value.(type) {
		case client.MessageReceived, client.MessageStateChanged, client.ContactChanged,
			client.RequestReceived, client.IdentityChanged, client.Connected, client.GroupChanged:
			l.load(ctx)
		default:
			ctx.PreventUpdate()
		}
	})
	ctx.Handle(actionChatsChanged, func(ctx app.Context, a app.Action) { l.load(ctx) })
	l.openRequested(ctx)
	l.load(ctx)
}

// OnNav reloads: coming back to the list, counts may have changed.
func (l *chatList) OnNav(ctx app.Context) {
	l.openRequested(ctx)
	l.load(ctx)
}

// load reads the chats again; loads never overlap, and one asked for
// during another runs after it.
func (l *chatList) load(ctx app.Context) {
	if l.loading {
		l.again = true
		return
	}
	l.loading = true
	s := l.s
	ctx.Async(func() {
		var chats []client.Chat
		c, err := s.client()
		if err == nil {
			chats, err = c.Chats(context.Background())
		}
		ctx.Dispatch(func(ctx app.Context) {
			l.loading = false
			if err != nil {
				l.err = errorText(err, true)
			} else {
				l.chats, l.loaded, l.err = chats, true, ""
				l.names = l.names.merged(chatPeople(chats))
				l.noteNames(ctx, chats)
			}
			if l.again {
				l.again = false
				l.load(ctx)
			}
		})
	})
}

func (l *chatList) onFilter(ctx app.Context, e app.Event) {
	l.filter = ctx.JSSrc().Get("value").String()
}

// Render draws the list.
func (l *chatList) Render() app.UI {
	var active wire.UserID
	if l.Active != "" {
		active, _ = wire.ParseUserID(l.Active)
	}
	activeGroup, _ := parseGroupID(l.ActiveGroup)
	acct, _ := l.s.account()
	return chatListView(chatListProps{
		chats: l.chats, names: l.names, filter: l.filter, active: active, activeGroup: activeGroup,
		activeCoop: l.ActiveCoop, me: acct.User, now: l.s.now(), loaded: l.loaded, err: l.err,
	}, l.onFilter)
}

// chatListProps is what the chats list shows.
type chatListProps struct {
	chats  []client.Chat
	names  people // who the chats name; nil: from chats alone
	filter string
	active wire.UserID // the open conversation, zero if none
	// activeGroup is the open group's chat, zero if none.
	activeGroup wire.ConversationID
	activeCoop  bool        // the co-op's notices are open
	me          wire.UserID // this account
	now         time.Time
	loaded      bool
	err         string
}

// sortChats orders chats by last activity, newest first.
func sortChats(chats []client.Chat) []client.Chat {
	out := slices.Clone(chats)
	slices.SortStableFunc(out, func(a, b client.Chat) int { return b.Activity.Compare(a.Activity) })
	return out
}

// filterChats keeps the chats whose name (or address, as typed or
// confirmed) contains filter, ignoring case.
func filterChats(chats []client.Chat, filter string) []client.Chat {
	f := strings.ToLower(strings.TrimSpace(filter))
	if f == "" {
		return chats
	}
	var out []client.Chat
	for _, ch := range chats {
		if ch.Group != nil {
			if strings.Contains(strings.ToLower(ch.Group.Name), f) {
				out = append(out, ch)
			}
			continue
		}
		if strings.Contains(strings.ToLower(displayName(ch.Contact)), f) ||
			strings.Contains(strings.ToLower(plainAddress(ch.Contact.Address)), f) ||
			strings.Contains(strings.ToLower(ch.Contact.DisplayAddress()), f) {
			out = append(out, ch)
		}
	}
	return out
}

// chatListView draws the chats list; onFilter may be nil (tests).
func chatListView(p chatListProps, onFilter app.EventHandler) app.UI {
	chats := filterChats(sortChats(p.chats), p.filter)
	names := p.names
	if names == nil {
		names = chatPeople(p.chats)
	}
	var heading app.UI = app.H1().Class("pane-title").TabIndex(-1).Text("Chats")
	if !p.active.IsZero() || p.activeGroup != (wire.ConversationID{}) || p.activeCoop {
		heading = app.H2().Class("pane-title").Text("Chats")
	}
	return app.Div().Class("chat-list").Body(
		app.Div().Class("pane-head").Body(
			heading,
			app.Div().Class("pane-actions").Body(
				coopLink(),
				app.A().ID("new-group").Class("icon-button").Href(pathNewGroup).Aria("label", "New group").Title("New group").Body(icon(iconGroup)),
				app.A().Class("icon-button").Href(pathContacts).Aria("label", "New chat").Title("New chat").Text("+"),
			),
		),
		app.Div().Class("search").Body(
			app.Label().For("chat-filter").Class("sr-only").Text("Search chats by name"),
			icon(iconSearch),
			app.Input().ID("chat-filter").Type("search").Placeholder("Search").
				Attr("autocomplete", "off").Value(p.filter).OnInput(onFilter),
		),
		app.If(p.err != "", func() app.UI {
			return app.P().Class("error").Role("alert").Text(p.err)
		}),
		app.Div().Class("chats-scroll").Body(
			app.Ul().ID("chats").Class("chats").Aria("label", "Chats").Body(
				app.Range(chats).Slice(func(i int) app.UI {
					if chats[i].Coop {
						return coopChatItem(chats[i], p.activeCoop, p.now)
					}
					if chats[i].Group != nil {
						return groupChatItem(chats[i], p.activeGroup, p.me, names, p.now)
					}
					return chatItem(chats[i], p.active, p.now)
				}),
			),
			app.If(p.loaded && len(p.chats) == 0, func() app.UI {
				return app.Div().Class("empty").Body(
					app.P().Text("No chats yet."),
					app.A().Class("button", "button-primary").Href(pathContacts).Text("Add a contact"),
				)
			}).ElseIf(p.loaded && len(chats) == 0, func() app.UI {
				return app.P().Class("empty").Text("No chats match “" + strings.TrimSpace(p.filter) + "”.")
			}),
		),
	)
}

// chatItem is one row of the chats list: the name, the confirmed address
// under it (identityLine), the newest message.
func chatItem(ch client.Chat, active wire.UserID, now time.Time) app.UI {
	ct := ch.Contact
	name := displayName(ct)
	request := ct.State == client.ContactRequest
	classes := []string{"chat"}
	if request {
		classes = append(classes, "chat-request")
	}
	if ch.Unread > 0 {
		classes = append(classes, "chat-has-unread")
	}
	link := app.A().Class("chat-link").Href(chatPath(ct.User))
	if ct.User == active {
		classes = append(classes, "chat-active")
		link = link.Aria("current", "page")
	}
	var text string
	var tick app.UI
	switch {
	case ch.Last != nil && ch.Last.Outgoing:
		text = "You: " + preview(messagePreview(*ch.Last), 80)
		tick = ticks(ch.Last.State)
	case ch.Last != nil:
		text = preview(messagePreview(*ch.Last), 80)
	case request:
		text = "Wants to chat with you"
	case ct.State == client.ContactBlocked:
		text = "Blocked"
	default:
		text = "No messages yet"
	}
	when := ch.Activity
	if ch.Last != nil {
		when = ch.Last.SentAt
	}
	return app.Li().Class(classes...).DataSet("user", ct.User.String()).Body(
		link.Body(
			avatar(ct.User, name),
			app.Span().Class("chat-body").Body(
				app.Span().Class("chat-top").Body(
					app.Span().Class("chat-name").Body(nameUI(ct)),
					mutedMark(ch),
					app.If(!when.IsZero(), func() app.UI {
						return app.Time().Class("chat-time").DateTime(when.UTC().Format(time.RFC3339)).Text(chatTime(when, now))
					}),
				),
				identityLine(ct, "chat-address"),
				app.Span().Class("chat-bottom").Body(
					tick,
					app.Span().Class("chat-preview").Text(text),
					app.If(request, func() app.UI {
						return app.Span().Class("badge", "badge-request").Text("Request")
					}),
					app.If(ch.Unread > 0, func() app.UI {
						return app.Span().Class("chat-unread").Aria("label", unreadLabel(ch.Unread)).Text(unreadBadge(ch.Unread))
					}),
				),
			),
		),
	)
}

func unreadLabel(n int) string {
	if n == 1 {
		return "1 unread message"
	}
	return strconv.Itoa(n) + " unread messages"
}

// avatar is a user's initials on their colour.
func avatar(u wire.UserID, name string) app.UI {
	return app.Span().Class("avatar").Style("--hue", strconv.Itoa(avatarHue(u))).
		Aria("hidden", "true").Text(initials(name))
}

// chatPeople names the people of the chats: the contacts of the 1:1
// chats and the members of the groups.
func chatPeople(chats []client.Chat) people {
	var groups []*client.Group
	var cts []client.Contact
	for _, ch := range chats {
		if ch.Group != nil {
			groups = append(groups, ch.Group)
		} else {
			cts = append(cts, ch.Contact)
		}
	}
	return groupPeople(groups, cts)
}
