//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/wait"
)

// The sizes the frame is checked at: a phone and a desktop.
var signInSizes = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"phone", 360, 780, true},
	{"desktop", 1280, 800, false},
}

// TestSignInCode: while the app loads, go-app's loader covers neither the
// navigation nor the connection status, on a phone and a desktop. The
// cursor is in the address field, and in the code field once a code is
// sent. A code request that never gets an answer (a socket that neither
// opens nor closes) keeps the form busy until its deadline: a second
// press does nothing, and then the form says what happened and asks
// again successfully. Asking for a new code at once is refused by the
// relay: the form says so and counts down, with the button off, until it
// may ask again. Going back to the address puts the cursor there.
func TestSignInCode(t *testing.T) {
	exe := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	p := newProfile(t, exe, r.url(), "signin")

	p.loaderClear()

	p.open("/")
	p.waitFocus("address", "the address field on the first screen")

	const address = "signin@example.org"
	eval[bool](p, hangSocketsJS)
	p.fill("address", address)
	p.do(stepTimeout, "ask for a code", chromedp.Click(chromedp.ID("send-code")))
	waitJS[bool](p, stepTimeout, "the form to say it is sending",
		`document.querySelector('#send-code')?.disabled && document.querySelector('#send-code').innerText === 'Sending…'`)
	// A second press while the first waits: submitting the form again.
	eval[bool](p, `(document.querySelector('#address').form.requestSubmit(), true)`)
	waitJS[bool](p, messageTimeout, "the form to give up on the request that never returns",
		`(document.querySelector('#onboarding-error')?.innerText ?? '').includes('took too long') && !document.querySelector('#send-code').disabled`)
	if n := eval[int](p, `window.mutualTestSockets`); n != 1 {
		t.Errorf("two presses opened %d connections, want 1", n)
	}
	if got := eval[string](p, `document.querySelector('#send-code').innerText`); got != "Send code" {
		t.Errorf("after the deadline the button says %q", got)
	}

	eval[bool](p, `(window.WebSocket = window.mutualRealWebSocket, true)`)
	p.do(stepTimeout, "ask for a code again",
		chromedp.Click(chromedp.ID("send-code")),
		chromedp.WaitVisible(chromedp.ID("code")),
	)
	p.waitFocus("code", "the code field once a code is sent")
	if ph := eval[string](p, `document.querySelector('#code').placeholder`); len(ph) != 8 {
		t.Errorf("the code field hints %q, want 8 digits", ph)
	}

	p.do(stepTimeout, "ask for a new code at once", chromedp.Click(chromedp.ID("resend-code")))
	first := waitJS[string](p, stepTimeout, "the wait before another code",
		`(() => { const w = document.querySelector('#retry-wait');
		  return w && w.innerText.startsWith('You asked for a code a moment ago; you can ask for another in')
		    && document.querySelector('#resend-code').disabled ? w.querySelector('.countdown').innerText : ''; })()`)
	if !strings.HasPrefix(first, "0:") {
		t.Errorf("the countdown shows %q", first)
	}
	if strings.Contains(eval[string](p, `document.body.innerText`), "Too many attempts") {
		t.Errorf("a refused code request says there were too many attempts")
	}
	waitJS[bool](p, stepTimeout, "the countdown to move",
		fmt.Sprintf(`(document.querySelector('#retry-wait .countdown')?.innerText ?? %s) !== %s`, js(first), js(first)))
	waitJS[bool](p, messageTimeout, "the wait to end",
		`!document.querySelector('#retry-wait') && !document.querySelector('#resend-code').disabled`)

	p.do(stepTimeout, "go back to the address", chromedp.Click(chromedp.ID("change-address")))
	p.waitFocus("address", "the address field after going back")

	p.register(r, "signin.other@example.org")
}

// TestSignInAndOut: with a message unread, the tab's title counts it and
// the installed app's badge shows it; both clear once it is read. Escape
// leaves an open chat alone on a desktop and goes back to the chats list
// on a phone. An unknown address gets the app's own not-found page, from
// the relay with status 404 and in the app with its navigation and a
// way home. On the account's only device, the settings say that signing
// out erases the chats for good and offer to export them first: the file
// the browser saves holds the conversation; signing out then leads back
// to onboarding, with the cursor in the address field.
func TestSignInAndOut(t *testing.T) {
	exe := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	alice := newProfile(t, exe, r.url(), "alice")
	alice.register(r, aliceAddress)
	eval[bool](alice, recordBadgeJS)

	bob := newSeeder(t, r, "email:"+bobAddress)
	bob.greet("email:"+aliceAddress, "Hello Alice")
	bobID := bob.me.String()
	waitJS[bool](alice, messageTimeout, "the unread message in the title and on the badge",
		`document.title === '(1) Mutual' && window.mutualTestBadge === 1`)
	alice.acceptRequest(bobID)
	alice.openChat(bobID)
	alice.waitIncoming("Hello Alice")
	waitJS[bool](alice, messageTimeout, "the title and the badge to clear once read",
		`document.title === 'Mutual' && window.mutualTestBadge === 0`)

	// A desktop keeps the chat open on Escape: the message sent after it
	// is sent from the same chat.
	alice.do(stepTimeout, "press Escape on a desktop", chromedp.KeyEvent(kb.Escape))
	alice.send("Hi Bob")
	if path := eval[string](alice, `location.pathname`); path != "/chat/"+bobID {
		t.Errorf("after Escape on a desktop the app is at %s, want the chat", path)
	}
	alice.emulate(360, 780, true, "light")
	alice.do(stepTimeout, "press Escape on a phone", chromedp.KeyEvent(kb.Escape))
	waitJS[bool](alice, stepTimeout, "the chats list after Escape on a phone",
		`location.pathname === '/' && !!document.querySelector('#chats')?.checkVisibility()`)

	for _, size := range signInSizes {
		alice.emulate(size.width, size.height, size.mobile, "light")
		alice.notFound()
	}

	downloads := t.TempDir()
	alice.do(stepTimeout, "save downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		})
		return err
	}))
	alice.goTo("/settings")
	waitJS[bool](alice, messageTimeout, "the settings to say this is the only device",
		`(document.querySelector('#sign-out-hint')?.innerText ?? '').startsWith('This is your only device: signing out erases your chats from it for good.')`)
	alice.do(stepTimeout, "export the chats", chromedp.Click(chromedp.ID("export")))
	link := waitJS[string](alice, stepTimeout, "the exported file's link",
		`(() => { const a = document.querySelector('#export-download');
		  return a && a.href.startsWith('blob:') && a.download.endsWith('.json') ? a.download : ''; })()`)
	a := readExport(t, filepath.Join(downloads, link))
	if len(a.Conversations) != 1 {
		t.Fatalf("the export holds %d conversations, want 1", len(a.Conversations))
	}
	var texts []string
	for _, m := range a.Conversations[0].Messages {
		texts = append(texts, m.From+": "+m.Text)
	}
	if len(texts) != 2 || !strings.HasSuffix(texts[0], ": Hello Alice") || texts[1] != "me: Hi Bob" {
		t.Errorf("the exported conversation is %q", texts)
	}

	alice.askSignOut()
	if got := eval[string](alice, `document.querySelector('#confirm-text').innerText`); !strings.Contains(got, "This is your only device") || strings.Contains(got, "not affected") {
		t.Errorf("the confirmation says %q", got)
	}
	if !eval[bool](alice, `!!document.querySelector('#confirm-dialog #confirm-export')`) {
		t.Errorf("the confirmation does not offer to export the chats")
	}
	alice.do(stepTimeout, "confirm signing out", chromedp.Click(chromedp.ID("confirm-sign-out")))
	alice.waitOnboarding("onboarding after signing out")
	alice.waitFocus("address", "the address field after signing out")
}

// hangSocketsJS replaces the page's WebSocket with one that never opens,
// fails or closes, as a network that swallows the connection does, and
// counts the connections asked for. mutualRealWebSocket keeps the real
// one.
const hangSocketsJS = `(() => {
  window.mutualRealWebSocket ??= window.WebSocket;
  window.mutualTestSockets = 0;
  window.WebSocket = function () {
    window.mutualTestSockets++;
    return {binaryType: 'blob', protocol: '', readyState: 0,
      addEventListener() {}, removeEventListener() {}, close() {}, send() {}};
  };
  return true;
})()`

// recordBadgeJS stands in for the Badging API, which only installed apps
// have: it records the badge in mutualTestBadge.
const recordBadgeJS = `(() => {
  window.mutualTestBadge = 0;
  navigator.setAppBadge = (n) => { window.mutualTestBadge = n; return Promise.resolve(); };
  navigator.clearAppBadge = () => { window.mutualTestBadge = 0; return Promise.resolve(); };
  return true;
})()`

// loaderCoversJS names what go-app's loader covers of the navigation and
// the connection status, or says why it cannot be measured.
const loaderCoversJS = `(() => {
  const l = document.getElementById('app-wasm-loader');
  if (!l) return 'no loader';
  const r = l.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) return 'the loader is not shown';
  const covered = [...document.querySelectorAll('.tabs .tab, #status')].filter((e) => {
    const o = e.getBoundingClientRect();
    return o.width > 0 && o.height > 0 && r.left < o.right && o.left < r.right && r.top < o.bottom && o.top < r.bottom;
  });
  return covered.map((e) => '#' + e.id).join(' ');
})()`

// loaderClear loads the app with its WebAssembly blocked, so that
// go-app's loader stays, and checks at each size that it covers neither
// the navigation nor the status. The block is lifted at the end.
func (p *profile) loaderClear() {
	p.t.Helper()
	block := func(patterns ...*network.BlockPattern) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			_, err := cdp.Call(ctx, t, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns})
			return err
		})
	}
	p.do(stepTimeout, "block the app's WebAssembly", block(&network.BlockPattern{URLPattern: "*://*:*/*app.wasm*", Block: true}))
	p.do(stepTimeout, "load the page", chromedp.Navigate(p.base+"/"))
	for _, size := range signInSizes {
		p.emulate(size.width, size.height, size.mobile, "light")
		waitJS[bool](p, stepTimeout, "the loader on a "+size.name,
			`!!document.getElementById('app-wasm-loader')?.checkVisibility() && !!document.querySelector('#nav-contacts')?.checkVisibility()`)
		if got := eval[string](p, loaderCoversJS); got != "" {
			p.t.Errorf("on a %s the loader covers %s", size.name, got)
		}
	}
	p.do(stepTimeout, "unblock the app's WebAssembly", block())
}

// waitFocus waits until the element with the ID has the focus.
func (p *profile) waitFocus(id, what string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, what, fmt.Sprintf(`document.activeElement?.id === %s`, js(id)))
}

// notFound checks an address the app does not have: the relay answers it
// with status 404 and the app's own page; loaded, the app shows it in its
// frame, navigation included, with a link home that leads to the chats.
func (p *profile) notFound() {
	p.t.Helper()
	const path = "/no-such-page"
	got := eval[string](p, fmt.Sprintf(`fetch(%s, {cache: 'no-store'}).then(async (r) => r.status + ' ' + (await r.text()).includes('Page not found'))`, js(path)))
	if got != "404 true" {
		p.t.Errorf("the relay answers %s with %q, want status 404 and the not-found page", path, got)
	}
	p.open(path)
	waitJS[bool](p, stepTimeout, "the app's not-found page",
		`!!document.querySelector('#not-found h1')?.checkVisibility() && !!document.querySelector('#nav-chats')?.checkVisibility()
		  && document.title === 'Page not found · Mutual'`)
	p.click("not-found-home")
	p.waitNavigated(stepTimeout, "the chats list", `location.pathname === '/' && !!document.querySelector('#chats')`)
}

// readExport waits for the browser to save the exported file at path and
// reads it.
func readExport(t *testing.T, path string) client.Archive {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	var b []byte
	err := wait.Until(ctx, func() bool {
		var err error
		b, err = os.ReadFile(path)
		return err == nil && json.Valid(b)
	})
	if err != nil {
		entries, _ := os.ReadDir(filepath.Dir(path))
		t.Fatalf("the browser did not save %s: %v (the directory holds %v)", path, err, entries)
	}
	var a client.Archive
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("the exported file: %v", err)
	}
	return a
}
