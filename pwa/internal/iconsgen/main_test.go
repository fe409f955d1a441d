package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual"
)

// TestManifest: the icons drawn are the manifest's, at its sizes and
// purposes, and the brand colour is its theme colour.
func TestManifest(t *testing.T) {
	var m struct {
		ThemeColor string `json:"theme_color"`
		Icons      []struct{ Src, Sizes, Type, Purpose string }
	}
	if err := json.Unmarshal(mutual.Manifest(), &m); err != nil {
		t.Fatal(err)
	}
	if m.ThemeColor != brand.hex() {
		t.Errorf("theme_color %s, brand %s", m.ThemeColor, brand.hex())
	}
	var want []icon
	svgs := 0
	for _, ic := range m.Icons {
		if !strings.HasPrefix(ic.Src, "/web/icons/") {
			t.Errorf("icon %s is not under /web/icons/, where the icons are drawn", ic.Src)
		}
		switch ic.Type {
		case "image/png":
			size, _, _ := strings.Cut(ic.Sizes, "x")
			n := 0
			for _, c := range size {
				n = 10*n + int(c-'0')
			}
			want = append(want, icon{path.Base(ic.Src), n, strings.Contains(ic.Purpose, "maskable")})
		case "image/svg+xml":
			svgs++
			if path.Base(ic.Src) != "icon.svg" {
				t.Errorf("the SVG icon is drawn as icon.svg, not %s", path.Base(ic.Src))
			}
		}
	}
	if !slices.Equal(want, icons) || svgs != 1 {
		t.Errorf("the manifest's icons are %v and %d SVG, the generator draws %v and icon.svg", want, svgs, icons)
	}
}

// TestCommittedIcons: the icons under static/icons are this generator's
// current output (run go generate ./pwa after changing it).
func TestCommittedIcons(t *testing.T) {
	dir := t.TempDir()
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "static", "icons")
	for _, name := range []string{"icon-192.png", "icon-512.png", "icon-maskable-512.png", "icon.svg"} {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(committed, name))
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Ext(name) == ".svg" {
				if !bytes.Equal(got, want) {
					t.Fatal("out of date: run go generate ./pwa")
				}
				return
			}
			// Compare pixels, not bytes: PNG encoders may compress
			// differently.
			if !samePixels(t, decodePNG(t, got), decodePNG(t, want)) {
				t.Fatal("out of date: run go generate ./pwa")
			}
		})
	}
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func samePixels(t *testing.T, a, b image.Image) bool {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// TestMaskableSafeZone: the maskable icon is opaque, and outside the
// central circle of radius 40% of its side (the manifest's safe zone)
// it is the plain brand colour, so no mask cuts into the mark.
func TestMaskableSafeZone(t *testing.T) {
	img := draw(icon{"maskable", 512, true})
	const safe = 0.40 * 512
	for y := range 512 {
		for x := range 512 {
			c := img.NRGBAAt(x, y)
			if c.A != 255 {
				t.Fatalf("pixel %d,%d is not opaque", x, y)
			}
			if math.Hypot(float64(x)+0.5-256, float64(y)+0.5-256) > safe && (c.R != brand.r || c.G != brand.g || c.B != brand.b) {
				t.Fatalf("pixel %d,%d outside the safe zone is %v", x, y, c)
			}
		}
	}
}

// TestIconCorners: the other icons are rounded squares, transparent in
// the corners and opaque in the middle.
func TestIconCorners(t *testing.T) {
	for _, ic := range icons[:2] {
		img := draw(ic)
		n := ic.size
		if img.NRGBAAt(0, 0).A != 0 || img.NRGBAAt(n-1, n-1).A != 0 {
			t.Errorf("%s: corners not transparent", ic.name)
		}
		if img.NRGBAAt(n/2, 2).A != 255 || img.NRGBAAt(2, n/2).A != 255 {
			t.Errorf("%s: edges not opaque", ic.name)
		}
	}
}
