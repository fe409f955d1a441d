package main

import (
	"strings"
	"testing"
)

// TestSendWaitsForTrust: when a contact's safety number changes, what is
// sent to them is kept on this device, not dropped: send says so (exit
// 3), and once the user trusts the new number the messages go, in order.
func TestSendWaitsForTrust(t *testing.T) {
	r, alice, bob := chatting(t)

	// Bob signs in on a second device, which publishes its keys: a
	// safety number Alice has not seen.
	bob2 := newHome(t, r, bob.addr)
	bob2.register()
	bob.must("devices", "approve", "2") // signed in by code: held until then
	bob2.receiveJSON()

	for _, text := range []string{"still there?", "hello?"} {
		code, _, errs := alice.cli("", "send", bob.addr, text)
		if code != exitIdentity || !strings.Contains(errs, "your message waits") {
			t.Fatalf("send %q after the change: exit %d, %s", text, code, errs)
		}
	}
	alice.must("contacts", "trust", bob.addr)
	alice.must("send", bob.addr, "trusted")
	var texts []string
	for _, m := range bob2.receiveJSON() {
		texts = append(texts, m.Text)
	}
	if strings.Join(texts, "|") != "still there?|hello?|trusted" {
		t.Fatalf("bob's new device received %q, want the waiting messages, then the last", texts)
	}
}
