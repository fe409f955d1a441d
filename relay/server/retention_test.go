package server_test

import (
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestRetentionGap: a device away for longer than the retention is told
// what expired and receives what is still kept.
func TestRetentionGap(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	r := startRelayWith(t, nil, func(c *server.EmbeddedConfig) {
		c.Retention = time.Hour
		c.Bus.Now = clock
		c.Bus.RetentionInterval = 5 * time.Millisecond
	})
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	bob.allow(alice, wire.ContactAllowed)
	bob.conn.Close() // Bob goes away

	for range 3 {
		alice.mustSend(bob, wire.KindMessage, "too old")
	}
	// Wait until the router has put them in Bob's inbox.
	ctx := ctxT(t)
	inbox := bus.InboxTopic(bob.user)
	waitInbox := func(cond func(oldest, next int64) bool) {
		t.Helper()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			oldest, next, err := r.Server().Bus().Bounds(ctx, inbox, 0)
			if err != nil {
				t.Fatal(err)
			}
			if cond(oldest, next) {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("inbox bounds stayed %d..%d", oldest, next)
			case <-tick.C:
			}
		}
	}
	waitInbox(func(_, next int64) bool { return next == 3 })
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	// The janitor seals the old segment and deletes it.
	waitInbox(func(oldest, next int64) bool { return oldest == 3 && next == 3 })
	fresh := alice.mustSend(bob, wire.KindMessage, "fresh")
	waitInbox(func(oldest, next int64) bool { return oldest == 3 && next == 4 })

	bob.reconnect()
	select {
	case n := <-bob.conn.Notices():
		if n.Kind != wire.NoticeRetentionGap || n.Oldest != 3 {
			t.Fatalf("notice %+v, want a retention gap from 3", n)
		}
	case <-ctx.Done():
		t.Fatal("no retention-gap notice")
	}
	if d := bob.next(); d.Envelope.MessageID != fresh || d.Offset != 3 {
		t.Fatalf("got %v@%d, want the fresh message at 3", d.Envelope.MessageID, d.Offset)
	}
}
