//go:build !wasm

package pwa

import "errors"

// The app's identity, shared by the manifest and the pages.
const (
	Name        = "Mutual"
	Description = "End-to-end encrypted messaging, run by its members' co-operative."
	// ThemeColor is the brand colour of the icons and the light theme; the
	// dark theme's colours are the style sheets' business.
	ThemeColor = "#0f766e"
	// BackgroundColor is the splash screen's and the light theme's page background.
	BackgroundColor = "#ffffff"
)

// The icons, under static/icons (go generate draws them).
const (
	iconSmall    = "/web/icons/icon-192.png"
	iconLarge    = "/web/icons/icon-512.png"
	iconMaskable = "/web/icons/icon-maskable-512.png"
	iconSVG      = "/web/icons/icon.svg"
)

// wasmPath is where the app's WebAssembly is served.
const wasmPath = "/web/app.wasm"

// stylesDir holds the style sheets every page links, in name order.
const stylesDir = "/web/styles/"

// Config configures a Handler.
type Config struct {
	// Dir is the directory of the built app: app.wasm and its compressed
	// copies (see Prepare), and any file to serve under /web/ in place of
	// or beside the embedded ones.
	Dir string
	// Head is raw HTML added to every page's <head>, such as the inline
	// script that applies the user's colour theme before the first paint.
	Head []string
}

// Validate reports what is missing.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("pwa: no directory of the built app")
	}
	return nil
}
