//go:build !wasm

package pwa_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mutualcoop/mutual/pwa"
)

func TestWasmEncodings(t *testing.T) {
	wasm := fakeWasm("encodings")
	_, srv := serve(t, appDir(t, wasm))
	tests := []struct {
		name, accept, want string
	}{
		{"brotli first", "gzip, deflate, br, zstd", "br"},
		{"gzip only", "gzip", "gzip"},
		{"x-gzip", "x-gzip", "gzip"},
		{"none", "", ""},
		{"identity", "identity", ""},
		{"unknown coding", "deflate", ""},
		{"brotli refused", "br;q=0, gzip", "gzip"},
		{"gzip preferred", "gzip;q=0.9, br;q=0.5", "gzip"},
		{"tie goes to brotli", "gzip;q=0.5, br;q=0.5", "br"},
		{"wildcard", "*", "br"},
		{"wildcard but brotli", "br;q=0, *", "gzip"},
		{"all refused", "*;q=0", ""},
		{"malformed q", "br;q=x, gzip", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, srv, http.MethodGet, "/web/app.wasm", map[string]string{"Accept-Encoding": tt.accept})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			h := res.Header
			if got := h.Get("Content-Encoding"); got != tt.want {
				t.Errorf("Content-Encoding %q, want %q", got, tt.want)
			}
			if got := h.Get("Content-Type"); got != "application/wasm" {
				t.Errorf("Content-Type %q", got)
			}
			if got := h.Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary %q", got)
			}
			if got := h.Get("Content-Length"); got != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %s for %d bytes", got, len(body))
			}
			if tt.want != "" && len(body) >= len(wasm) {
				t.Errorf("%s body of %d bytes for %d raw", tt.want, len(body), len(wasm))
			}
			if !bytes.Equal(decode(t, h.Get("Content-Encoding"), body), wasm) {
				t.Error("the body does not decode to app.wasm")
			}
		})
	}
	t.Run("HEAD", func(t *testing.T) {
		res, body := get(t, srv, http.MethodHead, "/web/app.wasm", map[string]string{"Accept-Encoding": "br"})
		if res.StatusCode != http.StatusOK || len(body) != 0 || res.Header.Get("Content-Encoding") != "br" {
			t.Fatalf("HEAD: %d, %d bytes, %q", res.StatusCode, len(body), res.Header.Get("Content-Encoding"))
		}
		if n, _ := strconv.Atoi(res.Header.Get("Content-Length")); n == 0 || n >= len(wasm) {
			t.Errorf("HEAD Content-Length %d", n)
		}
	})
	t.Run("legacy path", func(t *testing.T) {
		res, body := get(t, srv, http.MethodGet, "/app.wasm", nil)
		if res.StatusCode != http.StatusOK || !bytes.Equal(body, wasm) {
			t.Fatalf("/app.wasm: %d, %d bytes", res.StatusCode, len(body))
		}
	})
}

func TestStaticFiles(t *testing.T) {
	dir := appDir(t, fakeWasm("static"))
	writeFile(t, filepath.Join(dir, "styles", "extra.css"), []byte("body{color:red}"))
	writeFile(t, filepath.Join(dir, "icons", "icon.svg"), []byte("<svg xmlns='http://www.w3.org/2000/svg'/>"))
	_, srv := serve(t, dir)
	tests := []struct {
		path, ctype string
		body        string // "" for any
	}{
		{"/web/icons/icon-192.png", "image/png", ""},
		{"/web/icons/icon-512.png", "image/png", ""},
		{"/web/icons/icon-maskable-512.png", "image/png", ""},
		{"/web/icons/icon.svg", "image/svg+xml", "<svg xmlns='http://www.w3.org/2000/svg'/>"}, // the directory's replaces the embedded one
		{"/web/styles/extra.css", "text/css; charset=utf-8", "body{color:red}"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, body := get(t, srv, http.MethodGet, tt.path, map[string]string{"Accept-Encoding": "br, gzip"})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if res.Header.Get("Content-Encoding") != "" || res.Header.Get("Vary") != "" {
				t.Errorf("a file without compressed copies was sent with %q, Vary %q", res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
			}
			if tt.body != "" && string(body) != tt.body {
				t.Errorf("body %q", body)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
		})
	}
}

// TestNoTraversal: only the app's files are served, never a directory
// listing, a hidden file, a compressed copy by its own name, or anything
// outside the directory.
func TestNoTraversal(t *testing.T) {
	parent := t.TempDir()
	writeFile(t, filepath.Join(parent, "secret"), []byte("SECRET"))
	dir := filepath.Join(parent, "web")
	writeFile(t, filepath.Join(dir, "app.wasm"), fakeWasm("traversal"))
	writeFile(t, filepath.Join(dir, ".env"), []byte("SECRET"))
	writeFile(t, filepath.Join(dir, ".git", "config"), []byte("SECRET"))
	if _, err := pwa.Prepare(dir); err != nil {
		t.Fatal(err)
	}
	_, srv := serve(t, dir)
	for _, p := range []string{
		"/web/", "/web", "/web/icons/", "/web/icons",
		"/web/../secret", "/web/%2e%2e/secret", "/web/..%2fsecret", "/web/icons/../../secret",
		"/web//app.wasm", "/web/./app.wasm", "/web/app.wasm/", "/web/app.wasm.br", "/web/app.wasm.gz",
		"/web/.env", "/web/.git/config", "/web/%2eenv", "/secret", "/../secret",
	} {
		t.Run(p, func(t *testing.T) {
			res, body := get(t, srv, http.MethodGet, p, nil)
			if res.StatusCode == http.StatusOK && strings.HasPrefix(p, "/web") {
				t.Errorf("%s: 200", p)
			}
			if bytes.Contains(body, []byte("SECRET")) {
				t.Errorf("%s leaked a file outside the app", p)
			}
		})
	}

	t.Run("symlink out of the directory", func(t *testing.T) {
		dir := appDir(t, fakeWasm("symlink"))
		if err := os.Symlink(filepath.Join(parent, "secret"), filepath.Join(dir, "leak.txt")); err != nil {
			t.Fatal(err)
		}
		if _, err := pwa.New(pwa.Config{Dir: dir}); err == nil {
			t.Fatal("a symlink out of the app's directory was accepted")
		}
	})
}

func TestVersion(t *testing.T) {
	dir := appDir(t, fakeWasm("v1"))
	v1 := newHandler(t, dir).Version()
	if v1 == "" {
		t.Fatal("empty version")
	}
	if again := newHandler(t, dir).Version(); again != v1 {
		t.Fatalf("two handlers on the same files: %s and %s", v1, again)
	}
	if other := newHandler(t, appDir(t, fakeWasm("v1"))).Version(); other != v1 {
		t.Fatalf("the same files in another directory: %s and %s", v1, other)
	}

	writeFile(t, filepath.Join(dir, "app.wasm"), fakeWasm("v2"))
	if _, err := pwa.Prepare(dir); err != nil {
		t.Fatal(err)
	}
	v2 := newHandler(t, dir).Version()
	if v2 == v1 || v2 == "" {
		t.Fatalf("a new app.wasm kept version %s", v1)
	}
	writeFile(t, filepath.Join(dir, "styles", "app.css"), []byte("main{}"))
	if v3 := newHandler(t, dir).Version(); v3 == v2 {
		t.Fatal("a new style sheet kept the version")
	}

	// The version reaches the scripts and the cache headers.
	h, srv := serve(t, dir)
	_, worker := get(t, srv, http.MethodGet, "/app-worker.js", nil)
	_, appJS := get(t, srv, http.MethodGet, "/app.js", nil)
	mustContain(t, "app-worker.js", string(worker), `"mutual-`+h.Version()+`"`)
	mustContain(t, "app.js", string(appJS), h.Version())
	res, _ := get(t, srv, http.MethodGet, "/web/app.wasm", nil)
	if res.Header.Get("ETag") != `"`+h.Version()+`"` || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", res.Header.Get("ETag"), res.Header.Get("Cache-Control"))
	}
	res, body := get(t, srv, http.MethodGet, "/web/app.wasm", map[string]string{"If-None-Match": `"` + h.Version() + `"`})
	if res.StatusCode != http.StatusNotModified || len(body) != 0 || res.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("If-None-Match the version: %d, %d bytes, Vary %q", res.StatusCode, len(body), res.Header.Get("Vary"))
	}
}

// workerResources extracts the list of precached resources of a worker.
func workerResources(t *testing.T, worker string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^const resourcesToCache = (\[.*\]);$`).FindStringSubmatch(worker)
	if m == nil {
		t.Fatalf("no resource list in the worker:\n%s", worker)
	}
	var list []string
	if err := json.Unmarshal([]byte(m[1]), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

func TestServiceWorker(t *testing.T) {
	dir := appDir(t, fakeWasm("worker"))
	writeFile(t, filepath.Join(dir, "styles", "app.css"), []byte("main{}"))
	h, srv := serve(t, dir)
	res, body := get(t, srv, http.MethodGet, "/app-worker.js", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("status %d, Cache-Control %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	worker := string(body)
	if strings.Contains(worker, "{{") {
		t.Fatal("a placeholder is left in the worker")
	}
	mustContain(t, "the worker", worker,
		`const cacheName = "mutual-`+h.Version()+`";`,
		// install precaches past the HTTP cache and fails with any resource
		`event.waitUntil(install());`, `new Request(url, { cache: "reload" })`, `cache.addAll(`, `throw err;`,
		// activate drops the old caches and takes over
		`event.waitUntil(activate());`, `caches.delete(key)`, `self.clients.claim()`, `self.skipWaiting()`,
		// fetch: GET, same origin, never the relay's API
		`request.method !== "GET"`, `url.origin !== self.location.origin`,
		`path.startsWith("/v1/")`, `path === "/metrics"`, `path === "/healthz"`,
		// page loads: network first, with a timeout, then the cached shell
		`request.mode === "navigate"`, `fetchWithin(request, navigationTimeout)`, `cache.match(shell)`, `const shell = "/";`,
		// the rest: cache first
		`cacheFirst(request)`,
		// pushes: a notification per chat that names no one unless asked
		// to, none while the app is in front, a click opens the chat
		`addEventListener("push"`, `body: name ? "New message from " + name : "New message"`,
		`tag: conv || "mutual"`, `renotify: true`, `w.focused && w.visibilityState === "visible"`,
		`addEventListener("notificationclick"`, `"/?open=" + conv`, `self.clients.openWindow(path)`,
	)

	resources := workerResources(t, worker)
	for _, want := range []string{
		"/", "/app.js", "/app.css", "/wasm_exec.js", "/manifest.webmanifest", "/web/app.wasm",
		"/web/icons/icon-192.png", "/web/icons/icon-512.png", "/web/icons/icon-maskable-512.png", "/web/icons/icon.svg",
		"/web/styles/app.css",
	} {
		if !contains(resources, want) {
			t.Errorf("%s is not precached", want)
		}
	}
	// Every precached resource is there: an install never fails on a
	// missing one.
	for _, p := range resources {
		if res, _ := get(t, srv, http.MethodGet, p, nil); res.StatusCode != http.StatusOK {
			t.Errorf("precached %s: status %d", p, res.StatusCode)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestPages(t *testing.T) {
	dir := appDir(t, fakeWasm("pages"))
	writeFile(t, filepath.Join(dir, "styles", "app.css"), []byte("main{}"))
	_, srv := serve(t, dir)
	tests := []struct {
		method, path string
		status       int
	}{
		{"GET", "/", http.StatusOK},
		{"GET", "/contacts", http.StatusOK},
		{"GET", chatPath, http.StatusOK}, // a deep link renders the shell
		{"HEAD", chatPath, http.StatusOK},
		{"GET", "/chat/not-a-user", http.StatusNotFound},
		{"GET", "/nowhere", http.StatusNotFound},
		{"GET", "/v1/ws", http.StatusNotFound}, // the relay's, never the app's
		{"GET", "/v1/anything", http.StatusNotFound},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"PUT", "/web/app.wasm", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res, body := get(t, srv, tt.method, tt.path, nil)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if tt.status != http.StatusOK || tt.method != "GET" {
				return
			}
			if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
			}
			mustContain(t, tt.path, string(body),
				`id="test-shell"`, `<title>Mutual</title>`, `lang="en"`,
				`href="/manifest.webmanifest"`, `src="/app.js"`, `src="/wasm_exec.js"`,
				`href="/web/styles/app.css"`, `href="/web/icons/icon.svg"`,
			)
			// go-app orders attributes differently on each rendering.
			if meta := regexp.MustCompile(`<meta [^>]*name="theme-color"[^>]*>`).FindString(string(body)); !strings.Contains(meta, `content="`+fileManifest(t).ThemeColor+`"`) {
				t.Errorf("theme colour %q, want the manifest's", meta)
			}
		})
	}

	t.Run("concurrent", func(t *testing.T) {
		var wg sync.WaitGroup
		var failed atomic.Int32
		for i := range 8 {
			wg.Go(func() {
				path := []string{"/", chatPath, "/web/app.wasm", "/app-worker.js"}[i%4]
				res, err := http.Get(srv.URL + path)
				if err != nil {
					failed.Add(1)
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		if n := failed.Load(); n > 0 {
			t.Fatalf("%d concurrent requests failed", n)
		}
	})
}

// TestNoProxying: go-app fetches /robots.txt, /sitemap.xml and /ads.txt
// from the Host the request names; the handler serves them from the
// app's files instead, or not at all.
func TestNoProxying(t *testing.T) {
	var hits atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("from elsewhere"))
	}))
	defer elsewhere.Close()
	dir := appDir(t, fakeWasm("proxy"))
	writeFile(t, filepath.Join(dir, "robots.txt"), []byte("User-agent: *\n"))
	h, srv := serve(t, dir)
	host := strings.TrimPrefix(elsewhere.URL, "http://")
	for _, tt := range []struct {
		path   string
		status int
	}{
		{"/robots.txt", http.StatusOK},
		{"/sitemap.xml", http.StatusNotFound},
		{"/ads.txt", http.StatusNotFound},
		{"/" + h.Version() + "/sitemap.xml", http.StatusNotFound},
	} {
		res, body := get(t, srv, http.MethodGet, tt.path, map[string]string{"Host": host})
		if res.StatusCode != tt.status || bytes.Contains(body, []byte("elsewhere")) {
			t.Errorf("%s: status %d, body %q", tt.path, res.StatusCode, body)
		}
	}
	if n := hits.Load(); n > 0 {
		t.Fatalf("the handler made %d requests to the Host of a request", n)
	}
}

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	if _, err := pwa.Prepare(dir); err == nil {
		t.Fatal("Prepare without app.wasm succeeded")
	}
	wasm := fakeWasm("prepare")
	writeFile(t, filepath.Join(dir, "app.wasm"), wasm)
	written, err := pwa.Prepare(dir)
	if err != nil || strings.Join(written, " ") != "app.wasm.br app.wasm.gz" {
		t.Fatalf("first Prepare wrote %q: %v", written, err)
	}
	for ext, enc := range map[string]string{".br": "br", ".gz": "gzip"} {
		b, err := os.ReadFile(filepath.Join(dir, "app.wasm"+ext))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(decode(t, enc, b), wasm) {
			t.Fatalf("app.wasm%s does not decode to app.wasm", ext)
		}
	}
	if written, err := pwa.Prepare(dir); err != nil || len(written) != 0 {
		t.Fatalf("Prepare of a prepared directory wrote %q: %v", written, err)
	}

	// A new build: the copies are stale, New refuses them, Prepare
	// writes them anew.
	writeFile(t, filepath.Join(dir, "app.wasm"), fakeWasm("rebuilt"))
	if _, err := pwa.New(pwa.Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "app.wasm.br") {
		t.Fatalf("New on stale copies: %v", err)
	}
	// A damaged copy is written anew too.
	writeFile(t, filepath.Join(dir, "app.wasm.gz"), []byte("not gzip"))
	if written, err := pwa.Prepare(dir); err != nil || len(written) != 2 {
		t.Fatalf("Prepare after a build wrote %q: %v", written, err)
	}
	newHandler(t, dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestConfig(t *testing.T) {
	dir := appDir(t, fakeWasm("config"))
	for _, tt := range []struct {
		name string
		cfg  pwa.Config
		want string
	}{
		{"no directory", pwa.Config{}, "directory"},
		{"missing directory", pwa.Config{Dir: filepath.Join(dir, "missing")}, "directory"},
		{"no app.wasm", pwa.Config{Dir: t.TempDir()}, "make web"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pwa.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestWasmExecMatchesToolchain: go-app serves its own copy of Go's
// wasm_exec.js, which must be the one of the Go that builds app.wasm.
func TestWasmExecMatchesToolchain(t *testing.T) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	_, srv := serve(t, appDir(t, fakeWasm("wasm_exec")))
	if _, got := get(t, srv, http.MethodGet, "/wasm_exec.js", nil); !bytes.Equal(got, want) {
		t.Fatal("/wasm_exec.js differs from the toolchain's lib/wasm/wasm_exec.js: update go-app or the toolchain")
	}
}

// TestHead: the raw head elements reach every page, and they are part of
// the version (a changed theme script must update installed apps).
func TestHead(t *testing.T) {
	dir := appDir(t, fakeWasm("head"))
	script := `<script>document.documentElement.dataset.theme="dark"</script>`
	h, err := pwa.New(pwa.Config{Dir: dir, Head: []string{script}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, path := range []string{"/", chatPath} {
		_, body := get(t, srv, http.MethodGet, path, nil)
		mustContain(t, path, string(body), script)
	}
	if plain := newHandler(t, dir); plain.Version() == h.Version() {
		t.Fatalf("the head does not change the version %s", h.Version())
	}
}
