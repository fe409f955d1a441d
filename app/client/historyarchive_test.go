//go:build !js

package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/wire"
)

// newIdleDevice registers a device of address, as newDevice does, and
// does not run it: what it holds is what a test puts there.
func (r *testRelay) newIdleDevice(name, address string) *device {
	r.t.Helper()
	d := &device{t: r.t, r: r, name: name, address: address, path: filepath.Join(r.t.TempDir(), "client.db")}
	d.open()
	ctx := ctxT(r.t)
	token, err := d.c.Register(ctx, address)
	if err != nil {
		r.t.Fatalf("%s: register: %v", name, err)
	}
	code, err := r.WaitCode(ctx, address)
	if err != nil {
		r.t.Fatalf("%s: code: %v", name, err)
	}
	if d.acct, err = d.c.Verify(ctx, address, code, token, name); err != nil {
		r.t.Fatalf("%s: verify: %v", name, err)
	}
	r.t.Cleanup(d.close)
	return d
}

// historySnapshot renders what d shows of its chats: the profile name,
// contacts, groups, chat list and every message, with attachments as
// their pointers (where their bytes are is each device's own), leaving
// out outgoing messages not yet sent (they stay with their device) and
// the safety numbers' verification (each device's own).
func (d *device) historySnapshot() string {
	d.t.Helper()
	ctx := ctxT(d.t)
	var b strings.Builder
	name, err := d.c.ProfileName(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	fmt.Fprintf(&b, "profile %q\n", name)
	for _, list := range []func(context.Context) ([]client.Contact, error){d.c.Contacts, d.c.Requests} {
		cs, err := list(ctx)
		if err != nil {
			d.t.Fatal(err)
		}
		for _, ct := range cs {
			fmt.Fprintf(&b, "contact %s %q %q %q %s accepted=%v\n", ct.User, ct.Nickname, ct.ProfileName, ct.VerifiedAddress, ct.State, ct.Accepted)
		}
	}
	groups, err := d.c.Groups(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, g := range groups {
		g.JoinRequests = nil
		fmt.Fprintf(&b, "group %+v\n", g)
	}
	chats, err := d.c.Chats(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	for _, ch := range chats {
		conv := ch.Contact.Conversation
		if ch.Group != nil {
			conv = ch.Group.ID
		}
		ms, err := d.c.Messages(ctx, conv)
		if err != nil {
			d.t.Fatal(err)
		}
		ms = slices.DeleteFunc(ms, func(m client.Message) bool {
			return m.Outgoing && (m.State == client.StateSending || m.State == client.StateWaiting)
		})
		// The newest message, of those the archive carries.
		last := "none"
		switch {
		case ch.Last != nil && slices.ContainsFunc(ms, func(m client.Message) bool { return m.ID == ch.Last.ID }):
			last = ch.Last.ID.String()
		case len(ms) > 0:
			last = ms[len(ms)-1].ID.String()
		}
		fmt.Fprintf(&b, "chat %s coop=%v unread=%d last=%s\n", conv, ch.Coop, ch.Unread, last)
		for _, m := range ms {
			atts, ev, notice := m.Attachments, m.Event, m.Coop
			m.Attachments, m.Event, m.Coop = nil, nil, nil
			fmt.Fprintf(&b, "  message %+v\n", m)
			if ev != nil {
				fmt.Fprintf(&b, "    event %+v\n", *ev)
			}
			if notice != nil {
				fmt.Fprintf(&b, "    notice %+v\n", *notice)
			}
			for _, a := range atts {
				fmt.Fprintf(&b, "    file %q %q %d %dx%d %v %x %x voice=%v\n", a.Name, a.Type, a.Size, a.Width, a.Height, a.Duration, a.Thumbnail, a.Waveform, a.Voice)
			}
		}
	}
	return b.String()
}

// stagingEmpty fails unless d's staging area of history imports is empty.
func (d *device) stagingEmpty() {
	d.t.Helper()
	err := d.st.View(ctxT(d.t), func(tx store.Tx) error {
		return tx.Scan([]byte("historyin"), nil, func(k, _ []byte) error {
			return fmt.Errorf("a staged record %x is left", k)
		})
	})
	if err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
}

// TestHistoryTransfer: Alice's device holds 1:1 chats (with a request
// still unanswered, and a message waiting behind it), a group, files both
// ways, a co-op notice, a nickname and a profile name. It uploads its
// history; a new device of her account restores it and shows the same
// chats, contacts, groups and messages (with their Seqs, states, authors
// and group lines), the files as pointers it downloads on demand, and
// every chat summary right. Restoring again changes nothing. The relay's
// storage holds none of it in plaintext; another account's device, and a
// damaged blob, import nothing.
func TestHistoryTransfer(t *testing.T) {
	r := startCoopRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	befriend(t, alice, bob)
	ctx := ctxT(t)

	const nickCanary = "Bobby the canary 9c2e"
	const profileCanary = "Alice canary 41b7"
	if err := alice.c.SetNickname(ctx, bob.acct.User, nickCanary); err != nil {
		t.Fatal(err)
	}
	if err := alice.c.SetProfileName(ctx, profileCanary); err != nil {
		t.Fatal(err)
	}
	sent := alice.send(bob, "to bob")
	reply := bob.send(alice, "to alice")
	alice.waitText(bob, "to alice")
	photo := fileOf("a photo", 40<<10)
	fileMsg, err := bob.c.SendFiles(ctx, alice.acct.User, "a picture",
		client.File{Name: "p.png", Type: "image/png", Size: int64(len(photo)), Content: bytes.NewReader(photo), Width: 4, Height: 3, Thumbnail: []byte("th")})
	if err != nil {
		t.Fatal(err)
	}
	alice.waitFiles(bob.acct.User, fileMsg, "the picture", allLocal)
	doc := fileOf("a document", 70<<10)
	ownFile, err := alice.c.SendFiles(ctx, bob.acct.User, "", client.File{Name: "d.pdf", Type: "application/pdf", Size: int64(len(doc)), Content: bytes.NewReader(doc)})
	if err != nil {
		t.Fatal(err)
	}
	g := makeGroup(t, "Family", alice, bob)
	alice.sendGroup(g.ID, "hello family")
	bob.sendGroup(g.ID, "hello back")
	alice.waitGroupText(g.ID, "hello back")

	// A request to Carol, unanswered, and a message waiting behind it.
	if _, err := alice.c.AddContact(ctx, carol.address); err != nil {
		t.Fatal(err)
	}
	request := alice.send(carol, "hi carol")
	alice.waitState(carol, request, client.StateSent)
	alice.eventually("alice waiting for carol", func() bool { return alice.contact(carol).AwaitingAcceptance() })
	waiting := alice.send(carol, "still there?")

	notice := &wire.CoopNotice{ID: coop.NoticeID(wire.NoticeDues, alice.acct.User, "in_1"), Kind: wire.NoticeDues,
		Text: "Thank you", Amount: 1000, Currency: "GBP", Supports: 30, Month: "2026-12"}
	if err := r.Server().Coop().Notify(ctx, alice.acct.User, notice); err != nil {
		t.Fatal(err)
	}
	alice.waitNotice(notice.ID)
	// Settle: everything delivered, so that nothing changes under the
	// comparison.
	for _, id := range []wire.MessageID{sent, ownFile} {
		alice.waitState(bob, id, client.StateDelivered)
	}
	alice.eventually("the group message delivered", func() bool {
		for _, m := range alice.groupMessages(g.ID) {
			if m.Text == "hello family" {
				return m.State == client.StateDelivered
			}
		}
		return false
	})
	if err := alice.c.MarkRead(ctx, client.DirectConversation(alice.acct.User, bob.acct.User), reply); err != nil {
		t.Fatal(err)
	}

	var ups []client.Progress
	blob, stats, err := alice.c.UploadHistory(ctx, client.HistoryOptions{}, func(p client.Progress) { ups = append(ups, p) })
	if err != nil {
		t.Fatal(err)
	}
	if stats.Contacts != 2 || stats.Groups != 1 || stats.Chats != 4 || stats.Attachments != 2 || stats.MediaBytes != 0 {
		t.Fatalf("uploaded %+v", stats)
	}
	if len(ups) == 0 || ups[len(ups)-1].Done != ups[len(ups)-1].Total {
		t.Fatalf("upload progress %+v", ups)
	}
	parsed, err := client.ParseHistoryBlob(blob.Marshal())
	if err != nil || parsed != blob {
		t.Fatalf("the blob's pointer reads back as %+v, %v", parsed, err)
	}
	want := alice.historySnapshot()

	alice2 := r.newIdleDevice("alice2", alice.address)
	var downs []client.Progress
	got, err := alice2.c.RestoreHistory(ctx, blob, func(p client.Progress) { downs = append(downs, p) })
	if err != nil {
		t.Fatal(err)
	}
	if got != stats {
		t.Fatalf("restored %+v, uploaded %+v", got, stats)
	}
	if len(downs) == 0 || downs[len(downs)-1].Done != downs[len(downs)-1].Total {
		t.Fatalf("restore progress %+v", downs)
	}
	if snap := alice2.historySnapshot(); snap != want {
		t.Fatalf("the new device shows\n%s\nthe old one\n%s", snap, want)
	}
	if err := client.CheckChats(ctx, alice2.c); err != nil {
		t.Fatal(err)
	}
	alice2.stagingEmpty()
	if ct := alice2.contact(bob); ct.Nickname != nickCanary || !ct.Accepted {
		t.Fatalf("bob on the new device: %+v", ct)
	}
	if ms := alice2.messages(carol); len(ms) != 1 || ms[0].ID != request || slices.ContainsFunc(ms, func(m client.Message) bool { return m.ID == waiting }) {
		t.Fatalf("carol's chat on the new device: %+v", ms)
	}
	// The files are pointers; the new device downloads them.
	for _, f := range []struct {
		author wire.UserID
		id     wire.MessageID
		want   []byte
	}{{bob.acct.User, fileMsg, photo}, {alice.acct.User, ownFile, doc}} {
		m, err := alice2.c.Message(ctx, f.author, f.id)
		if err != nil || m.Attachments[0].Transfer != client.TransferRemote {
			t.Fatalf("a file on the new device: %+v %v", m, err)
		}
		alice2.download(f.author, f.id, 0)
		if !bytes.Equal(alice2.read(f.author, f.id, 0), f.want) {
			t.Fatal("a downloaded file differs")
		}
	}

	// Twice is once.
	want2 := alice2.historySnapshot()
	if _, err := alice2.c.RestoreHistory(ctx, blob, nil); err != nil {
		t.Fatal(err)
	}
	if snap := alice2.historySnapshot(); snap != want2 {
		t.Fatalf("restoring again changed\n%s\ninto\n%s", want2, snap)
	}
	if err := client.CheckChats(ctx, alice2.c); err != nil {
		t.Fatal(err)
	}

	// The relay holds ciphertext only.
	for _, s := range []string{nickCanary, profileCanary, "hello family", "d.pdf"} {
		assertNoCanary(t, r.Dir(), s)
	}

	// Another account's device, and a damaged blob, import nothing.
	dave := r.newIdleDevice("dave", "email:dave@example.org")
	empty := dave.historySnapshot()
	if _, err := dave.c.RestoreHistory(ctx, blob, nil); !errors.Is(err, client.ErrHistoryOtherAccount) {
		t.Fatalf("dave restoring alice's history: %v", err)
	}
	alice3 := r.newIdleDevice("alice3", alice.address)
	bad := blob
	bad.Digest[0] ^= 1
	if _, err := alice3.c.RestoreHistory(ctx, bad, nil); err == nil {
		t.Fatal("a blob with another digest was restored")
	}
	for _, d := range []*device{dave, alice3} {
		if snap := d.historySnapshot(); snap != empty {
			t.Fatalf("%s holds\n%s", d.name, snap)
		}
		d.stagingEmpty()
	}
}
