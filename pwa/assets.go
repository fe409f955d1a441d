//go:build !wasm

package pwa

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// static holds the files served under /web/ whatever the build: icons
// and style sheets.
//
//go:embed static
var static embed.FS

// asset is one file served under /web/.
type asset struct {
	body  []byte
	ctype string
	// coded are the precompressed copies, by encodings index; nil when absent.
	coded [len(encodings)][]byte
}

// assets are the files under /web/, by URL path, read once. They resolve
// go-app's resource paths and serve them: a path is a key of the map or
// nothing, so no request reaches a file outside the set or lists a
// directory.
type assets struct {
	files map[string]*asset
}

var (
	_ app.ResourceResolver = (*assets)(nil)
	_ http.Handler         = (*assets)(nil)
)

// loadAssets reads the embedded static files, then those of dir, which
// replace embedded ones of the same name. Names starting with a dot are
// skipped; a file ending in .br or .gz is the compressed copy of the file
// without that suffix, and must decompress to it.
func loadAssets(dir string) (*assets, error) {
	a := &assets{files: make(map[string]*asset)}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	if err := a.add(sub, false); err != nil {
		return nil, fmt.Errorf("embedded static files: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open the app's directory: %w", err)
	}
	defer root.Close()
	if err := a.add(root.FS(), true); err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	if _, ok := a.files[wasmPath]; !ok {
		return nil, fmt.Errorf("no %s in %s: build it with `make web`", wasmFile, dir)
	}
	return a, nil
}

// add reads every file of fsys, with its compressed copies if coded.
func (a *assets) add(fsys fs.FS, coded bool) error {
	copies := make(map[string][]byte)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		if coded && codedName(name) {
			copies[name] = b
			return nil
		}
		a.files["/web/"+name] = &asset{body: b, ctype: contentType(name)}
		return nil
	})
	if err != nil {
		return err
	}
	// In name order, so that an error names the same file every time.
	for _, name := range slices.Sorted(maps.Keys(copies)) {
		b := copies[name]
		for i, enc := range encodings {
			base, ok := strings.CutSuffix(name, enc.ext)
			if !ok {
				continue
			}
			f, ok := a.files["/web/"+base]
			if !ok {
				return fmt.Errorf("%s is the compressed copy of a missing %s", name, base)
			}
			if !enc.holds(b, f.body) {
				return fmt.Errorf("%s does not decompress to the current %s (Prepare writes it anew)", name, base)
			}
			f.coded[i] = b
		}
	}
	return nil
}

// compressed reports whether the file has a compressed copy.
func (f *asset) compressed() bool {
	for _, b := range f.coded {
		if b != nil {
			return true
		}
	}
	return false
}

// codedName reports whether name is that of a compressed copy.
func codedName(name string) bool {
	for _, enc := range encodings {
		if strings.HasSuffix(name, enc.ext) {
			return true
		}
	}
	return false
}

// paths lists the URL paths of the files, sorted.
func (a *assets) paths() []string {
	ps := make([]string, 0, len(a.files))
	for p := range a.files {
		ps = append(ps, p)
	}
	sort.Strings(ps)
	return ps
}

// styles lists the style sheets under stylesDir, in name order.
func (a *assets) styles() []string {
	var css []string
	for _, p := range a.paths() {
		if strings.HasPrefix(p, stylesDir) && path.Ext(p) == ".css" {
			css = append(css, p)
		}
	}
	return css
}

// Resolve maps a resource path to its URL: static resources are served
// at /web/ on the same origin, so a path is its own URL.
func (a *assets) Resolve(location string) string {
	switch {
	case location == "" || location == "/":
		return "/"
	case strings.HasPrefix(location, "https://"), strings.HasPrefix(location, "http://"):
		return location
	case location == "web" || strings.HasPrefix(location, "web/"):
		return "/" + location
	}
	return location
}

// ServeHTTP serves a file under /web/, compressed if it has a compressed
// copy the client accepts.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, ok := a.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	body := f.body
	if f.compressed() {
		h.Set("Vary", "Accept-Encoding")
		if i := negotiate(r.Header.Get("Accept-Encoding"), f.coded); i >= 0 {
			body = f.coded[i]
			h.Set("Content-Encoding", encodings[i].name)
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// negotiate picks the compressed copy to send for an Accept-Encoding
// header (RFC 9110, section 12.5.3): of the copies present and acceptable
// (quality above 0, given by name or by "*"), the one of highest quality,
// the first of encodings on a tie; -1 for the file as it is.
func negotiate(header string, coded [len(encodings)][]byte) int {
	var q [len(encodings)]float64
	given := [len(encodings)]bool{}
	anyQ, anyGiven := 0.0, false
	for _, part := range strings.Split(header, ",") {
		token, params, _ := strings.Cut(part, ";")
		token = strings.ToLower(strings.TrimSpace(token))
		v := quality(params)
		if token == "*" {
			anyQ, anyGiven = v, true
			continue
		}
		if token == "x-gzip" {
			token = "gzip"
		}
		for i, enc := range encodings {
			if token == enc.name {
				q[i], given[i] = v, true
			}
		}
	}
	best := -1
	for i := range encodings {
		if !given[i] && anyGiven {
			q[i] = anyQ
		}
		if coded[i] != nil && q[i] > 0 && (best < 0 || q[i] > q[best]) {
			best = i
		}
	}
	return best
}

// quality parses the q parameter of an Accept-Encoding member: 1 when
// absent, 0 when malformed.
func quality(params string) float64 {
	for _, p := range strings.Split(params, ";") {
		k, v, _ := strings.Cut(p, "=")
		if strings.ToLower(strings.TrimSpace(k)) != "q" {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}

// contentType is the media type of a file by its extension.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".wasm":
		return "application/wasm"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".json":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".woff2":
		return "font/woff2"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
