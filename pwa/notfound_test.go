//go:build !wasm

package pwa_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/pwa"
)

// TestNotFoundPage: with Config.Known, a page the routes render for a
// path that is not one of the app's is served as it is, with status 404;
// the app's pages and go-app's files are not touched.
func TestNotFoundPage(t *testing.T) {
	h, err := pwa.New(pwa.Config{Dir: appDir(t, fakeWasm("not found")), Known: func(p string) bool { return p != "/contacts" }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		path   string
		status int
		page   bool
	}{
		{"/contacts", http.StatusNotFound, true},
		{"/", http.StatusOK, true},
		{chatPath, http.StatusOK, true},
		{"/app.js", http.StatusOK, false},
		{"/app-worker.js", http.StatusOK, false},
		{"/web/app.wasm", http.StatusOK, false},
	} {
		t.Run(tt.path, func(t *testing.T) {
			res, body := get(t, srv, http.MethodGet, tt.path, nil)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if isHTML := strings.HasPrefix(res.Header.Get("Content-Type"), "text/html"); isHTML != tt.page {
				t.Fatalf("Content-Type %q", res.Header.Get("Content-Type"))
			}
			if tt.page {
				mustContain(t, tt.path, string(body), `id="test-shell"`, `src="/app.js"`)
			}
		})
	}
}
