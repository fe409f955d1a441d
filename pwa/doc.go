// Package pwa serves the Mutual web app, the client compiled to
// WebAssembly, as an installable progressive web app: the server side of
// go-app (pages prerendered from the app's routes, app.js, wasm_exec.js),
// the web app manifest, Mutual's service worker, and the static files
// under /web/: app.wasm, sent precompressed (brotli or gzip, by
// Accept-Encoding), the icons and the style sheets.
//
// The manifest is manifest.webmanifest at the top of the repository (the
// package mutual embeds it), served as it is; the pages take the app's
// name, description, language, colours and icons from it, and New
// refuses one that lacks them or whose icons are not among the static
// files at the sizes it declares.
//
// The routes are go-app's, which are process-wide: the program registers
// them (app.Route), with the component the server renders for each, as
// the web app's main does with its live pages. This package imports
// nothing of the app itself.
//
// A path that is none of the app's pages (Config.Known) gets the page the
// routes render for it, which says so, with status 404.
//
// The static files are the union of the ones embedded from static/ (icons
// and styles) and the directory of the built app (app.wasm, its
// compressed copies written by Prepare, and any file that replaces an
// embedded one). They are read once, when the Handler is made, so the
// version, a hash of everything the app is made of, always describes what
// is served; a new build needs a restart.
//
// The same Handler writes the app as a static website (WriteBundle) for
// any web server. Build the WebAssembly with `make web`; redraw the icons
// with `go generate ./pwa`.
package pwa

//go:generate go run ./internal/iconsgen -out static/icons
