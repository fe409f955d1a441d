package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestLinkLookupsAcrossReconnects: FetchLink, LinkDevice and
// ApproveDevice each allow an account 10, then one a minute, and signing
// in again does not refill them: guessing codes (hopeless at 60 bits)
// or device numbers stays slow.
func TestLinkLookupsAcrossReconnects(t *testing.T) {
	h, gc := frozenHarness(t)
	for _, tt := range []struct {
		name string
		req  func(i int) wire.Body
	}{
		{"fetch_link", func(i int) wire.Body { return &wire.FetchLink{Code: fmt.Sprintf("%012d", i)} }},
		{"link_device", func(i int) wire.Body {
			return &wire.LinkDevice{Code: fmt.Sprintf("%012d", i), Provision: []byte{1}}
		}},
		{"approve_device", func(i int) wire.Body { return &wire.ApproveDevice{Device: wire.DeviceID(100 + i)} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mallory := h.register(t, "email:mallory-"+tt.name+"@example.org")
			for i := range 10 {
				if got := mallory.call(tt.req(i)); errorCode(t, got) != wire.CodeNotFound {
					t.Fatalf("guess %d: %#v", i, got)
				}
			}
			for range 3 {
				h.reconnect(t, mallory)
				e, ok := mallory.call(tt.req(99)).(*wire.Error)
				if !ok || e.Code != wire.CodeRateLimited || e.RetryAfterMS == 0 {
					t.Fatalf("past the burst, after signing in again: %#v", e)
				}
			}
			gc.advance(time.Minute)
			if got := mallory.call(tt.req(11)); errorCode(t, got) != wire.CodeNotFound {
				t.Fatalf("a minute later: %#v", got)
			}
		})
	}
}

// TestLinkWaitingPerNetwork: one client network may keep 3 connections
// waiting to be linked; another network is not affected.
func TestLinkWaitingPerNetwork(t *testing.T) {
	h, gc := frozenHarness(t)
	const ip = "203.0.113.7"
	var waiting []*client
	for i := range 3 {
		c := h.dialForwarded(t, ip)
		startLink(t, c, newLinkKeys(byte(i+1)))
		waiting = append(waiting, c)
	}
	e, ok := h.dialForwarded(t, ip).call(newLinkKeys(9)).(*wire.Error)
	if !ok || e.Code != wire.CodeRateLimited || e.RetryAfterMS == 0 {
		t.Fatalf("a fourth waiting connection: %#v", e)
	}
	startLink(t, h.dialForwarded(t, "198.51.100.1"), newLinkKeys(10))
	// One that goes away makes room (the clock moves on so that the
	// attempts meanwhile do not empty the network's Link budget).
	waiting[0].ws.CloseNow()
	wait.For(t, "the closed connection's place", func() bool {
		gc.advance(3 * time.Minute)
		_, ok := h.dialForwarded(t, ip).call(newLinkKeys(11)).(*wire.LinkStarted)
		return ok
	})
}

// TestLinkFramesPerNetwork: one client network may send 20 Link frames,
// then one every 3 minutes, however many connections it uses.
func TestLinkFramesPerNetwork(t *testing.T) {
	h, gc := frozenHarness(t)
	const ip = "203.0.113.8"
	bad := &wire.Link{DeviceName: "no keys"} // counted, then refused
	for i := range 20 {
		c := h.dialForwarded(t, ip)
		if got := c.call(bad); errorCode(t, got) != wire.CodeBadRequest {
			t.Fatalf("link %d: %#v", i, got)
		}
		c.ws.CloseNow()
	}
	e, ok := h.dialForwarded(t, ip).call(newLinkKeys(1)).(*wire.Error)
	if !ok || e.Code != wire.CodeRateLimited || e.RetryAfterMS < uint64(time.Minute.Milliseconds()) {
		t.Fatalf("the 21st Link: %#v", e)
	}
	startLink(t, h.dialForwarded(t, "198.51.100.2"), newLinkKeys(2))
	gc.advance(3 * time.Minute)
	startLink(t, h.dialForwarded(t, ip), newLinkKeys(3))
}
