//go:build !wasm

package pwa

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// contentSecurityPolicy is the policy the app's pages run under, given
// the hashes of their inline scripts ('sha256-…'):
//
//   - scripts from the app's origin only, WebAssembly compiled by it
//     ('wasm-unsafe-eval', which allows no JavaScript eval), and the inline
//     scripts of the pages by hash (the theme script that runs before the
//     first paint);
//   - style sheets from the origin; style attributes inline, which go-app
//     sets (setAttribute("style")) for values such as an avatar's hue;
//   - connections (the WebSocket, the service worker's fetches, the
//     attachments' uploads and downloads), the service worker and the
//     manifest from the origin only;
//   - images, video and audio from the origin and from blob: URLs, which
//     the app makes of attachments it decrypted on the device;
//   - no plugins, no <base>, and no framing by any page.
func contentSecurityPolicy(scriptHashes []string) string {
	script := "script-src 'self' 'wasm-unsafe-eval'"
	for _, h := range scriptHashes {
		script += " '" + h + "'"
	}
	return strings.Join([]string{
		"default-src 'self'",
		script,
		"style-src 'self'",
		"style-src-attr 'unsafe-inline'",
		"img-src 'self' blob:",
		"media-src 'self' blob:",
		"connect-src 'self'",
		"worker-src 'self'",
		"manifest-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// ContentSecurityPolicy is the Content-Security-Policy to send with every
// response of the app's origin: the relay sends it, and a bundle's
// README.md and _headers give it to the web server. It allows the inline
// scripts of the app's pages by their hashes, taken from the pages
// themselves when the handler was made, so that it cannot drift from
// them.
func (h *Handler) ContentSecurityPolicy() string { return h.csp }

// inlineScript matches a <script> element: its attributes and its text;
// srcAttr, a src attribute among them.
var (
	inlineScript = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	srcAttr      = regexp.MustCompile(`(?i)\bsrc\s*=`)
)

// scriptHashes returns the CSP hash sources ('sha256-…', without quotes)
// of the inline scripts in the pages the handler serves at paths and in
// head, sorted and without duplicates. A page that is not there (the
// program registered no such route) adds nothing.
func (h *Handler) scriptHashes(head []string, paths ...string) ([]string, error) {
	docs := slices.Clone(head)
	for _, p := range paths {
		rec := &pageRecorder{header: make(http.Header)}
		req, err := http.NewRequest(http.MethodGet, p, nil)
		if err != nil {
			return nil, err
		}
		h.goapp.ServeHTTP(rec, req)
		if rec.status == 0 || rec.status == http.StatusOK {
			docs = append(docs, rec.body.String())
		}
	}
	var hashes []string
	for _, doc := range docs {
		for _, m := range inlineScript.FindAllStringSubmatch(doc, -1) {
			if srcAttr.MatchString(m[1]) {
				continue
			}
			sum := sha256.Sum256([]byte(m[2]))
			hashes = append(hashes, "sha256-"+base64.StdEncoding.EncodeToString(sum[:]))
		}
	}
	slices.Sort(hashes)
	return slices.Compact(hashes), nil
}

// pageRecorder keeps a page the handler writes.
type pageRecorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *pageRecorder) Header() http.Header { return r.header }
func (r *pageRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *pageRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// headersFile is a bundle's _headers, the format of static hosts such as
// Netlify and Cloudflare Pages: the security headers on every path.
func headersFile(csp string) []byte {
	return fmt.Appendf(nil, "/*\n  Content-Security-Policy: %s\n  X-Content-Type-Options: nosniff\n  Referrer-Policy: no-referrer\n", csp)
}
