package server_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/relay/server"
)

// fromAddr is an HTTP client whose connections leave from the loopback
// address local (127.0.0.2...: a client network of its own), one TCP
// connection per request.
func fromAddr(t *testing.T, local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// checkSecurityHeaders checks the headers every public response carries.
func checkSecurityHeaders(t *testing.T, what string, h http.Header, csp string) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": csp,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s %q, want %q", what, k, got, v)
		}
	}
}

// TestUnauthenticatedFloodLeavesRoom: one address opens WebSocket
// connections past its cap and never authenticates. The extra ones are
// refused before the upgrade, with the TCP connection closed; /healthz
// still answers, and a real client on another network signs in.
func TestUnauthenticatedFloodLeavesRoom(t *testing.T) {
	const perNet = 8
	r := startRelay(t, func(c *server.Config) { c.Gateway.MaxUnauthPerNetwork = perNet })
	url := "ws" + strings.TrimPrefix(r.BaseURL(), "http") + "/v1/ws"
	attacker := fromAddr(t, "127.0.0.2")
	for range perNet {
		ws, _, err := websocket.Dial(ctxT(t), url, &websocket.DialOptions{HTTPClient: attacker})
		if err != nil {
			t.Fatalf("connection within the cap: %v", err)
		}
		t.Cleanup(func() { ws.CloseNow() })
	}
	for range 50 {
		ws, resp, err := websocket.Dial(ctxT(t), url, &websocket.DialOptions{HTTPClient: attacker})
		if err == nil {
			ws.CloseNow()
			t.Fatal("a connection past the cap was accepted")
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !resp.Close {
			t.Fatalf("refusal: %v %v, want 429 with Retry-After and Connection: close", resp, err)
		}
		checkSecurityHeaders(t, "refusal", resp.Header, server.StrictContentSecurityPolicy)
	}
	resp, err := http.Get(r.BaseURL() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz during the flood: %v %v", resp, err)
	}
	resp.Body.Close()
	checkSecurityHeaders(t, "/healthz", resp.Header, server.StrictContentSecurityPolicy)
	r.register("email:alice@example.org") // from 127.0.0.1
	if v, ok := sample(scrape(t, r.MetricsURL()), "mutual_gateway_refused_total", "cap=network"); !ok || v != 50 {
		t.Errorf("mutual_gateway_refused_total{cap=network} = %v (present %v), want 50", v, ok)
	}
}

// TestMetricsNotPublic: the public listener has no /metrics; the metrics
// listener has.
func TestMetricsNotPublic(t *testing.T) {
	r := startRelay(t, nil)
	resp, err := http.Get(r.BaseURL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("public /metrics: %s, want 404", resp.Status)
	}
	resp, err = http.Get(r.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "mutual_gateway_connections") {
		t.Fatalf("metrics listener: %s", resp.Status)
	}
}

// pageWithPolicy is a web app that names its own Content-Security-Policy.
type pageWithPolicy struct{}

func (pageWithPolicy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "<!doctype html><title>app</title>")
}
func (pageWithPolicy) ContentSecurityPolicy() string { return "default-src 'self'" }

// TestSecurityHeaders: every public response carries the policy of the
// web app, or the strict one without an app, nosniff and no-referrer.
func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name string
		web  http.Handler
		csp  string
	}{
		{"no web app", nil, server.StrictContentSecurityPolicy},
		{"web app", pageWithPolicy{}, "default-src 'self'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRelay(t, func(c *server.Config) { c.Web = tt.web })
			for _, path := range []string{"/", "/healthz", "/v1/ws", "/nowhere/at/all"} {
				resp, err := http.Get(r.BaseURL() + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				checkSecurityHeaders(t, path, resp.Header, tt.csp)
			}
			ws, resp, err := websocket.Dial(ctxT(t), r.URL(), nil)
			if err != nil {
				t.Fatal(err)
			}
			ws.CloseNow()
			checkSecurityHeaders(t, "upgrade", resp.Header, tt.csp)
		})
	}
}

// TestHostHeader: a request for a host name the relay does not answer to
// is refused with 421, the WebSocket of a DNS-rebinding page (its own
// name as Host and Origin) included.
func TestHostHeader(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		host  string
		want  int
	}{
		{"loopback address", nil, "127.0.0.1:8080", http.StatusOK},
		{"IPv6 loopback", nil, "[::1]:8080", http.StatusOK},
		{"localhost", nil, "localhost:8080", http.StatusOK},
		{"a name under localhost", nil, "app.localhost", http.StatusOK},
		{"an IP address", nil, "192.0.2.10", http.StatusOK},
		{"a name, none configured", nil, "rebind.example", http.StatusMisdirectedRequest},
		{"the public name", []string{"chat.example.org"}, "chat.example.org", http.StatusOK},
		{"the public name, any case, a port, a final dot", []string{"chat.example.org"}, "Chat.Example.Org.:443", http.StatusOK},
		{"localhost beside a public name", []string{"chat.example.org"}, "localhost:8080", http.StatusOK},
		{"another name", []string{"chat.example.org"}, "rebind.example", http.StatusMisdirectedRequest},
		{"an IP address beside a public name", []string{"chat.example.org"}, "192.0.2.10", http.StatusMisdirectedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRelay(t, func(c *server.Config) { c.PublicNames = tt.names })
			req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, r.BaseURL()+"/healthz", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("/healthz for Host %s: %s, want %d", tt.host, resp.Status, tt.want)
			}
			if tt.want != http.StatusOK {
				checkSecurityHeaders(t, "421", resp.Header, server.StrictContentSecurityPolicy)
				// A page on that name, rebound to the relay's address,
				// opening the WebSocket as same-origin.
				h := http.Header{"Origin": {"http://" + tt.host}}
				ws, resp, err := websocket.Dial(ctxT(t), r.URL(), &websocket.DialOptions{Host: tt.host, HTTPHeader: h})
				if err == nil {
					ws.CloseNow()
					t.Fatal("the rebinding page's WebSocket was accepted")
				}
				if resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
					t.Fatalf("rebinding page's WebSocket: %v %v, want 421", resp, err)
				}
			}
		})
	}
}
