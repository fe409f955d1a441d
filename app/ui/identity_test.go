package ui

import (
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// TestWhoWrites: requests are named by their confirmed address, marked
// "Not in your contacts", or "Unknown" with a short code until it is
// confirmed; an address that could not be confirmed is said so; contacts
// show the confirmed address under their name, in the contacts list and
// in the conversation's header.
func TestWhoWrites(t *testing.T) {
	ben := client.Contact{User: user(1), State: client.ContactRequest, VerifiedAddress: "email:Ben@example.org", ProfileName: "Ben"}
	stranger := client.Contact{User: user(2), State: client.ContactRequest, ProfileName: "Your Bank"}
	liar := client.Contact{User: user(3), State: client.ContactRequest, AddressMismatch: true, ProfileName: "Carol"}
	ann := client.Contact{User: user(4), State: client.ContactAllowed, Accepted: true, ProfileName: "Ann", VerifiedAddress: "email:Ann-UX@example.org"}

	// (text puts a space between text nodes: "Ben @example.org" is the
	// address's local part and its domain, side by side.)
	d := render(t, func() app.UI {
		return contactsView(contactsState{requests: []client.Contact{ben, stranger, liar}, contacts: []client.Contact{ann}, loaded: true}, nil, nil)
	})
	for _, tc := range []struct {
		ct         client.Contact
		name, line string
		not        string // never shown
	}{
		{ben, "Ben", "Ben @example.org", ""},
		{stranger, "Unknown", "Address not confirmed · " + stranger.User.String()[:8], "Your Bank"},
		{liar, "Unknown", mismatchText, "Carol"},
	} {
		row := d.within(d.one("li", ".request", "[data-user="+tc.ct.User.String()+"]"))
		if got := text(row.one(".person-name")); got != tc.name {
			t.Errorf("request %s is named %q, want %q", tc.ct.User, got, tc.name)
		}
		if got := text(row.one(".person-sub")); got != tc.line {
			t.Errorf("request %s: line %q, want %q", tc.ct.User, got, tc.line)
		}
		if got := text(row.one(".badge-stranger")); got != notContactText {
			t.Errorf("request %s: badge %q", tc.ct.User, got)
		}
		if tc.not != "" && strings.Contains(text(row.root), tc.not) {
			t.Errorf("request %s shows the name it gave alone: %q", tc.ct.User, text(row.root))
		}
	}
	row := d.within(d.one("li", ".contact"))
	if got := text(row.one(".person-name")) + " / " + text(row.one(".person-sub")); got != "Ann / Ann-UX @example.org" {
		t.Errorf("contact: %q", got)
	}
	if got := text(row.one(".address-domain")); got != "@example.org" {
		t.Errorf("the domain is %q, kept apart so that it is never cut off", got)
	}

	// The conversation's header.
	for _, tc := range []struct {
		ct   client.Contact
		want string
	}{
		{ann, "Ann-UX @example.org"},
		{ben, "Ben @example.org · " + notContactText},
		{liar, mismatchText + " · " + notContactText},
	} {
		d := render(t, func() app.UI { return conversationSubtitle(tc.ct) })
		if got := text(d.one("#chat-identity")); got != tc.want {
			t.Errorf("header of %s: %q, want %q", tc.ct.User, got, tc.want)
		}
	}
}

// TestAlreadyContact: an address in another case (or with the scheme,
// or the domain in upper case) is the same person.
func TestAlreadyContact(t *testing.T) {
	cts := []client.Contact{
		{User: user(1), State: client.ContactAllowed, VerifiedAddress: "email:Ann-UX@example.org"},
		{User: user(2), State: client.ContactAllowed, Address: "email:bob@example.org"},
	}
	for _, tc := range []struct {
		typed string
		want  int // user byte, 0 for none
	}{
		{"ann-ux@example.org", 1},
		{"EMAIL:ANN-UX@EXAMPLE.ORG", 1},
		{"Bob@Example.org", 2},
		{"anne@example.org", 0},
	} {
		addr, err := emailAddress(tc.typed)
		if err != nil {
			t.Fatal(err)
		}
		ct, ok := contactAt(cts, addr)
		if got := 0; ok {
			got = int(ct.User[0])
			if got != tc.want {
				t.Errorf("%s is %d, want %d", tc.typed, got, tc.want)
			}
		} else if tc.want != 0 {
			t.Errorf("%s is nobody, want %d", tc.typed, tc.want)
		}
	}
}
