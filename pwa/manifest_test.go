//go:build !wasm

package pwa_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual"
	"github.com/mutualcoop/mutual/pwa"
)

// webManifest is the part of a web app manifest the tests read.
type webManifest struct {
	ID              string `json:"id"`
	Name            string `json:"name"`
	ShortName       string `json:"short_name"`
	Description     string `json:"description"`
	Lang            string `json:"lang"`
	StartURL        string `json:"start_url"`
	Scope           string `json:"scope"`
	Display         string `json:"display"`
	ThemeColor      string `json:"theme_color"`
	BackgroundColor string `json:"background_color"`
	Icons           []struct {
		Src     string `json:"src"`
		Sizes   string `json:"sizes"`
		Type    string `json:"type"`
		Purpose string `json:"purpose"`
	} `json:"icons"`
}

// fileManifest is the repository's manifest.webmanifest.
func fileManifest(t *testing.T) webManifest {
	t.Helper()
	var m webManifest
	if err := json.Unmarshal(mutual.Manifest(), &m); err != nil {
		t.Fatalf("manifest.webmanifest: %v", err)
	}
	return m
}

// TestManifest: the handler serves manifest.webmanifest as it is, and
// that file has what browsers need to install the app, with icons that
// are among the static files at the sizes it declares.
func TestManifest(t *testing.T) {
	_, srv := serve(t, appDir(t, fakeWasm("manifest")))
	for _, path := range []string{"/manifest.webmanifest", "/manifest.json"} {
		res, body := get(t, srv, http.MethodGet, path, nil)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/manifest+json" {
			t.Fatalf("%s: status %d, Content-Type %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if !bytes.Equal(body, mutual.Manifest()) {
			t.Fatalf("%s is not manifest.webmanifest:\n%s", path, body)
		}
	}

	m := fileManifest(t)
	t.Run("fields", func(t *testing.T) {
		for k, v := range map[string][2]string{
			"id": {m.ID, "/"}, "name": {m.Name, "Mutual"}, "short_name": {m.ShortName, "Mutual"},
			"lang": {m.Lang, "en"}, "display": {m.Display, "standalone"},
		} {
			if v[0] != v[1] {
				t.Errorf("%s %q, want %q", k, v[0], v[1])
			}
		}
		if m.Description == "" {
			t.Error("no description")
		}
	})
	t.Run("colours", func(t *testing.T) {
		hex := regexp.MustCompile(`^#[0-9a-f]{6}$`)
		for k, v := range map[string]string{"theme_color": m.ThemeColor, "background_color": m.BackgroundColor} {
			if !hex.MatchString(v) {
				t.Errorf("%s %q is not #rrggbb", k, v)
			}
		}
	})
	t.Run("start_url within scope", func(t *testing.T) {
		origin, _ := url.Parse("https://mutual.example/")
		scope, err1 := url.Parse(m.Scope)
		start, err2 := url.Parse(m.StartURL)
		if err1 != nil || err2 != nil || m.Scope == "" || m.StartURL == "" {
			t.Fatalf("scope %q, start_url %q", m.Scope, m.StartURL)
		}
		s, u := origin.ResolveReference(scope), origin.ResolveReference(start)
		if s.Host != origin.Host || u.Host != origin.Host || !strings.HasPrefix(u.Path, s.Path) {
			t.Fatalf("start_url %s is not within the scope %s", u, s)
		}
	})
	t.Run("icons", func(t *testing.T) {
		seen := map[string]bool{}
		for _, ic := range m.Icons {
			seen[ic.Sizes+" "+ic.Type+" "+ic.Purpose] = true
			res, body := get(t, srv, http.MethodGet, ic.Src, nil)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != ic.Type {
				t.Errorf("icon %s: status %d, Content-Type %q", ic.Src, res.StatusCode, res.Header.Get("Content-Type"))
				continue
			}
			if ic.Type == "image/png" {
				img, err := png.Decode(bytes.NewReader(body))
				if err != nil {
					t.Errorf("icon %s: %v", ic.Src, err)
					continue
				}
				if got := fmt.Sprintf("%dx%d", img.Bounds().Dx(), img.Bounds().Dy()); got != ic.Sizes {
					t.Errorf("icon %s is %s, the manifest says %s", ic.Src, got, ic.Sizes)
				}
			}
		}
		for _, k := range []string{"192x192 image/png any", "512x512 image/png any", "512x512 image/png maskable", "any image/svg+xml any"} {
			if !seen[k] {
				t.Errorf("no icon %s", k)
			}
		}
	})
}

// TestOtherManifest: a manifest given in Config is the one served, and
// the pages take their name, colour and icons from it; without an SVG
// icon the pages link the PNG, never go-app's own.
func TestOtherManifest(t *testing.T) {
	other := []byte(`{
  "name": "Co-op Chat",
  "short_name": "Chat",
  "description": "Our co-op's messenger.",
  "lang": "cy",
  "start_url": "/chats?source=pwa",
  "scope": "/",
  "display": "minimal-ui",
  "background_color": "#000",
  "theme_color": "#123456",
  "icons": [
    {"src": "/web/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
    {"src": "/web/icons/icon-512.png", "sizes": "512X512", "type": "image/png", "purpose": "any maskable"}
  ]
}`)
	h, err := pwa.New(pwa.Config{Dir: appDir(t, fakeWasm("other")), Manifest: other})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	if _, body := get(t, srv, http.MethodGet, "/manifest.webmanifest", nil); !bytes.Equal(body, other) {
		t.Fatalf("served manifest:\n%s", body)
	}
	_, page := get(t, srv, http.MethodGet, "/", nil)
	mustContain(t, "the page", string(page), `<title>Co-op Chat</title>`, `lang="cy"`, `content="#123456"`,
		`href="/web/icons/icon-192.png"`, `href="/web/icons/icon-512.png"`)
	if strings.Contains(string(page), "github") || strings.Contains(string(page), "icon.svg") {
		t.Errorf("the page links an icon the manifest does not have:\n%s", page)
	}
	if plain := newHandler(t, appDir(t, fakeWasm("other"))); plain.Version() == h.Version() {
		t.Error("the manifest does not change the version")
	}
}

// TestManifestRefused: New refuses a manifest that lacks what the pages
// and installation need, or whose icons are not the static files it
// says.
func TestManifestRefused(t *testing.T) {
	dir := appDir(t, fakeWasm("refused"))
	// edit returns the repository's manifest changed by f.
	edit := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(mutual.Manifest(), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	icon := func(i int, k string, v any) func(map[string]any) {
		return func(m map[string]any) { m["icons"].([]any)[i].(map[string]any)[k] = v }
	}
	set := func(k string, v any) func(map[string]any) {
		return func(m map[string]any) { m[k] = v }
	}
	del := func(k string) func(map[string]any) {
		return func(m map[string]any) { delete(m, k) }
	}
	for _, tt := range []struct {
		name     string
		manifest []byte
		want     string
	}{
		{"not JSON", []byte("{"), "manifest"},
		{"two objects", append(mutual.Manifest(), "{}"...), "after the JSON object"},
		{"an array", []byte("[]"), "manifest"},
		{"no name", edit(del("name")), "no name"},
		{"blank short name", edit(set("short_name", " ")), "no short_name"},
		{"no description", edit(del("description")), "no description"},
		{"no display", edit(del("display")), "no display"},
		{"unknown display", edit(set("display", "window")), "display"},
		{"named colour", edit(set("theme_color", "teal")), "theme_color"},
		{"short colour", edit(set("background_color", "#12345")), "background_color"},
		{"no scope", edit(del("scope")), "no scope"},
		{"scope elsewhere", edit(set("scope", "https://elsewhere.example/")), "origin"},
		{"start_url elsewhere", edit(set("start_url", "//elsewhere.example/")), "origin"},
		{"start_url outside scope", edit(func(m map[string]any) { m["scope"], m["start_url"] = "/app/", "/" }), "outside the scope"},
		{"no icons", edit(del("icons")), "no PNG icon of 192x192"},
		{"no 512 icon", edit(func(m map[string]any) { m["icons"] = m["icons"].([]any)[:1] }), "no PNG icon of 512x512"},
		{"icon outside /web/", edit(icon(0, "src", "/icon-192.png")), "under /web/"},
		{"missing icon", edit(icon(0, "src", "/web/icons/none.png")), "no icon /web/icons/none.png"},
		{"wrong size", edit(icon(2, "sizes", "256x256")), "is 512x512, not 256x256"},
		{"malformed size", edit(icon(0, "sizes", "192")), "size"},
		{"zero-led size", edit(icon(0, "sizes", "0192x192")), "size"},
		{"wrong type", edit(icon(3, "type", "image/png")), "is image/svg+xml, not image/png"},
		{"no type", edit(icon(0, "type", "")), "no type"},
		{"unknown purpose", edit(icon(0, "purpose", "badge")), "purpose"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pwa.New(pwa.Config{Dir: dir, Manifest: tt.manifest})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}
