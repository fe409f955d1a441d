package gateway_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// dialFrom opens a WebSocket to the gateway from the loopback address
// local (127.0.0.1, 127.0.0.2...: each a client network of its own) and
// returns the connection, or the HTTP answer that refused it.
func (h *harness) dialFrom(t *testing.T, local string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	t.Cleanup(hc.CloseIdleConnections)
	ws, resp, err := websocket.Dial(ctxT(t), h.url, &websocket.DialOptions{HTTPClient: hc})
	if err == nil {
		ws.SetReadLimit(wire.MaxClientReadSize)
		t.Cleanup(func() { ws.CloseNow() })
	}
	return ws, resp, err
}

// mustDialFrom is dialFrom that fails the test when refused.
func (h *harness) mustDialFrom(t *testing.T, local string) *client {
	t.Helper()
	ws, _, err := h.dialFrom(t, local)
	if err != nil {
		t.Fatalf("dial from %s: %v", local, err)
	}
	return &client{t: t, ws: ws}
}

// refusedFrom dials from local and checks that the gateway refuses the
// upgrade with status and a Retry-After.
func (h *harness) refusedFrom(t *testing.T, local string, status int) {
	t.Helper()
	ws, resp, err := h.dialFrom(t, local)
	if err == nil {
		ws.CloseNow()
		t.Fatalf("dial from %s: connected, want refused with %d", local, status)
	}
	if resp == nil || resp.StatusCode != status {
		t.Fatalf("dial from %s: %v (%v), want status %d", local, resp, err, status)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("refusal %d without Retry-After", status)
	}
}

// TestUnauthenticatedConnectionCaps: connections that never authenticate
// are capped per client network and in all, before the upgrade; another
// network still connects, a real client still signs in, authenticated
// connections leave the unauthenticated counts, and closing a connection
// frees its place.
func TestUnauthenticatedConnectionCaps(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) {
		c.MaxUnauthPerNetwork = 4
		c.MaxUnauth = 6
		c.MaxConns = 100
	})
	// One address opens connections past its cap and never authenticates.
	var held []*client
	for range 4 {
		held = append(held, h.mustDialFrom(t, "127.0.0.1"))
	}
	h.refusedFrom(t, "127.0.0.1", http.StatusTooManyRequests)

	// Another network signs in for real; once authenticated, it no longer
	// counts against the caps for connections not authenticated.
	c := h.mustDialFrom(t, "127.0.0.2")
	h.registerOn(t, c, "email:alice@example.org")
	h.mustDialFrom(t, "127.0.0.2")
	h.mustDialFrom(t, "127.0.0.3")
	// Six unauthenticated connections in all: the next is refused, from
	// any network.
	h.refusedFrom(t, "127.0.0.4", http.StatusServiceUnavailable)

	// A connection that ends frees its place.
	held[0].ws.Close(websocket.StatusNormalClosure, "")
	wait.For(t, "the closed connection's place", func() bool {
		ws, _, err := h.dialFrom(t, "127.0.0.1")
		if err == nil {
			ws.CloseNow()
		}
		return err == nil
	})
	// The authenticated connection still works.
	if _, ok := c.call(&wire.ListContacts{}).(*wire.Contacts); !ok {
		t.Fatal("the signed-in client lost its connection")
	}
}

// TestConnectionCapCountsAuthenticated: MaxConns bounds every open
// connection, authenticated or not.
func TestConnectionCapCountsAuthenticated(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) { c.MaxConns = 2 })
	h.register(t, "email:alice@example.org")
	h.register(t, "email:bob@example.org")
	h.refusedFrom(t, "127.0.0.2", http.StatusServiceUnavailable)
}

// TestAuthDeadlineReleases: connections that never authenticate are
// closed at the authentication deadline, and their places are free again.
func TestAuthDeadlineReleases(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) {
		c.MaxUnauthPerNetwork = 2
		c.AuthTimeout = 200 * time.Millisecond
	})
	a, b := h.mustDialFrom(t, "127.0.0.1"), h.mustDialFrom(t, "127.0.0.1")
	for _, c := range []*client{a, b} {
		if got := c.closeCode(); got != wire.CloseIdle {
			t.Fatalf("close code %d, want %d (authentication timeout)", got, wire.CloseIdle)
		}
	}
	wait.For(t, "the expired connections' places", func() bool {
		ws, _, err := h.dialFrom(t, "127.0.0.1")
		if err == nil {
			ws.CloseNow()
		}
		return err == nil
	})
}

// TestAuthDeadlineIsOverall: frames sent before authentication do not
// extend its deadline, so a client cannot stay unauthenticated by
// trickling frames.
func TestAuthDeadlineIsOverall(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h := newHarness(t, func(c *gateway.Config) {
		c.AuthTimeout = timeout
		c.MaxUnauthFrames = 100 // far more than fit in the deadline
	})
	c := h.mustDialFrom(t, "127.0.0.1")
	// Trickle wrong codes, each well within the deadline of the previous
	// one, until the relay closes the connection.
	closed := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			if _, _, err := c.ws.Read(context.Background()); err != nil {
				closed <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	tick := time.NewTicker(timeout / 6)
	defer tick.Stop()
	for {
		select {
		case code := <-closed:
			if code != wire.CloseIdle {
				t.Fatalf("close code %d, want %d (authentication timeout)", code, wire.CloseIdle)
			}
			return
		case <-tick.C:
			c.nextID++
			f := wire.Frame{ID: c.nextID, Body: &wire.Verify{Address: "email:alice@example.org", Code: "12345678", DeviceName: "x"}}
			c.ws.Write(ctxT(t), websocket.MessageBinary, wire.Encode(f)) // fails once the relay has closed
		}
	}
}
