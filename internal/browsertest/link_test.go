//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestLink: Ann, who chats with Ben, links a new device from the one she
// has. The new device (a phone, 360 px wide) shows a QR code, which
// zbarimg reads back as the page's link text, and the short code; Ann
// types the code in lower case in her settings, with her history. The
// new device opens on her chats, Ben's message and hers among them, and
// what it sends reaches Ben. Then someone signs in to Ann's account with
// an email code alone, from a third browser: that device waits for
// approval, Ann's phone asks her about it with a banner, she approves it,
// and it opens on the chats; another is refused, after a question, and
// leaves the account's list of devices.
func TestLink(t *testing.T) {
	if _, err := exec.LookPath("zbarimg"); err != nil {
		t.Fatalf("zbarimg is missing (scripts/deps.sh test installs zbar-tools): %v", err)
	}
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	dir := screenshotDir(t)

	ann := newProfile(t, browser, r.url(), "ann")
	ben := newProfile(t, browser, r.url(), "ben")
	const annAddress, benAddress = "ann@example.org", "ben@example.org"
	ann.register(r, annAddress)
	ann.setName("Ann")
	ben.register(r, benAddress)
	ben.setName("Ben")
	annID := ben.addContact(annAddress)
	ben.openChat(annID)
	ben.send("Hello Ann, from Ben")
	benID := ann.requestFrom()
	ann.acceptRequest(benID)
	ann.openChat(benID)
	ann.waitIncoming("Hello Ann, from Ben")
	ann.send("Hi Ben, from Ann's first device")

	// The new device shows the code, on a phone.
	phone := newProfile(t, browser, r.url(), "ann-phone")
	phone.emulate(360, 780, true, "light")
	phone.open("/")
	phone.click("link-instead")
	code := waitJS[string](phone, stepTimeout, "the link code", `document.querySelector('#link-code')?.textContent ?? ''`)
	if len(strings.ReplaceAll(code, "-", "")) != 12 {
		t.Fatalf("link code %q", code)
	}
	qrText := eval[string](phone, `document.querySelector('#link-qr')?.dataset.qr ?? ''`)
	if got := phone.readQR("link-qr"); got != qrText || !strings.HasPrefix(got, "mutual-link:") {
		t.Errorf("the QR code reads %q; the page's link text is %q", got, qrText)
	}
	phone.checkWhole("phone: the link code", `document.querySelector('#link-code')`)
	phone.checkFit("the link page")
	saveScreenshot(t, dir, "link-new-device-phone.png", phone.screenshot())

	// Ann types it, in lower case, in her settings.
	ann.goTo("/settings")
	ann.fill("link-code-input", strings.ToLower(code))
	if !eval[bool](ann, `document.querySelector('#link-history').checked`) {
		t.Error("history is not sent by default")
	}
	eval[bool](ann, `(document.querySelector('#link-device').scrollIntoView({block: 'center'}), true)`)
	saveScreenshot(t, dir, "link-settings-desktop.png", ann.screenshot())
	ann.click("link-submit")
	linked := waitJS[string](ann, messageTimeout, "the linked device", `(() => {
	  const e = document.querySelector('#link-error')?.innerText ?? '';
	  if (e !== '') return 'error: ' + e;
	  return document.querySelector('#link-result')?.innerText ?? '';
	})()`)
	if !strings.HasPrefix(linked, "Linked: ") {
		ann.fatalf("linking: %s", linked)
	}
	waitJS[bool](ann, stepTimeout, "the linked device in the list, marked", `[...document.querySelectorAll('#devices li.device')].some((d) => d.querySelector('.badge-linked')?.innerText === 'Linked')`)

	// The phone has Ann's history, and writes to Ben.
	phone.waitNavigated(messageTimeout, "the chats on the new device", `location.pathname === '/' && !!document.querySelector('#chats')`)
	phone.waitOnline()
	phone.openChat(benID)
	phone.waitTexts("Hello Ann, from Ben", "Hi Ben, from Ann's first device")
	phone.send("Hello Ben, from Ann's phone")
	ben.openChat(annID)
	ben.waitIncoming("Hello Ben, from Ann's phone")

	// A sign-in by email code alone waits for approval.
	other := newProfile(t, browser, r.url(), "ann-other")
	other.signInHeld(r, annAddress)
	phone.goTo("/")
	device := waitJS[string](phone, messageTimeout, "the banner asking about the new device",
		`document.querySelector('#approvals .banner-approval')?.dataset.device ?? ''`)
	if got := eval[string](phone, `document.querySelector('#approvals .banner-approval p').innerText`); !strings.Contains(got, "with an email code. Was it you?") {
		t.Errorf("the banner says %q", got)
	}
	phone.checkWhole("phone: the approval banner", `document.querySelector('#approvals .banner-approval')`)
	saveScreenshot(t, dir, "device-approval-phone.png", phone.screenshot())
	phone.click("approve-" + device)
	approved := device
	waitJS[bool](phone, stepTimeout, "the banner to go", `!document.querySelector('#approvals .banner-approval')`)
	other.waitNavigated(messageTimeout, "the chats on the approved device", `!!document.querySelector('#chats') && !document.querySelector('#held')`)
	other.waitOnline()

	// Another one is refused, after a question.
	stranger := newProfile(t, browser, r.url(), "stranger")
	stranger.signInHeld(r, annAddress)
	device = waitJS[string](phone, messageTimeout, "the banner asking about the stranger's device",
		`document.querySelector('#approvals .banner-approval')?.dataset.device ?? ''`)
	phone.click("refuse-" + device)
	phone.click("confirm-refuse")
	waitJS[bool](phone, stepTimeout, "the banner to go", `!document.querySelector('#approvals .banner-approval')`)
	phone.goTo("/settings")
	waitJS[bool](phone, messageTimeout, "the refused device gone from the list, the approved one there", fmt.Sprintf(
		`!!document.querySelector('#devices li.device[data-device="%s"]') && !document.querySelector('#devices li.device[data-device="%s"]') && !document.querySelector('#devices .device-pending')`,
		approved, device))
}

// signInHeld signs in with address by email code alone, on an account
// that has a device in use, and waits for the page of a held device.
func (p *profile) signInHeld(r *relay, address string) {
	p.t.Helper()
	p.open("/")
	p.askCode(address)
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	code, err := r.mail.WaitCode(ctx, address)
	cancel()
	if err != nil {
		p.fatalf("read the code: %v", err)
	}
	p.fill("code", code)
	p.click("verify")
	waitJS[bool](p, messageTimeout, "the page of a device waiting for approval",
		`(document.querySelector('#held h1')?.innerText ?? '') === 'Waiting for approval'`)
}

// readQR screenshots the element with the ID and returns the text
// zbarimg reads from the QR code in it.
func (p *profile) readQR(id string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.ID(id), 2))
	if err != nil {
		p.fatalf("screenshot #%s: %v", id, err)
	}
	path := filepath.Join(p.t.TempDir(), id+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		p.t.Fatal(err)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", path).Output()
	if err != nil {
		p.fatalf("zbarimg found no QR code in #%s: %v", id, err)
	}
	return strings.TrimRight(string(out), "\n")
}

// askCode asks onboarding for a code to address, waiting as long as the
// relay asks when a code went to the same address a short while before
// (see signInAgain).
func (p *profile) askCode(address string) {
	p.t.Helper()
	p.fill("address", address)
	for {
		p.click("send-code")
		got := waitJS[string](p, stepTimeout, "a code or a wait", `(() => {
		  if (document.querySelector('#code')) return 'code';
		  if (document.querySelector('#retry-wait')) return 'wait';
		  const e = document.querySelector('#onboarding-error')?.innerText ?? '';
		  return e === '' ? '' : 'error: ' + e;
		})()`)
		if got == "code" {
			return
		}
		if got != "wait" {
			p.fatalf("ask for a code: %s", got)
		}
		waitJS[bool](p, messageTimeout, "the wait the relay asked for",
			`!document.querySelector('#retry-wait') && !document.getElementById('send-code')?.disabled`)
	}
}
