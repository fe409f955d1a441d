package ui

import (
	"context"
	"slices"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// groupInfoPage shows a group's name and members. Admins rename it, add
// and remove members, make them admins or not, and say whether every
// member may add members; everyone may add members when that is on,
// open a member's safety number (a contact's) and leave the group.
type groupInfoPage struct {
	app.Compo
	// Group is the group's ID in hex.
	Group string

	s  *Session
	st groupInfoState
}

// groupInfoState is what the group info page shows.
type groupInfoState struct {
	id       wire.ConversationID
	group    *client.Group // nil until read
	contacts map[wire.UserID]client.Contact
	me       wire.UserID
	loadErr  string
	err      string // why the last change failed
	busy     bool   // a change is under way: every control is off
	name     string // the name field, as typed
	adding   bool   // the contacts to add are shown
	pick     picker
}

// OnMount reads the group and follows its changes.
func (p *groupInfoPage) OnMount(ctx app.Context) {
	p.st.id, _ = parseGroupID(p.Group)
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch ev := a.Value.(type) {
		case client.GroupChanged:
			if ev.Group != p.st.id {
				ctx.PreventUpdate()
				return
			}
			p.load(ctx)
		case client.ContactChanged, client.Connected:
			p.load(ctx)
		default:
			ctx.PreventUpdate()
		}
	})
	p.load(ctx)
}

func (p *groupInfoPage) load(ctx app.Context) {
	s, id := p.s, p.st.id
	ctx.Async(func() {
		var g client.Group
		var cts []client.Contact
		c, err := s.client()
		if err == nil {
			g, err = c.Group(context.Background(), id)
		}
		if err == nil {
			cts, err = c.Contacts(context.Background())
		}
		acct, _ := s.account()
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.loadErr = errorText(err, true)
				return
			}
			first := p.st.group == nil
			p.st.group, p.st.me, p.st.loadErr = &g, acct.User, ""
			p.st.contacts = make(map[wire.UserID]client.Contact, len(cts))
			for _, ct := range cts {
				p.st.contacts[ct.User] = ct
			}
			if first || !p.st.busy {
				p.st.name = g.Name
			}
			p.st.pick.setContacts(cts, func(u wire.UserID) bool { return isMember(g, u) })
			ctx.Page().SetTitle("%s · Group info · Mutual", g.Name)
		})
	})
}

// isMember reports whether u is a member of g, joined or invited.
func isMember(g client.Group, u wire.UserID) bool {
	return slices.ContainsFunc(g.Members, func(m client.GroupMember) bool { return m.User == u })
}

// change makes a change to the group that needs the relay, with every
// control off until it is done; then reads the group again.
func (p *groupInfoPage) change(ctx app.Context, action string, call func(context.Context, *client.Client, wire.ConversationID) error, done func(app.Context)) {
	if p.st.busy {
		return
	}
	p.st.busy, p.st.err = true, ""
	id := p.st.id
	callRelay(ctx, p.s, action, func(rctx context.Context, c *client.Client) error {
		return call(rctx, c, id)
	}, func(ctx app.Context, errText string) {
		p.st.busy, p.st.err = false, errText
		switch {
		case errText != "":
			// The page says why; the question to leave gives way to it.
			p.closeLeave()
		case done != nil:
			done(ctx)
		}
		p.load(ctx)
	})
}

func (p *groupInfoPage) onName(ctx app.Context, e app.Event) {
	p.st.name = ctx.JSSrc().Get("value").String()
	if p.st.err == "" {
		ctx.PreventUpdate()
	}
}

func (p *groupInfoPage) rename(ctx app.Context, e app.Event) {
	e.PreventDefault()
	name := strings.TrimSpace(p.st.name)
	if why := checkGroupName(name); why != "" {
		p.st.err = why
		return
	}
	if p.st.group != nil && name == p.st.group.Name {
		return
	}
	p.change(ctx, "rename the group", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
		return c.RenameGroup(rctx, id, name)
	}, nil)
}

func (p *groupInfoPage) showAdd(ctx app.Context, e app.Event) {
	p.st.adding = !p.st.adding
	p.st.pick.clear()
}

func (p *groupInfoPage) onFilter(ctx app.Context, e app.Event) {
	p.st.pick.filter = ctx.JSSrc().Get("value").String()
}

func (p *groupInfoPage) onToggle(u wire.UserID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.st.pick.toggle(u, ctx.JSSrc().Get("checked").Bool())
	}
}

func (p *groupInfoPage) add(ctx app.Context, e app.Event) {
	users := p.st.pick.selected()
	if len(users) == 0 {
		p.st.err = "Choose at least one contact."
		return
	}
	p.change(ctx, "add members", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
		return c.AddMembers(rctx, id, users...)
	}, func(app.Context) {
		p.st.adding = false
		p.st.pick.clear()
	})
}

func (p *groupInfoPage) remove(u wire.UserID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.change(ctx, "remove members", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
			return c.RemoveMember(rctx, id, u)
		}, nil)
	}
}

func (p *groupInfoPage) setAdmin(u wire.UserID, admin bool) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.change(ctx, "change who is an admin", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
			return c.SetAdmin(rctx, id, u, admin)
		}, nil)
	}
}

func (p *groupInfoPage) setMembersCanAdd(ctx app.Context, e app.Event) {
	on := ctx.JSSrc().Get("checked").Bool()
	p.change(ctx, "change who can add members", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
		return c.SetMembersCanAdd(rctx, id, on)
	}, nil)
}

func (p *groupInfoPage) askLeave(ctx app.Context, e app.Event) {
	ctx.Defer(func(app.Context) { showDialog("leave-dialog") })
}

func (p *groupInfoPage) cancelLeave(ctx app.Context, e app.Event) { p.closeLeave() }

// closeLeave closes the question to leave, if it is open.
func (p *groupInfoPage) closeLeave() {
	if dlg := byID("leave-dialog"); dlg.Truthy() && dlg.Get("open").Bool() {
		dlg.Call("close")
	}
}

func (p *groupInfoPage) leave(ctx app.Context, e app.Event) {
	e.PreventDefault()
	p.change(ctx, "leave the group", func(rctx context.Context, c *client.Client, id wire.ConversationID) error {
		return c.LeaveGroup(rctx, id)
	}, func(ctx app.Context) {
		p.closeLeave()
		ctx.NewAction(actionChatsChanged)
		ctx.Navigate(groupPath(p.st.id))
	})
}

// Render draws the page.
func (p *groupInfoPage) Render() app.UI {
	return groupInfoView(p.st, groupInfoHandlers{
		name: p.onName, rename: p.rename, showAdd: p.showAdd, add: p.add,
		pick:   pickerHandlers{filter: p.onFilter, toggle: p.onToggle},
		remove: p.remove, setAdmin: p.setAdmin, membersCanAdd: p.setMembersCanAdd,
		askLeave: p.askLeave, cancelLeave: p.cancelLeave, leave: p.leave,
		invite: func() app.UI { return &inviteCard{s: p.s, Group: p.Group} },
	})
}

// groupInfoHandlers are the group info page's event handlers; any may be
// nil (tests).
type groupInfoHandlers struct {
	name, rename, showAdd, add   app.EventHandler
	pick                         pickerHandlers
	remove                       func(wire.UserID) app.EventHandler
	setAdmin                     func(wire.UserID, bool) app.EventHandler
	membersCanAdd                app.EventHandler
	askLeave, cancelLeave, leave app.EventHandler
	invite                       func() app.UI // the invite link (invite.go)
}

// groupInfoView draws the group info page.
func groupInfoView(st groupInfoState, h groupInfoHandlers) app.UI {
	head := app.Div().Class("page-head").Body(
		app.A().Class("icon-button", "back").Href(groupPath(st.id)).Aria("label", "Back to the group's chat").Body(icon(iconBack)),
		app.H1().TabIndex(-1).Text("Group info"),
	)
	g := st.group
	if g == nil {
		return app.Div().Class("page", "group-info").Body(
			head,
			app.If(st.loadErr != "", func() app.UI {
				return app.P().Class("error").Role("alert").Text(st.loadErr)
			}).Else(func() app.UI {
				return app.P().Class("hint").Role("status").Text("Loading…")
			}),
		)
	}
	member := g.Status == client.GroupJoined
	canAdd := member && (g.Admin || g.MembersCanAdd)
	return app.Div().Class("page", "group-info").DataSet("group", g.ID.String()).Body(
		head,
		app.Section().Class("card", "group-card").Aria("labelledby", "group-heading").Body(
			app.Div().Class("group-identity").Body(
				groupAvatar(g.ID),
				app.Div().Class("person-body").Body(
					app.H2().ID("group-heading").Class("group-name").Text(g.Name),
					app.Span().ID("group-member-count").Class("person-sub").Text(memberCount(*g)),
				),
			),
			app.If(member && g.Admin, func() app.UI {
				return app.Form().Class("inline-form").NoValidate(true).OnSubmit(h.rename).Body(
					app.Label().For("group-rename").Text("Group name"),
					app.Div().Class("row").Body(
						app.Input().ID("group-rename").Type("text").Attr("autocomplete", "off").
							MaxLength(client.MaxGroupName).Value(st.name).Disabled(st.busy).OnInput(h.name),
						app.Button().ID("rename-group").Type("submit").Class("button", "button-primary").
							Disabled(st.busy).Text("Rename"),
					),
				)
			}),
			app.If(!member, func() app.UI {
				return app.P().ID("group-status").Class("hint").Role("status").Text(statusText(*g))
			}),
		),
		app.P().ID("group-error").Class("error").Role("alert").Text(st.err),
		app.Section().Class("card").Aria("labelledby", "members-heading").Body(
			app.Div().Class("card-head").Body(
				app.H2().ID("members-heading").Text(memberCount(*g)),
				app.If(canAdd, func() app.UI {
					label := "Add members"
					if st.adding {
						label = "Cancel"
					}
					return app.Button().ID("add-members").Type("button").Class("button").
						Aria("expanded", st.adding).Disabled(st.busy).OnClick(h.showAdd).Text(label)
				}),
			),
			app.If(canAdd && st.adding, func() app.UI {
				return app.Div().Class("add-members").Body(
					pickerView(st.pick, st.busy, h.pick),
					app.Div().Class("row", "row-end").Body(
						app.Button().ID("confirm-add").Type("button").Class("button", "button-primary").
							Disabled(st.busy || len(st.pick.selected()) == 0).OnClick(h.add).Text("Add to the group"),
					),
				)
			}),
			app.Ul().ID("members").Class("people").Body(
				app.Range(g.Members).Slice(func(i int) app.UI { return memberItem(st, g.Members[i], h) }),
			),
		),
		app.If(member && g.Admin, func() app.UI {
			return app.Section().Class("card").Aria("labelledby", "settings-heading").Body(
				app.H2().ID("settings-heading").Text("Settings"),
				app.Div().Class("switch-row").Body(
					app.Input().ID("members-can-add").Type("checkbox").Class("switch").Checked(g.MembersCanAdd).
						Disabled(st.busy).Aria("describedby", "members-can-add-hint").OnChange(h.membersCanAdd),
					app.Label().For("members-can-add").Text("Everyone can add members"),
				),
				app.P().ID("members-can-add-hint").Class("hint").Text("When this is off, only admins can add members."),
			)
		}),
		app.If(member && g.Admin && h.invite != nil, func() app.UI { return h.invite() }),
		app.If(member, func() app.UI {
			return app.Section().Class("card").Body(
				app.Button().ID("leave-group").Type("button").Class("button", "button-danger").
					Disabled(st.busy).OnClick(h.askLeave).Text("Leave group"),
			)
		}),
		leaveDialog(*g, st.busy, h),
	)
}

// statusText says where this account stands in a group it has not
// joined.
func statusText(g client.Group) string {
	switch g.Status {
	case client.GroupInvited:
		return "You were invited to this group. Open its chat to join it or decline."
	case client.GroupRemoved:
		return "You were removed from this group."
	case client.GroupLeft:
		return "You left this group."
	}
	return ""
}

// memberItem is one member: their name (a link to the safety number of
// a contact), what they are ("You", "Admin", "Invited") and, for an
// admin, what can be done to them. This account is named by its profile
// name, marked "You".
func memberItem(st groupInfoState, m client.GroupMember, h groupInfoHandlers) app.UI {
	g := st.group
	me := m.User == st.me
	ct, contact := st.contacts[m.User]
	contact = contact && isContact(ct)
	name := m.Name
	if contact && !me {
		name = displayName(ct)
	}
	var nameUI app.UI = app.Span().Class("person-name").Text(name)
	if contact && !me {
		nameUI = app.A().Class("person-name", "member-safety").Href(safetyPath(m.User)).
			Aria("label", name+": safety number").Body(app.Text(name))
	}
	manage := g.Status == client.GroupJoined && g.Admin && !me
	var remove, admin app.EventHandler
	if h.remove != nil {
		remove = h.remove(m.User)
	}
	if h.setAdmin != nil {
		admin = h.setAdmin(m.User, !m.Admin)
	}
	adminLabel := "Make admin"
	if m.Admin {
		adminLabel = "Remove as admin"
	}
	return app.Li().Class("person", "member").DataSet("user", m.User.String()).Body(
		avatar(m.User, name),
		app.Div().Class("person-body").Body(
			nameUI,
			app.If(contact && !me, func() app.UI { return identityLine(ct, "person-sub") }),
			app.If(!contact && !me, func() app.UI {
				return app.Span().Class("person-sub", "member-stranger").Text(notContactText + ": no safety number to compare")
			}),
			app.Span().Class("member-badges").Body(
				app.If(me, func() app.UI { return app.Span().Class("badge", "badge-you").Text("You") }),
				app.If(m.Admin, func() app.UI { return app.Span().Class("badge", "badge-admin").Text("Admin") }),
				app.If(!m.Joined, func() app.UI { return app.Span().Class("badge", "badge-invited").Text("Invited") }),
			),
		),
		app.If(manage, func() app.UI {
			return app.Div().Class("row", "member-actions").Body(
				app.Button().Type("button").Class("button", "member-admin").Disabled(st.busy).
					Aria("label", adminLabel+": "+name).OnClick(admin).Text(adminLabel),
				app.Button().Type("button").Class("button", "member-remove").Disabled(st.busy).
					Aria("label", "Remove "+name+" from the group").OnClick(remove).Text("Remove"),
			)
		}),
	)
}

// leaveDialog asks before leaving the group.
func leaveDialog(g client.Group, busy bool, h groupInfoHandlers) app.UI {
	label := "Leave"
	if busy {
		label = "Leaving…"
	}
	return app.Dialog().ID("leave-dialog").Class("dialog").Aria("labelledby", "leave-title").
		Aria("describedby", "leave-text").Body(
		app.Form().Class("stack").OnSubmit(h.leave).Body(
			app.H2().ID("leave-title").Text("Leave “"+g.Name+"”?"),
			app.P().ID("leave-text").Text("You will no longer receive its messages or be able to write to it. Its history stays on this device."),
			app.Div().Class("row", "row-end").Body(
				app.Button().ID("cancel-leave").Type("button").Class("button").Disabled(busy).OnClick(h.cancelLeave).Text("Cancel"),
				app.Button().ID("confirm-leave").Type("submit").Class("button", "button-danger").Disabled(busy).Text(label),
			),
		),
	)
}
