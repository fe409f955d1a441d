//go:build !wasm

package pwa

import (
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual"
)

// workerTemplate is the service worker, with go-app's placeholders
// {{.Version}} and {{.ResourcesToCache}}.
//
//go:embed app-worker.js
var workerTemplate string

// loadingLabel is shown while the app's WebAssembly loads.
const loadingLabel = "Loading… {progress}%"

// Handler serves the web app: every page of the app's routes (the
// prerendered shell), go-app's scripts, the manifest, the service worker
// and the static files under /web/. It answers GET and HEAD only, and
// nothing under /v1/, which belongs to the relay's API.
type Handler struct {
	goapp    *app.Handler
	assets   *assets
	manifest []byte
	version  string
	etag     string
	csp      string // see ContentSecurityPolicy
	known    func(path string) bool
}

// New reads the app from cfg.Dir and returns its handler. The compressed
// copies of app.wasm must be current (Prepare). The pages it serves are
// the routes registered with go-app's router (app.Route), which is
// process-wide: the program registers them, before it serves or bundles
// the app, with the components the server renders.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a, err := loadAssets(cfg.Dir)
	if err != nil {
		return nil, err
	}
	raw := cfg.Manifest
	if raw == nil {
		raw = mutual.Manifest()
	}
	m, err := parseManifest(raw)
	if err == nil {
		err = m.checkIcons(a)
	}
	if err != nil {
		return nil, fmt.Errorf("pwa: %w", err)
	}
	h := &Handler{assets: a, manifest: raw, known: cfg.Known}
	h.goapp = &app.Handler{
		Name:            m.Name,
		ShortName:       m.ShortName,
		Title:           m.Name,
		Description:     m.Description,
		Lang:            m.Lang,
		ThemeColor:      m.ThemeColor,
		BackgroundColor: m.BackgroundColor,
		LoadingLabel:    loadingLabel,
		Icon:            m.goappIcon(),
		Styles:          a.styles(),
		// Every static file is part of the app: precached, so that the
		// app opens offline.
		CacheableResources:    a.paths(),
		Resources:             a,
		WasmContentLength:     strconv.Itoa(len(a.files[wasmPath].body)),
		ServiceWorkerTemplate: workerTemplate,
		RawHeaders:            cfg.Head,
	}
	h.version = version(h.goapp, a, raw)
	h.etag = `"` + h.version + `"`
	h.goapp.Version = h.version
	hashes, err := h.scriptHashes(cfg.Head, "/")
	if err != nil {
		return nil, fmt.Errorf("pwa: %w", err)
	}
	h.csp = contentSecurityPolicy(hashes)
	return h, nil
}

// Version identifies the app: a hash of the static files (app.wasm
// included), the manifest, the service worker and the pages' settings.
// It changes exactly when one of them does, and with it the service
// worker, which makes installed apps update.
func (h *Handler) Version() string { return h.version }

// version hashes what the app is made of.
func version(g *app.Handler, a *assets, manifest []byte) string {
	d := sha256.New()
	field := func(b []byte) {
		d.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		d.Write(b)
	}
	field([]byte("mutual web app v1"))
	field([]byte(workerTemplate))
	field(manifest)
	settings := []string{g.Name, g.ShortName, g.Title, g.Description, g.Lang, g.ThemeColor,
		g.BackgroundColor, g.LoadingLabel, g.Icon.Default, g.Icon.Large, g.Icon.Maskable, g.Icon.SVG,
		g.WasmContentLength, strings.Join(g.Styles, " "), strings.Join(g.RawHeaders, "\n")}
	for _, s := range settings {
		field([]byte(s))
	}
	for _, p := range a.paths() {
		field([]byte(p))
		field(a.files[p].body)
	}
	return hex.EncodeToString(d.Sum(nil)[:12])
}

// ServeHTTP serves the app.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// go-app also accepts every path under /<version>/.
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/"+h.version+"/"); ok {
		p = "/" + rest
	}
	switch {
	case p == "/v1" || strings.HasPrefix(p, "/v1/"):
		http.NotFound(w, r)
	case p == "/manifest.webmanifest" || p == "/manifest.json":
		h.serveManifest(w, r)
	case p == "/robots.txt" || p == "/sitemap.xml" || p == "/ads.txt":
		// go-app would fetch these from http://<Host header>/web/…:
		// serve them from the static files, or not at all.
		u := *r.URL
		u.Path, u.RawPath = "/web"+p, ""
		r2 := *r
		r2.URL = &u
		h.goapp.ServeHTTP(w, &r2)
	default:
		if f, ok := h.assets.files[p]; ok && f.compressed() {
			// Also on a 304, which go-app answers by itself.
			w.Header().Set("Vary", "Accept-Encoding")
		}
		if h.known != nil && !h.known(p) {
			h.serveNotFound(w, r)
			return
		}
		h.goapp.ServeHTTP(w, r)
	}
}

// serveNotFound serves a path that is not one of the app's pages: go-app's
// own files as they are, and a page, which the app's routes render as not
// found, with status 404.
func (h *Handler) serveNotFound(w http.ResponseWriter, r *http.Request) {
	h.goapp.ServeHTTP(&notFoundWriter{ResponseWriter: w}, r)
}

// notFoundWriter answers an HTML page with status 404 instead of 200.
type notFoundWriter struct {
	http.ResponseWriter
	wrote bool
}

func (n *notFoundWriter) WriteHeader(code int) {
	if n.wrote {
		return
	}
	n.wrote = true
	if code == http.StatusOK && strings.HasPrefix(n.Header().Get("Content-Type"), "text/html") {
		code = http.StatusNotFound
	}
	n.ResponseWriter.WriteHeader(code)
}

func (n *notFoundWriter) Write(b []byte) (int, error) {
	if !n.wrote {
		n.WriteHeader(http.StatusOK)
	}
	return n.ResponseWriter.Write(b)
}

// serveManifest serves the web app manifest with go-app's cache headers.
func (h *Handler) serveManifest(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", h.etag)
	if r.Header.Get("If-None-Match") == h.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/manifest+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(h.manifest)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(h.manifest)
	}
}
