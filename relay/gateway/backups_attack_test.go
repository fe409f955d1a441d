package gateway_test

import (
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// TestBackupFlood: an account's Backup frames, of every kind, are 10,
// then one a minute, however often it reconnects.
func TestBackupFlood(t *testing.T) {
	h, store, gc := backupHarness(t)
	mallory := h.register(t, "email:mallory@example.org")
	blob := h.upload(t, mallory, store, gc.Now(), 10)
	set := func() wire.Body { return &wire.Backup{Op: wire.BackupSet, Blob: blob, Sealed: []byte("sealed")} }
	get := func() wire.Body { return &wire.Backup{Op: wire.BackupGet} }

	total := 0
	for i := range 4 {
		if i > 0 {
			h.reconnect(t, mallory)
		}
		request := set
		if i%2 == 1 {
			request = get
		}
		n, _ := untilLimited(t, mallory, request)
		total += n
	}
	if total != 10 {
		t.Fatalf("4 connections of one account had %d Backup frames answered at one instant, want 10", total)
	}
	if e := errorCode(t, mallory.call(&wire.Backup{Op: wire.BackupDelete})); e != wire.CodeRateLimited {
		t.Fatalf("a delete past the limit: %v", e)
	}
	gc.advance(time.Minute)
	h.reconnect(t, mallory)
	if n, e := untilLimited(t, mallory, get); n != 1 || e.RetryAfterMS > uint64(time.Minute.Milliseconds())+1 {
		t.Fatalf("a minute later: %d frames, then %#v; want 1, then a wait of at most a minute", n, e)
	}
}
