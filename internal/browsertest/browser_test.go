//go:build browser

package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mutualcoop/mutual/internal/wait"
)

// Timeouts of the steps a profile takes. They bound waits; nothing sleeps.
const (
	stepTimeout    = 30 * time.Second // a click and what it shows
	messageTimeout = 60 * time.Second // a message's way through the relay, reconnection included
)

// chromium returns the browser the tests drive.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("MUTUAL_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no browser at %s (scripts/deps.sh test installs it; make test runs it first): %v", path, err)
	}
	return path
}

// profile is one person's browser: a Chromium process of its own, with a
// fresh user data directory, and one tab on the app.
type profile struct {
	t    *testing.T
	name string // for messages: "alice"
	base string // the app's origin, http://127.0.0.1:port
	ctx  context.Context

	// worker is a session with the app's service worker while the
	// profile is offline.
	worker     context.Context
	stopWorker context.CancelFunc

	mu      sync.Mutex
	console []string // what the page wrote to its console, for failures
}

// newProfile starts a browser. It stops when the test ends; the page's
// console is logged if the test failed.
func newProfile(t *testing.T, exe, base, name string) *profile {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		// A microphone (and camera) that plays a tone, allowed without
		// asking: voice notes are recorded from it.
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.WindowSize(1280, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	p := &profile{t: t, name: name, base: base, ctx: ctx}
	// The first action starts the browser, with no deadline. The page
	// keeps the focus, as the window a person is looking at does (the app
	// marks messages read only then).
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
		return err
	})); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("%s: start the browser: %v", name, err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
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
	t.Cleanup(func() {
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s's console:\n%s", name, strings.Join(p.console, "\n"))
			p.mu.Unlock()
		}
		if p.stopWorker != nil {
			p.stopWorker()
		}
		cancelTab()
		cancelAlloc()
		<-done
	})
	return p
}

// fatalf ends the test with the page's address and text, which say more
// than a timeout does.
func (p *profile) fatalf(format string, args ...any) {
	p.t.Helper()
	msg := fmt.Sprintf(format, args...)
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	where, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
	p.t.Fatalf("%s: %s\n  at %s\n  page text: %q", p.name, msg, where, text)
}

// do runs actions within timeout.
func (p *profile) do(timeout time.Duration, what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression, awaiting it if it is a promise,
// and decodes its value into T.
func eval[T any](p *profile, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, func(e *runtime.EvaluateParams) {
		e.AwaitPromise = new(true)
	}))
	if err != nil {
		p.fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until the JavaScript expression is truthy and returns its
// value, checking every 100ms.
func waitJS[T any](p *profile, timeout time.Duration, what, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout+5*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr,
		chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		p.fatalf("wait for %s: %v", what, err)
	}
	return v
}

// waitNavigated waits until the JavaScript expression is true in the
// document that a navigation under way leads to: unlike waitJS, it
// tries again when the document it asked goes away.
func (p *profile) waitNavigated(timeout time.Duration, what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	err := wait.Until(ctx, func() bool {
		try, stop := context.WithTimeout(ctx, time.Second)
		defer stop()
		ok, err := chromedp.Run(try, chromedp.Evaluate[bool](expr))
		return err == nil && ok
	})
	if err != nil {
		p.fatalf("wait for %s: %v", what, err)
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// open loads path (such as "/" or "/chat/<hex>") as a new document, as
// typing the address or following a deep link does, and waits until the
// WebAssembly app runs.
func (p *profile) open(path string) {
	p.t.Helper()
	p.do(stepTimeout, "open "+path, chromedp.Navigate(p.base+path))
	p.waitApp()
}

// reload reloads the page as the user does, and waits for the app.
func (p *profile) reload() {
	p.t.Helper()
	p.do(stepTimeout, "reload", chromedp.Reload())
	p.waitApp()
}

// waitApp waits until the WebAssembly app has started: go-app removes its
// loader then, and the app draws its own frame over the prerendered one.
func (p *profile) waitApp() {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "the app to start",
		`!document.getElementById('app-wasm-loader') && !!document.querySelector('#status')`)
}

// goTo moves to path inside the running app, as following one of its
// links does (go-app's router, no new document).
func (p *profile) goTo(path string) {
	p.t.Helper()
	eval[bool](p, fmt.Sprintf(`(goappNav(%s), true)`, js(path)))
	waitJS[bool](p, stepTimeout, "the page "+path, fmt.Sprintf(`location.pathname === %s`, js(path)))
}

// click clicks the visible element with the ID once it is there. The
// check and the click are one evaluation in the page, so that a render
// that replaces the element between them cannot lose the click.
func (p *profile) click(id string) {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "to click #"+id, fmt.Sprintf(
		`(() => { const e = document.getElementById(%s); if (!e || !e.checkVisibility() || e.disabled) return false; e.click(); return true; })()`, js(id)))
}

// fill types text into the input or textarea with the ID, emptied first,
// as the user does.
func (p *profile) fill(id, text string) {
	p.t.Helper()
	p.do(stepTimeout, "find #"+id, chromedp.WaitVisible(chromedp.ID(id)))
	eval[bool](p, fmt.Sprintf(`(document.getElementById(%s).value = '', true)`, js(id)))
	p.do(stepTimeout, "type into #"+id, chromedp.SendKeys(chromedp.ID(id), text))
}

// emulate sets the viewport and the preferred colour scheme.
func (p *profile) emulate(width, height int64, mobile bool, scheme string) {
	p.t.Helper()
	var opts []chromedp.EmulateViewportOption
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	p.do(stepTimeout, "emulate",
		chromedp.EmulateViewport(width, height, opts...),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
				Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
			})
			return err
		}),
	)
}

// screenshot captures the viewport as PNG.
func (p *profile) screenshot() []byte {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.fatalf("screenshot: %v", err)
	}
	return buf
}

// browserVersion is the browser's product and version.
func browserVersion(p *profile) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		p.fatalf("browser version: %v", err)
	}
	return v.Product
}
