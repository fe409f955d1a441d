package ui

import (
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// What the app asks of the browser. Outside a browser (the server, native
// tests) go-app's JavaScript values do nothing and read as zero; the
// helpers below then answer as a visible, online page would.

// browserOnline is navigator.onLine.
func browserOnline() bool {
	if app.IsServer {
		return true
	}
	return app.Window().Get("navigator").Get("onLine").Truthy()
}

// pageActive reports whether the page is shown and has the focus, so that
// what it shows has been seen.
func pageActive() bool {
	if app.IsServer {
		return true
	}
	doc := app.Window().Get("document")
	return doc.Get("visibilityState").String() == "visible" && doc.Call("hasFocus").Truthy()
}

// wideLayout reports whether the two-pane layout is in use.
func wideLayout() bool {
	if app.IsServer {
		return true
	}
	return app.Window().Call("matchMedia", "(min-width: 900px)").Get("matches").Truthy()
}

// perfMark records a performance mark (performance.mark).
func perfMark(name string) {
	if p := app.Window().Get("performance"); p.Truthy() {
		p.Call("mark", name)
	}
}

// perfReset clears the marks and measure of an earlier measurement.
func perfReset(measure string, marks ...string) {
	p := app.Window().Get("performance")
	if !p.Truthy() {
		return
	}
	for _, m := range marks {
		p.Call("clearMarks", m)
	}
	p.Call("clearMeasures", measure)
}

// perfMeasure records the measure between two marks.
func perfMeasure(name, start, end string) {
	if p := app.Window().Get("performance"); p.Truthy() {
		p.Call("measure", name, start, end)
	}
}

// requestPersistence asks the browser to keep the app's storage under
// storage pressure (navigator.storage.persist): the keys and messages of
// this device live nowhere else.
func requestPersistence() {
	st := app.Window().Get("navigator").Get("storage")
	if st.Truthy() && st.Get("persist").Truthy() {
		st.Call("persist")
	}
}

// browserDeviceName names this device after the browser, for the account's
// list of devices: "Chrome on Linux", or "Browser".
func browserDeviceName() string {
	nav := app.Window().Get("navigator")
	if !nav.Truthy() {
		return deviceName(nil, "", "")
	}
	var brands []string
	platform := ""
	if uad := nav.Get("userAgentData"); uad.Truthy() {
		if bs := uad.Get("brands"); bs.Truthy() {
			for i := 0; i < bs.Length(); i++ {
				brands = append(brands, bs.Index(i).Get("brand").String())
			}
		}
		platform = uad.Get("platform").String()
	}
	return deviceName(brands, platform, nav.Get("userAgent").String())
}

// deviceName derives a device name from the browser's brands and platform
// (navigator.userAgentData) or, without them, its user agent string.
func deviceName(brands []string, platform, userAgent string) string {
	browser := ""
	for _, b := range brands {
		switch {
		case strings.Contains(b, "Not") && strings.Contains(b, "Brand"):
		case b == "Chromium":
			if browser == "" {
				browser = b
			}
		default:
			if b != "" {
				browser = b
			}
		}
	}
	if browser == "Google Chrome" {
		browser = "Chrome"
	}
	if browser == "Microsoft Edge" {
		browser = "Edge"
	}
	ua := userAgent
	if browser == "" {
		switch {
		case strings.Contains(ua, "Firefox/"):
			browser = "Firefox"
		case strings.Contains(ua, "Edg/"):
			browser = "Edge"
		case strings.Contains(ua, "OPR/"):
			browser = "Opera"
		case strings.Contains(ua, "Chromium/"):
			browser = "Chromium"
		case strings.Contains(ua, "Chrome/"):
			browser = "Chrome"
		case strings.Contains(ua, "Safari/"):
			browser = "Safari"
		}
	}
	if platform == "" {
		switch {
		case strings.Contains(ua, "Android"):
			platform = "Android"
		case strings.Contains(ua, "iPhone"), strings.Contains(ua, "iPad"):
			platform = "iOS"
		case strings.Contains(ua, "Windows"):
			platform = "Windows"
		case strings.Contains(ua, "Mac OS X"), strings.Contains(ua, "Macintosh"):
			platform = "macOS"
		case strings.Contains(ua, "CrOS"):
			platform = "ChromeOS"
		case strings.Contains(ua, "Linux"):
			platform = "Linux"
		}
	}
	if platform == "Chrome OS" {
		platform = "ChromeOS"
	}
	switch {
	case browser != "" && platform != "":
		return browser + " on " + platform
	case browser != "":
		return browser
	case platform != "":
		return "Browser on " + platform
	default:
		return "Browser"
	}
}

// listen adds a listener for a DOM event on target and returns the
// function that removes it. fn runs on the JavaScript side: it must only
// hand work to the UI goroutine.
func listen(target app.Value, event string, fn func()) (release func()) {
	if !target.Truthy() {
		return func() {}
	}
	f := app.FuncOf(func(app.Value, []app.Value) any {
		fn()
		return nil
	})
	target.Call("addEventListener", event, f)
	return func() {
		target.Call("removeEventListener", event, f)
		f.Release()
	}
}

// byID returns the element with the given id.
func byID(id string) app.Value {
	return app.Window().GetElementByID(id)
}

// focusID focuses the element with the given id, if there is one.
func focusID(id string) {
	if el := byID(id); el.Truthy() {
		el.Call("focus", map[string]any{"preventScroll": true})
	}
}

// servedByWorker reports whether a service worker answered this page's
// own load. One that did not (the first visit, a forced reload) came from
// the network: a version the worker installs while it runs is this same
// one, and offers nothing to reload into.
func servedByWorker() bool {
	p := app.Window().Get("performance")
	if !p.Truthy() || !p.Get("getEntriesByType").Truthy() {
		return false
	}
	navs := p.Call("getEntriesByType", "navigation")
	if navs.Length() == 0 {
		return false
	}
	return navs.Index(0).Get("workerStart").Float() > 0
}
