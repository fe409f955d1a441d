package ui

import (
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// picker chooses contacts for a group: a list with checkboxes, searchable
// by name and address as the contacts page shows them. Only contacts the
// user allows can be chosen.
type picker struct {
	contacts []client.Contact // by name
	chosen   map[wire.UserID]bool
	filter   string
}

// setContacts lists the contacts that can be chosen, leaving out those
// in skip (a group's members); a chosen contact no longer listed is
// dropped.
func (p *picker) setContacts(cts []client.Contact, skip func(wire.UserID) bool) {
	p.contacts = p.contacts[:0]
	for _, ct := range sortContacts(cts) {
		if ct.State == client.ContactAllowed && (skip == nil || !skip(ct.User)) {
			p.contacts = append(p.contacts, ct)
		}
	}
	for u := range p.chosen {
		if !p.listed(u) {
			delete(p.chosen, u)
		}
	}
}

func (p *picker) listed(u wire.UserID) bool {
	for _, ct := range p.contacts {
		if ct.User == u {
			return true
		}
	}
	return false
}

// toggle chooses u, or no longer.
func (p *picker) toggle(u wire.UserID, on bool) {
	if p.chosen == nil {
		p.chosen = make(map[wire.UserID]bool)
	}
	if on {
		p.chosen[u] = true
	} else {
		delete(p.chosen, u)
	}
}

// selected are the chosen contacts, in the list's order.
func (p *picker) selected() []wire.UserID {
	var out []wire.UserID
	for _, ct := range p.contacts {
		if p.chosen[ct.User] {
			out = append(out, ct.User)
		}
	}
	return out
}

// clear chooses nobody and empties the search.
func (p *picker) clear() {
	p.chosen, p.filter = nil, ""
}

// shown are the contacts the search keeps: those whose name or address
// (as typed or confirmed) contains it, ignoring case.
func (p *picker) shown() []client.Contact {
	f := strings.ToLower(strings.TrimSpace(p.filter))
	if f == "" {
		return p.contacts
	}
	var out []client.Contact
	for _, ct := range p.contacts {
		if strings.Contains(strings.ToLower(displayName(ct)), f) ||
			strings.Contains(strings.ToLower(plainAddress(ct.Address)), f) ||
			strings.Contains(strings.ToLower(ct.DisplayAddress()), f) {
			out = append(out, ct)
		}
	}
	return out
}

// chosenText counts the chosen contacts.
func chosenText(n int) string {
	switch n {
	case 0:
		return "Nobody chosen yet"
	case 1:
		return "1 chosen"
	}
	return strconv.Itoa(n) + " chosen"
}

// pickerHandlers are a picker's event handlers; any may be nil (tests).
type pickerHandlers struct {
	filter app.EventHandler
	toggle func(wire.UserID) app.EventHandler
}

// pickerView draws a picker: the search field, the count chosen and the
// list, each contact's checkbox with the ID "pick-<user ID>". disabled
// turns every control off (a call runs).
func pickerView(p picker, disabled bool, h pickerHandlers) app.UI {
	shown := p.shown()
	toggle := func(u wire.UserID) app.EventHandler {
		if h.toggle == nil {
			return nil
		}
		return h.toggle(u)
	}
	return app.Div().Class("picker").Body(
		app.Div().Class("search").Body(
			app.Label().For("pick-filter").Class("sr-only").Text("Search contacts by name"),
			icon(iconSearch),
			app.Input().ID("pick-filter").Type("search").Placeholder("Search contacts").
				Attr("autocomplete", "off").Value(p.filter).OnInput(h.filter),
		),
		app.P().ID("pick-count").Class("hint").Role("status").Text(chosenText(len(p.selected()))),
		app.Ul().ID("pick-list").Class("people", "picker-list").Body(
			app.Range(shown).Slice(func(i int) app.UI {
				ct := shown[i]
				id := "pick-" + ct.User.String()
				return app.Li().Class("person", "pick").DataSet("user", ct.User.String()).Body(
					app.Input().ID(id).Type("checkbox").Class("pick-box").Checked(p.chosen[ct.User]).
						Disabled(disabled).OnChange(toggle(ct.User)),
					app.Label().For(id).Class("pick-label").Body(
						avatar(ct.User, displayName(ct)),
						app.Span().Class("person-body").Body(
							app.Span().Class("person-name").Body(nameUI(ct)),
							identityLine(ct, "person-sub"),
						),
					),
				)
			}),
		),
		app.If(len(p.contacts) == 0, func() app.UI {
			return app.P().Class("hint").Text("There is nobody to choose: add contacts first, on the Contacts page.")
		}).ElseIf(len(shown) == 0, func() app.UI {
			return app.P().Class("hint").Text("No contacts match “" + strings.TrimSpace(p.filter) + "”.")
		}),
	)
}
