//go:build !js

package client_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestConversation: two people register with codes from the SMTP server,
// become contacts through a contact request, talk both ways and see
// their messages delivered and read; both compute the same safety
// number; the relay's storage never holds the plaintext.
func TestConversation(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")

	befriend(t, alice, bob)
	first := alice.waitText(bob, "hello from alice")
	if got := bob.waitText(alice, "hello from alice"); got.Outgoing || got.Peer != alice.acct.User || got.ID != first.ID {
		t.Fatalf("bob has %+v", got)
	}
	// Accepting the request sends the delivery receipt.
	alice.waitState(bob, first.ID, client.StateDelivered)

	const canary = "the canary sings at midnight 7f3a9c"
	id := bob.send(alice, canary)
	got := alice.waitText(bob, canary)
	if got.ID != id || got.Outgoing || got.State != client.StateReceived || got.SenderDevice != bob.acct.Device {
		t.Fatalf("alice has %+v", got)
	}
	bob.waitState(alice, id, client.StateDelivered)
	if err := alice.c.MarkRead(ctxT(t), got.Conversation); err != nil {
		t.Fatal(err)
	}
	bob.waitState(alice, id, client.StateRead)

	// Contacts and requests as each side sees them.
	for _, tc := range []struct {
		d, peer *device
		address string
	}{{alice, bob, bob.address}, {bob, alice, ""}} {
		cs, err := tc.d.c.Contacts(ctxT(t))
		if err != nil || len(cs) != 1 || cs[0].User != tc.peer.acct.User || cs[0].State != client.ContactAllowed || !cs[0].Accepted || cs[0].Address != tc.address {
			t.Fatalf("%s's contacts: %+v %v", tc.d.name, cs, err)
		}
		if rs, err := tc.d.c.Requests(ctxT(t)); err != nil || len(rs) != 0 {
			t.Fatalf("%s's requests: %+v %v", tc.d.name, rs, err)
		}
	}
	if err := alice.c.SetNickname(ctxT(t), bob.acct.User, "Bobby"); err != nil {
		t.Fatal(err)
	}
	if ct, err := alice.c.Contact(ctxT(t), bob.acct.User); err != nil || ct.Nickname != "Bobby" {
		t.Fatalf("nickname: %+v %v", ct, err)
	}

	// Safety numbers: the same 60 digits on both sides, and each scans
	// the other's code.
	an, err := alice.c.SafetyNumbers(ctxT(t), bob.acct.User)
	if err != nil || len(an) != 1 || an[0].Device != bob.acct.Device || an[0].Unverified {
		t.Fatalf("alice's safety numbers: %+v %v", an, err)
	}
	bn, err := bob.c.SafetyNumbers(ctxT(t), alice.acct.User)
	if err != nil || len(bn) != 1 {
		t.Fatalf("bob's safety numbers: %+v %v", bn, err)
	}
	digits := an[0].Fingerprint.Displayable()
	if len(digits) != 60 || digits != bn[0].Fingerprint.Displayable() {
		t.Fatalf("safety numbers differ: %s / %s", digits, bn[0].Fingerprint.Displayable())
	}
	if ok, err := an[0].Fingerprint.CompareScanned(bn[0].Fingerprint.Scannable()); !ok || err != nil {
		t.Fatalf("alice scanning bob's code: %v %v", ok, err)
	}

	// Send refuses what it cannot send.
	for _, tc := range []struct {
		name string
		to   wire.UserID
		text string
		want error
	}{
		{"empty", bob.acct.User, "", client.ErrEmptyText},
		{"too long", bob.acct.User, string(make([]byte, client.MaxText+1)), client.ErrTextTooLong},
		{"not UTF-8", bob.acct.User, "\xff", client.ErrBadText},
		{"stranger", wire.NewUserID(), "hi", client.ErrNotContact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := alice.c.Send(ctxT(t), tc.to, tc.text); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := alice.c.AddContact(ctxT(t), "email:nobody@example.org"); !errors.Is(err, client.ErrNoSuchUser) {
		t.Fatalf("adding an unknown address: %v", err)
	}
	if _, err := alice.c.AddContact(ctxT(t), alice.address); !errors.Is(err, client.ErrSelf) {
		t.Fatalf("adding oneself: %v", err)
	}

	// The relay's storage holds ciphertext only.
	assertNoCanary(t, r.Dir(), canary)
	assertNoCanary(t, r.Dir(), "hello from alice")
}

// assertNoCanary fails if any file under dir contains text.
func assertNoCanary(t *testing.T, dir, text string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		if bytes.Contains(b, []byte(text)) {
			t.Errorf("%s contains the plaintext %q", path, text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("the relay stored no files")
	}
}

// TestReadReceiptsOff: with read receipts off, reading a message tells
// the sender nothing, while delivery receipts still flow.
func TestReadReceiptsOff(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	bob.waitText(alice, "hello from alice")

	if err := bob.c.SetReadReceipts(ctxT(t), false); err != nil {
		t.Fatal(err)
	}
	if on, err := bob.c.ReadReceipts(ctxT(t)); on || err != nil {
		t.Fatalf("read receipts: %v %v", on, err)
	}
	id := alice.send(bob, "read me")
	m := bob.waitText(alice, "read me")
	alice.waitState(bob, id, client.StateDelivered)
	if err := bob.c.MarkRead(ctxT(t), m.Conversation, m.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := bob.c.Message(ctxT(t), alice.acct.User, m.ID); got.State != client.StateRead {
		t.Fatalf("bob's copy: %s, want read", got.State)
	}
	// Bob's outbox is in order: had a read receipt been queued, it would
	// reach Alice before this message.
	bob.send(alice, "after reading")
	alice.waitText(bob, "after reading")
	if got, _ := alice.c.Message(ctxT(t), alice.acct.User, id); got.State != client.StateDelivered {
		t.Fatalf("alice's message is %s, want delivered", got.State)
	}
	ms := alice.messages(bob)
	if !slices.ContainsFunc(ms, func(m client.Message) bool { return m.Text == "after reading" && !m.Outgoing }) {
		t.Fatalf("alice's messages: %+v", ms)
	}
}
