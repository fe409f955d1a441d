// Command iconsgen draws Mutual's icons: two overlapping speech bubbles on
// a rounded square of the brand colour. It writes the PNGs a web app
// manifest needs (192 and 512 pixels, and a 512-pixel maskable icon whose
// mark stays inside the central safe circle) and the SVG they are drawn
// from, so that every size shows the same geometry:
//
//	go generate ./pwa
//
// The PNGs are rasterised from signed distance functions: each pixel's
// coverage of a shape edge comes from its distance to that edge, which
// antialiases curves and straight edges alike without a vector library.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// The palette. Brand is also the manifest's theme colour.
var (
	brand = rgb{0x0f, 0x76, 0x6e}
	back  = rgb{0x99, 0xf6, 0xe4}
	front = rgb{0xff, 0xff, 0xff}
)

// The mark, in units of a 512-pixel icon: a back bubble up and to the
// right with its tail down and to the right, a front bubble down and to
// the left with its tail down and to the left, and a gap of the brand
// colour around the front bubble where it overlaps the back one.
var (
	backBubble = bubble{
		c: vec{296, 214}, r: 126,
		tail: [3]vec{{362, 300}, {410, 226}, {424, 366}},
	}
	frontBubble = bubble{
		c: vec{218, 300}, r: 136,
		tail: [3]vec{{120, 352}, {168, 404}, {92, 430}},
	}
	gap        = 18.0
	cornerFrac = 0.225 // corner radius of the rounded square, a fraction of its side
	// markCentre is the centre of the mark's bounding box: each icon
	// scales the mark about it and puts it at the icon's centre.
	markCentre = vec{253, 262}
	// markScale is the scale of the mark on the rounded square.
	markScale = 0.84
)

// icon is one output file.
type icon struct {
	name     string
	size     int
	maskable bool // full-bleed square, mark shrunk into the safe zone
}

var icons = []icon{
	{"icon-192.png", 192, false},
	{"icon-512.png", 512, false},
	{"icon-maskable-512.png", 512, true},
}

func main() {
	out := flag.String("out", "static/icons", "directory to write the icons to")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "iconsgen:", err)
		os.Exit(1)
	}
}

// write draws every icon into dir.
func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, ic := range icons {
		var b bytes.Buffer
		if err := png.Encode(&b, draw(ic)); err != nil {
			return fmt.Errorf("encode %s: %w", ic.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, ic.name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "icon.svg"), []byte(svg()), 0o644)
}

// safeRadius is the radius, as a fraction of the side, of the circle a
// maskable icon's mark must stay inside (the W3C manifest's safe zone is
// 40%); a little margin is kept inside it.
const safeRadius = 0.36

// maskableScale is the scale of the mark on the maskable icon: all of it,
// gap included, fits the safe circle.
func maskableScale() float64 {
	return safeRadius * 512 / markRadius()
}

// markRadius is the largest distance from markCentre to any point of the mark.
func markRadius() float64 {
	var r float64
	for _, b := range []bubble{backBubble, frontBubble} {
		r = math.Max(r, b.c.sub(markCentre).len()+b.r)
		for _, v := range b.tail {
			r = math.Max(r, v.sub(markCentre).len())
		}
	}
	return r + gap
}

// draw renders ic.
func draw(ic icon) *image.NRGBA {
	n := ic.size
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	px := 512 / float64(n) // mark units per pixel
	scale := markScale
	if ic.maskable {
		scale = maskableScale()
	}
	shift := vec{256, 256}.sub(markCentre.mul(scale))
	for y := range n {
		for x := range n {
			// The centre of the pixel, in 512-unit icon space, then in
			// mark space (before scaling).
			p := vec{(float64(x) + 0.5) * px, (float64(y) + 0.5) * px}
			m := p.sub(shift).mul(1 / scale)
			// Distances in pixels: mark-space distance × scale / px.
			k := scale / px
			var c premul
			if ic.maskable {
				c = c.over(brand, 1)
			} else {
				c = c.over(brand, coverage(roundedSquare(p, 512, cornerFrac*512)/px))
			}
			c = c.over(back, coverage(backBubble.dist(m)*k))
			c = c.over(brand, coverage((frontBubble.dist(m)-gap)*k))
			c = c.over(front, coverage(frontBubble.dist(m)*k))
			img.SetNRGBA(x, y, c.nrgba())
		}
	}
	return img
}

// coverage turns a signed distance in pixels (negative inside) into the
// fraction of the pixel the shape covers.
func coverage(d float64) float64 {
	return math.Min(1, math.Max(0, 0.5-d))
}

// svg writes the same drawing as the PNGs, on a 512 grid.
func svg() string {
	var b strings.Builder
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">` + "\n")
	fmt.Fprintf(&b, `<rect width="512" height="512" rx="%s" fill="%s"/>`+"\n", num(cornerFrac*512), brand.hex())
	shift := vec{256, 256}.sub(markCentre.mul(markScale))
	fmt.Fprintf(&b, `<g transform="translate(%s %s) scale(%s)">`+"\n", num(shift.x), num(shift.y), num(markScale))
	fmt.Fprintf(&b, `<g fill="%s">%s</g>`+"\n", back.hex(), backBubble.svg())
	// The gap: the front bubble's outline stroked with round joins is the
	// bubble grown by half the stroke width.
	fmt.Fprintf(&b, `<g fill="%s" stroke="%s" stroke-width="%s" stroke-linejoin="round">%s</g>`+"\n",
		brand.hex(), brand.hex(), num(2*gap), frontBubble.svg())
	fmt.Fprintf(&b, `<g fill="%s">%s</g>`+"\n", front.hex(), frontBubble.svg())
	b.WriteString("</g>\n</svg>\n")
	return b.String()
}

// bubble is a circle with a triangular tail.
type bubble struct {
	c    vec
	r    float64
	tail [3]vec
}

// dist is the signed distance from p to the bubble (negative inside).
func (b bubble) dist(p vec) float64 {
	return math.Min(p.sub(b.c).len()-b.r, triangle(p, b.tail))
}

func (b bubble) svg() string {
	t := b.tail
	return fmt.Sprintf(`<circle cx="%s" cy="%s" r="%s"/><path d="M%s %sL%s %sL%s %sZ"/>`,
		num(b.c.x), num(b.c.y), num(b.r), num(t[0].x), num(t[0].y), num(t[1].x), num(t[1].y), num(t[2].x), num(t[2].y))
}

// triangle is the signed distance from p to the triangle t.
func triangle(p vec, t [3]vec) float64 {
	d := math.Inf(1)
	inside := true
	sign := 0.0
	for i := range 3 {
		a, b := t[i], t[(i+1)%3]
		d = math.Min(d, segment(p, a, b))
		s := b.sub(a).cross(p.sub(a))
		if sign == 0 {
			sign = s
		} else if s*sign < 0 {
			inside = false
		}
	}
	if inside {
		return -d
	}
	return d
}

// segment is the distance from p to the segment ab.
func segment(p, a, b vec) float64 {
	ab, ap := b.sub(a), p.sub(a)
	h := math.Min(1, math.Max(0, ap.dot(ab)/ab.dot(ab)))
	return ap.sub(ab.mul(h)).len()
}

// roundedSquare is the signed distance from p to a square of side n with
// corners of radius r, whose top left corner is the origin.
func roundedSquare(p vec, n, r float64) float64 {
	h := n / 2
	q := vec{math.Abs(p.x-h) - (h - r), math.Abs(p.y-h) - (h - r)}
	outside := vec{math.Max(q.x, 0), math.Max(q.y, 0)}.len()
	return outside + math.Min(math.Max(q.x, q.y), 0) - r
}

type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec       { return vec{a.x - b.x, a.y - b.y} }
func (a vec) mul(k float64) vec   { return vec{a.x * k, a.y * k} }
func (a vec) dot(b vec) float64   { return a.x*b.x + a.y*b.y }
func (a vec) cross(b vec) float64 { return a.x*b.y - a.y*b.x }
func (a vec) len() float64        { return math.Hypot(a.x, a.y) }

type rgb struct{ r, g, b uint8 }

func (c rgb) hex() string { return fmt.Sprintf("#%02x%02x%02x", c.r, c.g, c.b) }

// premul is a colour with premultiplied alpha, in [0, 1].
type premul struct{ r, g, b, a float64 }

// over paints c with opacity alpha over p.
func (p premul) over(c rgb, alpha float64) premul {
	k := 1 - alpha
	return premul{
		r: float64(c.r)/255*alpha + p.r*k,
		g: float64(c.g)/255*alpha + p.g*k,
		b: float64(c.b)/255*alpha + p.b*k,
		a: alpha + p.a*k,
	}
}

func (p premul) nrgba() color.NRGBA {
	if p.a == 0 {
		return color.NRGBA{}
	}
	to8 := func(v float64) uint8 { return uint8(math.Round(math.Min(1, math.Max(0, v)) * 255)) }
	return color.NRGBA{to8(p.r / p.a), to8(p.g / p.a), to8(p.b / p.a), to8(p.a)}
}

// num formats a coordinate without needless decimals.
func num(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
