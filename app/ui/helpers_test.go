package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"
	"go.uber.org/goleak"
	"golang.org/x/net/html"
)

func TestMain(m *testing.M) {
	// runtime.handleEvent is the js/wasm runtime's own event goroutine.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("runtime.handleEvent"))
}

// view is a component showing a fixed tree, to mount views in go-app's
// test engine.
type view struct {
	app.Compo
	tree func() app.UI
}

func (v *view) Render() app.UI { return v.tree() }

// mount mounts tree in a test engine, runs what it dispatched and returns
// the component.
func mount(t *testing.T, tree func() app.UI) *view {
	t.Helper()
	e := app.NewTestEngine()
	v := &view{tree: tree}
	if err := e.Load(v); err != nil {
		t.Fatalf("load: %v", err)
	}
	e.ConsumeAll()
	return v
}

// doc is a rendered tree, parsed back from its HTML.
type doc struct {
	t    *testing.T
	root *html.Node
}

// render renders ui (mounted in a test engine) and parses the HTML.
func render(t *testing.T, tree func() app.UI) doc {
	t.Helper()
	v := mount(t, tree)
	root, err := html.Parse(strings.NewReader(app.HTMLString(v)))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc{t: t, root: root}
}

// all returns the elements that match every one of the simple selectors
// ("#id", ".class", "tag", "[attr]" or "[attr=value]").
func (d doc) all(sel ...string) []*html.Node {
	var out []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && matches(n, sel) {
			out = append(out, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(d.root)
	return out
}

// one returns the only element matching sel.
func (d doc) one(sel ...string) *html.Node {
	d.t.Helper()
	ns := d.all(sel...)
	if len(ns) != 1 {
		d.t.Fatalf("%d elements match %v, want 1", len(ns), sel)
	}
	return ns[0]
}

// within is the part of d under n.
func (d doc) within(n *html.Node) doc { return doc{t: d.t, root: n} }

func matches(n *html.Node, sel []string) bool {
	for _, s := range sel {
		switch {
		case strings.HasPrefix(s, "#"):
			if attr(n, "id") != s[1:] {
				return false
			}
		case strings.HasPrefix(s, "."):
			if !slices.Contains(strings.Fields(attr(n, "class")), s[1:]) {
				return false
			}
		case strings.HasPrefix(s, "["):
			k, v, hasV := strings.Cut(strings.Trim(s, "[]"), "=")
			got, ok := attrOK(n, k)
			if !ok || (hasV && got != v) {
				return false
			}
		default:
			if n.Data != s {
				return false
			}
		}
	}
	return true
}

func attrOK(n *html.Node, k string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val, true
		}
	}
	return "", false
}

func attr(n *html.Node, k string) string {
	v, _ := attrOK(n, k)
	return v
}

// text is the text content of n, whitespace collapsed.
func text(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// hasClass reports whether n has the class.
func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}
