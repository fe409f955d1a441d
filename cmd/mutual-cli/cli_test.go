package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/relaytest"
)

// home is one mutual-cli home directory, on a real relay with codes
// mailed to a real SMTP server.
type home struct {
	t    *testing.T
	r    *relaytest.Relay
	dir  string
	addr string
}

func newHome(t *testing.T, r *relaytest.Relay, addr string) *home {
	return &home{t: t, r: r, dir: t.TempDir(), addr: addr}
}

// cli runs mutual-cli in-process and returns its exit code and output.
func (h *home) cli(stdin string, args ...string) (int, string, string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"--home", h.dir, "--server", h.r.BaseURL()}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func (h *home) must(args ...string) string {
	h.t.Helper()
	code, out, errs := h.cli("", args...)
	if code != 0 {
		h.t.Fatalf("mutual-cli %v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

func (h *home) register() {
	h.t.Helper()
	h.must("register", h.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code, err := h.r.WaitCode(ctx, h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.must("verify", code)
}

func (h *home) receiveJSON() []messageJSON {
	h.t.Helper()
	var msgs []messageJSON
	for _, line := range strings.Split(strings.TrimSpace(h.must("receive", "--json")), "\n") {
		if line == "" {
			continue
		}
		var m messageJSON
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			h.t.Fatalf("receive --json printed %q: %v", line, err)
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// chatting starts a relay and two registered homes, Alice and Bob, who
// have written to each other once (she asked, he accepted).
func chatting(t *testing.T) (r *relaytest.Relay, alice, bob *home) {
	t.Helper()
	r = relaytest.Start(t, relaytest.Options{})
	alice = newHome(t, r, "email:alice@example.org")
	bob = newHome(t, r, "email:bob@example.org")
	alice.register()
	bob.register()
	alice.must("contacts", "add", bob.addr)
	alice.must("send", bob.addr, "hello bob")
	bob.receiveJSON()
	bob.must("contacts", "accept", alice.addr)
	bob.must("send", alice.addr, "hi alice")
	alice.receiveJSON()
	return r, alice, bob
}

func TestTwoHomesChat(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	alice := newHome(t, r, "email:alice@example.org")
	bob := newHome(t, r, "email:bob@example.org")
	alice.register()
	bob.register()

	const canary = "canary-7f3e9b1c-plaintext"
	alice.must("contacts", "add", bob.addr)
	alice.must("send", bob.addr, "hello bob "+canary)
	got := bob.receiveJSON()
	if len(got) != 1 || got[0].Text != "hello bob "+canary || got[0].From == "" || got[0].ID == "" {
		t.Fatalf("bob received %+v", got)
	}
	// A second message before Bob accepts waits on Alice's device.
	if code, _, errs := alice.cli("", "send", bob.addr, "are you there?"); code != 0 || !strings.Contains(errs, "has not accepted your request yet") {
		t.Fatalf("alice's second send: %d %s", code, errs)
	}
	// Bob accepts Alice's request and answers; the text comes from stdin.
	bob.must("contacts", "accept", alice.addr)
	if code, out, errs := bob.cli("hi alice\n", "send", alice.addr); code != 0 {
		t.Fatalf("bob's send: %d %s %s", code, out, errs)
	}
	got = alice.receiveJSON()
	if len(got) != 1 || got[0].Text != "hi alice" || got[0].From != "bob@example.org" {
		t.Fatalf("alice received %+v", got)
	}
	// Bob's answer released the message that waited: it goes before the
	// next one, and nothing is shown twice.
	alice.must("send", bob.addr, "third")
	again := bob.receiveJSON()
	if len(again) != 2 || again[0].Text != "are you there?" || again[1].Text != "third" {
		t.Fatalf("bob received %+v, want the waiting message then the third", again)
	}

	// Both sides see the same safety number.
	re := regexp.MustCompile(`\d{5}( \d{5}){11}|\d{60}`)
	sa := re.FindString(alice.must("safety-number", bob.addr))
	sb := re.FindString(bob.must("safety-number", alice.addr))
	if sa == "" || sa != sb {
		t.Fatalf("safety numbers differ: %q vs %q", sa, sb)
	}
	if out := alice.must("contacts", "list", "--json"); !strings.Contains(out, `"state":"contact"`) || strings.Contains(out, `"verified"`) {
		t.Fatalf("contacts list: %s", out)
	}
	// Once compared, Alice marks Bob verified, and takes it back.
	if out := alice.must("contacts", "verify", bob.addr); !strings.Contains(out, sa) || !strings.Contains(out, "Marked") {
		t.Fatalf("contacts verify: %s", out)
	}
	if out := alice.must("contacts", "list", "--json"); !strings.Contains(out, `"verified":true`) {
		t.Fatalf("contacts list after verify: %s", out)
	}
	alice.must("contacts", "verify", bob.addr, "--clear")
	if out := alice.must("contacts", "list", "--json"); strings.Contains(out, `"verified"`) {
		t.Fatalf("contacts list after verify --clear: %s", out)
	}
	if out := alice.must("devices", "--json"); !strings.Contains(out, `"this":true`) {
		t.Fatalf("devices: %s", out)
	}

	// The relay's storage (log and database) never held the plaintext.
	filepath.WalkDir(r.Dir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("%s holds the plaintext", path)
		}
		return nil
	})
}

func TestExitCodes(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	carol := newHome(t, r, "email:carol@example.org")
	if code, _, errs := carol.cli("", "send", "email:dave@example.org", "hi"); code != exitNotRegistered {
		t.Fatalf("send before registering: exit %d (%s), want %d", code, errs, exitNotRegistered)
	}
	if code, _, _ := carol.cli("", "frobnicate"); code != exitUsage {
		t.Fatalf("unknown command: exit %d, want %d", code, exitUsage)
	}
	if code, _, errs := carol.cli("", "register", "not an address"); code != exitFailure || !strings.Contains(errs, "not an address") {
		t.Fatalf("bad address: exit %d, %q", code, errs)
	}
	carol.register()
	if code, _, errs := carol.cli("", "send", "email:nobody@example.org", "hi"); code != exitFailure || !strings.Contains(errs, "nobody uses Mutual") {
		t.Fatalf("unknown recipient: exit %d, %q", code, errs)
	}
}

// contactsJSON reads 'contacts list --json'.
func (h *home) contactsJSON() []contactJSON {
	h.t.Helper()
	var out []contactJSON
	for _, line := range strings.Split(strings.TrimSpace(h.must("contacts", "list", "--json")), "\n") {
		if line == "" {
			continue
		}
		var c contactJSON
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			h.t.Fatalf("contacts list --json printed %q: %v", line, err)
		}
		out = append(out, c)
	}
	return out
}

// TestAddressCase: addresses are matched as the relay matches them. Ann
// registered as Ann-UX@Example.ORG; Ben finds her typing it in lower
// case, and names her in upper case afterwards. His contact request
// tells Ann who he is: she sees his address, confirmed, and that he is
// not a contact; he sees hers.
func TestAddressCase(t *testing.T) {
	r := relaytest.Start(t, relaytest.Options{})
	ann := newHome(t, r, "email:Ann-UX@Example.ORG")
	ben := newHome(t, r, "email:ben@example.org")
	ann.register()
	ben.register()

	if out := ben.must("contacts", "add", "ann-ux@example.org"); !strings.Contains(out, "Added ann-ux@example.org") {
		t.Fatalf("ben adds ann in lower case: %q", out)
	}
	ben.must("send", "EMAIL:ANN-UX@EXAMPLE.ORG", "hello ann")
	if got := ann.receiveJSON(); len(got) != 1 || got[0].Text != "hello ann" {
		t.Fatalf("ann received %+v", got)
	}
	cs := ann.contactsJSON()
	if len(cs) != 1 || cs[0].State != "request" || cs[0].Address != "ben@example.org" || cs[0].AddressMismatch {
		t.Fatalf("ann's contacts: %+v", cs)
	}
	if out := ann.must("contacts", "list"); !strings.Contains(out, "request") || !strings.Contains(out, "ben@example.org") || strings.Contains(out, "email:") {
		t.Fatalf("ann's contacts list: %q", out)
	}
	cs = ben.contactsJSON()
	if len(cs) != 1 || cs[0].State != "contact" || cs[0].Address != "ann-ux@example.org" {
		t.Fatalf("ben's contacts: %+v", cs)
	}
	// Ann accepts by his address in another case.
	ann.must("contacts", "accept", "BEN@example.org")
	if cs := ann.contactsJSON(); len(cs) != 1 || cs[0].State != "contact" {
		t.Fatalf("ann's contacts after accepting: %+v", cs)
	}
}
