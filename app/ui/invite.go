package ui

import (
	"context"
	"errors"
	"net/url"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Invite links. A group's info shows its admins the invite link
// (inviteCard): off, "An admin approves who joins" or "Anyone with the
// link joins"; while on, the link (this app's origin, "/join#" and the
// token), a Copy button, its QR code and "Reset link", and who asks to
// join, to approve or decline. The link opens /join (joinPage), which
// reads the token from the page's fragment (never sent to the server or
// the relay), shows the group's name and who invites, and joins or asks
// to. Someone signed out signs in first: the token waits in the tab's
// session storage, and the page comes back once they have.

// pathJoin is the page an invite link opens; its token follows "#".
const pathJoin = "/join"

// inviteKey keeps, in the tab's session storage, the token of an invite
// link opened before signing in.
const inviteKey = "mutual-invite"

// inviteLink is the link of token on this app's origin.
func inviteLink(origin, token string) string { return origin + pathJoin + "#" + token }

// appOrigin is the page's origin (scheme, host and port).
func appOrigin() string { return app.Window().Get("location").Get("origin").String() }

// keepInvite keeps the token of an invite link opened while signed out,
// so that the page comes back after signing in (see afterSignIn).
func keepInvite(ctx app.Context, r route) {
	if r.kind != routeJoin {
		return
	}
	if token := ctx.Page().URL().Fragment; token != "" {
		ctx.SessionStorage().Set(inviteKey, token)
	}
}

// afterSignIn is the page to open once signed in: the invite link opened
// before (forgotten then), else the chats.
func afterSignIn(ctx app.Context) string {
	var token string
	if err := ctx.SessionStorage().Get(inviteKey, &token); err != nil || token == "" {
		return pathChats
	}
	ctx.SessionStorage().Del(inviteKey)
	return (&url.URL{Path: pathJoin, Fragment: token}).String()
}

// linkModeLabel names an invite link's mode as the app offers it.
func linkModeLabel(m client.LinkMode) string {
	switch m {
	case client.LinkApprove:
		return "An admin approves who joins"
	case client.LinkOpen:
		return "Anyone with the link joins"
	}
	return "Off"
}

// linkEventText is a system line of the invite link, from this account's
// side: actor as eventText names them, subjects the people it names.
func linkEventText(ev client.GroupEvent, actor, subjects string, me wire.UserID) string {
	switch ev.Kind {
	case client.EventLink:
		switch ev.Link {
		case client.LinkOff:
			return actor + " turned off the invite link"
		case client.LinkApprove:
			return actor + " set the invite link: an admin approves who joins"
		}
		return actor + " set the invite link: anyone with it can join"
	case client.EventLinkReset:
		return actor + " reset the invite link"
	}
	if len(ev.Subjects) == 1 && ev.Subjects[0] == me {
		return "You joined with the invite link"
	}
	return subjects + " joined with the invite link"
}

// inviteCard is the invite link in a group's info, for its admins, with
// the requests to join.
type inviteCard struct {
	app.Compo
	// Group is the group's ID in hex.
	Group string

	s  *Session
	st inviteState
}

// inviteState is what the invite card shows.
type inviteState struct {
	id       wire.ConversationID
	mode     client.LinkMode
	link     string // the whole link; "" while off
	qr       string // the link's QR code, SVG
	requests []client.JoinRequest
	busy     bool   // a change is under way
	err      string // why the last change failed
	note     string // what the last action did ("Copied")
}

// OnMount reads the link and follows the group's changes.
func (p *inviteCard) OnMount(ctx app.Context) {
	p.st.id, _ = parseGroupID(p.Group)
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch ev := a.Value.(type) {
		case client.GroupChanged:
			if ev.Group == p.st.id {
				p.load(ctx)
				return
			}
		case client.Connected:
			p.load(ctx)
			return
		}
		ctx.PreventUpdate()
	})
	p.load(ctx)
}

func (p *inviteCard) load(ctx app.Context) {
	s, id, origin := p.s, p.st.id, appOrigin()
	ctx.Async(func() {
		var g client.Group
		var link, qr string
		c, err := s.client()
		if err == nil {
			g, err = c.Group(context.Background(), id)
		}
		if err == nil && g.Admin && g.Link != client.LinkOff {
			var token string
			if token, err = c.InviteToken(context.Background(), id); err == nil {
				link = inviteLink(origin, token)
				qr, _ = qrSVG([]byte(link), "QR code of the group's invite link")
			}
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.err = errorText(err, true)
				return
			}
			if link != p.st.link {
				p.st.note = ""
			}
			p.st.mode, p.st.link, p.st.qr, p.st.requests = g.Link, link, qr, g.JoinRequests
		})
	})
}

// change runs a change of the link with every control off until it is
// done.
func (p *inviteCard) change(ctx app.Context, action string, call func(context.Context, *client.Client, wire.ConversationID) error) {
	if p.st.busy {
		return
	}
	p.st.busy, p.st.err, p.st.note = true, "", ""
	id := p.st.id
	callRelay(ctx, p.s, action, func(rctx context.Context, c *client.Client) error {
		return call(rctx, c, id)
	}, func(ctx app.Context, errText string) {
		p.st.busy, p.st.err = false, errText
		p.load(ctx)
	})
}

func (p *inviteCard) setMode(mode client.LinkMode) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.change(ctx, "change the invite link", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
			return c.SetInviteLink(rctx, id, mode)
		})
	}
}

func (p *inviteCard) reset(ctx app.Context, e app.Event) {
	p.change(ctx, "reset the invite link", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
		return c.ResetInviteLink(rctx, id)
	})
}

func (p *inviteCard) approve(u wire.UserID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.change(ctx, "approve who joins", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
			return c.ApproveJoin(rctx, id, u)
		})
	}
}

func (p *inviteCard) decline(u wire.UserID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.change(ctx, "decline who joins", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
			return c.DeclineJoin(rctx, id, u)
		})
	}
}

// copyLink puts the link on the clipboard, or selects it where the
// browser offers no clipboard.
func (p *inviteCard) copyLink(ctx app.Context, e app.Event) {
	clip := app.Window().Get("navigator").Get("clipboard")
	if !clip.Truthy() {
		if in := byID("invite-link"); in.Truthy() {
			in.Call("select")
		}
		p.st.note = "Select the link and copy it."
		return
	}
	var ok, fail app.Func
	release := func() {
		ok.Release()
		fail.Release()
	}
	ok = app.FuncOf(func(app.Value, []app.Value) any {
		ctx.Dispatch(func(app.Context) { p.st.note = "Link copied." })
		release()
		return nil
	})
	fail = app.FuncOf(func(app.Value, []app.Value) any {
		ctx.Dispatch(func(app.Context) { p.st.note = "The browser did not let the app copy: select the link and copy it." })
		release()
		return nil
	})
	clip.Call("writeText", p.st.link).Call("then", ok, fail)
}

// Render draws the card.
func (p *inviteCard) Render() app.UI {
	return inviteCardView(p.st, inviteHandlers{
		mode: p.setMode, copy: p.copyLink, reset: p.reset, approve: p.approve, decline: p.decline,
	})
}

// inviteHandlers are the invite card's event handlers; any may be nil
// (tests).
type inviteHandlers struct {
	mode             func(client.LinkMode) app.EventHandler
	copy, reset      app.EventHandler
	approve, decline func(wire.UserID) app.EventHandler
}

// inviteCardView draws the invite card.
func inviteCardView(st inviteState, h inviteHandlers) app.UI {
	modes := []client.LinkMode{client.LinkOff, client.LinkApprove, client.LinkOpen}
	return app.Section().ID("invite-card").Class("card", "invite-card").Aria("labelledby", "invite-heading").Body(
		app.H2().ID("invite-heading").Text("Invite link"),
		app.Div().Class("link-modes").Role("radiogroup").Aria("labelledby", "invite-heading").Body(
			app.Range(modes).Slice(func(i int) app.UI {
				m := modes[i]
				id := "link-" + m.String()
				var on app.EventHandler
				if h.mode != nil {
					on = h.mode(m)
				}
				return app.Label().Class("link-mode").For(id).Body(
					app.Input().ID(id).Type("radio").Name("link-mode").Value(m.String()).
						Checked(st.mode == m).Disabled(st.busy).OnChange(on),
					app.Span().Text(linkModeLabel(m)),
				)
			}),
		),
		app.If(st.mode != client.LinkOff && st.link != "", func() app.UI {
			return app.Div().Class("invite-link").Body(
				app.Label().For("invite-link").Text("Link"),
				app.Div().Class("row").Body(
					app.Input().ID("invite-link").Type("text").ReadOnly(true).Value(st.link).
						Aria("describedby", "invite-link-hint"),
					app.Button().ID("copy-link").Type("button").Class("button", "button-primary").OnClick(h.copy).Text("Copy"),
				),
				app.P().ID("invite-link-hint").Class("hint").Text(linkHint(st.mode)),
				app.P().ID("invite-note").Class("hint").Role("status").Text(st.note),
				app.Figure().Class("invite-qr-figure").Body(
					app.Div().ID("invite-qr").Class("invite-qr").Body(
						app.If(st.qr != "", func() app.UI { return app.Raw(st.qr) }),
					),
					app.FigCaption().Class("hint").Text("Scan it with a phone's camera to open the link"),
				),
				app.Button().ID("reset-link").Type("button").Class("button").Disabled(st.busy).
					Aria("describedby", "reset-link-hint").OnClick(h.reset).Text("Reset link"),
				app.P().ID("reset-link-hint").Class("hint").Text("Makes a new link: the old one stops working."),
			)
		}),
		app.P().ID("invite-error").Class("error").Role("alert").Text(st.err),
		app.If(len(st.requests) > 0, func() app.UI {
			return app.Div().Class("join-requests").Body(
				app.H3().ID("join-requests-heading").Text("Requests to join"),
				app.Ul().ID("join-requests").Class("people").Aria("labelledby", "join-requests-heading").Body(
					app.Range(st.requests).Slice(func(i int) app.UI { return joinRequestItem(st.requests[i], st.busy, h) }),
				),
			)
		}),
	)
}

// linkHint says what the link lets do.
func linkHint(mode client.LinkMode) string {
	if mode == client.LinkOpen {
		return "Anyone who has this link joins the group at once. Share it only with people you would add."
	}
	return "Whoever opens this link can ask to join; an admin approves each request here."
}

// joinRequestItem is someone who asks to join, with Approve and Decline.
func joinRequestItem(q client.JoinRequest, busy bool, h inviteHandlers) app.UI {
	name := q.Name
	if name == "" {
		name = q.User.String()[:8]
	}
	var approve, decline app.EventHandler
	if h.approve != nil {
		approve, decline = h.approve(q.User), h.decline(q.User)
	}
	return app.Li().Class("person", "join-request").DataSet("user", q.User.String()).Body(
		avatar(q.User, name),
		app.Div().Class("person-body").Body(
			app.Span().Class("person-name").Text(name),
			app.Span().Class("person-sub").Text(notContactText+": asked "+q.At.Local().Format("2 Jan 15:04")),
		),
		app.Div().Class("row", "member-actions").Body(
			app.Button().Type("button").Class("button", "button-primary", "approve-join").Disabled(busy).
				Aria("label", "Approve "+name).OnClick(approve).Text("Approve"),
			app.Button().Type("button").Class("button", "decline-join").Disabled(busy).
				Aria("label", "Decline "+name).OnClick(decline).Text("Decline"),
		),
	)
}

// joinPage is what an invite link opens: the group it invites to, and
// Join (anyone joins) or Ask to join (an admin approves).
type joinPage struct {
	app.Compo

	s  *Session
	st joinState
}

// joinStep is where the join page is.
type joinStep int

const (
	joinReady   joinStep = iota // the link read: Join or Ask to join
	joinBusy                    // the call is under way
	joinWaiting                 // joined the relay's list: an admin's device lets this account in
	joinAsked                   // asked: an admin approves
)

// joinState is what the join page shows.
type joinState struct {
	inv     client.Invite
	bad     bool   // the page's fragment holds no invite link
	inviter string // who invites: a contact's name, else the name the link gives
	step    joinStep
	err     string
}

// OnMount reads the link from the page's fragment and follows the
// group: once this account is in it, its chat opens.
func (p *joinPage) OnMount(ctx app.Context) {
	inv, err := client.ParseInvite(ctx.Page().URL().Fragment)
	if err != nil {
		p.st.bad = true
		return
	}
	p.st.inv = inv
	p.st.inviter = inv.AdminName
	if p.st.inviter == "" {
		p.st.inviter = inv.Admin.String()[:8]
	}
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		if ev, ok := a.Value.(client.GroupChanged); ok && ev.Group == inv.Group {
			p.check(ctx)
			return
		}
		ctx.PreventUpdate()
	})
	p.check(ctx)
}

// check opens the group's chat once this account is a member, and names
// the inviter as a contact when they are one.
func (p *joinPage) check(ctx app.Context) {
	s, inv := p.s, p.st.inv
	ctx.Async(func() {
		c, err := s.client()
		if err != nil {
			return
		}
		g, gerr := c.Group(context.Background(), inv.Group)
		ct, cerr := c.Contact(context.Background(), inv.Admin)
		ctx.Dispatch(func(ctx app.Context) {
			if cerr == nil && isContact(ct) {
				p.st.inviter = displayName(ct)
			}
			if gerr == nil && g.Status == client.GroupJoined {
				ctx.Navigate(groupPath(inv.Group))
			}
		})
	})
}

// join joins the group, or asks to.
func (p *joinPage) join(ctx app.Context, e app.Event) {
	if p.st.step == joinBusy {
		return
	}
	inv := p.st.inv
	action := "join the group"
	if inv.Mode != client.LinkOpen {
		action = "ask to join the group"
	}
	p.st.step, p.st.err = joinBusy, ""
	done := func(ctx app.Context, errText string) {
		switch {
		case errText != "":
			p.st.step, p.st.err = joinReady, errText
		case inv.Mode == client.LinkOpen:
			p.st.step = joinWaiting
		default:
			p.st.step = joinAsked
		}
		p.check(ctx)
	}
	call := func(rctx context.Context, c *client.Client) error { return c.JoinByInvite(rctx, inv) }
	if inv.Mode == client.LinkOpen {
		callRelay(ctx, p.s, action, call, done)
		return
	}
	s := p.s
	ctx.Async(func() {
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			err = call(rctx, c)
			cancel()
		}
		ctx.Dispatch(func(ctx app.Context) { done(ctx, joinErrorText(err, s.isOnline(), action)) })
	})
}

// joinErrorText says why joining with a link failed.
func joinErrorText(err error, online bool, action string) string {
	switch {
	case errors.Is(err, client.ErrLinkExpired):
		return "This invite link no longer works. Ask for a new one."
	case errors.Is(err, client.ErrSelf):
		return "This is your own invite link."
	}
	return groupErrorText(err, online, action)
}

// Render draws the page.
func (p *joinPage) Render() app.UI { return joinView(p.st, p.join) }

// joinView draws the join page.
func joinView(st joinState, join app.EventHandler) app.UI {
	head := app.Div().Class("page-head").Body(
		app.A().Class("icon-button", "back").Href(pathChats).Aria("label", "Back to the chats").Body(icon(iconBack)),
		app.H1().TabIndex(-1).Text("Join a group"),
	)
	if st.bad {
		return app.Div().ID("join-page").Class("page", "join-page").Body(
			head,
			app.P().ID("join-error").Class("error").Role("alert").Text("This is not a Mutual invite link, or it was cut short. Ask for the link again."),
		)
	}
	inv := st.inv
	open := inv.Mode == client.LinkOpen
	label := "Ask to join"
	if open {
		label = "Join"
	}
	if st.step == joinBusy {
		label = "Joining…"
	}
	var status string
	switch st.step {
	case joinWaiting:
		status = "You are in. The group opens as soon as one of its admins' devices is online."
	case joinAsked:
		status = "Your request is sent. The group opens here once an admin approves it."
	}
	return app.Div().ID("join-page").Class("page", "join-page").DataSet("group", inv.Group.String()).Body(
		head,
		app.Section().Class("card", "group-card").Aria("labelledby", "join-group-name").Body(
			app.Div().Class("group-identity").Body(
				groupAvatar(inv.Group),
				app.Div().Class("person-body").Body(
					app.H2().ID("join-group-name").Class("group-name").Text(inv.GroupName),
					app.Span().ID("join-inviter").Class("person-sub").Text(st.inviter+" invites you"),
				),
			),
			app.P().Class("hint").Text(joinHint(open)),
			app.If(st.step == joinReady || st.step == joinBusy, func() app.UI {
				return app.Button().ID("join-group").Type("button").Class("button", "button-primary").
					Disabled(st.step == joinBusy).OnClick(join).Text(label)
			}),
			app.P().ID("join-status").Class("success").Role("status").Text(status),
			app.P().ID("join-error").Class("error").Role("alert").Text(st.err),
		),
	)
}

// joinHint says what joining does.
func joinHint(open bool) string {
	if open {
		return "Anyone with this link can join. The members will see that you joined with the invite link, and your name."
	}
	return "An admin of the group approves who joins. They will see your name."
}
