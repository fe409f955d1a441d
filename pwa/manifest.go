//go:build !wasm

package pwa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/png" // icons' sizes
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
)

// manifest is what the handler takes from the web app manifest (W3C Web
// Application Manifest): the pages' settings that go-app needs. Other
// members are served as they are and not read.
type manifest struct {
	Name            string         `json:"name"`
	ShortName       string         `json:"short_name"`
	Description     string         `json:"description"`
	Lang            string         `json:"lang"`
	StartURL        string         `json:"start_url"`
	Scope           string         `json:"scope"`
	Display         string         `json:"display"`
	BackgroundColor string         `json:"background_color"`
	ThemeColor      string         `json:"theme_color"`
	Icons           []manifestIcon `json:"icons"`
}

// manifestIcon is one member of a manifest's icons.
type manifestIcon struct {
	Src     string `json:"src"`
	Sizes   string `json:"sizes"`
	Type    string `json:"type"`
	Purpose string `json:"purpose"`
}

// hexColor is the form of a manifest's colours: #rgb or #rrggbb. CSS
// allows more; the pages' theme-color meta and the icons use these.
var hexColor = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// displays are the manifest's display modes.
var displays = []string{"fullscreen", "standalone", "minimal-ui", "browser"}

// parseManifest decodes a web app manifest and checks what the handler
// relies on: a name and a short name, a description, a display mode,
// both colours in hex, a scope that is a path on this origin with the
// start URL inside it, and icons served under /web/ with valid sizes and
// purposes, among them the PNGs of 192 and 512 pixels for any purpose
// that browsers require to offer installation.
func parseManifest(b []byte) (*manifest, error) {
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if dec.More() {
		return nil, errors.New("manifest: data after the JSON object")
	}
	for _, f := range []struct{ name, v string }{
		{"name", m.Name}, {"short_name", m.ShortName}, {"description", m.Description},
		{"start_url", m.StartURL}, {"scope", m.Scope}, {"display", m.Display},
		{"background_color", m.BackgroundColor}, {"theme_color", m.ThemeColor},
	} {
		if strings.TrimSpace(f.v) == "" {
			return nil, fmt.Errorf("manifest: no %s", f.name)
		}
	}
	if !slices.Contains(displays, m.Display) {
		return nil, fmt.Errorf("manifest: display %q, want one of %s", m.Display, strings.Join(displays, ", "))
	}
	for _, c := range []struct{ name, v string }{{"background_color", m.BackgroundColor}, {"theme_color", m.ThemeColor}} {
		if !hexColor.MatchString(c.v) {
			return nil, fmt.Errorf("manifest: %s %q is not a colour #rgb or #rrggbb", c.name, c.v)
		}
	}
	if err := m.checkScope(); err != nil {
		return nil, err
	}
	for _, ic := range m.Icons {
		if err := ic.check(); err != nil {
			return nil, fmt.Errorf("manifest: icon %s: %w", ic.Src, err)
		}
	}
	for _, size := range []string{"192x192", "512x512"} {
		if m.icon("image/png", size, "any") == "" {
			return nil, fmt.Errorf("manifest: no PNG icon of %s for any purpose", size)
		}
	}
	return &m, nil
}

// checkScope checks that the scope is a path on this origin and that the
// start URL is within it.
func (m *manifest) checkScope() error {
	base := &url.URL{Scheme: "https", Host: "app.invalid", Path: "/"}
	resolve := func(name, ref string) (*url.URL, error) {
		u, err := url.Parse(ref)
		if err != nil {
			return nil, fmt.Errorf("manifest: %s: %w", name, err)
		}
		r := base.ResolveReference(u)
		if r.Scheme != base.Scheme || r.Host != base.Host || u.User != nil {
			return nil, fmt.Errorf("manifest: %s %q is not on the app's origin", name, ref)
		}
		return r, nil
	}
	scope, err := resolve("scope", m.Scope)
	if err != nil {
		return err
	}
	start, err := resolve("start_url", m.StartURL)
	if err != nil {
		return err
	}
	if scope.RawQuery != "" || scope.Fragment != "" {
		return fmt.Errorf("manifest: scope %q has a query or a fragment", m.Scope)
	}
	if !strings.HasPrefix(start.Path, scope.Path) {
		return fmt.Errorf("manifest: start_url %q is outside the scope %q", m.StartURL, m.Scope)
	}
	return nil
}

// check checks an icon's members.
func (ic manifestIcon) check() error {
	if !strings.HasPrefix(ic.Src, "/web/") {
		return errors.New("not a file under /web/")
	}
	if ic.Type == "" {
		return errors.New("no type")
	}
	if ic.Sizes == "" {
		return errors.New("no sizes")
	}
	for _, s := range strings.Fields(ic.Sizes) {
		if s == "any" {
			continue
		}
		if _, _, ok := parseSize(s); !ok {
			return fmt.Errorf("size %q, want any or WIDTHxHEIGHT", s)
		}
	}
	for _, p := range ic.purposes() {
		if p != "any" && p != "maskable" && p != "monochrome" {
			return fmt.Errorf("purpose %q, want any, maskable or monochrome", p)
		}
	}
	return nil
}

// purposes are the icon's purposes; "any" when it has none.
func (ic manifestIcon) purposes() []string {
	if p := strings.Fields(strings.ToLower(ic.Purpose)); len(p) > 0 {
		return p
	}
	return []string{"any"}
}

// icon returns the src of the first icon of type typ, of size size
// ("any" for any size) and for purpose, or "".
func (m *manifest) icon(typ, size, purpose string) string {
	for _, ic := range m.Icons {
		if ic.Type == typ && slices.Contains(strings.Fields(strings.ToLower(ic.Sizes)), size) && slices.Contains(ic.purposes(), purpose) {
			return ic.Src
		}
	}
	return ""
}

// goappIcon is go-app's view of the icons: left empty, go-app would
// link icons from its own site, so every one is set to one of ours.
func (m *manifest) goappIcon() app.Icon {
	ic := app.Icon{
		Default: m.icon("image/png", "192x192", "any"),
		Large:   m.icon("image/png", "512x512", "any"),
		SVG:     m.icon("image/svg+xml", "any", "any"),
	}
	for _, size := range []string{"512x512", "192x192"} {
		if ic.Maskable == "" {
			ic.Maskable = m.icon("image/png", size, "maskable")
		}
	}
	if ic.Maskable == "" {
		ic.Maskable = ic.Default
	}
	if ic.SVG == "" {
		ic.SVG = ic.Default
	}
	return ic
}

// checkIcons checks that every icon of the manifest is one of the static
// files, of the type it declares and, for a PNG, of the sizes it
// declares.
func (m *manifest) checkIcons(a *assets) error {
	for _, ic := range m.Icons {
		f, ok := a.files[ic.Src]
		if !ok {
			return fmt.Errorf("manifest: no icon %s among the static files", ic.Src)
		}
		if ct, _, _ := strings.Cut(f.ctype, ";"); ct != ic.Type {
			return fmt.Errorf("manifest: icon %s is %s, not %s", ic.Src, ct, ic.Type)
		}
		if ic.Type != "image/png" {
			continue
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(f.body))
		if err != nil {
			return fmt.Errorf("manifest: icon %s: %w", ic.Src, err)
		}
		for _, s := range strings.Fields(ic.Sizes) {
			if w, h, ok := parseSize(s); ok && (w != cfg.Width || h != cfg.Height) {
				return fmt.Errorf("manifest: icon %s is %dx%d, not %s", ic.Src, cfg.Width, cfg.Height, s)
			}
		}
	}
	return nil
}

// parseSize parses WIDTHxHEIGHT (the x in either case): decimal digits
// without a leading zero.
func parseSize(s string) (w, h int, ok bool) {
	ws, hs, found := strings.Cut(strings.ToLower(s), "x")
	if !found {
		return 0, 0, false
	}
	num := func(s string) int {
		if s == "" || s[0] == '0' || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
			return 0
		}
		n, _ := strconv.Atoi(s) // digits only, at most 5
		return n
	}
	w, h = num(ws), num(hs)
	return w, h, w > 0 && h > 0
}
