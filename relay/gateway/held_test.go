package gateway_test

import (
	"slices"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// protected is a harness with account protection on and the gateway's
// clock in the test's hands.
func protected(t *testing.T) (*harness, *clock) {
	clk := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.NoHold = false
		c.Now = clk.Now
	})
	return h, clk
}

// registerHeld signs a second device in to d's account by code and checks
// that it is held and that d is told.
func registerHeld(t *testing.T, h *harness, clk *clock, d *device) *device {
	t.Helper()
	c := h.dial(t)
	h.clock.advance(2 * time.Second)
	sent := c.call(&wire.Register{Address: d.addr}).(*wire.CodeSent)
	v, ok := c.call(&wire.Verify{Address: d.addr, Code: h.codes.code(t, d.addr), Token: sent.Token, DeviceName: "laptop"}).(*wire.Verified)
	if !ok {
		t.Fatal("verify failed")
	}
	if want := clk.Now().Add(7 * 24 * time.Hour).UnixMilli(); v.PendingUntilMS != want {
		t.Fatalf("verified pending until %d, want %d", v.PendingUntilMS, want)
	}
	n, ok := d.next().Body.(*wire.Notice)
	if !ok || n.Kind != wire.NoticeDevicePending || n.Device != v.Device {
		t.Fatalf("the account's device got %#v, want a device_pending notice", n)
	}
	return &device{client: c, addr: d.addr, user: v.User, id: v.Device, cred: v.Credential}
}

// TestHeldDevice: a device signed in by code to an account in use is
// held: told so, refused what it may not do, left out of bundles and of
// what senders must encrypt to, delivered nothing. Approved, it is closed
// with CloseApproved, signs in again approved, and reads from the end of
// the inbox on.
func TestHeldDevice(t *testing.T) {
	h, clk := protected(t)
	phone := h.register(t, "email:alice@example.org")
	if !isOK(phone.call(keys(2))) {
		t.Fatal("publish keys")
	}
	bob := h.register(t, "email:bob@example.org")
	phone.allow(bob)
	bob.allow(phone)

	laptop := registerHeld(t, h, clk, phone)
	// What it may do.
	if !isOK(laptop.call(keys(2))) {
		t.Fatal("a held device cannot publish its keys")
	}
	list, ok := laptop.call(&wire.ListDevices{}).(*wire.Devices)
	if !ok || len(list.Devices) != 2 || list.Devices[1].PendingUntilMS == 0 || list.Devices[0].PendingUntilMS != 0 {
		t.Fatalf("devices = %#v", list)
	}
	// What it may not.
	for _, b := range []wire.Body{
		&wire.FetchBundles{User: bob.user},
		&wire.Lookup{Address: bob.addr},
		&wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Recipients: to(bob, phone)},
		&wire.SetContact{User: bob.user, State: wire.ContactAllowed},
		&wire.RemoveDevice{Device: phone.id},
		&wire.ApproveDevice{Device: laptop.id},
		&wire.FetchLink{Code: "0000000000ZZ"},
		&wire.LinkDevice{Code: "0000000000ZZ", Provision: []byte{1}},
		&wire.Upload{Size: 10},
	} {
		if got := laptop.call(b); errorCode(t, got) != wire.CodeDevicePending {
			t.Fatalf("%s from a held device: %#v", b.Type(), got)
		}
	}
	// Senders neither need nor get it.
	bundles, ok := bob.call(&wire.FetchBundles{User: phone.user}).(*wire.Bundles)
	if !ok || len(bundles.Bundles) != 1 || bundles.Bundles[0].Device != phone.id {
		t.Fatalf("bundles of an account with a held device: %#v", bundles)
	}
	if n, ok := phone.next().Body.(*wire.Notice); !ok || n.Kind != wire.NoticePrekeysLow {
		t.Fatalf("got %#v, want the prekeys-low notice", n)
	}
	if got := bob.call(&wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Recipients: to(phone, laptop)}); got.(*wire.Rejected).Code != wire.CodeStaleDevices {
		t.Fatalf("send to a held device: %#v", got)
	}
	bob.mustSend(wire.KindMessage, to(phone))
	phone.deliver()
	phone.mustSend(wire.KindMessage, to(bob)) // its held sibling is not required
	bob.deliver()
	laptop.quiet()

	// Approval: the held connection closes; signed in again, it is
	// approved and reads only what comes from then on.
	if got := phone.call(&wire.ApproveDevice{Device: phone.id}); errorCode(t, got) != wire.CodeNotFound {
		t.Fatalf("approve an approved device: %#v", got)
	}
	if !isOK(phone.call(&wire.ApproveDevice{Device: laptop.id})) {
		t.Fatal("approve failed")
	}
	if got := laptop.closeCode(); got != wire.CloseApproved {
		t.Fatalf("held device closed with %d, want %d", got, wire.CloseApproved)
	}
	if w := h.reconnect(t, laptop); w.PendingUntilMS != 0 {
		t.Fatalf("welcome after approval = %+v", w)
	}
	id := bob.mustSend(wire.KindMessage, to(phone, laptop))
	if d := laptop.deliver(); d.Envelope.MessageID != id {
		t.Fatalf("approved device got %x first, want the message sent after its approval", d.Envelope.MessageID)
	}
	if got := phone.call(&wire.ApproveDevice{Device: laptop.id}); errorCode(t, got) != wire.CodeNotFound {
		t.Fatalf("approve twice: %#v", got)
	}
}

// TestHeldDeviceRefused: refusing a held device is removing it; a held
// device may sign itself out.
func TestHeldDeviceRefused(t *testing.T) {
	h, clk := protected(t)
	phone := h.register(t, "email:alice@example.org")
	held := registerHeld(t, h, clk, phone)
	if !isOK(phone.call(&wire.RemoveDevice{Device: held.id})) {
		t.Fatal("refuse failed")
	}
	if got := held.closeCode(); got != wire.CloseDeviceRemoved {
		t.Fatalf("refused device closed with %d", got)
	}
	other := registerHeld(t, h, clk, phone)
	if !isOK(other.call(&wire.RemoveDevice{Device: other.id})) {
		t.Fatal("a held device cannot sign itself out")
	}
	list := phone.call(&wire.ListDevices{}).(*wire.Devices)
	if len(list.Devices) != 1 {
		t.Fatalf("devices = %+v", list.Devices)
	}
}

// TestHoldEnds: the hold ends by itself: a held device still connected is
// closed on its next request, and signs in again approved.
func TestHoldEnds(t *testing.T) {
	h, clk := protected(t)
	phone := h.register(t, "email:alice@example.org")
	laptop := registerHeld(t, h, clk, phone)
	clk.advance(7*24*time.Hour + time.Minute)
	laptop.send(&wire.ListDevices{})
	if got := laptop.closeCode(); got != wire.CloseApproved {
		t.Fatalf("closed with %d, want %d", got, wire.CloseApproved)
	}
	if w := h.reconnect(t, laptop); w.PendingUntilMS != 0 {
		t.Fatalf("welcome after the hold = %+v", w)
	}
	list := phone.call(&wire.ListDevices{}).(*wire.Devices)
	if len(list.Devices) != 2 || list.Devices[1].PendingUntilMS != 0 {
		t.Fatalf("devices = %+v", list.Devices)
	}
	bob := h.register(t, "email:bob@example.org")
	phone.allow(bob)
	id := bob.mustSend(wire.KindMessage, to(phone, laptop))
	if d := laptop.deliver(); d.Envelope.MessageID != id {
		t.Fatal("no delivery once approved")
	}
}

// TestHoldSignIn: a held device signing in again is still held; past its
// hold, it signs in approved.
func TestHoldSignIn(t *testing.T) {
	h, clk := protected(t)
	phone := h.register(t, "email:alice@example.org")
	laptop := registerHeld(t, h, clk, phone)
	if w := h.reconnect(t, laptop); w.PendingUntilMS == 0 {
		t.Fatal("a held device signed in again approved")
	}
	clk.advance(8 * 24 * time.Hour)
	if w := h.reconnect(t, laptop); w.PendingUntilMS != 0 {
		t.Fatalf("welcome past the hold = %+v", w)
	}
}

// TestNoHoldForUnusedAccount: the first device of an account, and a
// device of an account whose devices were not seen for 30 days, are not
// held; nor is a linked one.
func TestNoHoldForUnusedAccount(t *testing.T) {
	h, clk := protected(t)
	phone := h.register(t, "email:alice@example.org")
	clk.advance(31 * 24 * time.Hour)
	late := h.register(t, "email:alice@example.org")
	if got := late.call(&wire.FetchBundles{User: phone.user}); errorCode(t, got) == wire.CodeDevicePending {
		t.Fatal("a device of an unused account was held")
	}
	tablet := h.dial(t)
	_, code := startLink(t, tablet, newLinkKeys(4))
	linkFrom(t, late, code, []byte{1})
	v := tablet.read().Body.(*wire.Verified)
	if v.PendingUntilMS != 0 {
		t.Fatal("a linked device was held")
	}
	list := late.call(&wire.ListDevices{}).(*wire.Devices)
	ids := []wire.DeviceID{}
	for _, d := range list.Devices {
		if d.PendingUntilMS != 0 {
			t.Fatalf("held: %+v", d)
		}
		ids = append(ids, d.ID)
	}
	if !slices.Equal(ids, []wire.DeviceID{phone.id, late.id, v.Device}) {
		t.Fatalf("devices %v", ids)
	}
}
