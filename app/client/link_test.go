//go:build !js

package client_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

// link makes a new device of from's account, named name, linked from
// from with the code as a person types it (lower case, with its
// hyphens), and starts it.
func (r *testRelay) link(from *device, name string, history bool) (*device, client.LinkResult) {
	r.t.Helper()
	d := &device{t: r.t, r: r, name: name, address: from.address, path: filepath.Join(r.t.TempDir(), "client.db")}
	d.open()
	r.t.Cleanup(d.close)
	ctx := ctxT(r.t)
	l, err := d.c.StartLink(ctx, name)
	if err != nil {
		r.t.Fatalf("%s: start link: %v", name, err)
	}
	defer l.Close()
	code := l.Code()
	if len(code) != 14 || code[4] != '-' || code[9] != '-' {
		r.t.Fatalf("%s: code %q, want XXXX-XXXX-XXXX", name, code)
	}
	if !strings.HasPrefix(l.QR(), wire.LinkQRPrefix) || len(l.QR()) != len(wire.LinkQRPrefix)+52 {
		r.t.Fatalf("%s: QR text %q", name, l.QR())
	}
	type waited struct {
		res client.LinkResult
		err error
	}
	done := make(chan waited, 1)
	go func() {
		res, err := l.Wait(ctx, nil)
		done <- waited{res, err}
	}()
	dev, err := from.c.LinkDevice(ctx, strings.ToLower(code), history, nil)
	if err != nil {
		r.t.Fatalf("%s links %s: %v", from.name, name, err)
	}
	w := <-done
	if w.err != nil {
		r.t.Fatalf("%s: wait for the link: %v", name, w.err)
	}
	if w.res.Account.Device != dev || w.res.Account.User != from.acct.User || w.res.Account.Address != from.address {
		r.t.Fatalf("%s: linked as %+v, want device %d of %s", name, w.res.Account, dev, from.acct.User)
	}
	d.acct = w.res.Account
	d.start()
	return d, w.res
}

// deviceInfo returns what the relay lists of device id of d's account.
func (d *device) deviceInfo(id wire.DeviceID) (wire.DeviceInfo, bool) {
	d.t.Helper()
	devs, err := d.c.Devices(ctxT(d.t))
	if err != nil {
		d.t.Fatalf("%s: devices: %v", d.name, err)
	}
	for _, x := range devs {
		if x.ID == id {
			return x, true
		}
	}
	return wire.DeviceInfo{}, false
}

// identityChanges returns the IdentityChanged events d has emitted about
// peer.
func (d *device) identityChanges(peer *device) []client.IdentityChanged {
	d.drain()
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []client.IdentityChanged
	for _, ev := range d.events {
		if ic, ok := ev.(client.IdentityChanged); ok && ic.Contact == peer.acct.User {
			out = append(out, ic)
		}
	}
	return out
}

// TestLinkDevice: Alice links a second device by typing its short code;
// her history comes over; it sends and receives; Bob, who verified her
// safety numbers, trusts it without a warning, because her first device
// vouched for it. A third device that signs in with an emailed code alone
// is held (nothing is delivered to it) until her first device approves
// it, and Bob is warned about it; a fourth is refused.
func TestLinkDevice(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice-phone", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	ctx := ctxT(t)
	bob.waitText(alice, "hello from alice-phone")
	id := bob.send(alice, "before the laptop")
	alice.waitText(bob, "before the laptop")
	bob.waitState(alice, id, client.StateDelivered)

	// Bob compares safety numbers with Alice.
	numbers, err := bob.c.SafetyNumbers(ctx, alice.acct.User)
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.c.MarkVerified(ctx, alice.acct.User, numbers); err != nil {
		t.Fatal(err)
	}
	if bob.contact(alice).Verified.IsZero() {
		t.Fatal("bob: alice not verified")
	}

	if err := alice.c.SetProfileName(ctx, "Alice"); err != nil {
		t.Fatal(err)
	}

	// The laptop, linked with the history.
	laptop, res := r.link(alice, "alice-laptop", true)
	if res.HistoryErr != nil || res.History.Messages < 2 {
		t.Fatalf("laptop: history %+v, %v", res.History, res.HistoryErr)
	}
	laptop.waitText(bob, "before the laptop") // the history, on the new device
	if info, ok := alice.deviceInfo(laptop.acct.Device); !ok || !info.Linked || info.PendingUntilMS != 0 {
		t.Fatalf("alice's devices list the laptop as %+v (listed %v), want linked, not held", info, ok)
	}
	if !laptop.c.PendingUntil().IsZero() {
		t.Fatalf("laptop held until %v", laptop.c.PendingUntil())
	}
	if name, err := laptop.c.ProfileName(ctx); err != nil || name != "Alice" {
		t.Fatalf("laptop: profile name %q, %v", name, err)
	}

	// It writes first: Bob meets it through its message, checks the
	// vouch, and trusts it without a warning.
	laptop.send(bob, "from the laptop")
	bob.waitText(alice, "from the laptop")
	id = bob.send(alice, "to both")
	laptop.waitText(bob, "to both")
	alice.waitText(bob, "to both")
	bob.waitState(alice, id, client.StateDelivered)
	ct := bob.contact(alice)
	if ct.Verified.IsZero() || ct.IdentityChanged {
		t.Fatalf("bob after the linked laptop: Verified %v, IdentityChanged %v", ct.Verified, ct.IdentityChanged)
	}
	if ics := bob.identityChanges(alice); len(ics) != 0 {
		t.Fatalf("bob was warned about the linked laptop: %+v", ics)
	}
	// Alice's phone was not alarmed by the device it linked.
	alice.drain()
	alice.mu.Lock()
	for _, ev := range alice.events {
		if ev, ok := ev.(client.OwnDeviceSeen); ok && ev.Device == laptop.acct.Device {
			t.Errorf("alice-phone: OwnDeviceSeen for the laptop it linked")
		}
	}
	alice.mu.Unlock()

	// A tablet signs in with an emailed code alone: held.
	tablet := r.newDevice("alice-tablet", alice.address)
	if tablet.c.PendingUntil().IsZero() {
		t.Fatal("tablet signed in by code is not held")
	}
	alice.waitEvent("the tablet pending", func(ev client.Event) bool {
		p, ok := ev.(client.DevicePending)
		return ok && p.Device == tablet.acct.Device
	})
	if info, ok := alice.deviceInfo(tablet.acct.Device); !ok || info.PendingUntilMS == 0 || info.Linked {
		t.Fatalf("alice's devices list the tablet as %+v (listed %v), want held", info, ok)
	}
	if _, err := tablet.c.LinkDevice(ctx, "ABCD-EFGH-JKMN", false, nil); !errors.Is(err, client.ErrDevicePending) {
		t.Fatalf("a held device links: %v", err)
	}
	held := bob.send(alice, "while the tablet waits")
	alice.waitText(bob, "while the tablet waits")
	laptop.waitText(bob, "while the tablet waits")
	bob.waitState(alice, held, client.StateDelivered)
	if ics := bob.identityChanges(alice); len(ics) != 0 {
		t.Fatalf("bob was warned about a held device: %+v", ics)
	}

	// The phone approves it: it reconnects and is delivered to from now on.
	if err := alice.c.ApproveDevice(ctx, tablet.acct.Device); err != nil {
		t.Fatal(err)
	}
	tablet.waitEvent("approval", func(ev client.Event) bool { _, ok := ev.(client.DeviceApproved); return ok })
	tablet.waitEvent("connected again", func(ev client.Event) bool { _, ok := ev.(client.Connected); return ok })
	if !tablet.c.PendingUntil().IsZero() {
		t.Fatalf("approved tablet still held until %v", tablet.c.PendingUntil())
	}
	// Bob's next message finds a device nobody vouched for: the warning
	// of any new device, and the message waits for him.
	after := bob.send(alice, "after the approval")
	bob.waitEvent("the tablet's warning", func(ev client.Event) bool {
		ic, ok := ev.(client.IdentityChanged)
		return ok && ic.Contact == alice.acct.User && len(ic.Devices) == 1 && ic.Devices[0] == tablet.acct.Device
	})
	if ct := bob.contact(alice); !ct.Verified.IsZero() || !ct.IdentityChanged {
		t.Fatalf("bob after the tablet: Verified %v, IdentityChanged %v", ct.Verified, ct.IdentityChanged)
	}
	if err := bob.c.AcceptIdentity(ctx, alice.acct.User); err != nil {
		t.Fatal(err)
	}
	tablet.waitText(bob, "after the approval")
	bob.waitState(alice, after, client.StateDelivered)
	for _, m := range tablet.messages(bob) {
		if m.Text == "while the tablet waits" {
			t.Fatal("a message sent while the tablet was held reached it")
		}
	}

	// A fourth device signs in by code and is refused.
	stranger := r.newDevice("stranger", alice.address)
	if stranger.c.PendingUntil().IsZero() {
		t.Fatal("a second device signed in by code is not held")
	}
	alice.waitEvent("the stranger pending", func(ev client.Event) bool {
		p, ok := ev.(client.DevicePending)
		return ok && p.Device == stranger.acct.Device
	})
	if err := alice.c.RemoveDevice(ctx, stranger.acct.Device); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-stranger.done:
		if !errors.Is(err, client.ErrDeviceRemoved) {
			t.Fatalf("refused device's Run ended with %v", err)
		}
		stranger.cancel = nil
	case <-ctx.Done():
		t.Fatal("the refused device was not signed out")
	}
	if _, ok := alice.deviceInfo(stranger.acct.Device); ok {
		t.Fatal("the refused device is still listed")
	}
}

// TestLinkCodeChecks: LinkDevice refuses a code that is not one, and a
// code no device waits with; Wait ends when its context does.
func TestLinkCodeChecks(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice-phone", "email:alice@example.org")
	ctx := ctxT(t)
	if _, err := alice.c.LinkDevice(ctx, "not a code", false, nil); !errors.Is(err, wire.ErrBadLinkCode) {
		t.Fatalf("link with a malformed code: %v", err)
	}
	var we *wire.Error
	if _, err := alice.c.LinkDevice(ctx, "ABCD-EFGH-JKMN", false, nil); !errors.As(err, &we) || we.Code != wire.CodeNotFound {
		t.Fatalf("link with a code nobody waits with: %v", err)
	}
	// A registered device cannot start a link.
	if _, err := alice.c.StartLink(ctx, "again"); !errors.Is(err, client.ErrRegistered) {
		t.Fatalf("start link on a registered device: %v", err)
	}

	d := &device{t: t, r: r, name: "new", path: filepath.Join(t.TempDir(), "client.db")}
	d.open()
	t.Cleanup(d.close)
	l, err := d.c.StartLink(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := l.Wait(wctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait with a cancelled context: %v", err)
	}
	if _, err := d.c.Account(); !errors.Is(err, client.ErrNotRegistered) {
		t.Fatalf("after a cancelled link: %v", err)
	}
}
