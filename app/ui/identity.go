package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/address"
)

// Who is writing. Anyone can call themselves "Bank" or a friend's name,
// so the app names people by what it can vouch for: the address their
// account is registered under, once confirmed (client.Contact's
// VerifiedAddress), shown beside the name wherever a person is shown. A
// name is never shown alone for someone who is not a contact: a request
// is named by its confirmed address (its name beside it), or "Unknown"
// with a short code until the address is confirmed. An address someone
// gave that could not be confirmed is never shown; the app says so.

// Texts of the marks beside a person.
const (
	notContactText   = "Not in your contacts"
	unknownName      = "Unknown"
	unconfirmedText  = "Address not confirmed"
	pendingText      = "Confirming their address…"
	mismatchText     = "The address this person gave could not be confirmed"
	alreadyAddedText = " is already a contact."
)

// isContact reports whether ct is someone the user added or accepted
// (allowed or blocked), as opposed to a request or a stranger.
func isContact(ct client.Contact) bool {
	return ct.State == client.ContactAllowed || ct.State == client.ContactBlocked
}

// displayName is how a person is named: for a contact, the nickname,
// profile name or address (client.Contact.Name, without "email:"); for
// someone who is not a contact, a name only beside their confirmed
// address (else the address), and "Unknown" until it is confirmed, unless
// the user gave them a nickname.
func displayName(ct client.Contact) string {
	if !isContact(ct) && ct.VerifiedAddress == "" && ct.Nickname == "" {
		return unknownName
	}
	return plainAddress(ct.Name())
}

// shownAddress is the confirmed address to show under the name, empty
// when there is none or the name is the address already.
func shownAddress(ct client.Contact) string {
	a := ct.DisplayAddress()
	if a == "" || a == displayName(ct) {
		return ""
	}
	return a
}

// addressNote says what stands in for an address that is not shown:
// that one they gave could not be confirmed, or is being confirmed, or
// (for someone who is not a contact) that none is confirmed yet, with the
// short code that tells people apart meanwhile. Empty when nothing need
// be said.
func addressNote(ct client.Contact) string {
	switch {
	case ct.AddressMismatch:
		return mismatchText
	case ct.VerifiedAddress != "":
		return ""
	case ct.AddressPending():
		return pendingText
	case !isContact(ct):
		return unconfirmedText + " · " + ct.User.String()[:8]
	}
	return ""
}

// addressUI shows an address so that its domain is never cut off: on a
// narrow screen the local part gives way (an ellipsis in the middle),
// the "@domain" stays whole. The full address is its title.
func addressUI(display string, classes ...string) app.UI {
	local, domain := display, ""
	if at := strings.LastIndexByte(display, '@'); at > 0 {
		local, domain = display[:at], display[at:]
	}
	return app.Span().Class(append([]string{"address"}, classes...)...).Title(display).Body(
		app.Span().Class("address-local").Text(local),
		app.If(domain != "", func() app.UI { return app.Span().Class("address-domain").Text(domain) }),
	)
}

// nameUI is a person's name as shown (displayName): when the name is
// their address, shown as an address, its domain kept whole.
func nameUI(ct client.Contact) app.UI {
	name := displayName(ct)
	if a := ct.DisplayAddress(); a != "" && a == name {
		return addressUI(name)
	}
	return app.Text(name)
}

// identityLine is the line under a person's name: their confirmed
// address, and what is to be said about it (addressNote); nil when there
// is nothing to show.
func identityLine(ct client.Contact, class string) app.UI {
	addr, note := shownAddress(ct), addressNote(ct)
	if addr == "" && note == "" {
		return nil
	}
	return app.Span().Class(class, "identity").Body(
		app.If(addr != "", func() app.UI { return addressUI(addr) }),
		app.If(note != "", func() app.UI {
			classes := []string{"identity-note"}
			if ct.AddressMismatch {
				classes = append(classes, "identity-warning")
			}
			return app.Span().Class(classes...).Text(note)
		}),
	)
}

// notContactBadge marks someone who is not among the user's contacts.
func notContactBadge() app.UI {
	return app.Span().Class("badge", "badge-stranger").Text(notContactText)
}

// sameAccount reports whether two addresses, as typed or stored, are one
// account's: compared as the relay compares them (the local part's case
// folded, the domain in A-labels).
func sameAccount(a, b string) bool {
	x, err := address.Parse(a)
	if err != nil {
		return false
	}
	y, err := address.Parse(b)
	return err == nil && x.Same(y)
}

// contactAt finds the contact whose address (confirmed, or as the user
// typed it) is addr's account.
func contactAt(cts []client.Contact, addr string) (client.Contact, bool) {
	for _, ct := range cts {
		if (ct.VerifiedAddress != "" && sameAccount(ct.VerifiedAddress, addr)) ||
			(ct.Address != "" && sameAccount(ct.Address, addr)) {
			return ct, true
		}
	}
	return client.Contact{}, false
}

// conversationSubtitle is the line under the name in a conversation's
// header: the confirmed address (or what stands in for it) and where the
// person stands (contactSubtitle). The address keeps its domain on the
// narrowest screens; where they stand gives way first.
func conversationSubtitle(ct client.Contact) app.UI {
	status := contactSubtitle(ct)
	return app.P().ID("chat-identity").Class("conv-sub").Body(
		identityLine(ct, "conv-identity"),
		app.If(status != "", func() app.UI { return app.Span().Class("conv-status").Text("· " + status) }),
	)
}
