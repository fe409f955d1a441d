package gateway_test

import (
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestCoopFlood: an account that sends Coop frames without end gets the
// burst of 60, then one a second, however often it reconnects; the
// service is asked nothing past the limit.
func TestCoopFlood(t *testing.T) {
	fc := newFakeCoop()
	gc := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.Now, c.RefusalPause, c.Coop = gc.Now, time.Millisecond, fc
	})
	mallory := h.register(t, "email:mallory@example.org")
	status := func() wire.Body { return &wire.Coop{Op: wire.CoopStatus} }
	total := 0
	for i := range 4 {
		if i > 0 {
			h.reconnect(t, mallory)
		}
		n, _ := untilLimited(t, mallory, status)
		total += n
	}
	if total != 60 || fc.handled() != 60 {
		t.Fatalf("4 connections at one instant: %d answered, %d reached the co-op; want the burst of 60", total, fc.handled())
	}
	gc.advance(time.Second)
	h.reconnect(t, mallory)
	if n, e := untilLimited(t, mallory, status); n != 1 || e.RetryAfterMS > 1001 {
		t.Fatalf("a second later: %d answered, then %#v; want 1, then a wait of at most a second", n, e)
	}
}

// TestCoopJoinFlood: each Join creates a checkout at the payment
// provider, so an account gets 5, then one every 10 minutes, across
// reconnects, whatever room its other Coop frames have.
func TestCoopJoinFlood(t *testing.T) {
	fc := newFakeCoop()
	fc.answer(wire.CoopJoin, func(wire.UserID, *wire.Coop) (wire.Body, error) {
		return &wire.CoopCheckout{URL: "https://pay.example.org/x"}, nil
	})
	gc := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.Now, c.RefusalPause, c.Coop = gc.Now, time.Millisecond, fc
	})
	mallory := h.register(t, "email:mallory@example.org")
	join := func() wire.Body { return &wire.Coop{Op: wire.CoopJoin, Provider: "stripe", Plan: "monthly"} }
	total := 0
	for i := range 3 {
		if i > 0 {
			h.reconnect(t, mallory)
		}
		n, e := untilLimited(t, mallory, join)
		total += n
		if e.RetryAfterMS < uint64((9 * time.Minute).Milliseconds()) {
			t.Fatalf("told to wait %d ms, want about 10 minutes", e.RetryAfterMS)
		}
	}
	if total != 5 || fc.handled() != 5 {
		t.Fatalf("%d joins answered, %d reached the co-op; want 5", total, fc.handled())
	}
	if _, ok := mallory.call(&wire.Coop{Op: wire.CoopStatus}).(*wire.CoopInfo); !ok {
		t.Fatal("status refused while only joins are spent")
	}
	gc.advance(10 * time.Minute)
	h.reconnect(t, mallory)
	if n, _ := untilLimited(t, mallory, join); n != 1 {
		t.Fatalf("10 minutes later: %d joins, want 1", n)
	}
}
