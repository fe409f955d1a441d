package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/internal/relaytest"
)

// TestGroupInviteLink: an admin makes a group's invite link from the
// terminal; with "an admin approves", someone with the link asks, the
// admin sees and approves them and they read the group; with "anyone
// joins", another joins at once; a reset link no longer works.
func TestGroupInviteLink(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	ann := newHome(t, r, "email:ann@example.org")
	ben := newHome(t, r, "email:ben@example.org")
	cleo := newHome(t, r, "email:cleo@example.org")
	dan := newHome(t, r, "email:dan@example.org")
	for _, h := range []*home{ann, ben, cleo, dan} {
		h.register()
	}
	befriend(ann, ben)
	annID, benID := ann.userID(ben), ben.userID(ann)
	out := ann.must("group", "create", "Hikers", ben.addr)
	id := regexp.MustCompile(`[0-9a-f]{32}`).FindString(out)
	ben.receiveJSON()
	ann.receiveJSON()

	if code, _, _ := ben.cli("", "group", "link", id, "--mode", "open"); code == 0 {
		t.Fatal("a member who is not an admin made a link")
	}
	if code, _, _ := ann.cli("", "group", "link", id, "--mode", "sometimes"); code != exitUsage {
		t.Fatalf("an unknown mode: exit %d", code)
	}
	out = ann.must("group", "link", id, "--mode", "approve")
	link := strings.SplitN(out, "\n", 2)[0]
	if !strings.HasPrefix(link, r.BaseURL()+"/join#") || !strings.Contains(out, "An admin approves") {
		t.Fatalf("group link: %q", out)
	}

	if out := cleo.must("group", "join", link); !strings.Contains(out, "Asked to join Hikers") {
		t.Fatalf("group join: %q", out)
	}
	ann.receiveJSON()
	cleoID := regexp.MustCompile(`asks to join: ([0-9a-f]{32})`).FindStringSubmatch(ann.must("group", "link", id))
	if cleoID == nil {
		t.Fatalf("ann does not see cleo's request")
	}
	ann.must("group", "approve", id, cleoID[1])
	cleo.receiveJSON() // the invitation: cleo asked, so she joins
	ann.receiveJSON()
	ben.receiveJSON()
	ann.must("send", "--group", id, "welcome, cleo")
	authors := map[string]string{annID: "ann", benID: "ben", cleoID[1]: "cleo"}
	if got := texts(t, cleo.receiveJSON(), id, authors); !slices.Equal(got, []string{"welcome, cleo"}) {
		t.Fatalf("cleo received %q", got)
	}

	// Anyone joins, through a link that names the web app's origin.
	out = ann.must("group", "link", id, "--mode", "open", "--origin", "https://app.example.org/ignored")
	open := strings.SplitN(out, "\n", 2)[0]
	if !strings.HasPrefix(open, "https://app.example.org/join#") || !strings.Contains(out, "Anyone with the link joins") {
		t.Fatalf("group link --mode open: %q", out)
	}
	out = ann.must("group", "link", id, "--reset")
	if fresh := strings.SplitN(out, "\n", 2)[0]; fresh == link || fresh == open {
		t.Fatalf("a reset link is the same: %q", out)
	}
	if code, _, errs := dan.cli("", "group", "join", open); code == 0 || !strings.Contains(errs, "no longer works") {
		t.Fatalf("joining with a reset link: exit %d, %q", code, errs)
	}
	fresh := strings.SplitN(ann.must("group", "link", id), "\n", 2)[0]
	dan.must("group", "join", fresh)
	ann.receiveJSON()
	dan.receiveJSON()
	if g := dan.groupInfo(id); g.Status != "joined" || len(g.Members) != 4 {
		t.Fatalf("dan's group: %+v", g)
	}
	if code, _, _ := dan.cli("", "group", "join", "https://app.example.org/join#nonsense"); code == 0 {
		t.Fatal("joined with a link that is none")
	}
}
