//go:build !js

package client_test

import (
	"errors"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/crypto/safety"
)

// TestVerified: Alice scans Bob's code (the payload his screen shows)
// and marks him verified; the mark is kept across a restart and in the
// chats list. Another person's code, or garbage, does not match. When
// Bob's identity changes (a new device), the mark is cleared with the
// IdentityChanged flag, the numbers Alice compared before can no longer
// be marked, and the new ones can: that also accepts the new key, and
// the waiting message goes. ClearVerified takes the mark back.
func TestVerified(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	befriend(t, alice, bob)
	befriend(t, carol, bob)
	bob.send(alice, "hi alice")
	alice.waitText(bob, "hi alice")

	if ct := alice.contact(bob); !ct.Verified.IsZero() {
		t.Fatalf("a new contact is verified: %+v", ct)
	}
	mine, err := alice.c.SafetyNumbers(ctxT(t), bob.acct.User)
	if err != nil || len(mine) != 1 {
		t.Fatalf("alice's numbers: %+v %v", mine, err)
	}
	theirs, err := bob.c.SafetyNumbers(ctxT(t), alice.acct.User)
	if err != nil || len(theirs) != 1 {
		t.Fatalf("bob's numbers: %+v %v", theirs, err)
	}
	other, err := bob.c.SafetyNumbers(ctxT(t), carol.acct.User)
	if err != nil || len(other) != 1 {
		t.Fatalf("bob's numbers with carol: %+v %v", other, err)
	}

	for _, tc := range []struct {
		name    string
		scanned []byte
		want    error
	}{
		{"bob's code", theirs[0].Fingerprint.Scannable(), nil},
		{"alice's own code", mine[0].Fingerprint.Scannable(), client.ErrScanMismatch},
		{"bob's code for carol", other[0].Fingerprint.Scannable(), client.ErrScanMismatch},
		{"not a safety-number code", []byte("https://example.org/"), safety.ErrMalformed},
		{"another version", version1(theirs[0].Fingerprint.Scannable()), safety.ErrVersionMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := client.MatchScanned(mine, tc.scanned)
			if !errors.Is(err, tc.want) {
				t.Fatalf("MatchScanned: %v, want %v", err, tc.want)
			}
			if err == nil && n.Device != bob.acct.Device {
				t.Fatalf("matched device %d, want %d", n.Device, bob.acct.Device)
			}
		})
	}

	matched, err := client.MatchScanned(mine, theirs[0].Fingerprint.Scannable())
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.c.MarkVerified(ctxT(t), bob.acct.User, []client.SafetyNumber{matched}); err != nil {
		t.Fatal(err)
	}
	if ct := alice.contact(bob); ct.Verified.IsZero() {
		t.Fatalf("not verified after MarkVerified: %+v", ct)
	}
	if err := alice.c.MarkVerified(ctxT(t), carol.acct.User, mine); !errors.Is(err, client.ErrNotContact) {
		t.Fatalf("marking someone who is not a contact: %v", err)
	}

	alice.restart()
	if ct := alice.contact(bob); ct.Verified.IsZero() {
		t.Fatalf("the mark did not survive a restart: %+v", ct)
	}
	chats, err := alice.c.Chats(ctxT(t))
	if err != nil || len(chats) != 1 || chats[0].Contact.Verified.IsZero() {
		t.Fatalf("the chats list does not show the mark: %+v %v", chats, err)
	}

	// Bob gets a second device; Alice learns of it when she writes.
	bob2 := r.newDevice("bob2", bob.address)
	waiting := alice.send(bob, "still you?")
	alice.waitEvent("the identity change", func(ev client.Event) bool {
		ic, ok := ev.(client.IdentityChanged)
		return ok && ic.Contact == bob.acct.User
	})
	ct := alice.contact(bob)
	if !ct.IdentityChanged || !ct.Verified.IsZero() {
		t.Fatalf("after a new device: changed %v, verified %v", ct.IdentityChanged, ct.Verified)
	}
	if err := alice.c.MarkVerified(ctxT(t), bob.acct.User, mine); !errors.Is(err, client.ErrSafetyNumberStale) {
		t.Fatalf("marking the numbers compared before the change: %v", err)
	}
	if ct := alice.contact(bob); !ct.IdentityChanged || !ct.Verified.IsZero() {
		t.Fatalf("a stale mark changed the contact: %+v", ct)
	}

	now, err := alice.c.SafetyNumbers(ctxT(t), bob.acct.User)
	if err != nil || len(now) != 2 {
		t.Fatalf("alice's numbers with bob's two devices: %+v %v", now, err)
	}
	if err := alice.c.MarkVerified(ctxT(t), bob.acct.User, now[:1]); !errors.Is(err, client.ErrSafetyNumberStale) {
		t.Fatalf("marking one device of two: %v", err)
	}
	if err := alice.c.MarkVerified(ctxT(t), bob.acct.User, now); err != nil {
		t.Fatal(err)
	}
	if ct := alice.contact(bob); ct.IdentityChanged || ct.Verified.IsZero() {
		t.Fatalf("after marking the new numbers: %+v", ct)
	}
	if m := bob2.waitText(alice, "still you?"); m.ID != waiting {
		t.Fatalf("bob's new device got %+v", m)
	}

	if err := alice.c.ClearVerified(ctxT(t), bob.acct.User); err != nil {
		t.Fatal(err)
	}
	if ct := alice.contact(bob); !ct.Verified.IsZero() {
		t.Fatalf("still verified after ClearVerified: %+v", ct)
	}
}

// version1 is a scannable payload with its version (field 1, first)
// set to 1.
func version1(payload []byte) []byte {
	b := append([]byte(nil), payload...)
	if len(b) > 1 && b[0] == 0x08 {
		b[1] = 1
	}
	return b
}
