//go:build browser

package browsertest

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/pushtest"
	"github.com/mutualcoop/mutual/internal/wait"
)

const (
	pushAnaAddress  = "ana@example.org"
	pushBoAddress   = "email:bo@example.org"
	pushCyAddress   = "email:cy@example.org"
	pushNoteTimeout = messageTimeout
)

// TestPush: notifications on a phone. Settings → Notifications explains
// what the relay and the push service learn, and is off where the relay
// sends none; a chat is muted from its header, for an hour or for good,
// and marked so in the chats list. On a relay that sends pushes (to the
// push service stand-in, internal/pushtest, which the browser's
// PushManager is made to subscribe to), turning notifications on
// subscribes; a message while the app is closed is pushed, encrypted;
// handed to the service worker (as the push service would), it shows
// "New message from …", one notification per chat, and opening it opens
// that chat; with the app in front nothing shows; a muted chat's
// messages push nothing.
func TestPush(t *testing.T) {
	start := time.Now()
	phase := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	exe := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)
	dir := screenshotDir(t)
	st := pushtest.New(t)
	// The relay trusts the stand-in's certificate from a directory
	// (SSL_CERT_DIR), besides the mail server's (SSL_CERT_FILE).
	certs := t.TempDir()
	if err := os.WriteFile(filepath.Join(certs, "push-service.pem"), st.CertificatePEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	pr := startRelayWith(t, app.mutual, app.web, func(string) (args, env []string) {
		return []string{"--push-subject", "mailto:ops@example.org", "--push-hosts", st.Host()}, []string{"SSL_CERT_DIR=" + certs}
	})

	ana := newProfile(t, exe, r.url(), "ana")
	ana.emulate(360, 740, true, "light")
	ana.register(r, "email:"+pushAnaAddress)
	ana.setName("Ana")
	bo := newSeeder(t, r, pushBoAddress)
	bo.greet("email:"+pushAnaAddress, "Hello Ana, it's Bo")
	boID := bo.me.String()
	ana.acceptRequest(boID)
	boConv := client.DirectConversation(bo.me, bo.peer)

	phase("the settings say what notifications reveal; this relay sends none")
	ana.goTo("/settings")
	waitJS[bool](ana, stepTimeout, "the notifications card",
		`(document.querySelector('#notifications-unavailable')?.innerText ?? '').includes('This relay does not send notifications')`)
	if !eval[bool](ana, `document.querySelector('#notifications-switch').disabled`) {
		t.Error("the switch is on offer where the relay sends no notifications")
	}
	hint := eval[string](ana, `document.querySelector('#notifications-hint').innerText`)
	if !strings.Contains(hint, "never what, nor from whom") {
		t.Errorf("the card does not say what the relay learns: %q", hint)
	}
	ana.checkFit("notification settings")

	phase("Ana mutes Bo's chat for an hour, then for good, then not")
	ana.openChat(boID)
	ana.mute("mute-1h")
	if label := eval[string](ana, `document.querySelector('#mute-button').getAttribute('aria-label')`); !strings.HasPrefix(label, "Muted until ") {
		t.Errorf("muted for an hour, the button says %q", label)
	}
	ana.goTo("/")
	ana.waitMutedMark(boID, true)
	ana.openChat(boID)
	ana.mute("mute-always")
	waitJS[bool](ana, stepTimeout, "muted for good", `document.querySelector('#mute-button').getAttribute('aria-label') === 'Muted'`)
	ana.reload()
	waitJS[bool](ana, stepTimeout, "still muted after a reload", `document.querySelector('#mute-button')?.getAttribute('aria-label') === 'Muted'`)
	ana.mute("unmute")
	waitJS[bool](ana, stepTimeout, "unmuted", `document.querySelector('#mute-button').getAttribute('aria-label') === 'Mute notifications'`)
	ana.goTo("/")
	ana.waitMutedMark(boID, false)

	phase("on a relay that sends them, Ana turns notifications on, with names")
	sub := st.Subscribe(t)
	ana = newProfile(t, exe, pr.url(), "ana")
	ana.emulate(360, 740, true, "light")
	ana.onNewDocument(fakePushManager(sub.Endpoint, sub.P256dh, sub.Auth))
	ana.register(pr, "email:"+pushAnaAddress)
	bo = newSeeder(t, pr, pushBoAddress)
	bo.greet("email:"+pushAnaAddress, "Hello Ana, it's Bo")
	boID = bo.me.String()
	boConv = client.DirectConversation(bo.me, bo.peer)
	ana.acceptRequest(boID)
	ana.allowNotifications()
	ana.goTo("/settings")
	ana.click("notifications-switch")
	waitJS[bool](ana, stepTimeout, "notifications on", `(() => { const s = document.querySelector('#notifications-switch');
	  return s.checked && !s.disabled && !document.querySelector('#notifications .error'); })()`)
	if ok := eval[bool](ana, `window.pushOptions.userVisibleOnly === true && window.pushOptions.key.length === 65 && window.pushOptions.key[0] === 4`); !ok {
		t.Errorf("subscribed with %v", eval[any](ana, `window.pushOptions`))
	}
	ana.click("notification-names")
	reg := ana.workerRegistration()
	ana.checkFit("notification settings, on")
	ana.scrollTo("notifications")
	saveScreenshot(t, dir, "notifications-settings-phone.png", ana.screenshot())

	phase("Ana closes the app; Bo writes; the relay pushes to her push service")
	ana.leaveApp()
	bo.write("Are you there?")
	pushes := st.Wait(t, 1)
	first := pushes[0]
	if first.Err != nil || first.Endpoint != sub.Endpoint {
		t.Fatalf("the push: %+v", first)
	}
	if want := fmt.Sprintf(`{"v":1,"c":%q}`, boConv.String()); string(first.Plaintext) != want {
		t.Errorf("the push says %s, want %s", first.Plaintext, want)
	}

	phase("it reaches the service worker: a notification, with Bo's name")
	ana.deliverPush(reg, string(first.Plaintext))
	ana.open("/")
	notes := ana.waitNotifications(1)
	if n := notes[0]; n.Title != "Mutual" || !strings.HasPrefix(n.Body, "New message from ") || n.Tag != boConv.String() || n.Conv != boConv.String() {
		t.Errorf("the notification: %+v", n)
	}
	phase("opening it opens Bo's chat")
	ana.openNotification()
	waitJS[bool](ana, stepTimeout, "Bo's chat from the notification", fmt.Sprintf(`location.pathname === %s && !!document.querySelector('#messages')`, js("/chat/"+boID)))
	ana.waitIncoming("Are you there?")

	phase("with the app in front, a push shows nothing")
	ana.deliverPush(reg, string(first.Plaintext))
	if notes := eval[[]shownNote](ana, notesJS); len(notes) != 0 {
		t.Errorf("notifications over the open app: %+v", notes)
	}

	phase("Ana mutes Bo: his messages push nothing, Cy's do")
	ana.mute("mute-always")
	ana.leaveApp()
	bo.write("Still there?")
	bo.waitSent()
	cy := newSeeder(t, pr, pushCyAddress)
	cy.greet("email:"+pushAnaAddress, "Hi Ana, Cy here")
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	polls := 0
	err := wait.Until(ctx, func() bool {
		if polls++; polls%50 == 0 {
			cy.write("Ana?") // a push within 5 s of the last is not sent
		}
		return len(st.Pushes()) >= 2
	})
	if err != nil {
		t.Fatalf("no push for Cy's message: %v", err)
	}
	cyConv := client.DirectConversation(cy.me, cy.peer)
	for _, p := range st.Pushes()[1:] {
		if c := string(p.Plaintext); strings.Contains(c, boConv.String()) || !strings.Contains(c, cyConv.String()) {
			t.Errorf("a push after the mute: %s (%v)", c, p.Err)
		}
	}
}

// fakePushManager replaces the browser's PushManager, which cannot reach
// a push service here, with one whose subscription is the push service
// stand-in's (endpoint and keys); it records the options it was asked
// with (window.pushOptions).
func fakePushManager(endpoint string, p256dh, auth []byte) string {
	return fmt.Sprintf(`(() => {
  if (typeof PushManager === 'undefined') return;
  const key = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  let current = null;
  const subscription = () => ({
    endpoint: %s,
    getKey: (name) => key(name === 'p256dh' ? %s : %s).buffer,
    unsubscribe: () => { current = null; return Promise.resolve(true); },
  });
  PushManager.prototype.subscribe = function (opts) {
    window.pushOptions = {userVisibleOnly: opts.userVisibleOnly, key: Array.from(new Uint8Array(opts.applicationServerKey))};
    current = subscription();
    return Promise.resolve(current);
  };
  PushManager.prototype.getSubscription = function () { return Promise.resolve(current); };
})();`, js(endpoint), js(base64.StdEncoding.EncodeToString(p256dh)), js(base64.StdEncoding.EncodeToString(auth)))
}

// waitSent waits until the relay has taken the last message sent.
func (s *seeder) waitSent() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	err := wait.Until(ctx, func() bool {
		m, err := s.c.Message(ctx, s.me, s.last)
		return err == nil && m.State != client.StateSending
	})
	if err != nil {
		s.t.Fatalf("seeder: the last message is not sent: %v", err)
	}
}

// mute chooses an item of the open chat's mute menu.
func (p *profile) mute(item string) {
	p.t.Helper()
	p.click("mute-button")
	p.click(item)
	waitJS[bool](p, stepTimeout, "the mute menu to close", `!document.querySelector('#mute-menu') && document.querySelector('#mute-button').dataset.busy === 'false'`)
}

// waitMutedMark waits until the chats list marks user's chat muted, or
// not.
func (p *profile) waitMutedMark(user string, muted bool) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, fmt.Sprintf("the chats list's muted mark %v", muted), fmt.Sprintf(
		`(() => { const li = document.querySelector('#chats li[data-user=%q]'); return !!li && !!li.querySelector('.chat-muted') === %v; })()`, user, muted))
}

// allowNotifications grants the app's origin the permission to notify,
// as a person answering the browser's question does.
func (p *profile) allowNotifications() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	for _, name := range []string{"notifications"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name}, Setting: "granted", Origin: p.base,
		}); err != nil {
			p.fatalf("allow %s: %v", name, err)
		}
	}
}

// workerRegistration is the ID of the app's service worker registration,
// from the DevTools protocol's ServiceWorker domain.
func (p *profile) workerRegistration() serviceworker.RegistrationID {
	p.t.Helper()
	p.waitWorkerReady()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	found := make(chan serviceworker.RegistrationID, 1)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	if err := chromedp.Listen(lctx, func(ev any) {
		if u, ok := ev.(*serviceworker.EventWorkerRegistrationUpdated); ok {
			for _, r := range u.Registrations {
				if !r.IsDeleted && r.ScopeURL == p.base+"/" {
					select {
					case found <- r.RegistrationID:
					default:
					}
				}
			}
		}
	}); err != nil {
		p.fatalf("listen: %v", err)
	}
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		p.fatalf("enable the ServiceWorker domain: %v", err)
	}
	select {
	case id := <-found:
		return id
	case <-ctx.Done():
		p.fatalf("no service worker registration for %s", p.base)
		return ""
	}
}

// leaveApp goes to a blank page, as closing the app does: the connection
// ends and no window of the app is left.
func (p *profile) leaveApp() {
	p.t.Helper()
	p.do(stepTimeout, "leave the app", chromedp.Navigate("about:blank"))
}

// deliverPush hands data to the service worker as its push service would.
func (p *profile) deliverPush(reg serviceworker.RegistrationID, data string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: p.base, RegistrationID: reg, Data: data,
	}); err != nil {
		p.fatalf("deliver a push: %v", err)
	}
}

// shownNote is a notification the service worker shows.
type shownNote struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	Tag   string `json:"tag"`
	Conv  string `json:"c"`
}

// notesJS lists the notifications the app's service worker shows.
const notesJS = `navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) =>
  ns.map((n) => ({title: n.title, body: n.body, tag: n.tag, c: (n.data && n.data.c) || ''})))`

// waitNotifications waits until the service worker shows n
// notifications and returns them.
func (p *profile) waitNotifications(n int) []shownNote {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, pushNoteTimeout)
	defer cancel()
	var notes []shownNote
	err := wait.Until(ctx, func() bool {
		notes = eval[[]shownNote](p, notesJS)
		return len(notes) >= n
	})
	if err != nil {
		p.fatalf("wait for %d notifications: %d shown", n, len(notes))
	}
	return notes
}

// openNotification does what a click on the first notification does: the
// service worker's openChat with its conversation, run in the worker (a
// notification cannot be clicked through the DevTools protocol).
func (p *profile) openNotification() {
	p.t.Helper()
	// A fetch the worker answers wakes it, so that it has a target.
	eval[bool](p, `fetch('/web/wake-' + Date.now()).then(() => true, () => true)`)
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	var wctx context.Context
	err := wait.Until(ctx, func() bool {
		infos, err := chromedp.Targets(p.ctx)
		if err != nil {
			return false
		}
		for _, info := range infos {
			if info.Type == "service_worker" && strings.HasPrefix(info.URL, p.base+"/") {
				c, stop := chromedp.NewContext(p.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
				p.t.Cleanup(stop)
				wctx = c
				return true
			}
		}
		return false
	})
	if err != nil {
		p.fatalf("no service worker target: %v", err)
	}
	ectx, ecancel := context.WithTimeout(wctx, stepTimeout)
	defer ecancel()
	opened, err := chromedp.Run(ectx, chromedp.Evaluate[bool](
		`self.registration.getNotifications().then((ns) => { ns[0].close(); return openChat(ns[0].data.c); }).then(() => true)`,
		func(e *runtime.EvaluateParams) { e.AwaitPromise = new(true) }))
	if err != nil || !opened {
		p.fatalf("open the notification in the worker: %v", err)
	}
}
