package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"golang.org/x/net/html"

	"github.com/mutualcoop/mutual/app/client"
)

// TestConversationFooter: the note that messages wait for the contact to
// accept shows above the composer exactly while a request is pending,
// and the composer keeps its DOM contract.
func TestConversationFooter(t *testing.T) {
	sent := testNow.Add(-time.Hour)
	for _, tc := range []struct {
		name     string
		ct       client.Contact
		note     bool
		composer bool
	}{
		{"request pending", client.Contact{State: client.ContactAllowed, RequestSent: sent}, true, true},
		{"nothing sent yet", client.Contact{State: client.ContactAllowed}, false, true},
		{"accepted", client.Contact{State: client.ContactAllowed, Accepted: true}, false, true},
		{"blocked", client.Contact{State: client.ContactBlocked, RequestSent: sent}, false, false},
		{"their request", client.Contact{State: client.ContactRequest, Accepted: true}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ct.User = user(2)
			c := &conversation{}
			d := render(t, func() app.UI { return c.footer(tc.ct, "Bob") })
			notes := d.all(".awaiting-note")
			if (len(notes) == 1) != tc.note || len(notes) > 1 {
				t.Fatalf("%d notes, want note %v", len(notes), tc.note)
			}
			composer, send := d.all("textarea", "#composer"), d.all("button", "#send")
			if (len(composer) == 1 && len(send) == 1) != tc.composer || len(composer) != len(send) {
				t.Fatalf("%d #composer and %d #send, want composer %v", len(composer), len(send), tc.composer)
			}
			if alert := d.one("#send-error"); attr(alert, "role") != "alert" {
				t.Errorf("#send-error has role %q", attr(alert, "role"))
			}
			if !tc.note {
				return
			}
			note := notes[0]
			if attr(note, "role") != "status" {
				t.Errorf("the note has role %q, want status", attr(note, "role"))
			}
			if got := text(note); got != "Bob hasn't accepted your request yet. Your messages will be delivered when they do." {
				t.Errorf("the note says %q", got)
			}
			if !precedes(note, d.one("form", ".composer")) {
				t.Error("the note is not above the composer")
			}
		})
	}
	if !strings.Contains(contactSubtitle(client.Contact{State: client.ContactAllowed, RequestSent: sent}), "accept") {
		t.Error("the subtitle of a contact who has not accepted does not say so")
	}
}

// precedes reports whether a comes before b in document order.
func precedes(a, b *html.Node) bool {
	found := false
	var walk func(n *html.Node) bool
	walk = func(n *html.Node) bool {
		switch n {
		case a:
			found = true
			return true
		case b:
			return true
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if walk(c) {
				return true
			}
		}
		return false
	}
	root := a
	for root.Parent != nil {
		root = root.Parent
	}
	walk(root)
	return found
}
