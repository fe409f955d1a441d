// Package mutual holds what describes the project as a whole rather than
// one of its parts: the web app manifest, manifest.webmanifest beside
// this file, which is the app's identity (name, description, colours,
// icons). The web server (pwa) serves it as it is and takes the pages'
// name, colours and icons from it; `mutual bundle` copies it.
package mutual

import _ "embed"

//go:embed manifest.webmanifest
var manifest string

// Manifest returns the web app manifest (W3C Web Application Manifest,
// JSON), a new copy on each call.
func Manifest() []byte { return []byte(manifest) }
