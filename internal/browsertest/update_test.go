//go:build browser

package browsertest

import (
	"context"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// appVersion is the version of the app the page runs: go-app's
// GOAPP_VERSION, written into the app.js the page loaded (which the
// service worker serves from that version's cache).
func (p *profile) appVersion() string {
	p.t.Helper()
	return eval[string](p, `goappGetenv('GOAPP_VERSION')`)
}

// servedByWorker reports whether a service worker answered the page's own
// load, which the app needs to offer an update (see app/ui).
func (p *profile) servedByWorker() bool {
	p.t.Helper()
	return eval[bool](p, `(performance.getEntriesByType('navigation')[0]?.workerStart ?? 0) > 0`)
}

// appCaches lists the service worker's caches, mutual-<version>, sorted.
func (p *profile) appCaches() []string {
	p.t.Helper()
	return eval[[]string](p, `caches.keys().then((keys) => keys.filter((k) => k.startsWith('mutual-')).sort())`)
}

// updateShown reports whether the page offers to reload into a new
// version.
func (p *profile) updateShown() bool {
	p.t.Helper()
	return eval[bool](p, `!!document.querySelector('#update-banner')`)
}

// waitUpdate waits until the page offers to reload into a new version:
// the banner, announced as a status, with its Reload button.
func (p *profile) waitUpdate() {
	p.t.Helper()
	p.do(messageTimeout, "the update banner",
		chromedp.WaitVisible(chromedp.CSS(`#update-banner[role=status] button#reload`)))
}

// reloadFromBanner clicks Reload on the update banner, waits for the new
// document and the app in it, and returns the document's response.
func (p *profile) reloadFromBanner() *network.Response {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("reload")))
	if err != nil {
		p.fatalf("reload from the update banner: %v", err)
	}
	p.waitApp()
	return resp
}
