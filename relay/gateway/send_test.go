package gateway_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestSend runs every answer a Send can get, each branch of the checks
// the gateway makes before a message goes onto the bus.
func TestSend(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org") // two devices
	alice2 := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org") // two devices
	bob2 := h.register(t, "email:bob@example.org")
	carol := h.register(t, "email:carol@example.org") // one device
	dave := h.register(t, "email:dave@example.org")
	ghost := &device{user: wire.NewUserID(), id: 1} // no account
	bob3 := &device{user: bob.user, id: bob2.id + 1}
	alice3 := &device{user: alice.user, id: alice2.id + 1}
	// Users whose device lists the directory cannot read; a user's list
	// is never cached before this, so the failure is seen.
	broken := h.register(t, "email:broken@example.org")
	erin := h.register(t, "email:erin@example.org")
	h.dir.failDevicesOf(broken.user)
	h.dir.failDevicesOf(erin.user)
	bob.allow(carol, alice)
	carol.allow(alice, erin)
	dave.allow(carol)
	// Frank signed out of his only device: his account stays.
	frank := h.register(t, "email:frank@example.org")
	if got := frank.call(&wire.RemoveDevice{Device: frank.id}); !isOK(got) {
		t.Fatalf("sign out: %#v", got)
	}
	lone := h.register(t, "email:lone@example.org")        // one device
	loneGhost := &device{user: lone.user, id: lone.id + 1} // and none other
	blocker := h.register(t, "email:blocker@example.org")
	if got := blocker.call(&wire.SetContact{User: carol.user, State: wire.ContactBlocked}); !isOK(got) {
		t.Fatalf("block: %#v", got)
	}

	withCiphertext := func(rs []wire.Recipient, i int, ct []byte) []wire.Recipient {
		rs[i].Ciphertext = ct
		return rs
	}
	tests := []struct {
		name       string
		from       *device
		kind       wire.Kind
		recipients []wire.Recipient
		failAppend bool

		want     wire.Code // 0: Accepted
		errFrame bool      // answered with Error rather than Rejected
		user     wire.UserID
		devices  []wire.DeviceID // Rejected.Devices, for stale_devices
	}{
		{name: "message to every device", from: carol, kind: wire.KindMessage, recipients: to(bob, bob2)},
		{name: "contact request", from: carol, kind: wire.KindRequest, recipients: to(dave)},
		{name: "request with a copy for the sender's other device", from: alice, kind: wire.KindRequest, recipients: to(carol, alice2)},
		{name: "to several users", from: alice, kind: wire.KindMessage, recipients: to(bob, carol, bob2, alice2)},

		{name: "no kind", from: carol, kind: 0, recipients: to(bob, bob2), want: wire.CodeBadKind},
		{name: "kind reserved for the relay", from: carol, kind: wire.KindRejected, recipients: to(bob, bob2), want: wire.CodeBadKind},
		{name: "unknown kind", from: carol, kind: 9, recipients: to(bob, bob2), want: wire.CodeBadKind},
		{name: "no recipients", from: carol, kind: wire.KindMessage, want: wire.CodeBadRequest},
		{name: "recipient without a user", from: carol, kind: wire.KindMessage, recipients: []wire.Recipient{{Device: 1, Ciphertext: []byte("x")}}, want: wire.CodeBadRequest},
		{name: "recipient without a device", from: carol, kind: wire.KindMessage, recipients: []wire.Recipient{{User: dave.user, Ciphertext: []byte("x")}}, want: wire.CodeBadRequest},
		{name: "recipient without ciphertext", from: carol, kind: wire.KindMessage, recipients: withCiphertext(to(dave), 0, nil), want: wire.CodeBadRequest},
		{name: "to the sending device itself", from: alice, kind: wire.KindMessage, recipients: to(alice, alice2), want: wire.CodeBadRequest},
		{name: "request to two users", from: carol, kind: wire.KindRequest, recipients: to(bob, bob2, dave), want: wire.CodeBadRequest},
		{name: "request to no other user", from: alice, kind: wire.KindRequest, recipients: to(alice2), want: wire.CodeBadRequest},
		{name: "no such user", from: carol, kind: wire.KindMessage, recipients: to(ghost), want: wire.CodeNotFound},
		{name: "a user who has no device signed in", from: carol, kind: wire.KindMessage, recipients: to(frank), want: wire.CodeNoDevices, user: frank.user},
		{name: "other devices of a sender who has none", from: lone, kind: wire.KindMessage, recipients: to(carol, loneGhost), want: wire.CodeStaleDevices, user: lone.user},
		{name: "a device left out", from: carol, kind: wire.KindMessage, recipients: to(bob), want: wire.CodeStaleDevices, user: bob.user, devices: []wire.DeviceID{bob.id, bob2.id}},
		{name: "a device that does not exist", from: carol, kind: wire.KindMessage, recipients: to(bob, bob2, bob3), want: wire.CodeStaleDevices, user: bob.user, devices: []wire.DeviceID{bob.id, bob2.id}},
		{name: "a device twice", from: carol, kind: wire.KindMessage, recipients: to(bob, bob2, bob), want: wire.CodeStaleDevices, user: bob.user, devices: []wire.DeviceID{bob.id, bob2.id}},
		{name: "the sender's other devices left out", from: alice, kind: wire.KindMessage, recipients: to(bob, bob2), want: wire.CodeStaleDevices, user: alice.user, devices: []wire.DeviceID{alice2.id}},
		{name: "a device of the sender that does not exist", from: alice, kind: wire.KindMessage, recipients: to(carol, alice3), want: wire.CodeStaleDevices, user: alice.user, devices: []wire.DeviceID{alice2.id}},
		{name: "directory fails on a recipient", from: carol, kind: wire.KindMessage, recipients: to(broken), want: wire.CodeInternal, errFrame: true},
		{name: "directory fails on the sender", from: erin, kind: wire.KindMessage, recipients: to(carol), want: wire.CodeInternal, errFrame: true},
		{name: "message to a stranger", from: carol, kind: wire.KindMessage, recipients: to(alice, alice2), want: wire.CodeNotAccepted, user: alice.user},
		{name: "message to several users, one a stranger", from: alice, kind: wire.KindMessage, recipients: to(bob, dave, bob2, carol, alice2), want: wire.CodeNotAccepted, user: dave.user},
		{name: "message to a user who blocked the sender", from: carol, kind: wire.KindMessage, recipients: to(blocker), want: wire.CodeNotAccepted, user: blocker.user},
		{name: "request to a user who blocked the sender", from: carol, kind: wire.KindRequest, recipients: to(blocker)},
		{name: "bus fails", from: carol, kind: wire.KindMessage, recipients: to(dave), failAppend: true, want: wire.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.failAppend {
				h.bus.failAppends.Store(1)
				defer h.bus.failAppends.Store(0)
			}
			id := wire.NewMessageID()
			got := tt.from.call(&wire.Send{MessageID: id, Kind: tt.kind, Recipients: tt.recipients})
			if tt.failAppend && h.bus.failAppends.Load() != 0 {
				t.Fatal("the bus was not asked to append")
			}
			switch {
			case tt.want == 0:
				if a, ok := got.(*wire.Accepted); !ok || a.MessageID != id || a.ServerTimeMS == 0 {
					t.Fatalf("got %#v, want accepted", got)
				}
			case tt.errFrame:
				if code := errorCode(t, got); code != tt.want {
					t.Fatalf("got %v, want %v", code, tt.want)
				}
			default:
				r, ok := got.(*wire.Rejected)
				if !ok || r.MessageID != id || r.Code != tt.want || r.Message == "" {
					t.Fatalf("got %#v, want rejected %v", got, tt.want)
				}
				if r.User != tt.user || !slices.Equal(r.Devices, tt.devices) {
					t.Fatalf("rejected for %v %v, want %v %v", r.User, r.Devices, tt.user, tt.devices)
				}
			}
		})
	}
}

// TestSendRateLimited: an account that sends too fast is refused, and
// only that account.
func TestSendRateLimited(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) { c.Rates.Send = limit.Rate{Every: time.Hour, Burst: 2} })
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	alice.allow(bob)
	bob.allow(alice)
	for range 2 {
		alice.mustSend(wire.KindMessage, to(bob))
	}
	id := wire.NewMessageID()
	got := alice.call(&wire.Send{MessageID: id, Kind: wire.KindMessage, Recipients: to(bob)})
	if r, ok := got.(*wire.Rejected); !ok || r.Code != wire.CodeRateLimited || r.MessageID != id {
		t.Fatalf("got %#v, want rate_limited", got)
	}
	bob.mustSend(wire.KindMessage, to(alice))
}

// TestSendDelivered follows accepted messages to the recipients' devices:
// each device gets its own ciphertext, under the sender the relay
// stamped from the connection.
func TestSendDelivered(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	alice2 := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob2 := h.register(t, "email:bob@example.org")
	bob.allow(alice)
	conv := wire.ConversationID{1, 2, 3}
	id := wire.NewMessageID()
	got := alice.call(&wire.Send{MessageID: id, Conversation: conv, Kind: wire.KindMessage, Recipients: to(bob, bob2, alice2)})
	a, ok := got.(*wire.Accepted)
	if !ok {
		t.Fatalf("got %#v", got)
	}
	for _, d := range []*device{bob, bob2, alice2} {
		env := d.deliver().Envelope
		want := wire.Envelope{
			MessageID: id, Conversation: conv, Sender: alice.user, SenderDevice: alice.id,
			ServerTimeMS: a.ServerTimeMS, Kind: wire.KindMessage, Ciphertext: to(d)[0].Ciphertext,
		}
		if env.MessageID != want.MessageID || env.Conversation != want.Conversation || env.Sender != want.Sender ||
			env.SenderDevice != want.SenderDevice || env.ServerTimeMS != want.ServerTimeMS || env.Kind != want.Kind ||
			string(env.Ciphertext) != string(want.Ciphertext) {
			t.Fatalf("device %d got %+v, want %+v", d.id, env, want)
		}
	}
}
