//go:build !wasm

package pwa

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzNegotiate: any Accept-Encoding header picks a copy that exists and
// that it does not refuse, or none; TestWasmEncodings checks the choices
// themselves.
func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{
		"", "br", "gzip", "gzip, deflate, br, zstd", "br;q=0, gzip", "*;q=0", "*", "identity;q=0",
		"gzip;q=0.5, br;q=0.5", "br;q=1.5", "br;q=-1", "br;;q=0.2,,gzip;Q=0.3", "x-gzip", ";q=1", "br;q",
	} {
		f.Add(s, true, true)
		f.Add(s, true, false)
		f.Add(s, false, true)
	}
	f.Fuzz(func(t *testing.T, header string, haveBr, haveGz bool) {
		var coded [len(encodings)][]byte
		if haveBr {
			coded[0] = []byte{1}
		}
		if haveGz {
			coded[1] = []byte{1}
		}
		i := negotiate(header, coded)
		if i < -1 || i >= len(encodings) {
			t.Fatalf("index %d", i)
		}
		if i >= 0 && coded[i] == nil {
			t.Fatalf("%q: chose the missing %s copy", header, encodings[i].name)
		}
		if strings.TrimSpace(header) == "" && i != -1 {
			t.Fatalf("no Accept-Encoding: chose %s", encodings[i].name)
		}
		if i < 0 {
			return
		}
		// Never a coding every member naming it refuses.
		named, accepted := false, false
		for _, member := range strings.Split(header, ",") {
			name, params, _ := strings.Cut(member, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name == encodings[i].name || (name == "x-gzip" && encodings[i].name == "gzip") {
				named = true
				accepted = accepted || quality(params) > 0
			}
		}
		if named && !accepted {
			t.Fatalf("%q: chose %s, which it refuses", header, encodings[i].name)
		}
	})
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkServeWasm measures the handler's own cost of sending app.wasm
// in each encoding (the network aside).
func BenchmarkServeWasm(b *testing.B) {
	dir := b.TempDir()
	wasm := make([]byte, 1<<20)
	for i := range wasm {
		wasm[i] = byte(i * 7 % 251)
	}
	if err := os.WriteFile(filepath.Join(dir, wasmFile), wasm, 0o644); err != nil {
		b.Fatal(err)
	}
	if _, err := Prepare(dir); err != nil {
		b.Fatal(err)
	}
	h, err := New(Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	for _, accept := range []string{"gzip, deflate, br, zstd", "gzip", ""} {
		b.Run("accept="+accept, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, wasmPath, nil)
			req.Header.Set("Accept-Encoding", accept)
			w := &discard{h: make(http.Header)}
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}
