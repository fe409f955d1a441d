package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// StrictContentSecurityPolicy is the Content-Security-Policy of a relay
// that serves no web app: its answers are never pages, so nothing may
// load, run or frame them.
const StrictContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// policied is a web handler that knows the Content-Security-Policy its
// pages need (pwa.Handler does: it hashes their inline scripts).
type policied interface {
	ContentSecurityPolicy() string
}

// contentSecurityPolicy is the policy sent on every response: the web
// app's when it has one, else the strict one.
func contentSecurityPolicy(web http.Handler) string {
	if p, ok := web.(policied); ok {
		return p.ContentSecurityPolicy()
	}
	return StrictContentSecurityPolicy
}

// secure wraps the relay's public handler: every response carries the
// security headers, and a request for a host the relay does not answer to
// is refused with 421 Misdirected Request before anything else happens.
func secure(next http.Handler, csp string, hosts hostCheck) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if !hosts.allowed(r.Host) {
			h.Set("Connection", "close")
			http.Error(w, "misdirected request: this relay does not serve that host name", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostCheck decides which Host headers the relay answers: always
// loopback ones (localhost, *.localhost, 127.0.0.0/8, ::1), for health
// checks and development; then the public names, if any are set (any
// port), or else any IP address. A page that rebinds its own DNS name to
// the relay's address sends that name as Host, so it is refused either
// way, and with public names nobody can serve the app under a name of
// their own pointed at the relay.
type hostCheck struct {
	names map[string]bool // lower case, without a trailing dot
}

func newHostCheck(names []string) hostCheck {
	hc := hostCheck{}
	for _, n := range names {
		if n = normalHost(n); n != "" {
			if hc.names == nil {
				hc.names = make(map[string]bool)
			}
			hc.names[n] = true
		}
	}
	return hc
}

func (hc hostCheck) allowed(host string) bool {
	name := normalHost(host)
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(name)
	if err == nil && ip.Unmap().IsLoopback() {
		return true
	}
	if hc.names != nil {
		return hc.names[name]
	}
	return err == nil
}

// normalHost is a Host header's name without its port, brackets and
// trailing dot, in lower case.
func normalHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.ToLower(strings.TrimSuffix(host, "."))
}
