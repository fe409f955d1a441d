//go:build !wasm

package pwa

import "errors"

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
	// Manifest is the web app manifest (JSON), served as it is; the
	// pages take their name, description, language, colours and icons
	// from it. Nil means the project's, manifest.webmanifest at the top
	// of the repository (mutual.Manifest).
	Manifest []byte
	// Head is raw HTML added to every page's <head>, such as the inline
	// script that applies the user's colour theme before the first paint.
	Head []string
	// Known reports whether a path is one of the app's pages. A page for
	// any other path is served with status 404: it is the page the app's
	// routes render for it, which should say that there is no such page.
	// Nil: every page the routes render is served with status 200.
	Known func(path string) bool
}

// Validate reports what is missing.
func (c Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("pwa: no directory of the built app")
	}
	return nil
}
