//go:build browser

package browsertest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cspWatcher records every securitypolicyviolation event of a document in
// window.__cspViolations and reports it on the console; it is added to
// every new document before the page's own scripts run.
const cspWatcher = `(() => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', e => {
    const v = e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber;
    window.__cspViolations.push(v);
    console.error('CSP violation: ' + v);
  });
})();`

// watchCSP makes every document the profile opens from now on record
// the violations of its Content-Security-Policy.
func (p *profile) watchCSP() {
	p.t.Helper()
	p.do(stepTimeout, "watch for CSP violations", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatcher})
		return err
	}))
}

// checkCSP fails the test if the open document broke its policy, or if
// the console says the browser refused something under it.
func (p *profile) checkCSP(when string) {
	p.t.Helper()
	if v := eval[[]string](p, `window.__cspViolations ?? ['the watcher is missing']`); len(v) > 0 {
		p.t.Errorf("%s, %s: CSP violations: %v", p.name, when, v)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range p.console {
		if strings.Contains(line, "Content Security Policy") || strings.Contains(line, "CSP violation") {
			p.t.Errorf("%s, %s: console: %s", p.name, when, line)
		}
	}
}

// TestContentSecurityPolicy runs the web app under the relay's
// Content-Security-Policy: two profiles sign in with codes from the mail
// and chat both ways, and the browser reports no violation of the policy
// (the inline theme script, the WebAssembly, the service worker, the
// manifest, the styles and the WebSocket are all allowed by it).
func TestContentSecurityPolicy(t *testing.T) {
	browser := chromium(t)
	app := buildApp(t)
	r := startRelay(t, app.mutual, app.web)

	resp, err := http.Get(r.url() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "'wasm-unsafe-eval'", "'sha256-", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Fatalf("the app's policy %q lacks %s", csp, want)
		}
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("security headers missing: %v", resp.Header)
	}

	alice := newProfile(t, browser, r.url(), "alice")
	bob := newProfile(t, browser, r.url(), "bob")
	alice.watchCSP()
	bob.watchCSP()
	alice.register(r, aliceAddress)
	alice.setName("Alice")
	bob.register(r, bobAddress)
	alice.checkCSP("signed in")
	bob.checkCSP("signed in")

	_, bobID := requestAndChat(t, alice, bob)
	alice.checkCSP("chatted")
	bob.checkCSP("chatted")

	// A fresh document of each kind of page, the deep link included,
	// with the theme script that runs before the first paint.
	alice.open("/chat/" + bobID)
	alice.waitTexts("Hello Bob")
	if theme := eval[string](alice, `document.documentElement.getAttribute('data-theme') ?? ''`); theme == "" {
		t.Error("the inline theme script did not run")
	}
	alice.checkCSP("reloaded a conversation")
}
