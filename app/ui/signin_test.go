package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"golang.org/x/net/html"

	"github.com/mutualcoop/mutual/relay/wire"
)

// TestOnboardingStates: each request says what it does, on its own
// button: asking for a new code says so and leaves Verify as it is; the
// code field hints the relay's code length; a refused code request counts
// down to when another can be asked for, with both buttons that ask off.
func TestOnboardingStates(t *testing.T) {
	code := onboardingState{step: stepCode, address: "email:alice@example.org", now: testNow}

	resending := code
	resending.call = callSend
	d := render(t, func() app.UI { return onboardingView(resending, nil, nil, nil) })
	if got := text(d.one("#resend-code")); got != "Sending a new code…" {
		t.Errorf("resend button while sending says %q", got)
	}
	if got := text(d.one("#verify")); got != "Verify" {
		t.Errorf("verify button while sending a new code says %q", got)
	}
	for _, id := range []string{"#verify", "#resend-code", "#change-address"} {
		if !disabled(d.one(id)) {
			t.Errorf("%s is enabled while a code is being sent", id)
		}
	}

	verifying := code
	verifying.call = callVerify
	d = render(t, func() app.UI { return onboardingView(verifying, nil, nil, nil) })
	if got, resend := text(d.one("#verify")), text(d.one("#resend-code")); got != "Verifying…" || resend != "Send a new code" {
		t.Errorf("while verifying: %q and %q", got, resend)
	}

	in := d.one("input", "#code")
	if ph := attr(in, "placeholder"); len(ph) != wire.CodeDigits {
		t.Errorf("code placeholder %q, want %d digits", ph, wire.CodeDigits)
	}
	if !strings.Contains(text(d.one("#code-hint")), "8 digits") {
		t.Errorf("code hint %q", text(d.one("#code-hint")))
	}

	limited := code
	limited.retryAt = testNow.Add(15*time.Minute + 300*time.Millisecond)
	d = render(t, func() app.UI { return onboardingView(limited, nil, nil, nil) })
	w := d.one("#retry-wait")
	if w == nil || !strings.HasPrefix(text(w), "You asked for several codes; you can ask for another in 15:01") {
		t.Fatalf("rate limit says %q", text(w))
	}
	if !disabled(d.one("#resend-code")) {
		t.Error("Send a new code is enabled during the wait")
	}
	if disabled(d.one("#verify")) {
		t.Error("Verify is disabled during the wait for a new code")
	}

	first := onboardingState{now: testNow, retryAt: testNow.Add(28 * time.Second)}
	d = render(t, func() app.UI { return onboardingView(first, nil, nil, nil) })
	if got := text(d.one(".countdown")); got != "0:28" {
		t.Errorf("countdown %q", got)
	}
	if !strings.Contains(text(d.one("#retry-wait")), "a moment ago") {
		t.Errorf("a short wait says %q", text(d.one("#retry-wait")))
	}
	if !disabled(d.one("#send-code")) {
		t.Error("Send code is enabled during the wait")
	}

	over := onboardingState{now: testNow, retryAt: testNow.Add(-time.Second)}
	d = render(t, func() app.UI { return onboardingView(over, nil, nil, nil) })
	if len(d.all("#retry-wait")) != 0 {
		t.Error("the wait is shown after it ended")
	}
	if disabled(d.one("#send-code")) {
		t.Error("Send code stays disabled after the wait")
	}
}

// disabled reports whether a rendered control is disabled (go-app writes
// an enabled one's attribute as disabled="false").
func disabled(n *html.Node) bool {
	v, ok := attrOK(n, "disabled")
	return ok && v != "false"
}

func TestClockText(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute:        "15:00",
		28*time.Second + 1:      "0:29",
		time.Second:             "0:01",
		0:                       "0:00",
		-time.Second:            "0:00",
		time.Hour + time.Minute: "61:00",
	} {
		if got := clockText(d); got != want {
			t.Errorf("clockText(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSignOutText(t *testing.T) {
	me := wire.DeviceID(3)
	dev := func(ids ...wire.DeviceID) []wire.DeviceInfo {
		var out []wire.DeviceInfo
		for _, id := range ids {
			out = append(out, wire.DeviceInfo{ID: id})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		devices []wire.DeviceInfo
		want    string
	}{
		{"only device", dev(me), "This is your only device: signing out erases your chats from it for good."},
		{"one other", dev(1, me), "stays signed in on 1 other device,"},
		{"two others", dev(1, 2, me), "stays signed in on 2 other devices,"},
		{"unknown", nil, "cannot tell now whether your account is signed in on other devices"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := settingsState{devices: tc.devices}
			st.acct.Device = me
			got := signOutText(st)
			if !strings.Contains(got, tc.want) {
				t.Errorf("%q, want %q", got, tc.want)
			}
			if strings.Contains(got, "not affected") {
				t.Errorf("%q says other devices are not affected", got)
			}
		})
	}
}

func TestUnreadTitle(t *testing.T) {
	if got := unreadTitle(3, "Mutual"); got != "(3) Mutual" {
		t.Errorf("3 unread: %q", got)
	}
	if got := unreadTitle(0, "Settings · Mutual"); got != "Settings · Mutual" {
		t.Errorf("none unread: %q", got)
	}
}

func TestKnownPath(t *testing.T) {
	for path, want := range map[string]bool{
		"/": true, "/welcome": true, "/contacts/": true, "/settings": true,
		"/chat/00112233445566778899aabbccddeeff":   true,
		"/safety/00112233445566778899aabbccddeeff": true,
		"/nowhere": false, "/chat/xyz": false, "/contacts/extra": false, "/app.js": false,
	} {
		if got := KnownPath(path); got != want {
			t.Errorf("KnownPath(%q) = %v", path, got)
		}
	}
}
