//go:build !js

package client_test

import (
	"testing"

	"github.com/mutualcoop/mutual/app/client"
)

// TestContactsSync: a second device of an account learns from the first
// the addresses, profile names and nicknames of the contacts (and who
// accepted the account) once the first meets it.
func TestContactsSync(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:Ben@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	eve := r.newDevice("eve", "email:eve@example.org")

	if err := ben.c.SetProfileName(ctxT(t), "Ben"); err != nil {
		t.Fatal(err)
	}
	befriend(t, ann, ben)
	ann.waitProfileName(ben, "Ben")
	if _, err := ann.c.AddContact(ctxT(t), carol.address); err != nil {
		t.Fatal(err)
	}
	if err := ann.c.SetNickname(ctxT(t), carol.acct.User, "Caz"); err != nil {
		t.Fatal(err)
	}
	if err := ann.c.Block(ctxT(t), eve.acct.User); err != nil {
		t.Fatal(err)
	}

	// Ann signs in on a second device. The first meets it when it next
	// writes (the relay names the new device), and sends it what it
	// knows.
	ann2 := r.newDevice("ann2", "email:ann@example.org")
	ann.send(ben, "now on two devices")
	ann2.waitText(ben, "now on two devices")
	ann2.eventually("ben's name and address", func() bool {
		ct, err := ann2.c.Contact(ctxT(t), ben.acct.User)
		return err == nil && ct.ProfileName == "Ben" && ct.VerifiedAddress == "email:Ben@example.org"
	})
	ann2.eventually("carol's nickname and address", func() bool {
		ct, err := ann2.c.Contact(ctxT(t), carol.acct.User)
		return err == nil && ct.Nickname == "Caz" && ct.VerifiedAddress == "email:carol@example.org"
	})
	if ct := ann2.person(ben); !ct.Accepted || ct.State != client.ContactAllowed || ct.Name() != "Ben" || ct.AddressMismatch {
		t.Fatalf("ann2's contact ben: %+v", ct)
	}
	if ct := ann2.person(eve); ct.State != client.ContactBlocked {
		t.Fatalf("ann2's contact eve: %+v", ct)
	}
	// Ann's second device writes to Ben as a contact who accepted her:
	// a plain message, not a request.
	ann2.waitSent(ann2.send(ben, "from the second device"))
	ben.waitText(ann, "from the second device")
	if ct := ann2.person(ben); !ct.RequestSent.IsZero() {
		t.Fatalf("ann2's message to ben went as a request: %+v", ct)
	}
}

// TestProfileToNewDevice: Ben signs out of his only device and in again
// on a new one, which knows nobody's name or address. Once Ann's device
// meets it (she writes, and accepts his new safety number), her profile
// goes again: his new device shows her name and confirmed address.
func TestProfileToNewDevice(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:ann@example.org")
	ben := r.newDevice("ben", "email:ben@example.org")
	if err := ann.c.SetProfileName(ctxT(t), "Ann"); err != nil {
		t.Fatal(err)
	}
	befriend(t, ann, ben)
	ben.waitProfileName(ann, "Ann")

	// Ben's old device is gone (so it sends the new one nothing) and
	// leaves the account.
	ben.close()
	ben2 := r.newDevice("ben2", "email:ben@example.org")
	if err := ben2.c.RemoveDevice(ctxT(t), ben.acct.Device); err != nil {
		t.Fatal(err)
	}
	if ct, err := ben2.c.Contact(ctxT(t), ann.acct.User); err == nil && (ct.ProfileName != "" || ct.VerifiedAddress != "") {
		t.Fatalf("ben's new device knows ann already: %+v", ct)
	}

	ann.send(ben2, "are you there?")
	ann.waitEvent("ben's new device", func(ev client.Event) bool {
		ic, ok := ev.(client.IdentityChanged)
		return ok && ic.Contact == ben.acct.User
	})
	if err := ann.c.AcceptIdentity(ctxT(t), ben.acct.User); err != nil {
		t.Fatal(err)
	}
	ben2.waitText(ann, "are you there?")
	ben2.waitProfileName(ann, "Ann")
	ben2.waitVerified(ann, "email:ann@example.org")
	if ct := ben2.person(ann); ct.Name() != "Ann" || ct.AddressMismatch {
		t.Fatalf("ben's new device's contact ann: %+v", ct)
	}
}
