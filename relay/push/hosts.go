package push

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/mutualcoop/mutual/relay/wire"
)

// DefaultHosts are the push services of the browsers Mutual runs in:
// Chrome's and Edge's (Firebase), Firefox's (Mozilla autopush), Safari's
// (Apple) and Windows'. "*.example" matches any name under example.
func DefaultHosts() []string {
	return []string{"fcm.googleapis.com", "updates.push.services.mozilla.com", "*.push.apple.com", "*.notify.windows.com"}
}

// ErrEndpoint wraps every reason an endpoint is refused.
var ErrEndpoint = errors.New("push: endpoint refused")

// Hosts is the list of push services the relay sends to. An entry is a
// host name, which matches that name on port 443; "*.name", which matches
// any name under name on port 443; or "host:port", which matches exactly
// that. An entry that is an IP address ("127.0.0.1:8443") also lets the
// relay connect to that address when it is loopback or private, which it
// refuses otherwise, whatever a name resolves to.
type Hosts struct {
	names    map[string]bool // "name" (port 443) or "name:port"
	suffixes []string        // ".name" of "*.name", port 443
	literal  map[netip.AddrPort]bool
}

// ParseHosts reads an allowed list.
func ParseHosts(list []string) (Hosts, error) {
	h := Hosts{names: make(map[string]bool), literal: make(map[netip.AddrPort]bool)}
	for _, e := range list {
		e = strings.ToLower(strings.TrimSpace(e))
		host, port := e, "443"
		if hp, p, err := net.SplitHostPort(e); err == nil {
			host, port = hp, p
		}
		if host == "" || strings.ContainsAny(host, "/@?# ") {
			return Hosts{}, fmt.Errorf("push: %q is not a host name", e)
		}
		if name, ok := strings.CutPrefix(host, "*."); ok {
			if port != "443" || name == "" || strings.Contains(name, "*") {
				return Hosts{}, fmt.Errorf("push: %q: a wildcard matches names on port 443 only", e)
			}
			h.suffixes = append(h.suffixes, "."+name)
			continue
		}
		h.names[net.JoinHostPort(host, port)] = true
		if ap, err := netip.ParseAddrPort(net.JoinHostPort(host, port)); err == nil {
			h.literal[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())] = true
		}
	}
	return h, nil
}

// Check parses an endpoint and says whether the relay may send to it:
// an https URL of at most wire.MaxPushEndpoint bytes, without user information,
// whose host is on the list. Its errors wrap ErrEndpoint.
func (h Hosts) Check(endpoint string) (*url.URL, error) {
	if len(endpoint) > wire.MaxPushEndpoint {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrEndpoint, wire.MaxPushEndpoint)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: not a URL", ErrEndpoint)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return nil, fmt.Errorf("%w: not an https URL", ErrEndpoint)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = "443"
	}
	if !h.allowed(host, port) {
		return nil, fmt.Errorf("%w: host not allowed", ErrEndpoint)
	}
	return u, nil
}

func (h Hosts) allowed(host, port string) bool {
	if h.names[net.JoinHostPort(host, port)] {
		return true
	}
	if port != "443" {
		return false
	}
	for _, s := range h.suffixes {
		if strings.HasSuffix(host, s) && len(host) > len(s) {
			return true
		}
	}
	return false
}

// control is the dialer's check of each address it connects to, after
// name resolution: a loopback, private, link-local or otherwise internal
// address is refused unless it is listed itself.
func (h Hosts) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: address %q", ErrEndpoint, address)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if public(ap.Addr()) || h.literal[ap] {
		return nil
	}
	return fmt.Errorf("%w: internal address", ErrEndpoint)
}

// sharedSpace is RFC 6598's carrier-grade NAT range, internal too.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

func public(a netip.Addr) bool {
	return a.IsGlobalUnicast() && !a.IsPrivate() && !sharedSpace.Contains(a)
}
