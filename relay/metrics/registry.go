package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// ContentType is the media type of the text exposition format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Registry holds a set of metrics and writes them out. Its methods may be
// called from any goroutine.
type Registry struct {
	mu       sync.RWMutex
	families []*family // sorted by name
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// family is one metric name with its HELP and TYPE.
type family struct {
	name, help, kind string
	m                series
}

// series appends a family's sample lines.
type series interface {
	appendSamples(b []byte, name string) []byte
}

// register adds a family; it panics on a bad or duplicate name.
func (r *Registry) register(name, help, kind string, m series) {
	if !validName(name, true) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	i, found := slices.BinarySearchFunc(r.families, name, func(f *family, name string) int {
		return strings.Compare(f.name, name)
	})
	if found {
		panic(fmt.Sprintf("metrics: %s registered twice", name))
	}
	r.families = slices.Insert(r.families, i, &family{name: name, help: help, kind: kind, m: m})
}

// WriteTo writes every metric in the text exposition format, sorted by
// name.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(r.appendText(nil))
	return int64(n), err
}

func (r *Registry) appendText(b []byte) []byte {
	r.mu.RLock()
	families := slices.Clone(r.families)
	r.mu.RUnlock()
	for _, f := range families {
		b = append(b, "# HELP "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = appendEscaped(b, f.help, false)
		b = append(b, "\n# TYPE "...)
		b = append(b, f.name...)
		b = append(b, ' ')
		b = append(b, f.kind...)
		b = append(b, '\n')
		b = f.m.appendSamples(b, f.name)
	}
	return b
}

// ServeHTTP serves the metrics to a Prometheus scraper.
func (r *Registry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b := r.appendText(nil)
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	if req.Method == http.MethodGet {
		w.Write(b) // the scraper went away; nothing to do
	}
}

// validName checks a metric name (colons allowed) or a label name.
func validName(s string, metric bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c == ':' && metric:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// appendEscaped escapes a HELP text (backslash and newline) or a label
// value (also the double quote). Invalid UTF-8 becomes U+FFFD.
func appendEscaped(b []byte, s string, quote bool) []byte {
	for _, c := range s { // ranging replaces invalid UTF-8 with utf8.RuneError
		switch {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quote:
			b = append(b, `\"`...)
		default:
			b = utf8.AppendRune(b, c)
		}
	}
	return b
}

// appendSample appends one line: name{labels} value.
func appendSample(b []byte, name, suffix, labels string, value []byte) []byte {
	b = append(b, name...)
	b = append(b, suffix...)
	if labels != "" {
		b = append(b, '{')
		b = append(b, labels...)
		b = append(b, '}')
	}
	b = append(b, ' ')
	b = append(b, value...)
	return append(b, '\n')
}

// appendFloat formats a sample value or an le bound as Prometheus does.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}
