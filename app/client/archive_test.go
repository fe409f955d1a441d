//go:build !js

package client_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store/memstore"
)

// TestExport: Alice and Bob write to each other; Alice's export holds
// Bob as a contact and their conversation, every message once, oldest
// first, with its time, its writer and its text; it reads back as the
// same JSON, carries none of the device's credential, and its text
// rendering shows each message on its line. A device that is not signed
// in has nothing to export.
func TestExport(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	alice.waitText(bob, "hello from alice")
	if err := bob.c.SetNickname(ctxT(t), alice.acct.User, "Al"); err != nil {
		t.Fatal(err)
	}
	reply := bob.send(alice, "hi Alice\nhow are you?")
	alice.waitText(bob, "hi Alice\nhow are you?")
	last := alice.send(bob, "fine, thanks")
	bob.waitText(alice, "fine, thanks")

	a, err := alice.c.Export(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.Format != client.ArchiveFormat || a.Version != client.ArchiveVersion || a.Note == "" || a.ExportedAt.IsZero() {
		t.Errorf("archive header: %q %d %q %v", a.Format, a.Version, a.Note, a.ExportedAt)
	}
	if a.Account.User != alice.acct.User.String() || a.Account.Address != "alice@example.org" || a.Account.Device != uint32(alice.acct.Device) {
		t.Errorf("archive account: %+v", a.Account)
	}
	if len(a.Contacts) != 1 || a.Contacts[0].User != bob.acct.User.String() || a.Contacts[0].State != "allowed" ||
		a.Contacts[0].Address != "bob@example.org" {
		t.Fatalf("archive contacts: %+v", a.Contacts)
	}
	if len(a.Conversations) != 1 {
		t.Fatalf("archive has %d conversations, want 1", len(a.Conversations))
	}
	conv := a.Conversations[0]
	want := []struct {
		from, text string
		outgoing   bool
	}{
		{"me", "hello from alice", true},
		{a.Contacts[0].Name, "hi Alice\nhow are you?", false},
		{"me", "fine, thanks", true},
	}
	if conv.Peer != bob.acct.User.String() || len(conv.Messages) != len(want) {
		t.Fatalf("archived conversation: %+v", conv)
	}
	for i, w := range want {
		m := conv.Messages[i]
		if m.From != w.from || m.Text != w.text || m.Outgoing != w.outgoing || m.SentAt.IsZero() {
			t.Errorf("message %d: %+v, want from %q, text %q", i, m, w.from, w.text)
		}
		if i > 0 && m.SentAt.Before(conv.Messages[i-1].SentAt) {
			t.Errorf("message %d is older than the one before it", i)
		}
	}
	if conv.Messages[1].ID != reply.String() || conv.Messages[2].ID != last.String() {
		t.Errorf("archived message IDs %s, %s; want %s, %s", conv.Messages[1].ID, conv.Messages[2].ID, reply, last)
	}
	if conv.Messages[1].FromUser != bob.acct.User.String() || conv.Messages[2].FromUser != alice.acct.User.String() {
		t.Errorf("archived writers %s, %s", conv.Messages[1].FromUser, conv.Messages[2].FromUser)
	}
	if a.Messages() != 3 {
		t.Errorf("Messages() = %d, want 3", a.Messages())
	}

	var js bytes.Buffer
	if err := a.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back client.Archive
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("the JSON does not read back: %v", err)
	}
	if back.Messages() != 3 || back.Conversations[0].Messages[1].Text != "hi Alice\nhow are you?" {
		t.Errorf("the JSON reads back as %+v", back)
	}
	_, _, cred := client.Credentials(alice.c)
	if bytes.Contains(js.Bytes(), []byte(hex.EncodeToString(cred))) {
		t.Errorf("the export holds the device's credential")
	}

	var text bytes.Buffer
	if err := a.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"== " + conv.Name + " ==", "] Me: hello from alice\n", "] " + conv.Name + ": hi Alice\n    how are you?\n", "] Me: fine, thanks\n"} {
		if !strings.Contains(text.String(), line) {
			t.Errorf("the text export lacks %q:\n%s", line, text.String())
		}
	}

	fresh, err := client.Open(context.Background(), memstore.New(), r.config())
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.Export(ctxT(t)); !errors.Is(err, client.ErrNotRegistered) {
		t.Errorf("Export before signing in: %v, want ErrNotRegistered", err)
	}
}
