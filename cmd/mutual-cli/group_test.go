package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/relaytest"
)

// befriend makes b a contact of a who accepted a: a adds b and writes,
// b accepts and answers.
func befriend(a, b *home) {
	a.t.Helper()
	a.must("contacts", "add", b.addr)
	a.must("send", b.addr, "hello "+b.addr)
	b.receiveJSON()
	b.must("contacts", "accept", a.addr)
	b.must("send", a.addr, "hello "+a.addr)
	a.receiveJSON()
}

// groupInfo reads 'group info ID --json'.
func (h *home) groupInfo(id string) groupJSON {
	h.t.Helper()
	var g groupJSON
	if err := json.Unmarshal([]byte(h.must("group", "info", id, "--json")), &g); err != nil {
		h.t.Fatalf("group info --json: %v", err)
	}
	return g
}

// joined reports whether g lists exactly the users, each joined.
func joined(g groupJSON, users ...string) bool {
	if len(g.Members) != len(users) {
		return false
	}
	for _, m := range g.Members {
		if !m.Joined || !slices.Contains(users, m.User) {
			return false
		}
	}
	return true
}

// texts returns the texts of the group's messages received, checking
// that each names the group and its author.
func texts(t *testing.T, msgs []messageJSON, group string, authors map[string]string) []string {
	t.Helper()
	var out []string
	for _, m := range msgs {
		if m.Group != group || m.Conversation != group || authors[m.Author] == "" {
			t.Fatalf("a group message %+v", m)
		}
		out = append(out, m.Text)
	}
	return out
}

// userID is a home's user ID, as 'devices' does not print it: the first
// contact of another home names it.
func (h *home) userID(other *home) string {
	h.t.Helper()
	for _, c := range other.contactsJSON() {
		if strings.EqualFold(c.Address, strings.TrimPrefix(h.addr, "email:")) {
			return c.User
		}
	}
	h.t.Fatalf("%s does not know %s", other.addr, h.addr)
	return ""
}

// TestGroups: three people make a group and chat; a fourth, added by
// someone who is not their contact, accepts; receipts aggregate; one is
// removed and reads nothing after; one leaves; a member's second device
// sees the group; the relay's storage never holds the group's name or a
// message.
func TestGroups(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	ann := newHome(t, r, "email:ann@example.org")
	ben := newHome(t, r, "email:ben@example.org")
	cleo := newHome(t, r, "email:cleo@example.org")
	dan := newHome(t, r, "email:dan@example.org")
	for _, h := range []*home{ann, ben, cleo, dan} {
		h.register()
	}
	befriend(ann, ben)
	befriend(ann, cleo)
	annID, benID, cleoID := ann.userID(ben), ben.userID(ann), cleo.userID(ann)

	const name = "Family 5c81 canary"
	out := ann.must("group", "create", name, ben.addr, cleo.addr)
	id := regexp.MustCompile(`[0-9a-f]{32}`).FindString(out)
	if id == "" || !strings.Contains(out, name) {
		t.Fatalf("group create: %q", out)
	}
	// Invitations from a contact are joined at once; Ben and Cleo join
	// at the same time, and each learns of the other.
	ben.receiveJSON()
	cleo.receiveJSON()
	ben.receiveJSON()
	cleo.receiveJSON()
	ann.receiveJSON()
	for _, h := range []*home{ann, ben, cleo} {
		if g := h.groupInfo(id); g.Name != name || g.Status != "joined" || !joined(g, annID, benID, cleoID) {
			t.Fatalf("%s's group: %+v", h.addr, g)
		}
	}
	if out := ann.must("group", "list"); !strings.Contains(out, id) || !strings.Contains(out, "3 members") {
		t.Fatalf("group list: %q", out)
	}

	// Chat.
	const canary = "group canary 0d6f sings"
	authors := map[string]string{annID: "ann", benID: "ben", cleoID: "cleo"}
	ann.must("send", "--group", id, canary)
	for _, h := range []*home{ben, cleo} {
		if got := texts(t, h.receiveJSON(), id, authors); !slices.Equal(got, []string{canary}) {
			t.Fatalf("%s received %q", h.addr, got)
		}
	}
	ben.must("send", "--group", id, "hi from ben")
	if got := texts(t, cleo.receiveJSON(), id, authors); !slices.Equal(got, []string{"hi from ben"}) {
		t.Fatalf("cleo received %q", got)
	}
	if got := texts(t, ann.receiveJSON(), id, authors); !slices.Equal(got, []string{"hi from ben"}) {
		t.Fatalf("ann received %q", got)
	}

	// Receipts aggregate: read by one of two is not read.
	ann.must("send", "--group", id, "read me")
	ben.receiveJSON()
	ann.receiveJSON()
	if st := ann.exportState(id, "read me"); st != "sent" {
		t.Fatalf("read by ben only: %s", st)
	}
	cleo.receiveJSON()
	ann.receiveJSON()
	if st := ann.exportState(id, "read me"); st != "read" {
		t.Fatalf("read by both: %s", st)
	}

	// Ann adds Dan, who is not her contact: the invitation waits for him.
	ann.must("group", "add", id, dan.addr)
	code, _, errs := dan.cli("", "receive")
	if code != 0 || !strings.Contains(errs, "group accept "+id) {
		t.Fatalf("dan's receive: %d %s", code, errs)
	}
	if g := dan.groupInfo(id); g.Status != "invited" || g.InvitedBy != annID {
		t.Fatalf("dan's invitation: %+v", g)
	}
	if out := dan.must("contacts", "list", "--json"); strings.Contains(out, "request") {
		t.Fatalf("the invitation made a contact request: %s", out)
	}
	dan.must("group", "accept", id)
	danID := dan.groupInfo(id).Members[3].User
	authors[danID] = "dan"
	dan.must("send", "--group", id, "hello from dan")
	for _, h := range []*home{ann, ben, cleo} {
		if got := texts(t, h.receiveJSON(), id, authors); !slices.Contains(got, "hello from dan") {
			t.Fatalf("%s received %q", h.addr, got)
		}
	}

	// Ann removes Cleo, who reads nothing after.
	if code, _, errs := ben.cli("", "group", "remove", id, cleoID); code == 0 || !strings.Contains(errs, "admins") {
		t.Fatalf("a member removed another: %d %s", code, errs)
	}
	ann.must("group", "remove", id, cleo.addr)
	cleo.receiveJSON()
	if g := cleo.groupInfo(id); g.Status != "removed" {
		t.Fatalf("cleo's group: %+v", g)
	}
	ben.receiveJSON()
	dan.receiveJSON()
	ann.must("send", "--group", id, "after cleo, from ann")
	ben.must("send", "--group", id, "after cleo, from ben")
	if code, out, errs := cleo.cli("", "receive", "--json"); code != 0 || out != "" || strings.Contains(errs, "decrypt") {
		t.Fatalf("cleo's receive after her removal: %d %q %s", code, out, errs)
	}
	if code, _, _ := cleo.cli("", "send", "--group", id, "still here?"); code == 0 {
		t.Fatal("a removed member wrote to the group")
	}

	// Ben leaves.
	ben.must("group", "leave", id)
	ann.receiveJSON()
	if g := ann.groupInfo(id); !joined(g, annID, danID) {
		t.Fatalf("ann's group after ben left: %+v", g)
	}

	// Dan's second device: once Ann accepts it, it gets the group (from
	// Dan's first device) and what Ann writes.
	dan2 := newHome(t, r, dan.addr)
	dan2.register()
	dan.must("devices", "approve", "2") // signed in by code: held until then
	if code, _, errs := ann.cli("", "send", "--group", id, "for both of dan's devices"); code != exitIdentity {
		t.Fatalf("ann's send to dan's new device: %d %s", code, errs)
	}
	ann.must("contacts", "trust", dan.addr)
	ann.receiveJSON()
	dan.receiveJSON()
	if got := texts(t, dan2.receiveJSON(), id, authors); !slices.Contains(got, "for both of dan's devices") {
		t.Fatalf("dan's new device received %q", got)
	}
	if out := dan2.must("group", "list"); !strings.Contains(out, id) || !strings.Contains(out, "joined") {
		t.Fatalf("dan's new device's groups: %q", out)
	}

	// The relay's storage never held the group's name or a message.
	filepath.WalkDir(r.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, s := range []string{canary, name} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds the plaintext %q", path, s)
			}
		}
		return nil
	})
}

// exportState is the state of this home's message text to the group, as
// 'export' writes it.
func (h *home) exportState(group, text string) string {
	h.t.Helper()
	var a client.Archive
	if err := json.Unmarshal([]byte(h.must("export")), &a); err != nil {
		h.t.Fatal(err)
	}
	for _, c := range a.Conversations {
		if c.Group != group {
			continue
		}
		for _, m := range c.Messages {
			if m.Text == text && m.Outgoing {
				return m.State
			}
		}
	}
	h.t.Fatalf("no message %q in the export", text)
	return ""
}
