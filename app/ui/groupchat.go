package ui

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// iconInfo is the icon of a group's info.
const iconInfo = svgOpen + `<circle cx="12" cy="12" r="9"/><path d="M12 11v5.5M12 7.5v.01"/>` + svgClose

// groupConv is what a group's chat holds beyond what a 1:1 chat does.
type groupConv struct {
	group  *client.Group // nil until read
	people people        // the members' names, and the contacts'
	me     wire.UserID
	// stranger: who invited this account is not among its contacts.
	stranger bool
	loads    int  // group reads started; only the last one's answer is kept
	read     bool // a read of the group has ended, and the newest page was asked for
	loadErr  string

	// The message info dialog: the own message it is about, and how far
	// each member has got with it.
	info        *client.Message
	receipts    []client.Receipt
	infoLoading bool
	infoErr     string
}

// isGroup reports whether this is a group's chat.
func (c *conversation) isGroup() bool { return c.Group != "" }

// shows reports whether m belongs to this chat.
func (c *conversation) shows(m client.Message) bool {
	if c.isGroup() {
		return m.Conversation == c.conv
	}
	return m.Peer == c.peer
}

// announcement is what screen readers are told of a message that arrives
// in this chat.
func (c *conversation) announcement(m client.Message) string {
	if !c.isGroup() {
		return displayName(c.contact) + ": " + preview(messagePreview(m), 200)
	}
	name := ""
	if g := c.grp.group; g != nil {
		name = g.Name
	}
	if m.Event != nil {
		return name + ": " + eventText(*m.Event, c.grp.me, c.grp.people)
	}
	return c.grp.people.name(m.Author) + " in " + name + ": " + preview(messagePreview(m), 200)
}

// loadGroup reads the group, and the contacts to name those who have
// left it; the first time, then the newest page of messages.
func (c *conversation) loadGroup(ctx app.Context) {
	c.grp.loads++
	n, s, id := c.grp.loads, c.s, c.conv
	ctx.Async(func() {
		var g client.Group
		var cts []client.Contact
		cl, err := s.client()
		if err == nil {
			g, err = cl.Group(context.Background(), id)
		}
		if err == nil {
			cts, err = cl.Contacts(context.Background())
		}
		acct, _ := s.account()
		ctx.Dispatch(func(ctx app.Context) {
			if n != c.grp.loads {
				return
			}
			if !c.grp.read {
				c.grp.read = true
				c.loadNewest(ctx)
			}
			if err != nil {
				c.grp.loadErr = errorText(err, true)
				return
			}
			c.grp.group, c.grp.loadErr, c.grp.me = &g, "", acct.User
			c.grp.people = c.grp.people.merged(groupPeople([]*client.Group{&g}, cts))
			c.grp.stranger = !slices.ContainsFunc(cts, func(ct client.Contact) bool { return ct.User == g.InvitedBy && isContact(ct) })
			ctx.Page().SetTitle("%s · Mutual", g.Name)
		})
	})
}

// onGroupEvent follows what changes the group or its people; it reports
// whether the event is dealt with (the others are a chat's, handled as
// in a 1:1 chat).
func (c *conversation) onGroupEvent(ctx app.Context, ev any) bool {
	switch ev := ev.(type) {
	case client.GroupChanged:
		if ev.Group == c.conv {
			c.loadGroup(ctx)
		} else {
			ctx.PreventUpdate()
		}
		return true
	case client.ContactChanged:
		if c.grp.group != nil && slices.ContainsFunc(c.grp.group.Members, func(m client.GroupMember) bool { return m.User == ev.User }) {
			c.loadGroup(ctx)
		} else {
			ctx.PreventUpdate()
		}
		return true
	case client.IdentityChanged, client.RequestReceived:
		ctx.PreventUpdate()
		return true
	case client.MessageStateChanged:
		if info := c.grp.info; info != nil && ev.Message.ID == info.ID && ev.Message.Conversation == c.conv {
			c.loadReceipts(ctx)
		}
	case client.Connected:
		c.loadGroup(ctx)
	}
	return false
}

// groupProps adds what a group's messages are drawn with.
func (c *conversation) groupProps(p *msgListProps) {
	p.group, p.me, p.people, p.onInfo = c.grp.group, c.grp.me, c.grp.people, c.openInfo
	if p.group == nil {
		p.group = &client.Group{ID: c.conv, Name: "this group"}
	}
	p.peerName = p.group.Name
}

// renderGroup draws a group's chat.
func (c *conversation) renderGroup() app.UI {
	name := ""
	if g := c.grp.group; g != nil {
		name = g.Name
	}
	return app.Div().Class("conversation", "conversation-group").On("dragover", c.onDragOver).On("drop", c.onDrop).Body(
		c.groupHead(),
		c.scroller("Messages in "+name, c.messages(name)),
		c.newChip(),
		c.groupFooter(),
		c.infoDialog(),
		c.viewerView(),
	)
}

// groupHead is a group chat's header: its name and member count, which
// open the group's info.
func (c *conversation) groupHead() app.UI {
	name, count := "", ""
	if g := c.grp.group; g != nil {
		name, count = g.Name, memberCount(*g)
	}
	return app.Header().Class("conv-head").Body(
		app.A().Class("icon-button", "back").Href(pathChats).Aria("label", "Back to chats").Body(icon(iconBack)),
		groupAvatar(c.conv),
		app.A().ID("group-title").Class("conv-title", "conv-title-link").Href(groupInfoPath(c.conv)).Body(
			app.H1().ID("chat-title").TabIndex(-1).Text(name),
			app.P().ID("group-members").Class("conv-sub").Text(count),
		),
		&muteMenu{s: c.s, Conv: convHex(c.conv)},
		mediaLink(groupMediaPath(c.conv)),
		app.A().ID("group-info").Class("icon-button").Href(groupInfoPath(c.conv)).
			Aria("label", "Group info").Title("Group info").Body(icon(iconInfo)),
	)
}

// groupFooter is the composer while this account is a member; the
// invitation to answer, or why it cannot write, otherwise.
func (c *conversation) groupFooter() app.UI {
	errLine := app.P().ID("send-error").Class("error").Role("alert").Text(c.sendErr)
	g := c.grp.group
	if g == nil {
		return app.Div().Class("conv-footer").Body(
			errLine,
			app.If(c.grp.loadErr != "", func() app.UI { return app.P().Class("error").Role("alert").Text(c.grp.loadErr) }),
		)
	}
	switch g.Status {
	case client.GroupInvited:
		return app.Div().Class("conv-footer", "request-bar").Body(
			errLine,
			app.P().ID("invitation").Text(invitationText(*g, c.grp.people)+". Join to write to its members; if you decline, you leave it."),
			app.If(c.grp.stranger, func() app.UI { return notContactBadge() }),
			app.Div().Class("row").Body(
				app.Button().ID("decline-group").Type("button").Class("button").Disabled(c.busy).OnClick(c.answerInvitation(false)).Text("Decline"),
				app.Button().ID("join-group").Type("button").Class("button", "button-primary").Disabled(c.busy).OnClick(c.answerInvitation(true)).Text("Join"),
			),
		)
	case client.GroupLeft, client.GroupRemoved:
		return app.Div().Class("conv-footer").Body(
			app.P().ID("group-gone").Class("hint", "conv-hint").Role("status").Text(goneText(g.Status)),
		)
	}
	return app.Div().Class("conv-footer").Body(
		errLine,
		c.trayView(),
		c.composer(g.Name),
		composerHint(),
	)
}

// goneText says why this account cannot write to a group it is no longer
// in.
func goneText(st client.GroupStatus) string {
	if st == client.GroupRemoved {
		return "You were removed from this group. You can read what was said before, but you can no longer write to it."
	}
	return "You left this group. You can read what was said before, but you can no longer write to it."
}

// answerInvitation joins the group, or declines the invitation (and goes
// back to the chats).
func (c *conversation) answerInvitation(join bool) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if c.busy {
			return
		}
		c.busy, c.sendErr = true, ""
		action := "join the group"
		if !join {
			action = "decline the invitation"
		}
		id := c.conv
		callRelay(ctx, c.s, action, func(rctx context.Context, cl *client.Client) error {
			if join {
				return cl.AcceptGroup(rctx, id)
			}
			return cl.DeclineGroup(rctx, id)
		}, func(ctx app.Context, errText string) {
			c.busy, c.sendErr = false, errText
			if errText != "" {
				return
			}
			ctx.NewAction(actionChatsChanged)
			if !join {
				ctx.Navigate(pathChats)
				return
			}
			c.loadGroup(ctx)
		})
	}
}

// systemLine is a group's system line ("Ann added Ben"), centred between
// the messages.
func systemLine(m client.Message, p msgListProps) app.UI {
	return app.Div().Class("msg", "msg-system").DataSet("id", m.ID.String()).Body(
		app.P().Class("system-text").Body(
			app.Text(eventText(*m.Event, p.me, p.people)),
			app.Time().Class("sr-only").DateTime(when(m).UTC().Format(time.RFC3339)).
				Text(" at "+clock(when(m), p.now)),
		),
	)
}

// groupFailureText says why a message to a group failed.
func groupFailureText(code wire.Code) string {
	switch code {
	case wire.CodeNotAccepted, wire.CodeForbidden:
		return "Not delivered: you are no longer a member of this group."
	case wire.CodeNotFound:
		return "Not delivered: the server does not know this group."
	case wire.CodeTooLarge:
		return "Not delivered: the message is too large."
	}
	return "Not delivered."
}

// openInfo opens the info of an own message: who has read it, who has it.
func (c *conversation) openInfo(m client.Message) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		// A click that ends a selection of the text does not open it.
		if sel := app.Window().Call("getSelection"); sel.Truthy() && sel.Call("toString").String() != "" {
			ctx.PreventUpdate()
			return
		}
		c.grp.info, c.grp.receipts, c.grp.infoErr = &m, nil, ""
		c.loadReceipts(ctx)
		ctx.Defer(func(app.Context) { showDialog("message-info") })
	}
}

// loadReceipts reads how far each member has got with the message whose
// info is open.
func (c *conversation) loadReceipts(ctx app.Context) {
	if c.grp.info == nil {
		return
	}
	c.grp.infoLoading = true
	s, conv, id := c.s, c.conv, c.grp.info.ID
	ctx.Async(func() {
		var rs []client.Receipt
		cl, err := s.client()
		if err == nil {
			rs, err = cl.ReadBy(context.Background(), conv, id)
		}
		ctx.Dispatch(func(ctx app.Context) {
			if c.grp.info == nil || c.grp.info.ID != id {
				return
			}
			c.grp.infoLoading = false
			if err != nil {
				c.grp.infoErr = errorText(err, true)
				return
			}
			c.grp.receipts, c.grp.infoErr = rs, ""
		})
	})
}

// closeInfo closes the message info (Close).
func (c *conversation) closeInfo(ctx app.Context, e app.Event) {
	if dlg := byID("message-info"); dlg.Truthy() && dlg.Get("open").Bool() {
		dlg.Call("close")
	}
	c.grp.info = nil
}

// onInfoClosed follows the dialog closing by itself (Escape).
func (c *conversation) onInfoClosed(ctx app.Context, e app.Event) {
	if dlg := byID("message-info"); dlg.Truthy() && dlg.Get("open").Bool() {
		return
	}
	c.grp.info = nil
}

// infoDialog is the message info: the message, then who has read it,
// who has it, and who does not yet.
func (c *conversation) infoDialog() app.UI {
	var text string
	if m := c.grp.info; m != nil {
		text = preview(messagePreview(*m), 200)
	}
	return app.Dialog().ID("message-info").Class("dialog").Aria("labelledby", "message-info-title").
		On("close", c.onInfoClosed).Body(
		app.H2().ID("message-info-title").Text("Message info"),
		app.P().Class("info-text").Text(text),
		app.If(c.grp.infoLoading && c.grp.receipts == nil, func() app.UI {
			return app.P().Class("hint").Role("status").Text("Loading…")
		}),
		app.P().Class("error").Role("alert").Text(c.grp.infoErr),
		receiptsView(c.grp.receipts, c.s.now()),
		app.Div().Class("row", "row-end").Body(
			app.Button().ID("close-message-info").Type("button").Class("button").OnClick(c.closeInfo).Text("Close"),
		),
	)
}

// receiptsView lists who has read a message ("Read by"), who has it
// ("Delivered to") and who does not yet, each by name with when.
func receiptsView(rs []client.Receipt, now time.Time) app.UI {
	sections := []struct {
		id, title string
		state     client.MessageState
	}{
		{"read-by", "Read by", client.StateRead},
		{"delivered-to", "Delivered to", client.StateDelivered},
		{"not-delivered", "Not delivered yet", client.StateSent},
	}
	var out []app.UI
	for _, sec := range sections {
		var list []client.Receipt
		for _, r := range rs {
			if r.State == sec.state {
				list = append(list, r)
			}
		}
		if len(list) == 0 {
			continue
		}
		slices.SortFunc(list, func(a, b client.Receipt) int {
			return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		})
		out = append(out, app.Section().ID(sec.id).Class("receipts").Aria("labelledby", sec.id+"-title").Body(
			app.H3().ID(sec.id+"-title").Text(sec.title),
			app.Ul().Class("receipt-list").Body(
				app.Range(list).Slice(func(i int) app.UI {
					r := list[i]
					return app.Li().Class("receipt").DataSet("user", r.User.String()).Body(
						app.Span().Class("receipt-name").Text(r.Name),
						app.If(!r.At.IsZero(), func() app.UI {
							return app.Time().Class("receipt-time").DateTime(r.At.UTC().Format(time.RFC3339)).
								Text(chatTime(r.At, now))
						}),
					)
				}),
			),
		))
	}
	return app.Div().ID("receipts").Body(out...)
}

// showDialog opens the <dialog> with the ID as a modal, if it is not
// open.
func showDialog(id string) {
	dlg := byID(id)
	switch {
	case !dlg.Truthy():
	case dlg.Get("showModal").Truthy():
		if !dlg.Get("open").Bool() {
			dlg.Call("showModal")
		}
	default:
		dlg.Call("setAttribute", "open", "")
	}
}
