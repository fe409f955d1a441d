package ui

import (
	"context"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// newGroupPage makes a group: its name, and the contacts in it. Once the
// relay has it, the group's chat opens, ready to write in.
type newGroupPage struct {
	app.Compo
	s  *Session
	st newGroupState
}

// newGroupState is what the new group page shows.
type newGroupState struct {
	pick     picker
	loaded   bool
	name     string // as typed, kept across renders
	creating bool
	err      string
}

// OnMount loads the contacts and follows what changes them.
func (p *newGroupPage) OnMount(ctx app.Context) {
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch a.Value.(type) {
		case client.ContactChanged, client.Connected:
			p.load(ctx)
		default:
			ctx.PreventUpdate()
		}
	})
	p.load(ctx)
}

func (p *newGroupPage) load(ctx app.Context) {
	s := p.s
	ctx.Async(func() {
		var cts []client.Contact
		c, err := s.client()
		if err == nil {
			cts, err = c.Contacts(context.Background())
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.err = errorText(err, true)
				return
			}
			p.st.pick.setContacts(cts, nil)
			p.st.loaded = true
		})
	})
}

func (p *newGroupPage) onName(ctx app.Context, e app.Event) {
	p.st.name = ctx.JSSrc().Get("value").String()
	if p.st.err == "" {
		ctx.PreventUpdate()
	}
}

func (p *newGroupPage) onFilter(ctx app.Context, e app.Event) {
	p.st.pick.filter = ctx.JSSrc().Get("value").String()
}

func (p *newGroupPage) onToggle(u wire.UserID) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		p.st.pick.toggle(u, ctx.JSSrc().Get("checked").Bool())
	}
}

// create makes the group and opens its chat.
func (p *newGroupPage) create(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.st.creating {
		return
	}
	name := strings.TrimSpace(byID("group-name").Get("value").String())
	members := p.st.pick.selected()
	switch {
	case checkGroupName(name) != "":
		p.st.err = checkGroupName(name)
		ctx.Defer(func(app.Context) { focusID("group-name") })
		return
	case len(members) == 0:
		p.st.err = "Choose at least one contact."
		return
	}
	p.st.creating, p.st.err = true, ""
	var g client.Group
	callRelay(ctx, p.s, "create a group", func(rctx context.Context, c *client.Client) (err error) {
		g, err = c.CreateGroup(rctx, name, members)
		return err
	}, func(ctx app.Context, errText string) {
		p.st.creating, p.st.err = false, errText
		if errText != "" {
			return
		}
		ctx.NewAction(actionChatsChanged)
		ctx.Navigate(groupPath(g.ID))
	})
}

// Render draws the page.
func (p *newGroupPage) Render() app.UI {
	return newGroupView(p.st, newGroupHandlers{
		name: p.onName, create: p.create,
		pick: pickerHandlers{filter: p.onFilter, toggle: p.onToggle},
	})
}

// newGroupHandlers are the new group page's event handlers; any may be
// nil (tests).
type newGroupHandlers struct {
	name, create app.EventHandler
	pick         pickerHandlers
}

// newGroupView draws the new group page.
func newGroupView(st newGroupState, h newGroupHandlers) app.UI {
	label := "Create"
	if st.creating {
		label = "Creating…"
	}
	return app.Div().Class("page", "new-group").Body(
		app.Div().Class("page-head").Body(
			app.A().Class("icon-button", "back").Href(pathChats).Aria("label", "Back to chats").Body(icon(iconBack)),
			app.H1().TabIndex(-1).Text("New group"),
		),
		app.Form().ID("new-group-form").NoValidate(true).OnSubmit(h.create).Body(
			app.Section().Class("card").Body(
				app.Label().For("group-name").Text("Group name"),
				app.Input().ID("group-name").Type("text").Class("wide").Attr("autocomplete", "off").
					MaxLength(client.MaxGroupName).Placeholder("Family, Book club…").Value(st.name).
					Disabled(st.creating).Aria("describedby", "group-name-hint").OnInput(h.name),
				app.P().ID("group-name-hint").Class("hint").Text("Everyone in the group sees its name, sent to them end-to-end encrypted."),
			),
			app.Section().Class("card").Aria("labelledby", "pick-heading").Body(
				app.H2().ID("pick-heading").Text("Members"),
				app.If(!st.loaded && st.err == "", func() app.UI {
					return app.P().Class("hint").Role("status").Text("Loading your contacts…")
				}),
				app.If(st.loaded, func() app.UI { return pickerView(st.pick, st.creating, h.pick) }),
			),
			app.P().ID("new-group-error").Class("error").Role("alert").Text(st.err),
			app.Div().Class("row", "row-end").Body(
				app.A().Class("button").Href(pathChats).Text("Cancel"),
				app.Button().ID("create-group").Type("submit").Class("button", "button-primary").
					Disabled(st.creating).Text(label),
			),
		),
	)
}
