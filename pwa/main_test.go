//go:build !wasm

package pwa_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"go.uber.org/goleak"

	"github.com/mutualcoop/mutual/pwa"
)

func TestMain(m *testing.M) {
	// As a program does: its routes, with the component the server
	// renders for each.
	routes(newShell)
	goleak.VerifyTestMain(m)
}

// shell stands for the app's prerendered page.
type shell struct{ app.Compo }

func (*shell) Render() app.UI {
	return app.Div().ID("test-shell").Body(app.Header().Text("Mutual"), app.Main())
}

func newShell() app.Composer { return &shell{} }

// routes stand for the app's routes: fixed pages and a deep link, each
// made by newPage.
func routes(newPage func() app.Composer) {
	app.Route("/", newPage)
	app.Route("/contacts", newPage)
	app.RouteWithRegexp("^/chat/[0-9a-f]{32}$", newPage)
}

const chatPath = "/chat/00112233445566778899aabbccddeeff"

// fakeWasm is compressible bytes standing for a built app.wasm.
func fakeWasm(seed string) []byte {
	return bytes.Repeat([]byte("\x00asm\x01\x00\x00\x00"+seed), 4096)
}

// appDir writes wasm as app.wasm into a new directory, prepares it and
// returns it.
func appDir(t *testing.T, wasm []byte) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "app.wasm"), wasm)
	if _, err := pwa.Prepare(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newHandler(t *testing.T, dir string) *pwa.Handler {
	t.Helper()
	h, err := pwa.New(pwa.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// serve starts a test server on a new handler for dir.
func serve(t *testing.T, dir string) (*pwa.Handler, *httptest.Server) {
	t.Helper()
	h := newHandler(t, dir)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

// get requests path from srv with the given headers, without the
// client's transparent decompression.
func get(t *testing.T, srv *httptest.Server, method, path string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// decode undoes a Content-Encoding.
func decode(t *testing.T, encoding string, b []byte) []byte {
	t.Helper()
	var r io.Reader
	switch encoding {
	case "":
		return b
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	default:
		t.Fatalf("unexpected encoding %q", encoding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", encoding, err)
	}
	return out
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q", what, sub)
		}
	}
}
