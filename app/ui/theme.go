package ui

import "github.com/maxence-charriere/go-app/v10/pkg/app"

// The colour theme: the user's choice is kept in localStorage under
// themeKey as a JSON string ("system", "light" or "dark"), and the page
// shows it as <html data-theme="light|dark">. ThemeScript applies it
// before the first paint; the app applies it again when it changes.
const (
	themeKey    = "mutual-theme"
	themeSystem = "system"
	themeLight  = "light"
	themeDark   = "dark"
)

// ThemeScript is the inline script for the page's <head> that sets
// data-theme before the first paint, so that a dark page never flashes
// light.
const ThemeScript = `<script>(function(){var t="system";try{t=JSON.parse(localStorage.getItem("` + themeKey + `"))||"system"}catch(e){}var d=t==="dark"||(t!=="light"&&window.matchMedia&&matchMedia("(prefers-color-scheme: dark)").matches);document.documentElement.setAttribute("data-theme",d?"dark":"light")})()</script>`

// normTheme returns a known theme preference, system by default.
func normTheme(t string) string {
	switch t {
	case themeLight, themeDark:
		return t
	default:
		return themeSystem
	}
}

// resolveTheme is the theme shown for a preference.
func resolveTheme(pref string, systemDark bool) string {
	switch normTheme(pref) {
	case themeLight:
		return themeLight
	case themeDark:
		return themeDark
	}
	if systemDark {
		return themeDark
	}
	return themeLight
}

// loadTheme reads the preference.
func loadTheme(ctx app.Context) string {
	var t string
	if err := ctx.LocalStorage().Get(themeKey, &t); err != nil {
		return themeSystem
	}
	return normTheme(t)
}

// saveTheme stores the preference and applies it.
func saveTheme(ctx app.Context, pref string) {
	pref = normTheme(pref)
	ctx.LocalStorage().Set(themeKey, pref)
	applyTheme(pref)
}

// darkQuery is the media query of the system's dark mode.
func darkQuery() app.Value {
	return app.Window().Call("matchMedia", "(prefers-color-scheme: dark)")
}

// applyTheme sets <html data-theme>.
func applyTheme(pref string) {
	if app.IsServer {
		return
	}
	root := app.Window().Get("document").Get("documentElement")
	root.Call("setAttribute", "data-theme", resolveTheme(pref, darkQuery().Get("matches").Truthy()))
}
