//go:build !wasm

package pwa

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// bundleReadme explains to whoever hosts a bundle what the web server
// must do; {{.Version}} is the app's version.
//
//go:embed bundle-readme.md
var bundleReadme string

// WriteBundle writes the app as a static website into dir, for any web
// server: go-app's pages (index.html, the app shell, and one file per
// fixed route), app.js, app-worker.js, wasm_exec.js, app.css, the
// manifest, the static files under web/ with the compressed copies of
// app.wasm, README.md, the settings the web server needs, and _headers,
// the security headers in the format of static hosts that read it. dir is
// created if missing; files of an earlier bundle are overwritten, others
// are left alone.
func (h *Handler) WriteBundle(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("bundle: %w", err)
	}
	if err := app.GenerateStaticWebsite(dir, h.goapp); err != nil {
		return fmt.Errorf("bundle: pages: %w", err)
	}
	files := map[string][]byte{
		"manifest.webmanifest": h.manifest, // replaces go-app's
		"README.md": []byte(strings.NewReplacer(
			"{{.Version}}", h.version,
			"{{.ContentSecurityPolicy}}", h.csp,
		).Replace(bundleReadme)),
		"_headers": headersFile(h.csp),
	}
	for p, f := range h.assets.files {
		name := strings.TrimPrefix(p, "/")
		files[name] = f.body
		for i, b := range f.coded {
			if b != nil {
				files[name+encodings[i].ext] = b
			}
		}
	}
	for name, b := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
	}
	return nil
}
