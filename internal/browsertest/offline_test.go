//go:build browser

package browsertest

import (
	"context"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// setOffline cuts the profile's network, for the page and for its
// service worker (a target of its own, which the page's emulation does
// not cover), and makes navigator.onLine say so; or restores it.
func (p *profile) setOffline(offline bool) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, emulateOffline(offline)); err != nil {
		p.fatalf("set the page offline %v: %v", offline, err)
	}
	if !offline {
		if p.worker != nil {
			if err := chromedp.Do(p.worker, emulateOffline(false)); err != nil {
				p.fatalf("set the service worker online: %v", err)
			}
			p.stopWorker()
			p.worker, p.stopWorker = nil, nil
		}
		return
	}
	infos, err := chromedp.Targets(p.ctx)
	if err != nil {
		p.fatalf("targets: %v", err)
	}
	for _, info := range infos {
		if info.Type != "service_worker" || !strings.HasPrefix(info.URL, p.base+"/") {
			continue
		}
		// The emulation lasts as long as this session: detach (not close
		// the worker) when going back online.
		ctx, cancel := chromedp.NewContext(p.ctx, chromedp.WithTargetID(info.TargetID), chromedp.WithDetachOnCancel())
		if err := chromedp.Do(ctx, emulateOffline(true)); err != nil {
			cancel()
			p.fatalf("set the service worker offline: %v", err)
		}
		p.worker, p.stopWorker = ctx, cancel
		return
	}
	p.fatalf("no service worker to take offline")
}

// emulateOffline sets the network conditions of a page or worker target.
func emulateOffline(offline bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		var conds []*network.Conditions
		if offline {
			conds = []*network.Conditions{{Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
		}
		if _, err := cdp.Call(ctx, t, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: new(offline),
			MatchedNetworkConditions:    conds,
		}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.OverrideNetworkState, network.OverrideNetworkStateParams{
			Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
		})
		return err
	})
}

// reachable reports whether a request from the page reaches the relay
// directly (the worker leaves /healthz alone) and through the service
// worker (which fetches a file it has not cached from the network).
func (p *profile) reachable() (page, worker bool) {
	p.t.Helper()
	page = eval[bool](p, `fetch('/healthz', {cache: 'no-store'}).then(() => true, () => false)`)
	worker = eval[bool](p, `fetch('/web/not-cached-' + Date.now()).then(() => true, () => false)`)
	return page, worker
}

// waitWorkerReady waits until the service worker is installed and active
// (it has cached the app).
func (p *profile) waitWorkerReady() {
	p.t.Helper()
	eval[bool](p, `navigator.serviceWorker.ready.then(() => true)`)
}

// waitWorker waits until a service worker controls the page.
func (p *profile) waitWorker() {
	p.t.Helper()
	waitJS[bool](p, stepTimeout, "the service worker to control the page",
		`!!navigator.serviceWorker && !!navigator.serviceWorker.controller`)
}

// installabilityErrors asks Chromium why the app cannot be installed,
// with the check its install prompt uses.
func (p *profile) installabilityErrors() []string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.Call(ctx, page.GetInstallabilityErrors, cdp.Empty{})
	if err != nil {
		p.fatalf("installability: %v", err)
	}
	var out []string
	for _, e := range res.InstallabilityErrors {
		s := e.ErrorID
		for _, a := range e.ErrorArguments {
			s += fmt.Sprintf(" %s=%s", a.Name, a.Value)
		}
		out = append(out, s)
	}
	return out
}
