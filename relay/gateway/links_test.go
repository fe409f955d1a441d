package gateway_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// newLinkKeys returns a Link for a new device with keys of its own.
func newLinkKeys(seed byte) *wire.Link {
	return &wire.Link{Key: bytes.Repeat([]byte{seed}, 1216), Identity: append([]byte{2}, bytes.Repeat([]byte{seed}, 32)...), DeviceName: "tablet"}
}

// startLink sends Link on a new connection and returns it with the code.
func startLink(t *testing.T, c *client, l *wire.Link) (uint64, string) {
	t.Helper()
	id := c.send(l)
	f := c.read()
	started, ok := f.Body.(*wire.LinkStarted)
	if !ok || f.ID != id {
		t.Fatalf("link: %#v, want link_code", f.Body)
	}
	if started.Code != wire.LinkCode(l.Key, l.Identity) {
		t.Fatalf("link code %s, want %s", started.Code, wire.LinkCode(l.Key, l.Identity))
	}
	return id, started.Code
}

// linkFrom has d link the device waiting on code and returns its ID.
func linkFrom(t *testing.T, d *device, code string, provision []byte) wire.DeviceID {
	t.Helper()
	keys, ok := d.call(&wire.FetchLink{Code: code}).(*wire.LinkKeys)
	if !ok {
		t.Fatalf("fetch link: want link_keys")
	}
	if !wire.CheckLink(wire.FormatLinkCode(code), keys.Key, keys.Identity) || keys.DeviceName != "tablet" {
		t.Fatalf("link keys %+v do not match the code", keys)
	}
	got := d.call(&wire.LinkDevice{Code: code, Provision: provision})
	linked, ok := got.(*wire.Linked)
	if !ok {
		t.Fatalf("link device: %#v", got)
	}
	return linked.Device
}

// TestLinkDevice: a new device waits on its code; a device of the account
// fetches its keys and links it; the new device is answered Verified with
// the provision, is authenticated, is a device of the account like the
// others (not held, marked linked) and signs in again with its credential.
func TestLinkDevice(t *testing.T) {
	h := newHarness(t, nil)
	phone := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	phone.allow(bob)

	tablet := h.dial(t)
	linkID, code := startLink(t, tablet, newLinkKeys(1))
	provision := bytes.Repeat([]byte{0x5e}, 3000)
	dev := linkFrom(t, phone, code, provision)

	f := tablet.read()
	v, ok := f.Body.(*wire.Verified)
	if !ok || f.ID != linkID {
		t.Fatalf("linked device got %#v, want verified", f.Body)
	}
	if v.User != phone.user || v.Device != dev || v.Created || v.PendingUntilMS != 0 || !bytes.Equal(v.Provision, provision) || len(v.Credential) == 0 {
		t.Fatalf("verified = %+v", v)
	}
	td := &device{client: tablet, addr: phone.addr, user: v.User, id: v.Device, cred: v.Credential}
	list, ok := td.call(&wire.ListDevices{}).(*wire.Devices)
	if !ok || len(list.Devices) != 2 || !list.Devices[1].Linked || list.Devices[1].Name != "tablet" || list.Devices[1].PendingUntilMS != 0 || list.Devices[0].Linked {
		t.Fatalf("devices = %#v", list)
	}
	// Used: the code is gone.
	if got := phone.call(&wire.FetchLink{Code: code}); errorCode(t, got) != wire.CodeNotFound {
		t.Fatalf("fetch a used link: %#v", got)
	}
	// Senders must encrypt to it, and it is delivered to.
	if got := bob.call(&wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Recipients: to(phone)}); got.(*wire.Rejected).Code != wire.CodeStaleDevices {
		t.Fatalf("send without the linked device: %#v", got)
	}
	bob.mustSend(wire.KindMessage, to(phone, td))
	if d := td.deliver(); d.Envelope.Sender != bob.user {
		t.Fatalf("linked device got %+v", d.Envelope)
	}
	if w := h.reconnect(t, td); w.PendingUntilMS != 0 {
		t.Fatalf("welcome = %+v", w)
	}
}

// TestLinkWaitAllowsNoFrame: while it waits, a linking connection may
// send nothing else, and a connection links once.
func TestLinkWaitAllowsNoFrame(t *testing.T) {
	h := newHarness(t, nil)
	phone := h.register(t, "email:alice@example.org")
	c := h.dial(t)
	_, code := startLink(t, c, newLinkKeys(1))
	c.send(&wire.Lookup{Address: "email:bob@example.org"})
	if got := c.closeCode(); got != wire.CloseProtocolError {
		t.Fatalf("frame while linking: close %d, want %d", got, wire.CloseProtocolError)
	}
	// Its link went with it.
	wait.For(t, "the abandoned link's deletion", func() bool {
		e, ok := phone.call(&wire.FetchLink{Code: code}).(*wire.Error)
		return ok && e.Code == wire.CodeNotFound
	})
	// The same keys may wait again.
	startLink(t, h.dial(t), newLinkKeys(1))
	// Link after authentication is refused.
	phone.send(newLinkKeys(2))
	if got := phone.closeCode(); got != wire.CloseProtocolError {
		t.Fatalf("link when signed in: close %d", got)
	}
}

// TestLinkExists: two connections with the same keys: the second is
// refused while the first waits.
func TestLinkExists(t *testing.T) {
	h := newHarness(t, nil)
	startLink(t, h.dial(t), newLinkKeys(1))
	if got := h.dial(t).call(newLinkKeys(1)); errorCode(t, got) != wire.CodeExists {
		t.Fatalf("second link: %#v", got)
	}
}

// TestLinkExpires: a link nobody claims ends with code_expired and the
// connection closes; the code is then unknown.
func TestLinkExpires(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) { c.LinkLifetime = 300 * time.Millisecond })
	phone := h.register(t, "email:alice@example.org")
	c := h.dial(t)
	id, code := startLink(t, c, newLinkKeys(1))
	f := c.read()
	if f.ID != id || errorCode(t, f.Body) != wire.CodeCodeExpired {
		t.Fatalf("expired link: %#v", f.Body)
	}
	if got := c.closeCode(); got != wire.CloseIdle {
		t.Fatalf("close %d, want %d", got, wire.CloseIdle)
	}
	if got := phone.call(&wire.LinkDevice{Code: code, Provision: []byte{1}}); errorCode(t, got) != wire.CodeNotFound {
		t.Fatalf("link an expired code: %#v", got)
	}
	if list := phone.call(&wire.ListDevices{}).(*wire.Devices); len(list.Devices) != 1 {
		t.Fatalf("devices = %+v", list.Devices)
	}
}

// TestLinkLeftBeforeHandover: when the new device goes away after its
// link was claimed but before it was answered, the device the claim added
// (whose credential nobody has) is removed.
func TestLinkLeftBeforeHandover(t *testing.T) {
	// Polls that never come: only a wake-up or the connection's end.
	h := newHarness(t, func(c *gateway.Config) { c.LinkPoll = time.Hour })
	phone := h.register(t, "email:alice@example.org")
	c := h.dial(t)
	_, code := startLink(t, c, newLinkKeys(1))
	c.ws.CloseNow()
	// Claimed in the moment the connection ends, or refused after: either
	// way no device stays.
	got := phone.call(&wire.LinkDevice{Code: code, Provision: []byte{1}})
	if _, linked := got.(*wire.Linked); !linked && errorCode(t, got) != wire.CodeNotFound {
		t.Fatalf("link device: %#v", got)
	}
	wait.For(t, "only the phone left", func() bool {
		list := phone.call(&wire.ListDevices{}).(*wire.Devices)
		return len(list.Devices) == 1
	})
}

// TestLinkAcrossGateways: a new device waits on one gateway, a device of
// the account links it through another sharing the directory and the bus:
// the waiting gateway finds the claim by reading the directory.
func TestLinkAcrossGateways(t *testing.T) {
	h := newHarness(t, nil)
	phone := h.register(t, "email:alice@example.org")
	other := h.secondGateway(t)
	ws, _, err := websocket.Dial(ctxT(t), other, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(wire.MaxClientReadSize)
	t.Cleanup(func() { ws.CloseNow() })
	tablet := &client{t: t, ws: ws}
	_, code := startLink(t, tablet, newLinkKeys(3))
	dev := linkFrom(t, phone, code, []byte("sealed"))
	v, ok := tablet.read().Body.(*wire.Verified)
	if !ok || v.Device != dev || string(v.Provision) != "sealed" {
		t.Fatalf("verified across gateways = %+v", v)
	}
	if !isOK(tablet.call(keys(1))) {
		t.Fatal("the linked device cannot publish its keys")
	}
}

// secondGateway starts another gateway on h's bus and directory, as a
// second process of a cluster would be, and returns its URL.
func (h *harness) secondGateway(t *testing.T) string {
	t.Helper()
	accounts, err := auth.New(auth.Config{
		Secret: bytes.Repeat([]byte{7}, 32), RequestsPerWindow: 1000, RequestGap: time.Second,
		NetBurst: 1000, VerifyNetBurst: 1000, Now: h.clock.Now,
	}, h.dir, auth.Senders{auth.SchemeEmail: auth.NewConsoleSender(h.codes)})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{}, h.bus, h.dir, accounts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("second gateway shutdown: %v", err)
		}
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}
