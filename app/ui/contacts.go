package ui

import (
	"context"
	"slices"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// contactsPage adds contacts by address, answers requests and lists the
// contacts with links to their chat and safety number. Each person is
// shown with their confirmed address (identity.go); a request is marked
// as not in the user's contacts.
type contactsPage struct {
	app.Compo
	s  *Session
	st contactsState
}

// contactsState is what the contacts view shows.
type contactsState struct {
	contacts []client.Contact
	requests []client.Contact
	loaded   bool
	typed    string
	adding   bool
	err      string
	added    string // the name of the contact just added
	already  string // the name of the contact the address typed is already
	busy     map[wire.UserID]bool
}

// OnMount loads the lists and follows what changes them.
func (p *contactsPage) OnMount(ctx app.Context) {
	p.st.busy = make(map[wire.UserID]bool)
	ctx.Handle(actionEvent, func(ctx app.Context, a app.Action) {
		switch a.Value.(type) {
		case client.RequestReceived, client.ContactChanged, client.IdentityChanged, client.Connected:
			p.load(ctx)
		default:
			ctx.PreventUpdate()
		}
	})
	p.load(ctx)
}

func (p *contactsPage) load(ctx app.Context) {
	s := p.s
	ctx.Async(func() {
		var cts, reqs []client.Contact
		c, err := s.client()
		if err == nil {
			cts, err = c.Contacts(context.Background())
		}
		if err == nil {
			reqs, err = c.Requests(context.Background())
		}
		ctx.Dispatch(func(ctx app.Context) {
			if err != nil {
				p.st.err = errorText(err, true)
				return
			}
			p.st.contacts, p.st.requests, p.st.loaded = sortContacts(cts), sortContacts(reqs), true
		})
	})
}

// sortContacts orders contacts by name, ignoring case.
func sortContacts(cts []client.Contact) []client.Contact {
	out := slices.Clone(cts)
	slices.SortStableFunc(out, func(a, b client.Contact) int {
		return strings.Compare(strings.ToLower(displayName(a)), strings.ToLower(displayName(b)))
	})
	return out
}

func (p *contactsPage) add(ctx app.Context, e app.Event) {
	e.PreventDefault()
	if p.st.adding {
		return
	}
	p.st.typed = byID("contact-address").Get("value").String()
	addr, err := emailAddress(p.st.typed)
	if err != nil {
		p.st.err, p.st.added, p.st.already = errorText(err, true), "", ""
		ctx.Defer(func(app.Context) { focusID("contact-address") })
		return
	}
	// The relay folds the local part's case: another spelling of a
	// contact's address is the same person, not a new contact.
	if ct, ok := contactAt(p.st.contacts, addr); ok && ct.State == client.ContactAllowed {
		p.st.err, p.st.added, p.st.already = "", "", displayName(ct)
		return
	}
	p.st.adding, p.st.err, p.st.added, p.st.already = true, "", "", ""
	s := p.s
	ctx.Async(func() {
		var ct client.Contact
		c, err := s.client()
		if err == nil {
			rctx, cancel := withTimeout(context.Background())
			ct, err = c.AddContact(rctx, addr)
			cancel()
		}
		online := s.isOnline()
		ctx.Dispatch(func(ctx app.Context) {
			p.st.adding = false
			if err != nil {
				p.st.err = errorText(err, online)
				ctx.Defer(func(app.Context) { focusID("contact-address") })
				return
			}
			p.st.typed, p.st.added = "", displayName(ct)
			if slices.ContainsFunc(p.st.contacts, func(x client.Contact) bool {
				return x.User == ct.User && x.State == client.ContactAllowed
			}) {
				p.st.added, p.st.already = "", displayName(ct)
			}
			if el := byID("contact-address"); el.Truthy() {
				el.Set("value", "")
			}
			p.load(ctx)
			ctx.NewAction(actionChatsChanged)
		})
	})
}

// answer accepts, blocks or unblocks a user.
func (p *contactsPage) answer(user wire.UserID, accept bool) app.EventHandler {
	return func(ctx app.Context, e app.Event) {
		if p.st.busy[user] {
			return
		}
		p.st.busy[user] = true
		s := p.s
		ctx.Async(func() {
			c, err := s.client()
			if err == nil {
				rctx, cancel := withTimeout(context.Background())
				if accept {
					err = c.Accept(rctx, user)
				} else {
					err = c.Block(rctx, user)
				}
				cancel()
			}
			online := s.isOnline()
			ctx.Dispatch(func(ctx app.Context) {
				delete(p.st.busy, user)
				if err != nil {
					p.st.err = errorText(err, online)
					return
				}
				p.st.err = ""
				p.load(ctx)
				ctx.NewAction(actionChatsChanged)
			})
		})
	}
}

// Render draws the page.
func (p *contactsPage) Render() app.UI {
	return contactsView(p.st, p.add, p.answer)
}

// contactsView draws the contacts page; the handlers may be nil (tests).
func contactsView(st contactsState, add app.EventHandler, answer func(wire.UserID, bool) app.EventHandler) app.UI {
	handler := func(u wire.UserID, accept bool) app.EventHandler {
		if answer == nil {
			return nil
		}
		return answer(u, accept)
	}
	label := "Add"
	if st.adding {
		label = "Adding…"
	}
	return app.Div().Class("page").Body(
		app.H1().TabIndex(-1).Text("Contacts"),
		app.Section().Class("card").Aria("labelledby", "add-heading").Body(
			app.H2().ID("add-heading").Text("Add a contact"),
			app.Form().Class("inline-form").NoValidate(true).OnSubmit(add).Body(
				app.Label().For("contact-address").Text("Their email address"),
				app.Div().Class("row").Body(
					app.Input().ID("contact-address").Type("email").Attr("inputmode", "email").
						Attr("autocomplete", "off").Attr("autocapitalize", "off").Spellcheck(false).
						Placeholder("friend@example.org").Value(st.typed).
						Aria("describedby", "contacts-error"),
					app.Button().ID("add-contact").Type("submit").Class("button", "button-primary").
						Disabled(st.adding).Text(label),
				),
			),
			app.P().ID("contacts-error").Class("error").Role("alert").Text(st.err),
			app.If(st.added != "", func() app.UI {
				return app.P().Class("success").Role("status").Text(st.added + " is now a contact.")
			}),
			app.If(st.already != "", func() app.UI {
				return app.P().ID("contacts-already").Class("hint").Role("status").Text(st.already + alreadyAddedText)
			}),
		),
		app.If(len(st.requests) > 0, func() app.UI {
			return app.Section().Class("card").Aria("labelledby", "requests-heading").Body(
				app.H2().ID("requests-heading").Text("Requests"),
				app.P().Class("hint").Text("They wrote to you. Accept to reply; block to refuse them for good."),
				app.Ul().ID("requests").Class("people").Body(
					app.Range(st.requests).Slice(func(i int) app.UI {
						ct := st.requests[i]
						name := displayName(ct)
						return app.Li().Class("person", "request").DataSet("user", ct.User.String()).Body(
							avatar(ct.User, name),
							app.Div().Class("person-body").Body(
								app.A().Class("person-name").Href(chatPath(ct.User)).Body(nameUI(ct)),
								identityLine(ct, "person-sub"),
								notContactBadge(),
							),
							app.Div().Class("row").Body(
								app.Button().Type("button").Class("button", "block").Disabled(st.busy[ct.User]).
									Aria("label", "Block "+name).OnClick(handler(ct.User, false)).Text("Block"),
								app.Button().Type("button").Class("button", "button-primary", "accept").Disabled(st.busy[ct.User]).
									Aria("label", "Accept "+name).OnClick(handler(ct.User, true)).Text("Accept"),
							),
						)
					}),
				),
			)
		}),
		app.Section().Class("card").Aria("labelledby", "contacts-heading").Body(
			app.H2().ID("contacts-heading").Text("Your contacts"),
			app.If(st.loaded && len(st.contacts) == 0, func() app.UI {
				return app.P().Class("hint").Text("No contacts yet. Add someone by their email address above.")
			}),
			app.Ul().ID("contacts").Class("people").Body(
				app.Range(st.contacts).Slice(func(i int) app.UI {
					ct := st.contacts[i]
					name := displayName(ct)
					return app.Li().Class("person", "contact").DataSet("user", ct.User.String()).Body(
						avatar(ct.User, name),
						app.Div().Class("person-body").Body(
							app.A().Class("person-name", "contact-chat").Href(chatPath(ct.User)).Body(nameUI(ct)),
							identityLine(ct, "person-sub"),
						),
						app.If(ct.State == client.ContactBlocked, func() app.UI {
							return app.Button().Type("button").Class("button", "unblock").Disabled(st.busy[ct.User]).
								Aria("label", "Unblock "+name).OnClick(handler(ct.User, true)).Text("Unblock")
						}),
						app.If(ct.IdentityChanged, func() app.UI {
							return app.Span().Class("badge", "badge-warning").Text("Safety number changed")
						}),
						app.A().Class("icon-button", "contact-safety").Href(safetyPath(ct.User)).
							Aria("label", "Safety number with "+name).Title("Safety number").Body(icon(iconShield)),
					)
				}),
			),
		),
	)
}
