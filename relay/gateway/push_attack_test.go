package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestSetPushFlood: an account that stores subscriptions without end (each
// one a write, and a URL the relay will fetch) gets 10, then one every 10
// seconds, however often it reconnects; a refused SetPush stores nothing.
func TestSetPushFlood(t *testing.T) {
	fp := newFakePush(t, "fcm.googleapis.com")
	gc := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.Now, c.RefusalPause, c.Push = gc.Now, time.Millisecond, fp
	})
	mallory := h.register(t, "email:mallory@example.org")
	n := 0
	set := func() wire.Body {
		n++
		return subscription(t, fmt.Sprintf("https://fcm.googleapis.com/fcm/send/%d", n))
	}
	total := 0
	for i := range 3 {
		if i > 0 {
			h.reconnect(t, mallory)
		}
		got, e := untilLimited(t, mallory, set)
		total += got
		if e.RetryAfterMS > 10_001 {
			t.Fatalf("told to wait %d ms, want at most 10 s", e.RetryAfterMS)
		}
	}
	if total != 10 {
		t.Fatalf("3 connections at one instant: %d subscriptions stored, want the burst of 10", total)
	}
	if subs := h.subscriptions(t, mallory.user); len(subs) != 1 || subs[0].Endpoint != "https://fcm.googleapis.com/fcm/send/10" {
		t.Fatalf("stored %+v, want the tenth", subs)
	}
	gc.advance(10 * time.Second)
	h.reconnect(t, mallory)
	if got, _ := untilLimited(t, mallory, set); got != 1 {
		t.Fatalf("10 seconds later: %d stored, want 1", got)
	}
}
