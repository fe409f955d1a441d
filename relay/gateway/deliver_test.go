package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestDeliveryWindow: deliveries stop once Window of them are
// unacknowledged, and each acknowledgement lets as many more through.
func TestDeliveryWindow(t *testing.T) {
	const window = 3
	h := newHarness(t, func(c *gateway.Config) { c.Window = window })
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob.allow(alice)
	var ids []wire.MessageID
	for range 6 {
		ids = append(ids, alice.mustSend(wire.KindMessage, to(bob)))
	}
	h.waitInbox(bob.user, int64(len(ids))) // all of them ready to go
	expect := func(offset int64) {
		t.Helper()
		d := bob.deliver()
		if d.Offset != offset || d.Envelope.MessageID != ids[offset] {
			t.Fatalf("delivery at %d of %v, want %d of %v", d.Offset, d.Envelope.MessageID, offset, ids[offset])
		}
	}

	// A window's worth, then nothing while none is acknowledged.
	for off := range int64(window) {
		expect(off)
	}
	bob.quiet()
	bob.quiet()
	// Acknowledging the first lets one more through.
	bob.send(&wire.Ack{Offset: 0})
	expect(3)
	bob.quiet()
	// Acknowledging all that arrived lets the rest through.
	bob.send(&wire.Ack{Offset: 3})
	expect(4)
	expect(5)
	bob.quiet()
}

// TestDeliveryWindowAfterReconnect: a connection that resumes further
// into the inbox than its window has the whole window, not one delivery
// at a time until the device first acknowledges.
func TestDeliveryWindowAfterReconnect(t *testing.T) {
	const window = 2
	h := newHarness(t, func(c *gateway.Config) { c.Window = window })
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob.allow(alice)
	for off := range int64(4) {
		alice.mustSend(wire.KindMessage, to(bob))
		if d := bob.deliver(); d.Offset != off {
			t.Fatalf("delivery at %d, want %d", d.Offset, off)
		}
		bob.send(&wire.Ack{Offset: off})
	}
	bob.quiet()
	h.reconnect(t, bob)
	for range window {
		alice.mustSend(wire.KindMessage, to(bob))
	}
	for off := int64(4); off < 4+window; off++ {
		if d := bob.deliver(); d.Offset != off {
			t.Fatalf("after reconnecting: delivery at %d, want %d", d.Offset, off)
		}
	}
	bob.quiet()
}

// TestAck: a device's position moves only on Ack, never backwards and
// never past what it was sent; a new connection resumes there, and the
// position reaches the directory.
func TestAck(t *testing.T) {
	const sent = 5
	tests := []struct {
		name     string
		window   int
		received int64   // deliveries read before acknowledging
		acks     []int64 // in this order
		then     int64   // deliveries the acks let through
		resume   int64   // where a new connection starts
	}{
		{"nothing acknowledged", 0, sent, nil, 0, 0},
		{"everything acknowledged", 0, sent, []int64{4}, 0, 5},
		{"part acknowledged", 0, sent, []int64{1}, 0, 2},
		{"an older ack changes nothing", 0, sent, []int64{3, 1}, 0, 4},
		{"an ack past the last delivery stops at it", 3, 3, []int64{10}, 2, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *gateway.Config) { c.Window = tt.window })
			alice := h.register(t, "email:alice@example.org")
			bob := h.register(t, "email:bob@example.org")
			bob.allow(alice)
			for range sent {
				alice.mustSend(wire.KindMessage, to(bob))
			}
			h.waitInbox(bob.user, sent)
			var off int64
			for ; off < tt.received; off++ {
				if d := bob.deliver(); d.Offset != off {
					t.Fatalf("delivery at %d, want %d", d.Offset, off)
				}
			}
			for _, a := range tt.acks {
				bob.send(&wire.Ack{Offset: a})
			}
			for ; off < tt.received+tt.then; off++ {
				if d := bob.deliver(); d.Offset != off {
					t.Fatalf("delivery at %d, want %d", d.Offset, off)
				}
			}
			bob.quiet()

			h.reconnect(t, bob)
			for off := tt.resume; off < sent; off++ {
				if d := bob.deliver(); d.Offset != off {
					t.Fatalf("after reconnecting: delivery at %d, want %d", d.Offset, off)
				}
			}
			bob.quiet()
			alice.ws.CloseNow()
			bob.ws.CloseNow()
			if err := h.gw.Close(); err != nil {
				t.Fatal(err)
			}
			stored, err := h.dir.Device(context.Background(), bob.user, bob.id)
			if err != nil || stored.Offset != tt.resume {
				t.Fatalf("stored offset %d, %v; want %d", stored.Offset, err, tt.resume)
			}
		})
	}
}

// TestReconnectWhileOffsetsAreWritten: a device that reconnects while its
// acknowledged position is still being written to the directory resumes
// at that position, not at the older one the directory still holds.
func TestReconnectWhileOffsetsAreWritten(t *testing.T) {
	gone := make(chan struct{}, 16)
	h := newHarness(t, func(c *gateway.Config) {
		c.OffsetFlush = time.Millisecond
		c.Metrics.Connected = func(delta int) {
			if delta < 0 {
				gone <- struct{}{}
			}
		}
	})
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob.allow(alice)
	for off := range int64(3) {
		alice.mustSend(wire.KindMessage, to(bob))
		if d := bob.deliver(); d.Offset != off {
			t.Fatalf("delivery at %d, want %d", d.Offset, off)
		}
	}
	started, release := h.dir.holdCommits()
	defer release()
	bob.send(&wire.Ack{Offset: 2})
	select {
	case <-started: // the position is on its way to the directory
	case <-ctxT(t).Done():
		t.Fatal("the acknowledged position was never written")
	}
	bob.ws.CloseNow()
	select {
	case <-gone: // the gateway is done with the old connection
	case <-ctxT(t).Done():
		t.Fatal("the connection did not end")
	}
	h.reconnect(t, bob)
	bob.quiet()
	release()
	id := alice.mustSend(wire.KindMessage, to(bob))
	if d := bob.deliver(); d.Offset != 3 || d.Envelope.MessageID != id {
		t.Fatalf("delivery at %d, want the new message at 3", d.Offset)
	}
}

// TestDeliverySkipsOtherDevices: records in the inbox that hold nothing
// for a device (copies for the user's other devices) are passed over
// without taking room in its window, and its position moves past them.
func TestDeliverySkipsOtherDevices(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) { c.Window = 1 })
	alice := h.register(t, "email:alice@example.org")
	alice2 := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	alice.allow(bob)
	bob.allow(alice)
	// Alice's copies for her second device land in her inbox.
	for range 3 {
		alice.mustSend(wire.KindMessage, to(bob, alice2))
	}
	h.waitInbox(alice.user, 3)
	id := bob.mustSend(wire.KindMessage, to(alice, alice2))
	d := alice.deliver()
	if d.Offset != 3 || d.Envelope.MessageID != id {
		t.Fatalf("alice's first device got %v at %d, want %v at 3", d.Envelope.MessageID, d.Offset, id)
	}
	alice.quiet()
	h.reconnect(t, alice)
	if d := alice.deliver(); d.Offset != 3 {
		t.Fatalf("after reconnecting: delivery at %d, want 3", d.Offset)
	}
}
