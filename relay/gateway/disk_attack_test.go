package gateway_test

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// big addresses a message of size bytes to every device given.
func big(size int, ds ...*device) []wire.Recipient {
	rs := to(ds...)
	for i := range rs {
		rs[i].Ciphertext = bytes.Repeat([]byte{byte(i)}, size)
	}
	return rs
}

// inEnd returns the next offset of `in`: what the gateway has written.
func (h *harness) inEnd() int64 {
	h.t.Helper()
	_, next, err := h.bus.Bounds(ctxT(h.t), bus.InTopic, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return next
}

// inboxEnd returns the next offset of u's inbox (0 if it has none yet).
func (h *harness) inboxEnd(u wire.UserID) int64 {
	h.t.Helper()
	_, next, err := h.bus.Bounds(ctxT(h.t), bus.InboxTopic(u), 0)
	if err != nil {
		return 0
	}
	return next
}

// rejected sends and returns the Rejected answer, failing on anything else.
func (d *device) rejected(kind wire.Kind, rs []wire.Recipient) *wire.Rejected {
	d.t.Helper()
	id := wire.NewMessageID()
	got := d.call(&wire.Send{MessageID: id, Kind: kind, Recipients: rs})
	r, ok := got.(*wire.Rejected)
	if !ok || r.MessageID != id {
		d.t.Fatalf("got %#v, want rejected", got)
	}
	return r
}

// TestFloodToStrangersStoresNothing: fan-outs of the largest ciphertexts
// to users who never allowed the sender are refused before anything is
// written, with the answer the router gives (not_accepted, naming the
// recipient, the same for a block), and no refusal notice is written per
// recipient. Before, every one was stored on `in` and routed into a
// notice for each stranger.
func TestFloodToStrangersStoresNothing(t *testing.T) {
	h := newHarness(t, nil)
	mallory := h.register(t, "email:mallory@example.org")
	var strangers []*device
	for _, a := range []string{"a", "b", "c", "d", "e"} {
		strangers = append(strangers, h.register(t, "email:"+a+"@example.org"))
	}
	if got := strangers[0].call(&wire.SetContact{User: mallory.user, State: wire.ContactBlocked}); !isOK(got) {
		t.Fatalf("block: %#v", got)
	}
	inBefore, noticesBefore := h.inEnd(), h.inboxEnd(mallory.user)
	for i := range 50 {
		r := mallory.rejected(wire.KindMessage, big(wire.MaxCiphertext, strangers...))
		if r.Code != wire.CodeNotAccepted || r.User != strangers[0].user {
			t.Fatalf("send %d: %v for %v, want not_accepted for the first stranger", i, r.Code, r.User)
		}
	}
	// One stranger alone, blocked or not, gets the same answer.
	for _, s := range strangers[:2] {
		if r := mallory.rejected(wire.KindMessage, big(10, s)); r.Code != wire.CodeNotAccepted || r.User != s.user {
			t.Fatalf("to %v: %v for %v", s.user, r.Code, r.User)
		}
	}
	if got := h.inEnd(); got != inBefore {
		t.Fatalf("`in` grew by %d records", got-inBefore)
	}
	mallory.quiet()
	if got := h.inboxEnd(mallory.user); got != noticesBefore {
		t.Fatalf("%d refusal notices written", got-noticesBefore)
	}

	// Allowed, the same sender gets through; a block set through this
	// gateway takes effect at once.
	strangers[1].allow(mallory)
	mallory.mustSend(wire.KindMessage, to(strangers[1]))
	if got := strangers[1].call(&wire.SetContact{User: mallory.user, State: wire.ContactBlocked}); !isOK(got) {
		t.Fatalf("block: %#v", got)
	}
	if r := mallory.rejected(wire.KindMessage, to(strangers[1])); r.Code != wire.CodeNotAccepted {
		t.Fatalf("after the block: %v", r.Code)
	}
}

// TestQuota: one account cannot store more than its quota, whatever it
// sends to and however many devices it sends from; it is told when to
// retry, and others are not affected.
func TestQuota(t *testing.T) {
	tests := []struct {
		name  string
		quota gateway.Quota
		size  int // ciphertext bytes per recipient device (three devices)
		fits  int // Sends accepted before the refusal
	}{
		{name: "byte burst", quota: gateway.Quota{ByteRate: 1, ByteBurst: 1 << 20, BytesPerDay: -1, MessagesPerDay: -1}, size: 96 << 10, fits: 3},
		{name: "bytes a day", quota: gateway.Quota{ByteRate: -1, BytesPerDay: 1 << 20, MessagesPerDay: -1}, size: 64 << 10, fits: 5},
		{name: "messages a day", quota: gateway.Quota{ByteRate: -1, BytesPerDay: -1, MessagesPerDay: 10}, size: 10, fits: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *gateway.Config) { c.Quota = tt.quota })
			alice := h.register(t, "email:alice@example.org")
			alice2 := h.register(t, "email:alice@example.org")
			bob := h.register(t, "email:bob@example.org")
			bob2 := h.register(t, "email:bob@example.org")
			carol := h.register(t, "email:carol@example.org")
			bob.allow(alice, carol)
			from := []*device{alice, alice2}
			for i := range tt.fits {
				d, other := from[i%2], from[1-i%2]
				d.mustSend(wire.KindMessage, big(tt.size, bob, bob2, other))
			}
			inBefore := h.inEnd()
			for _, d := range from { // either device, the account is over
				other := from[0]
				if d == other {
					other = from[1]
				}
				r := d.rejected(wire.KindMessage, big(tt.size, bob, bob2, other))
				if r.Code != wire.CodeRateLimited || r.RetryAfterMS == 0 {
					t.Fatalf("over the quota: %v, retry after %d ms", r.Code, r.RetryAfterMS)
				}
			}
			if got := h.inEnd(); got != inBefore {
				t.Fatalf("`in` grew by %d records over the quota", got-inBefore)
			}
			carol.mustSend(wire.KindMessage, big(tt.size, bob, bob2))
		})
	}
}

// TestRequestSizeCap: a contact request is one first message; one
// carrying more than a first message can hold is refused unwritten.
func TestRequestSizeCap(t *testing.T) {
	h := newHarness(t, nil)
	mallory := h.register(t, "email:mallory@example.org")
	bob := h.register(t, "email:bob@example.org")
	inBefore := h.inEnd()
	if r := mallory.rejected(wire.KindRequest, big(wire.MaxCiphertext, bob)); r.Code != wire.CodeTooLarge {
		t.Fatalf("large request: %v", r.Code)
	}
	if got := h.inEnd(); got != inBefore {
		t.Fatalf("`in` grew by %d records", got-inBefore)
	}
	mallory.mustSend(wire.KindRequest, big(12<<10, bob))
}

// fakeDisk is a filesystem whose free space the test sets.
type fakeDisk struct{ free atomic.Uint64 }

func (d *fakeDisk) space() (free, total uint64, err error) { return d.free.Load(), 100 << 30, nil }

// TestDiskNearlyFull: while the data directory's filesystem has less free
// space than the threshold, Send answers unavailable and nothing is
// written; once there is space again, messages are taken again.
func TestDiskNearlyFull(t *testing.T) {
	disk := &fakeDisk{}
	disk.free.Store(50 << 30)
	clk := &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	h := newHarness(t, func(c *gateway.Config) {
		c.DiskFree, c.MinFreeBytes, c.MinFreePercent, c.Now = disk.space, 1<<30, 2, clk.Now
	})
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob.allow(alice)
	alice.mustSend(wire.KindMessage, to(bob))

	disk.free.Store(1 << 30) // above 1 GiB, below 2% of 100 GiB
	clk.advance(time.Second)
	inBefore := h.inEnd()
	for range 3 {
		r := alice.rejected(wire.KindMessage, to(bob))
		if r.Code != wire.CodeUnavailable || r.RetryAfterMS == 0 {
			t.Fatalf("disk nearly full: %v, retry after %d ms", r.Code, r.RetryAfterMS)
		}
	}
	if got := h.inEnd(); got != inBefore {
		t.Fatalf("`in` grew by %d records", got-inBefore)
	}
	disk.free.Store(3 << 30)
	clk.advance(time.Second)
	alice.mustSend(wire.KindMessage, to(bob))
	h.waitInbox(bob.user, 2)
}

// TestFloodIsThrottled: an account that keeps sending past its read rate
// (here to strangers, so that nothing is stored and no quota refuses
// it) is no longer read from until its rate allows, while everyone
// else's messages go through at once.
func TestFloodIsThrottled(t *testing.T) {
	clk := &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	var sends atomic.Int64 // Send frames read, from anyone
	h := newHarness(t, func(c *gateway.Config) {
		c.Now = clk.Now
		c.Quota.ReadRate, c.Quota.ReadBurst = 1<<20, 1<<20
		c.Metrics.Frame = func(t wire.Type) {
			if t == wire.TypeSend {
				sends.Add(1)
			}
		}
	})
	mallory := h.register(t, "email:mallory@example.org")
	var strangers []*device
	for _, a := range []string{"a", "b", "c", "d", "e"} {
		strangers = append(strangers, h.register(t, "email:"+a+"@example.org"))
	}
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob.allow(alice)

	flood := big(96<<10, strangers...) // 480 KiB: two fit in the burst
	var ids []uint64
	for range 4 {
		ids = append(ids, mallory.send(&wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Recipients: flood}))
	}
	for _, id := range ids[:2] {
		if f := mallory.read(); f.ID != id {
			t.Fatalf("answer to %d, want %d", f.ID, id)
		}
	}
	// The third was read and waits for the rate; the fourth is not read.
	wait.For(t, "the third flood frame read", func() bool { return sends.Load() >= 3 })
	alice.mustSend(wire.KindMessage, to(bob))
	if d := bob.deliver(); d.Envelope.Sender != alice.user {
		t.Fatalf("bob got %+v", d.Envelope)
	}
	if n := sends.Load(); n != 4 {
		t.Fatalf("%d Send frames read, want the flood's first three and alice's", n)
	}
	clk.advance(time.Second) // a second's worth of rate: the last two
	for _, id := range ids[2:] {
		if f := mallory.read(); f.ID != id {
			t.Fatalf("answer to %d, want %d", f.ID, id)
		}
	}
}
