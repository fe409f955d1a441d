package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestHistoryPercent(t *testing.T) {
	for _, tc := range []struct {
		p    client.Progress
		want int
	}{
		{client.Progress{}, -1},
		{client.Progress{Done: 5, Total: 10}, 50},
		{client.Progress{Done: 11, Total: 10}, 100},
		{client.Progress{Done: -1, Total: 10}, 0},
	} {
		if got := historyPercent(tc.p); got != tc.want {
			t.Errorf("historyPercent(%+v) = %d, want %d", tc.p, got, tc.want)
		}
	}
}

// TestLinkNewView: the new device shows the QR code and the short code
// with what to do with them and the time left; then, linked, the account
// and the history's progress; an expired code offers a new one.
func TestLinkNewView(t *testing.T) {
	qr, err := qrSVG([]byte("mutual-link:ABC"), "QR code to link this device")
	if err != nil {
		t.Fatal(err)
	}
	showing := linkNewState{phase: linkShowing, code: "K7QM-3D9X-PW2A", qrText: "mutual-link:ABC", qr: qr,
		expires: testNow.Add(9*time.Minute + 30*time.Second), now: testNow}
	d := render(t, func() app.UI { return linkNewView(showing, nil) })
	if got := text(d.one("#link-code")); got != "K7QM-3D9X-PW2A" {
		t.Errorf("code %q", got)
	}
	if q := d.one("#link-qr"); attr(q, "data-qr") != "mutual-link:ABC" || len(d.within(q).all("svg")) != 1 {
		t.Error("the QR code is missing")
	}
	if got := text(d.one("#link-explain")); !strings.Contains(got, "Settings → Link a device") {
		t.Errorf("explanation %q", got)
	}
	if got := text(d.one("#link-countdown")); !strings.Contains(got, "9:30") || !strings.Contains(got, "10 minutes") {
		t.Errorf("countdown %q", got)
	}
	if attr(d.one("a", "#link-back"), "href") != pathWelcome {
		t.Error("no way back to signing in with an email")
	}

	receiving := linkNewState{phase: linkReceiving, address: "email:alice@example.org", progress: client.Progress{Done: 1, Total: 4}}
	d = render(t, func() app.UI { return linkNewView(receiving, nil) })
	if got := text(d.one("#link-status")); got != "Linked to alice@example.org." {
		t.Errorf("status %q", got)
	}
	if bar := d.one("progress", "#link-progress"); attr(bar, "value") != "25" || attr(bar, "max") != "100" || attr(bar, "aria-label") == "" {
		t.Errorf("progress bar %v", bar.Attr)
	}
	if len(d.all("#link-back")) != 0 || len(d.all("#link-code")) != 0 {
		t.Error("a linked device still offers the code or the way back")
	}

	d = render(t, func() app.UI { return linkNewView(linkNewState{phase: linkExpired}, nil) })
	if len(d.all("button", "#link-new-code")) != 1 || !strings.Contains(text(d.one("#link-status")), "expired") {
		t.Error("an expired code offers no new one")
	}
}

// TestLinkSendView: the settings' card takes a code, sends the history
// unless told not to, shows its progress and says which device it linked.
func TestLinkSendView(t *testing.T) {
	st := linkSendState{history: true}
	d := render(t, func() app.UI { return linkSendView(st, linkSendHandlers{}) })
	if len(d.all("label", "[for=link-code-input]")) != 1 || len(d.all("label", "[for=link-history]")) != 1 {
		t.Error("a field has no label")
	}
	if h := d.one("input", "#link-history"); attr(h, "checked") == "false" {
		t.Error("history is not sent by default")
	}
	if len(d.all("#link-scan")) != 0 {
		t.Error("a browser that cannot scan is offered the camera")
	}
	if got := text(d.one("#link-lead")); strings.Contains(got, "scan") {
		t.Errorf("lead %q talks of scanning", got)
	}

	st.canScan, st.busy, st.progress = true, true, client.Progress{Done: 3, Total: 4}
	d = render(t, func() app.UI { return linkSendView(st, linkSendHandlers{}) })
	if len(d.all("button", "#link-scan")) != 1 || text(d.one("#link-submit")) != "Linking…" {
		t.Error("busy card wrong")
	}
	if bar := d.one("progress", "#link-send-progress"); attr(bar, "value") != "75" {
		t.Errorf("progress %v", bar.Attr)
	}
	if got := text(d.one("#link-send-status")); got != "Sending your history…" {
		t.Errorf("status %q", got)
	}

	st = linkSendState{history: true, done: "Linked: Chrome on Linux (#3)"}
	d = render(t, func() app.UI { return linkSendView(st, linkSendHandlers{}) })
	if got := text(d.one("#link-result")); got != "Linked: Chrome on Linux (#3)" {
		t.Errorf("result %q", got)
	}
}

func TestLinkErrorText(t *testing.T) {
	for _, tc := range []struct {
		code wire.Code
		want string
	}{
		{wire.CodeNotFound, "expired"},
		{wire.CodeTooLarge, "16"},
		{wire.CodeDevicePending, "waiting for approval"},
	} {
		if got := linkErrorText(&wire.Error{Code: tc.code}, true); !strings.Contains(got, tc.want) {
			t.Errorf("code %d: %q does not say %q", tc.code, got, tc.want)
		}
	}
}

// TestDevicesPendingAndLinked: the settings list marks a device waiting
// for approval, with Approve and Refuse instead of Remove, and a linked
// one; Refuse asks first.
func TestDevicesPendingAndLinked(t *testing.T) {
	until := testNow.Add(7 * 24 * time.Hour)
	st := settingsState{
		acct: client.Account{Address: "email:alice@example.org", Device: 1},
		devices: []wire.DeviceInfo{
			{ID: 1, Name: "Firefox on Linux"},
			{ID: 2, Name: "Chrome on Android", PendingUntilMS: until.UnixMilli()},
			{ID: 3, Name: "Safari on iPhone", Linked: true},
		},
		now:     testNow,
		confirm: confirmRefuseDevice,
		device:  2,
	}
	d := render(t, func() app.UI { return settingsView(st, settingsHandlers{}) })
	devs := d.all("li", ".device")
	if len(devs) != 3 {
		t.Fatalf("%d devices", len(devs))
	}
	pending := d.within(devs[1])
	if got := text(pending.one(".device-pending")); got != "Waiting for approval (until "+untilText(until, testNow)+")" {
		t.Errorf("pending line %q", got)
	}
	if len(pending.all("button", ".approve-device")) != 1 || len(pending.all("button", ".refuse-device")) != 1 || len(pending.all(".remove-device")) != 0 {
		t.Error("a pending device has no Approve and Refuse")
	}
	linked := d.within(devs[2])
	if text(linked.one(".badge-linked")) != "Linked" || len(linked.all(".remove-device")) != 1 {
		t.Error("the linked device is not marked")
	}
	dlg := d.one("dialog", "#confirm-dialog")
	if len(d.within(dlg).all("button", "#confirm-refuse-device")) != 1 || !strings.Contains(text(dlg), "Chrome on Android (#2)") {
		t.Error("refusing does not ask first")
	}
}

func TestHeldView(t *testing.T) {
	until := time.Date(2025, 6, 9, 14, 5, 0, 0, time.UTC)
	d := render(t, func() app.UI { return heldView(until, until.Add(-7*24*time.Hour), false, "", nil) })
	if got := text(d.one("#held")); !strings.Contains(got, "Waiting for approval") || !strings.Contains(got, "Monday 9 June, 14:05") {
		t.Errorf("held page %q", got)
	}
	if len(d.all("button", "#held-sign-out")) != 1 {
		t.Error("no way to sign out")
	}
	if len(d.all("a", "#held-restore")) != 1 {
		t.Error("no way to restore a backup while held")
	}
	if got := untilText(until, time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC)); got != "Monday 9 June 2025, 14:05" {
		t.Errorf("untilText across a year %q", got)
	}
}

func TestLinkRoute(t *testing.T) {
	r := parseRoute("/link")
	if r.kind != routeLink || r.view() != "welcome" || r.title() != "Link this device · Mutual" || !KnownPath("/link/") {
		t.Errorf("/link: %+v", r)
	}
}
