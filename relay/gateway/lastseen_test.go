package gateway_test

import (
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestLastSeenToTheDay: the device list tells when each device was last
// seen to the day only, before and after it acknowledges deliveries.
func TestLastSeenToTheDay(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob.allow(alice)
	const day = int64(24 * time.Hour / time.Millisecond)

	lastSeen := func() int64 {
		t.Helper()
		devs, ok := bob.call(&wire.ListDevices{}).(*wire.Devices)
		if !ok || len(devs.Devices) != 1 {
			t.Fatalf("list devices: %#v", devs)
		}
		return devs.Devices[0].LastSeenMS
	}
	if ms := lastSeen(); ms%day != 0 || time.Now().UnixMilli()-ms >= day {
		t.Fatalf("a new device was last seen at %d ms, want today's midnight (UTC)", ms)
	}

	alice.mustSend(wire.KindMessage, to(bob))
	d := bob.deliver()
	bob.send(&wire.Ack{Offset: d.Offset})
	wait.For(t, "the acknowledgement to reach the directory", func() bool {
		dev, err := h.dir.Device(ctxT(t), bob.user, bob.id)
		return err == nil && dev.Offset == d.Offset+1
	})
	if ms := lastSeen(); ms%day != 0 {
		t.Fatalf("after an acknowledgement, last seen at %d ms, want a midnight", ms)
	}
}
