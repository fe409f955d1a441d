//go:build browser

package browsertest

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/cdproto/target"
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
	metricsAddr := freeAddr(t)
	pr := startRelayWith(t, app.mutual, app.web, func(string) (args, env []string) {
		return []string{"--push-subject", "mailto:ops@example.org", "--push-hosts", st.Host(), "--metrics-addr", metricsAddr},
			[]string{"SSL_CERT_DIR=" + certs}
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
	// Escape closes the menu and gives the focus back to its button.
	ana.click("mute-button")
	waitJS[bool](ana, stepTimeout, "the mute menu, focused", `document.activeElement?.id === 'unmute'`)
	eval[bool](ana, `document.querySelector('#mute-menu').dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}))`)
	waitJS[bool](ana, stepTimeout, "the focus back on the mute button", `!document.querySelector('#mute-menu') && document.activeElement?.id === 'mute-button'`)
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
	ana.waitOnline() // the relay hears of the subscription at once
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
	waitConnections(t, metricsAddr, 1) // Bo's alone: the relay saw Ana go
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
	if w := ana.workerWindows(); !strings.Contains(w, "focused visible") {
		t.Fatalf("the worker does not see the app in front: %s", w)
	}
	ana.deliverPushHandled(reg, string(first.Plaintext))
	if notes := eval[[]shownNote](ana, notesJS); len(notes) != 0 {
		t.Errorf("notifications over the open app: %+v", notes)
	}

	phase("Ana mutes Bo: his messages push nothing, Cy's do")
	cy := newSeeder(t, pr, pushCyAddress)
	cy.greet("email:"+pushAnaAddress, "Hi Ana, Cy here")
	ana.acceptRequest(cy.me.String())
	ana.openChat(boID)
	ana.waitOnline() // the relay hears of the mute at once
	ana.mute("mute-always")
	ana.leaveApp()
	waitConnections(t, metricsAddr, 2) // Bo's and Cy's
	// A device is pushed at most once in 5 s: each round, Bo writes, then
	// Cy, until a push comes. Bo's message reaches the relay first, so a
	// push for Bo would come first, were he not muted.
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	rounds := 0
	err := wait.Until(ctx, func() bool {
		if rounds++; rounds%200 == 1 {
			bo.write("Still there?")
			bo.waitSent()
			cy.write("Ana?")
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

// freeAddr is a loopback address with a port free now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitConnections waits until the relay whose metrics are at addr holds n
// WebSocket connections: a device whose connection it has dropped is
// pushed, one still connected is not.
func waitConnections(t *testing.T, addr string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
	defer cancel()
	hc := &http.Client{Timeout: stepTimeout}
	want := fmt.Sprintf("\nmutual_gateway_connections %d\n", n)
	last := ""
	err := wait.Until(ctx, func() bool {
		resp, err := hc.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		last = string(b)
		return err == nil && strings.Contains(last, want)
	})
	if err != nil {
		i := strings.Index(last, "\nmutual_gateway_connections ")
		t.Fatalf("the relay does not hold %d connections: %v (%.40q)", n, err, last[max(i, 0):])
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

// leaveApp closes the app's tab, as a person closing the app does: its
// connection ends and no window of the app is left. The profile goes on
// in a new, blank tab. (A page navigated away from may stay whole in
// the browser's back/forward cache, connection and all.)
func (p *profile) leaveApp() {
	p.t.Helper()
	old := chromedp.FromContext(p.ctx).Target.TargetID
	tab, closeTab := chromedp.NewContext(p.ctx)
	p.t.Cleanup(closeTab)
	// The tab's first action opens it, with no deadline: the tab lives
	// as long as its context.
	if err := chromedp.Do(tab, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})); err != nil {
		p.fatalf("open a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	if _, err := chromedp.CallBrowser(ctx, target.CloseTarget, target.CloseTargetParams{TargetID: old}); err != nil {
		p.fatalf("close the app's tab: %v", err)
	}
	p.ctx = tab
	// The new tab's console joins the profile's, for failures.
	go func() {
		for m, err := range chromedp.Console(tab) {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m.String())
			if len(p.console) > 200 {
				p.console = p.console[len(p.console)-200:]
			}
			p.mu.Unlock()
		}
	}()
}

// deliverPush hands data to the service worker as its push service would.
func (p *profile) deliverPush(reg serviceworker.RegistrationID, data string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	// The domain is enabled per tab (leaveApp opens another).
	if _, err := chromedp.Call(ctx, serviceworker.Enable, cdp.Empty{}); err != nil {
		p.fatalf("enable the ServiceWorker domain: %v", err)
	}
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

// workerSessions are the profiles' sessions with their service workers
// (serviceWorker), one each, kept until the test ends.
var workerSessions struct {
	mu sync.Mutex
	m  map[*profile]workerSession
}

type workerSession struct {
	target target.ID
	ctx    context.Context
}

// serviceWorker is a session with the app's service worker, started
// first (a fetch it answers starts it). While the session lasts, the
// browser does not stop the worker, so what a test leaves in it stays.
func (p *profile) serviceWorker() context.Context {
	p.t.Helper()
	eval[bool](p, `fetch('/web/wake-' + Date.now()).then(() => true, () => true)`)
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	var id target.ID
	err := wait.Until(ctx, func() bool {
		infos, err := chromedp.Targets(p.ctx)
		if err != nil {
			return false
		}
		for _, info := range infos {
			if info.Type == "service_worker" && strings.HasPrefix(info.URL, p.base+"/") {
				id = info.TargetID
				return true
			}
		}
		return false
	})
	if err != nil {
		p.fatalf("no service worker target: %v", err)
	}
	workerSessions.mu.Lock()
	defer workerSessions.mu.Unlock()
	if s, ok := workerSessions.m[p]; ok && s.target == id {
		return s.ctx
	}
	wctx, stop := chromedp.NewContext(p.ctx, chromedp.WithTargetID(id), chromedp.WithDetachOnCancel())
	// The first action attaches, for as long as the context it runs with
	// lasts: this one, with no deadline.
	if err := chromedp.Do(wctx); err != nil {
		stop()
		p.fatalf("attach to the service worker: %v", err)
	}
	if workerSessions.m == nil {
		workerSessions.m = make(map[*profile]workerSession)
	}
	workerSessions.m[p] = workerSession{target: id, ctx: wctx}
	p.t.Cleanup(func() {
		stop()
		workerSessions.mu.Lock()
		delete(workerSessions.m, p)
		workerSessions.mu.Unlock()
	})
	return wctx
}

// workerEval evaluates expr in the service worker, awaiting a promise.
func workerEval[T any](p *profile, wctx context.Context, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(wctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, func(e *runtime.EvaluateParams) { e.AwaitPromise = new(true) }))
	if err != nil {
		p.fatalf("evaluate in the service worker %s: %v", expr, err)
	}
	return v
}

// workerWindows says how the service worker sees the app's windows: one
// "focused visible", "unfocused hidden", ... per window.
func (p *profile) workerWindows() string {
	p.t.Helper()
	return workerEval[string](p, p.serviceWorker(), `self.clients.matchAll({type: 'window', includeUncontrolled: true}).then((ws) =>
  ws.map((w) => (w.focused ? 'focused ' : 'unfocused ') + w.visibilityState).join(', '))`)
}

// pushCounter counts, in the service worker, the push events whose
// handling (what they gave to waitUntil) has ended.
const pushCounter = `(() => {
  if (self.handledPushes === undefined) {
    self.handledPushes = 0;
    const waitUntil = ExtendableEvent.prototype.waitUntil;
    ExtendableEvent.prototype.waitUntil = function (promise) {
      if (this instanceof PushEvent) {
        const done = () => { self.handledPushes++; };
        Promise.resolve(promise).then(done, done);
      }
      return waitUntil.call(this, promise);
    };
  }
  return self.handledPushes;
})()`

// deliverPushHandled is deliverPush, waiting until the service worker has
// handled the push (whether or not it showed something). The worker stays
// running while the DevTools protocol is attached to it, counter and all.
func (p *profile) deliverPushHandled(reg serviceworker.RegistrationID, data string) {
	p.t.Helper()
	wctx := p.serviceWorker()
	before := workerEval[int](p, wctx, pushCounter)
	p.deliverPush(reg, data)
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	err := wait.Until(ctx, func() bool { return workerEval[int](p, wctx, pushCounter) > before })
	if err != nil {
		p.fatalf("the service worker did not handle the push: %v", err)
	}
}

// openNotification does what a click on the first notification does: the
// service worker's openChat with its conversation, run in the worker (a
// notification cannot be clicked through the DevTools protocol).
func (p *profile) openNotification() {
	p.t.Helper()
	// The app hears the worker (go-app's app.js listens for its messages)
	// once it has registered the worker, which may take a while after
	// the page opens.
	waitJS[bool](p, stepTimeout, "the app to listen to its service worker",
		`typeof goappServiceWorkerRegistration !== 'undefined' && !!goappServiceWorkerRegistration`)
	if !workerEval[bool](p, p.serviceWorker(), `self.registration.getNotifications().then((ns) => { ns[0].close(); return openChat(ns[0].data.c); }).then(() => true)`) {
		p.fatalf("open the notification in the worker")
	}
}
