//go:build !wasm

package pwa_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/mutualcoop/mutual/pwa"
)

// inlineScriptHashes parses page as a browser does and returns the CSP
// hash sources of its inline scripts.
func inlineScriptHashes(t *testing.T, page string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "script" {
			continue
		}
		if slices.ContainsFunc(n.Attr, func(a html.Attribute) bool { return a.Key == "src" }) {
			continue
		}
		var text strings.Builder
		for c := range n.ChildNodes() {
			text.WriteString(c.Data)
		}
		sum := sha256.Sum256([]byte(text.String()))
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return hashes
}

// directives splits a policy into its directives' sources by name.
func directives(policy string) map[string][]string {
	d := make(map[string][]string)
	for _, part := range strings.Split(policy, ";") {
		f := strings.Fields(part)
		if len(f) > 0 {
			d[f[0]] = f[1:]
		}
	}
	return d
}

// TestContentSecurityPolicy: the policy allows every inline script of
// every page by its hash, taken from the pages themselves, and nothing
// inline besides; it keeps the rest of the app to its own origin.
func TestContentSecurityPolicy(t *testing.T) {
	dir := appDir(t, fakeWasm("csp"))
	script := `<script>document.documentElement.dataset.theme="dark"</script>`
	h, err := pwa.New(pwa.Config{Dir: dir, Head: []string{script}})
	if err != nil {
		t.Fatal(err)
	}
	policy := directives(h.ContentSecurityPolicy())
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	var found int
	for _, path := range []string{"/", "/contacts", chatPath} {
		res, body := get(t, srv, http.MethodGet, path, nil)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s", path, res.Status)
		}
		for _, hash := range inlineScriptHashes(t, string(body)) {
			found++
			if !slices.Contains(policy["script-src"], hash) {
				t.Errorf("%s: inline script %s is not in script-src %v", path, hash, policy["script-src"])
			}
		}
	}
	if found == 0 {
		t.Fatal("no inline script found: the theme script is missing from the pages")
	}
	want := map[string][]string{
		"default-src":     {"'self'"},
		"connect-src":     {"'self'"},
		"img-src":         {"'self'", "blob:"},
		"media-src":       {"'self'", "blob:"},
		"object-src":      {"'none'"},
		"base-uri":        {"'none'"},
		"frame-ancestors": {"'none'"},
	}
	for name, sources := range want {
		if !slices.Equal(policy[name], sources) {
			t.Errorf("%s %v, want %v", name, policy[name], sources)
		}
	}
	for _, src := range policy["script-src"] {
		if src != "'self'" && src != "'wasm-unsafe-eval'" && !strings.HasPrefix(src, "'sha256-") {
			t.Errorf("script-src allows %s", src)
		}
	}
	if n := len(policy["script-src"]); n != 3 {
		t.Errorf("script-src %v: want 'self', 'wasm-unsafe-eval' and the theme script's hash", policy["script-src"])
	}

	// A changed script changes the policy.
	other, err := pwa.New(pwa.Config{Dir: dir, Head: []string{`<script>document.documentElement.dataset.theme="light"</script>`}})
	if err != nil {
		t.Fatal(err)
	}
	if other.ContentSecurityPolicy() == h.ContentSecurityPolicy() {
		t.Fatal("the policy does not follow the inline script")
	}
}

// TestBundleSecurityHeaders: a bundle tells its web server the app's
// policy, in its README and in _headers.
func TestBundleSecurityHeaders(t *testing.T) {
	dir := appDir(t, fakeWasm("bundle-csp"))
	h, err := pwa.New(pwa.Config{Dir: dir, Head: []string{`<script>var x=1</script>`}})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := h.WriteBundle(out); err != nil {
		t.Fatal(err)
	}
	csp := h.ContentSecurityPolicy()
	for _, name := range []string{"README.md", "_headers"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, name, string(b), "Content-Security-Policy: "+csp, "X-Content-Type-Options: nosniff", "Referrer-Policy: no-referrer")
		if strings.Contains(string(b), "{{") {
			t.Errorf("%s has a placeholder left", name)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(out, "README.md"))
	mustContain(t, "README.md", string(readme), `add_header Content-Security-Policy "`+csp+`" always;`, `Content-Security-Policy "`+csp+`"`)
}
