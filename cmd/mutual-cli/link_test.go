package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startLink runs 'link NAME' in h, which is not registered, and returns
// the code it prints and a channel with its exit code and output once
// it ends.
func (h *home) startLink(name string) (string, <-chan string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	pr, pw := io.Pipe()
	done := make(chan string, 1)
	go func() {
		defer cancel()
		var errb strings.Builder
		code := run(ctx, []string{"--home", h.dir, "--server", h.r.BaseURL(), "link", name}, strings.NewReader(""), pw, &errb)
		pw.CloseWithError(fmt.Errorf("exit %d: %s", code, errb.String()))
		done <- fmt.Sprintf("exit %d: %s", code, errb.String())
	}()
	var out strings.Builder
	codeRE := regexp.MustCompile(`\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b`)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if c := codeRE.FindString(sc.Text()); c != "" {
			rest := make(chan string, 1)
			go func() {
				var tail strings.Builder
				for sc.Scan() {
					tail.WriteString(sc.Text() + "\n")
				}
				rest <- out.String() + tail.String() + <-done
			}()
			return c, rest
		}
	}
	h.t.Fatalf("link printed no code:\n%s%v", out.String(), sc.Err())
	return "", nil
}

// TestLinkCommands: a new home links itself with 'link', the code typed
// on a registered one ('devices link'); 'devices' lists it as linked. A
// home that signs in by code alone waits for approval, which 'devices
// approve' gives; another is refused with 'devices refuse'.
func TestLinkCommands(t *testing.T) {
	r, alice, bob := chatting(t)
	laptop := newHome(t, r, alice.addr)
	code, ended := laptop.startLink("laptop")
	out := alice.must("devices", "link", strings.ToLower(code))
	if !strings.Contains(out, "Linked device 2.") {
		t.Fatalf("devices link: %s", out)
	}
	res := <-ended
	if !strings.Contains(res, "Linked: this is device 2 of alice@example.org.") || !strings.Contains(res, "exit 0") {
		t.Fatalf("link: %s", res)
	}
	if !strings.Contains(res, "\u2580") && !strings.Contains(res, "\u2588") && !strings.Contains(res, "\u2584") {
		t.Fatalf("link printed no QR code:\n%s", res)
	}
	var devs []deviceJSON
	for _, line := range strings.Split(strings.TrimSpace(laptop.must("devices", "--json")), "\n") {
		var d deviceJSON
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		devs = append(devs, d)
	}
	if len(devs) != 2 || !devs[1].Linked || !devs[1].This || devs[1].Name != "laptop" || devs[1].PendingUntil != "" {
		t.Fatalf("devices after linking: %+v", devs)
	}
	// The laptop writes to Bob at once, with the history it brought.
	laptop.must("send", bob.addr, "from the laptop")
	if got := bob.receiveJSON(); len(got) != 1 || got[0].Text != "from the laptop" {
		t.Fatalf("bob received %+v", got)
	}

	// A code that is no code, and one nobody waits with.
	if c, _, errs := alice.cli("", "devices", "link", "hello"); c != exitFailure || !strings.Contains(errs, "not a link code") {
		t.Fatalf("devices link hello: %d %s", c, errs)
	}
	if c, _, errs := alice.cli("", "devices", "link", "ABCD-EFGH-JKMN"); c != exitFailure || !strings.Contains(errs, "no device is waiting with that code") {
		t.Fatalf("devices link with a code nobody waits with: %d %s", c, errs)
	}

	// A tablet signs in by code alone: it waits for approval.
	tablet := newHome(t, r, alice.addr)
	tablet.register()
	if out := alice.must("devices"); !regexp.MustCompile(`(?m)^3  Mutual CLI`).MatchString(out) || !strings.Contains(out, "waiting for approval until") {
		t.Fatalf("devices with a held tablet: %s", out)
	}
	if c, _, errs := tablet.cli("", "devices", "link", "ABCD-EFGH-JKMN"); c != exitFailure || !strings.Contains(errs, "waits for approval itself") {
		t.Fatalf("a held device links: %d %s", c, errs)
	}
	if out := alice.must("devices", "approve", "3"); !strings.Contains(out, "Device 3 is approved") {
		t.Fatalf("devices approve: %s", out)
	}
	if out := alice.must("devices"); strings.Contains(out, "waiting for approval") {
		t.Fatalf("devices after approval: %s", out)
	}

	// Another is refused.
	stranger := newHome(t, r, alice.addr)
	stranger.register()
	if out := alice.must("devices", "refuse", "4"); !strings.Contains(out, "Device 4 is refused") {
		t.Fatalf("devices refuse: %s", out)
	}
	if out := alice.must("devices"); regexp.MustCompile(`(?m)^4  `).MatchString(out) {
		t.Fatalf("devices after refusal: %s", out)
	}
}
