package ui

import (
	"context"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Groups, as the app shows them: a group's chat lives at /group/<ID> (its
// conversation ID in hex), its members and settings at /group/<ID>/info,
// and a new group is made at /new-group. People in a group are named by
// client.GroupMember.Name, or, for someone who has left it, by what the
// device knows of them as a contact, else by a short form of their ID.

// iconGroup is the icon of a group: two people.
const iconGroup = svgOpen + `<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0"/><circle cx="17" cy="9" r="2.5"/><path d="M17.5 14a5 5 0 0 1 4 5"/>` + svgClose

// groupPath is a group's chat; groupInfoPath its members and settings.
func groupPath(id wire.ConversationID) string     { return prefixGroup + id.String() }
func groupInfoPath(id wire.ConversationID) string { return prefixGroup + id.String() + suffixInfo }

// parseGroupRoute parses what follows /group/ in a path: an ID, and
// /info for the group's info.
func parseGroupRoute(rest string) route {
	kind := routeGroup
	if r, ok := strings.CutSuffix(rest, suffixInfo); ok {
		rest, kind = r, routeGroupInfo
	}
	id, ok := parseGroupID(rest)
	if !ok {
		return route{kind: routeNotFound}
	}
	return route{kind: kind, group: id}
}

// parseGroupID parses a group's ID written in hex, in either case.
func parseGroupID(s string) (wire.ConversationID, bool) {
	var id wire.ConversationID
	if len(s) != hex.EncodedLen(len(id)) {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(strings.ToLower(s))); err != nil {
		return id, false
	}
	return id, id != wire.ConversationID{}
}

// people names users: the members of a group and the user's contacts.
type people map[wire.UserID]string

// groupPeople names the members of the groups and the contacts among
// cts, who are named as everywhere else in the app (displayName), also
// once they have left a group.
func groupPeople(groups []*client.Group, cts []client.Contact) people {
	p := make(people)
	for _, g := range groups {
		for _, m := range g.Members {
			if m.Name != "" {
				p[m.User] = m.Name
			}
		}
	}
	for _, ct := range cts {
		if isContact(ct) {
			p[ct.User] = displayName(ct)
		}
	}
	return p
}

// merged is p with the names of q added, q's where both have one. A
// view keeps the names it has seen: a member who leaves is no longer in
// the group's list, and is still named in its history.
func (p people) merged(q people) people {
	out := make(people, len(p)+len(q))
	for u, n := range p {
		out[u] = n
	}
	for u, n := range q {
		out[u] = n
	}
	return out
}

// pageNames names the people a page of a group's history mentions
// (authors, and who its system lines name), including those who have
// left the group since; nil when they cannot be read.
func pageNames(cl *client.Client, page []client.Message) people {
	var users []wire.UserID
	for _, m := range page {
		users = append(users, m.Author)
		if m.Event != nil {
			users = append(users, m.Event.Actor)
			users = append(users, m.Event.Subjects...)
		}
	}
	names, err := cl.MemberNames(context.Background(), users...)
	if err != nil {
		return nil
	}
	return people(names)
}

// name is what to call u: their name, else the first eight hex digits
// of their ID.
func (p people) name(u wire.UserID) string {
	if n := p[u]; n != "" {
		return n
	}
	return u.String()[:8]
}

// maxNamed is how many people a system line names before it counts the
// others.
const maxNamed = 3

// nameList joins the names of users, "you" for this account: "Ben",
// "Ben and Cleo", "Ben, Cleo and Dan", then "Ben, Cleo, Dan and 4
// others".
func (p people) nameList(users []wire.UserID, me wire.UserID) string {
	names := make([]string, 0, min(len(users), maxNamed+1))
	for i, u := range users {
		if i == maxNamed && len(users) > maxNamed+1 {
			names = append(names, strconv.Itoa(len(users)-maxNamed)+" others")
			break
		}
		if u == me {
			names = append(names, "you")
		} else {
			names = append(names, p.name(u))
		}
	}
	switch len(names) {
	case 0:
		return "nobody"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// eventText is a group's system line in words, from this account's side:
// "Ann added Ben", "You left", "You were removed by Ann".
func eventText(ev client.GroupEvent, me wire.UserID, p people) string {
	actor := p.name(ev.Actor)
	if ev.Actor == me {
		actor = "You"
	}
	subjects := p.nameList(ev.Subjects, me)
	plural := len(ev.Subjects) > 1
	switch ev.Kind {
	case client.EventCreated:
		return actor + " created the group “" + ev.Name + "”"
	case client.EventAdded:
		return actor + " added " + subjects
	case client.EventRemoved:
		if len(ev.Subjects) == 1 && ev.Subjects[0] == me && ev.Actor != me {
			return "You were removed by " + actor
		}
		return actor + " removed " + subjects
	case client.EventLeft:
		return actor + " left"
	case client.EventJoined:
		return actor + " joined"
	case client.EventRenamed:
		return actor + " renamed the group to “" + ev.Name + "”"
	case client.EventAdmin:
		if plural {
			return actor + " made " + subjects + " admins"
		}
		return actor + " made " + subjects + " an admin"
	case client.EventNotAdmin:
		if plural {
			return actor + " removed " + subjects + " as admins"
		}
		return actor + " removed " + subjects + " as admin"
	case client.EventSettings:
		if ev.MembersCanAdd {
			return actor + " let every member add members"
		}
		return actor + " let only admins add members"
	case client.EventLink, client.EventLinkReset, client.EventLinkJoined:
		return linkEventText(ev, actor, subjects, me)
	}
	return actor + " changed the group"
}

// invitationText says who added this account to g: "Ann added you to
// Family".
func invitationText(g client.Group, p people) string {
	return p.name(g.InvitedBy) + " added you to " + g.Name
}

// authorColours is how many colours authors' names are drawn in
// (--author-0 to --author-7 in the style sheet, each readable on the
// bubbles and the conversation's background in both themes).
const authorColours = 8

// authorColour is the colour of an author's name in a group: the same
// for a user everywhere, from their user ID.
func authorColour(u wire.UserID) int {
	h := fnv.New32a()
	h.Write(u[:])
	// The high bits: FNV's low bits follow the input's low bits.
	return int((h.Sum32() >> 16) % authorColours)
}

// authorClass is the class that gives an author's name their colour.
func authorClass(u wire.UserID) string { return "author-" + strconv.Itoa(authorColour(u)) }

// memberCount is "1 member", "3 members": the joined members and those
// invited who have not joined yet.
func memberCount(g client.Group) string {
	if len(g.Members) == 1 {
		return "1 member"
	}
	return strconv.Itoa(len(g.Members)) + " members"
}

// checkGroupName says what is wrong with a group's name, as typed; ""
// when it can be one.
func checkGroupName(name string) string {
	switch name = strings.TrimSpace(name); {
	case name == "":
		return "Give the group a name."
	case len(name) > client.MaxGroupName:
		return "That name is too long: at most " + strconv.Itoa(client.MaxGroupName) + " bytes (" +
			strconv.Itoa(utf8.RuneCountInString(name)) + " characters use " + strconv.Itoa(len(name)) + ")."
	}
	return ""
}

// groupErrorText says why a change to a group failed: without the relay,
// that it needs a connection ("Connect to create a group."); a refusal
// by the relay, its reason.
func groupErrorText(err error, online bool, action string) string {
	var we *wire.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &we):
		switch we.Code {
		case wire.CodeForbidden:
			return "The server refused: you are not allowed to " + action + " in this group."
		case wire.CodeNotFound:
			return "The server does not know this group or one of the people in it."
		case wire.CodeTooManyRecipients:
			return "A group has at most " + strconv.Itoa(client.MaxGroupMembers) + " members."
		}
		return wireErrorText(we)
	case errors.Is(err, client.ErrNotAllowed):
		return "Only the group's admins can " + action + "."
	case errors.Is(err, client.ErrNotMember):
		return "You can't " + action + ": you are not a member of this group."
	case errors.Is(err, client.ErrBadGroupName):
		return "That name can't be used: give the group a name of at most " + strconv.Itoa(client.MaxGroupName) + " bytes, without control characters."
	case errors.Is(err, client.ErrGroupFull):
		return "A group has at most " + strconv.Itoa(client.MaxGroupMembers) + " members."
	case errors.Is(err, client.ErrNoSuchGroup):
		return "This device does not know this group."
	case errors.Is(err, client.ErrOffline), !online && !errors.Is(err, client.ErrClosed):
		return "Connect to " + action + "."
	}
	return errorText(err, online)
}

// groupAvatar is a group's icon on the group's colour.
func groupAvatar(id wire.ConversationID) app.UI {
	return app.Span().Class("avatar", "avatar-group").Style("--hue", strconv.Itoa(avatarHue(wire.UserID(id)))).
		Aria("hidden", "true").Body(icon(iconGroup))
}

// groupPreview is the line under a group's name in the chats list, and
// whether its newest message is this account's (for its ticks).
func groupPreview(ch client.Chat, me wire.UserID, p people) (text string, own bool) {
	g := ch.Group
	switch m := ch.Last; {
	case g.Status == client.GroupInvited:
		return invitationText(*g, p), false
	case m == nil:
		return "No messages yet", false
	case m.Event != nil:
		return eventText(*m.Event, me, p), false
	case m.Outgoing:
		return "You: " + preview(messagePreview(*m), 80), true
	default:
		return p.name(m.Author) + ": " + preview(messagePreview(*m), 80), false
	}
}

// groupChatItem is a group's row in the chats list: its icon and name,
// the newest message with its author ("Ann: text") or system line, and
// the unread count; an invitation from someone who is not a contact
// says who added the user, marked as an invitation.
func groupChatItem(ch client.Chat, active wire.ConversationID, me wire.UserID, p people, now time.Time) app.UI {
	g := ch.Group
	invited := g.Status == client.GroupInvited
	classes := []string{"chat", "chat-group"}
	if invited {
		classes = append(classes, "chat-request")
	}
	if ch.Unread > 0 {
		classes = append(classes, "chat-has-unread")
	}
	link := app.A().Class("chat-link").Href(groupPath(g.ID))
	if g.ID == active {
		classes = append(classes, "chat-active")
		link = link.Aria("current", "page")
	}
	text, own := groupPreview(ch, me, p)
	at := ch.Activity
	if ch.Last != nil {
		at = when(*ch.Last)
	}
	return app.Li().Class(classes...).DataSet("group", g.ID.String()).Body(
		link.Body(
			groupAvatar(g.ID),
			app.Span().Class("chat-body").Body(
				app.Span().Class("chat-top").Body(
					app.Span().Class("chat-name").Body(
						app.Span().Class("sr-only").Text("Group: "),
						app.Text(g.Name),
					),
					mutedMark(ch),
					app.If(!at.IsZero(), func() app.UI {
						return app.Time().Class("chat-time").DateTime(at.UTC().Format(time.RFC3339)).Text(chatTime(at, now))
					}),
				),
				app.Span().Class("chat-bottom").Body(
					app.If(own, func() app.UI { return ticks(ch.Last.State) }),
					app.Span().Class("chat-preview").Text(text),
					app.If(invited, func() app.UI {
						return app.Span().Class("badge", "badge-request").Text("Invitation")
					}),
					app.If(ch.Unread > 0, func() app.UI {
						return app.Span().Class("chat-unread").Aria("label", unreadLabel(ch.Unread)).Text(unreadBadge(ch.Unread))
					}),
				),
			),
		),
	)
}

// callRelay runs call, which needs the relay, away from the UI goroutine
// with a deadline, and hands what went wrong, in words, to done back on
// it ("" when it worked). Without a connection it does not try: done is
// told "Connect to <action>." at once.
func callRelay(ctx app.Context, s *Session, action string, call func(context.Context, *client.Client) error, done func(ctx app.Context, errText string)) {
	if s.Status() != StatusOnline {
		done(ctx, "Connect to "+action+".")
		return
	}
	ctx.Async(func() {
		cl, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			err = call(rctx, cl)
			cancel()
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) { done(ctx, groupErrorText(err, online, action)) })
	})
}
