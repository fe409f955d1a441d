//go:build !wasm

package pwa_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteBundle(t *testing.T) {
	wasm := fakeWasm("bundle")
	dir := appDir(t, wasm)
	writeFile(t, filepath.Join(dir, "styles", "app.css"), []byte("main{}"))
	h, srv := serve(t, dir)
	out := filepath.Join(t.TempDir(), "site")
	if err := h.WriteBundle(out); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// The pages: go-app orders attributes differently on each rendering.
	for _, name := range []string{"index.html", "contacts.html"} {
		mustContain(t, name, string(read(name)), `id="test-shell"`, `href="/manifest.webmanifest"`, `src="/app.js"`, `href="/web/styles/app.css"`)
	}
	// The rest: exactly what the handler serves.
	for name, path := range map[string]string{
		"app.js":                          "/app.js",
		"app-worker.js":                   "/app-worker.js",
		"wasm_exec.js":                    "/wasm_exec.js",
		"app.css":                         "/app.css",
		"manifest.webmanifest":            "/manifest.webmanifest",
		"web/app.wasm":                    "/web/app.wasm",
		"web/icons/icon-192.png":          "/web/icons/icon-192.png",
		"web/icons/icon-512.png":          "/web/icons/icon-512.png",
		"web/icons/icon-maskable-512.png": "/web/icons/icon-maskable-512.png",
		"web/icons/icon.svg":              "/web/icons/icon.svg",
		"web/styles/app.css":              "/web/styles/app.css",
	} {
		res, want := get(t, srv, http.MethodGet, path, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		if got := read(name); !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the handler serves at %s", name, path)
		}
	}
	for ext, enc := range map[string]string{".br": "br", ".gz": "gzip"} {
		if !bytes.Equal(decode(t, enc, read("web/app.wasm"+ext)), wasm) {
			t.Errorf("web/app.wasm%s does not decode to app.wasm", ext)
		}
	}
	mustContain(t, "app-worker.js", string(read("app-worker.js")), h.Version())
	mustContain(t, "manifest.webmanifest", string(read("manifest.webmanifest")), `"id": "/"`)
	mustContain(t, "README.md", string(read("README.md")),
		h.Version(), "application/wasm", "gzip_static", "brotli_static", "precompressed br gzip",
		"/index.html", "app-worker.js", "HTTPS", "localhost", "/v1/")
	for _, p := range workerResources(t, string(read("app-worker.js"))) {
		name := strings.TrimPrefix(p, "/")
		if name == "" {
			name = "index.html"
		}
		if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(name))); err != nil {
			t.Errorf("precached %s is not in the bundle: %v", p, err)
		}
	}

	// Once more into the same directory: the files are replaced.
	if err := h.WriteBundle(out); err != nil {
		t.Fatalf("second bundle: %v", err)
	}
}
