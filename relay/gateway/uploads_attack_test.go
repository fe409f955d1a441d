package gateway_test

import (
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// TestUploadFlood: a client that sends Upload frames without end is
// granted the burst of 60, then one a second, and reconnecting gains it
// nothing; new uploads stop at the 20 unfinished ones however it asks.
func TestUploadFlood(t *testing.T) {
	h, gc := frozenHarness(t)
	mallory := h.register(t, "email:mallory@example.org")
	blob := mallory.grant(&wire.Upload{Size: 1000}).Blob
	renew := func() wire.Body { return &wire.Upload{Blob: blob} }

	total := 1 // the first grant
	for i := range 5 {
		if i > 0 {
			h.reconnect(t, mallory)
		}
		n, _ := untilLimited(t, mallory, renew)
		total += n
	}
	if total != 60 {
		t.Fatalf("5 connections of one account were granted %d uploads at one instant, want the burst of 60", total)
	}
	gc.advance(time.Second)
	h.reconnect(t, mallory)
	if n, e := untilLimited(t, mallory, renew); n != 1 || e.RetryAfterMS > 1001 {
		t.Fatalf("a second later: %d grants, then %#v; want 1, then a wait of at most a second", n, e)
	}

	// New uploads: 20 unfinished at once (the first is one of them),
	// whatever the connection.
	gc.advance(time.Minute) // the bucket is full again
	granted := 1
	for i := range 40 {
		if i == 20 {
			h.reconnect(t, mallory)
		}
		switch got := mallory.call(&wire.Upload{Size: 1000}).(type) {
		case *wire.UploadGrant:
			granted++
		case *wire.Error:
			if got.Code != wire.CodeRateLimited || got.RetryAfterMS == 0 {
				t.Fatalf("refused with %#v", got)
			}
		default:
			t.Fatalf("answered %#v", got)
		}
	}
	if granted != 20 {
		t.Fatalf("%d unfinished uploads granted, want 20", granted)
	}
}
