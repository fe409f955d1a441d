//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mutualcoop/mutual/relay/wire"
)

// The people of TestLayout.
const (
	danaAddress = "dana@example.org"
	erinAddress = "email:erin@example.org"
)

// TestLayout visits every screen of the app on a 360×740 phone, with the
// browser's text size at its default and at 200% (a default font size of
// 32 px): welcome, code entry, contacts with a request, the request,
// the chats list, a chat with messages, contacts, settings, the safety
// number, and, after the contact's safety number changed, the chat with
// its banner and the safety screen with its accept button. Text follows
// the browser's text size, nothing is wider than the screen and the
// headers do not clip their text. On the way: a photo pasted or dropped
// into the chat says plainly that it cannot be sent yet (and a drop does
// not open the file), pasted text pastes; the safety screen scans the
// contact's code where the browser has a BarcodeDetector (a stand-in
// here, and a canvas for the camera), says it cannot where it has none,
// and marks the contact verified, shown in the chat's header until their
// safety number changes.
func TestLayout(t *testing.T) {
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	dana := newProfile(t, browser, r.url(), "dana")
	dana.emulate(360, 740, true, "light")

	dana.open("/")
	dana.checkFit("welcome")
	dana.fill("address", danaAddress)
	dana.do(stepTimeout, "ask for a code",
		chromedp.Click(chromedp.ID("send-code")),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	dana.checkFit("code entry")
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	code, err := r.mail.WaitCode(ctx, danaAddress)
	cancel()
	if err != nil {
		t.Fatalf("read the code: %v", err)
	}
	dana.fill("code", code)
	dana.do(stepTimeout, "verify the code",
		chromedp.Click(chromedp.ID("verify")),
		chromedp.WaitReady(chromedp.ID("chats")),
	)
	dana.waitOnline()
	dana.setName("Dana")

	erin := newSeeder(t, r, erinAddress)
	erin.setName("Erin")
	erin.greet("email:"+danaAddress, "Hello Dana, it's Erin")
	erinID := erin.me.String()
	if got := dana.requestFrom(); got != erinID {
		t.Fatalf("a request from %s, want Erin %s", got, erinID)
	}
	dana.checkFit("contacts with a request")
	dana.openChat(erinID)
	dana.do(stepTimeout, "the request's answers", chromedp.WaitVisible(chromedp.CSS(".request-bar button.accept")))
	dana.checkFit("a request")
	dana.acceptRequest(erinID)

	dana.openChat(erinID)
	dana.waitIncoming("Hello Dana, it's Erin")
	dana.send("Hello Erin! Here is the link: https://example.org/" + strings.Repeat("long-path-", 12))
	dana.send(strings.Repeat("Long message that wraps over several lines. ", 6))
	dana.checkFit("a chat with messages")
	dana.pasteAndDrop()

	dana.goTo("/")
	waitJS[bool](dana, stepTimeout, "the chats list", `document.querySelectorAll('#chats li.chat').length > 0`)
	dana.checkFit("chats list")
	dana.goTo("/contacts")
	dana.checkFit("contacts")
	dana.goTo("/settings")
	waitJS[bool](dana, messageTimeout, "the devices", `document.querySelectorAll('#devices li.device').length > 0`)
	dana.checkFit("settings")

	// Without a BarcodeDetector the safety screen says it cannot scan.
	noDetector := dana.onNewDocument(`Object.defineProperty(window, 'BarcodeDetector', {value: undefined, configurable: true});`)
	dana.open("/safety/" + erinID)
	dana.waitSafetyNumber()
	dana.checkFit("safety number")
	if got := eval[string](dana, `document.querySelector('#scan-unavailable')?.innerText ?? ''`); !strings.Contains(got, "can't scan codes") {
		t.Errorf("without a BarcodeDetector the safety screen says %q, not that it cannot scan", got)
	}
	if eval[bool](dana, `!!document.querySelector('#scan-code')`) {
		t.Errorf("a scan button without a BarcodeDetector")
	}
	dana.removeOnNewDocument(noDetector)

	// With one, Dana scans Erin's code: a QR code of something else
	// first, which is not taken for it.
	detector := dana.onNewDocument(fakeScanner("https://example.org/", erin.safetyCode(erin.peer)))
	dana.open("/safety/" + erinID)
	dana.waitSafetyNumber()
	if eval[bool](dana, `!!document.querySelector('#scan-unavailable')`) {
		t.Errorf("with a BarcodeDetector the safety screen says it cannot scan")
	}
	dana.do(stepTimeout, "scan Erin's code", chromedp.Click(chromedp.ID("scan-code")))
	waitJS[bool](dana, stepTimeout, "the verified mark after a matching scan",
		`(document.querySelector('#verified-status')?.innerText ?? '').includes('Marked as verified')`)
	if n := eval[int](dana, `window.scanSeen`); n < 2 {
		t.Errorf("the scan stopped after %d codes, want the other one skipped and Erin's matched", n)
	}
	if eval[bool](dana, `(() => { const v = document.querySelector('#scan-video'); return !!v && (!v.hidden || !!v.srcObject); })()`) {
		t.Errorf("the camera is still on after the match")
	}
	dana.checkFit("safety number, verified")
	dana.removeOnNewDocument(detector)
	dana.openChat(erinID)
	waitJS[bool](dana, stepTimeout, "the verified mark in the chat's header", `!!document.querySelector('.conv-head #verified-mark')`)

	// Erin's safety number changes (a second device, signed in by code
	// and approved from her first); Dana learns it when she writes.
	erin.approve(newSeeder(t, r, erinAddress))
	dana.fill("composer", "Are you there?")
	dana.do(stepTimeout, "send", chromedp.SendKeys(chromedp.ID("composer"), "\r"))
	dana.do(messageTimeout, "the safety number banner", chromedp.WaitVisible(chromedp.CSS(".conv-banner")))
	waitJS[bool](dana, stepTimeout, "the verified mark to go", `!document.querySelector('#verified-mark')`)
	dana.checkFit("a chat with the safety banner")
	dana.goTo("/safety/" + erinID)
	dana.do(stepTimeout, "the accept button", chromedp.WaitVisible(chromedp.ID("accept-identity")))
	dana.checkFit("a changed safety number")
	if got := eval[string](dana, `document.querySelector('#verified-status')?.innerText ?? ''`); strings.Contains(got, "Marked as verified") {
		t.Errorf("still marked verified after the safety number changed: %q", got)
	}
	// Compared aloud: Mark as verified also accepts the new number.
	dana.do(stepTimeout, "mark verified", chromedp.Click(chromedp.ID("mark-verified")))
	waitJS[bool](dana, stepTimeout, "the verified mark",
		`(document.querySelector('#verified-status')?.innerText ?? '').includes('Marked as verified') && !document.querySelector('#accept-identity')`)
	dana.openChat(erinID)
	waitJS[bool](dana, stepTimeout, "the chat without the banner, with the mark",
		`!document.querySelector('.conv-banner') && !!document.querySelector('#verified-mark')`)
}

// waitSafetyNumber waits for the safety screen's first number.
func (p *profile) waitSafetyNumber() {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "the safety number",
		`(document.querySelector('#safety-number')?.innerText ?? '').replace(/\s/g, '').length === 60`)
}

// setName sets the name the seeder shows its contacts.
func (s *seeder) setName(name string) {
	s.t.Helper()
	if err := s.c.SetProfileName(context.Background(), name); err != nil {
		s.t.Fatalf("seeder: set the profile name: %v", err)
	}
}

// safetyCode is the text a QR code reader gives for the code the seeder's
// safety screen shows for its one number with peer: the scannable
// payload, one character per byte (ISO-8859-1).
func (s *seeder) safetyCode(peer wire.UserID) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	nums, err := s.c.SafetyNumbers(ctx, peer)
	if err != nil || len(nums) != 1 {
		s.t.Fatalf("seeder: safety numbers: %v %v", nums, err)
	}
	var b strings.Builder
	for _, c := range nums[0].Fingerprint.Scannable() {
		b.WriteRune(rune(c))
	}
	return b.String()
}

// fakeScanner is a script that gives the page a BarcodeDetector which
// "reads" each code of codes in turn, the last one over and over, and
// counts them in window.scanSeen, and a camera that is a canvas.
func fakeScanner(codes ...string) string {
	list := make([]string, len(codes))
	for i, c := range codes {
		list[i] = js(c)
	}
	// The page reads the camera's picture only once it has one.
	return fmt.Sprintf(`(() => {
  const codes = [%s];
  window.scanSeen = 0;
  window.BarcodeDetector = class {
    static async getSupportedFormats() { return ['qr_code']; }
    constructor(opts) { this.formats = opts?.formats ?? []; }
    async detect(source) {
      if (!(source instanceof HTMLVideoElement) || !source.srcObject) throw new DOMException('no picture', 'InvalidStateError');
      const i = Math.min(window.scanSeen, codes.length - 1);
      window.scanSeen++;
      return [{format: 'qr_code', rawValue: codes[i], boundingBox: new DOMRectReadOnly(0, 0, 10, 10), cornerPoints: []}];
    }
  };
  navigator.mediaDevices.getUserMedia = async () => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 64;
    c.getContext('2d').fillRect(0, 0, 64, 64);
    return c.captureStream();
  };
})();`, strings.Join(list, ", "))
}

// onNewDocument runs script in every document the profile opens from now
// on, before the page's own scripts, and returns its identifier.
func (p *profile) onNewDocument(script string) page.ScriptIdentifier {
	p.t.Helper()
	var id page.ScriptIdentifier
	p.do(stepTimeout, "add a script", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		res, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		if err == nil {
			id = res.Identifier
		}
		return err
	}))
	return id
}

// removeOnNewDocument stops running a script of onNewDocument.
func (p *profile) removeOnNewDocument(id page.ScriptIdentifier) {
	p.t.Helper()
	p.do(stepTimeout, "remove a script", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: id})
		return err
	}))
}

// setTextSize sets the browser's default font size (its text size
// setting; 16 px is the default) and waits until the page has it.
func (p *profile) setTextSize(px int64) {
	p.t.Helper()
	p.do(stepTimeout, "set the text size", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.SetFontSizes, page.SetFontSizesParams{FontSizes: &page.FontSizes{Standard: px, Fixed: px * 13 / 16}})
		return err
	}))
	waitJS[bool](p, stepTimeout, fmt.Sprintf("a default font size of %dpx", px),
		fmt.Sprintf(`getComputedStyle(document.documentElement).fontSize === '%dpx'`, px))
}

// fitJS lists what does not fit a phone's screen: the page wider than the
// viewport; an element wider than it; a control (button, input, select,
// textarea, link styled as a button) not wholly inside it; a header's
// title or status clipped (its text wider or taller than its box) or a
// header taller than its box.
const fitJS = `(() => {
  const vw = window.innerWidth, out = [];
  const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '');
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden' && !e.closest('.sr-only');
  if (document.documentElement.scrollWidth > vw) out.push('the page is ' + document.documentElement.scrollWidth + 'px wide');
  for (const e of document.querySelectorAll('body *')) {
    if (!shown(e) || e.closest('svg') && e.tagName.toLowerCase() !== 'svg') continue;
    const r = e.getBoundingClientRect();
    if (r.width > vw + 0.5) out.push(name(e) + ' is ' + Math.round(r.width) + 'px wide');
  }
  for (const e of document.querySelectorAll('button, input, select, textarea, a.button, a.icon-button, a.tab')) {
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.left < -0.5 || r.right > vw + 0.5) out.push(name(e) + ' spans ' + Math.round(r.left) + ' to ' + Math.round(r.right) + 'px');
  }
  for (const e of document.querySelectorAll('.topbar .brand, .topbar .status, .conv-title h1, .conv-sub, .page-head h1, .pane-title')) {
    if (!shown(e)) continue;
    if (e.scrollWidth > e.clientWidth + 1) out.push(name(e) + ' clips its text: ' + e.scrollWidth + ' in ' + e.clientWidth + 'px');
    if (e.scrollHeight > e.clientHeight + 1 && getComputedStyle(e).overflow !== 'visible') out.push(name(e) + ' clips its text: ' + e.scrollHeight + 'px high in ' + e.clientHeight + 'px');
  }
  for (const e of document.querySelectorAll('.topbar, .conv-head, .page-head, .pane-head')) {
    if (!shown(e)) continue;
    for (const c of e.children) {
      if (!shown(c)) continue;
      const r = c.getBoundingClientRect(), h = e.getBoundingClientRect();
      if (r.top < h.top - 0.5 || r.bottom > h.bottom + 0.5) out.push(name(c) + ' sticks out of ' + name(e));
    }
  }
  return out;
})()`

// checkFit checks the screen on show at the default text size and at
// 200%: text follows the browser's text size and everything fits (see
// fitJS). It leaves the text size at its default.
func (p *profile) checkFit(screen string) {
	p.t.Helper()
	for _, px := range []int64{16, 32} {
		p.setTextSize(px)
		if got := eval[string](p, `getComputedStyle(document.body).fontSize`); got != fmt.Sprintf("%dpx", px) {
			p.t.Errorf("%s, text size %dpx: body text is %s: it does not follow the browser's text size", screen, px, got)
		}
		if bad := eval[[]string](p, fitJS); len(bad) > 0 {
			p.t.Errorf("%s at 360px, text size %dpx, does not fit:\n  %s", screen, px, strings.Join(bad, "\n  "))
		}
	}
	p.setTextSize(16)
}

// pasteAndDrop pastes a photo into the open chat's composer, and drops
// one on the conversation: each waits in the tray above the composer
// (its remove button takes it out again) and neither is left to the
// browser; pasted text is.
func (p *profile) pasteAndDrop() {
	p.t.Helper()
	const withFile = `const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'photo.png', {type: 'image/png'}));`
	left := eval[bool](p, `(() => { `+withFile+`
  return document.querySelector('#composer').dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
})()`)
	if left {
		p.t.Errorf("a pasted photo is left to the browser")
	}
	waitJS[bool](p, stepTimeout, "the tray after a paste", `!!document.querySelector('#attach-tray .tray-item[data-name="photo.png"]')`)
	p.checkFit("a chat with a file in the tray")
	p.removeFromTray()

	path := eval[string](p, `location.href`)
	left = eval[bool](p, `(() => { `+withFile+`
  const m = document.querySelector('#messages');
  const over = m.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
  const drop = m.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
  return over || drop;
})()`)
	if left {
		p.t.Errorf("a photo dragged over or dropped on the chat is left to the browser, which opens it")
	}
	waitJS[bool](p, stepTimeout, "the tray after a drop", `!!document.querySelector('#attach-tray .tray-item[data-name="photo.png"]')`)
	if got := eval[string](p, `location.href`); got != path {
		p.t.Errorf("after the drop the page is at %s, was %s", got, path)
	}
	p.removeFromTray()

	left = eval[bool](p, `(() => { const dt = new DataTransfer(); dt.setData('text/plain', 'pasted words');
  return document.querySelector('#composer').dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
})()`)
	if !left {
		p.t.Errorf("pasted text is not left to the browser to paste")
	}
	if eval[bool](p, `!!document.querySelector('#attach-tray')`) {
		p.t.Errorf("pasted text goes to the tray")
	}
}

// removeFromTray takes the file out of the tray with its remove button.
func (p *profile) removeFromTray() {
	p.t.Helper()
	p.do(stepTimeout, "remove the file from the tray", chromedp.Click(chromedp.CSS("#attach-tray .tray-remove")))
	waitJS[bool](p, stepTimeout, "the tray to go", `!document.querySelector('#attach-tray')`)
}
