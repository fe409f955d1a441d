package gateway_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/bus/embedded"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// peer is a second gateway on the harness's directory, as another
// gateway of a cluster.
type peer struct {
	url   string
	clock *clock
}

// newPeer starts a second gateway on h's directory and on b, with its own
// clock for the device cache.
func newPeer(t *testing.T, h *harness, b gateway.Bus) *peer {
	t.Helper()
	p := &peer{clock: &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}}
	accounts, err := auth.New(auth.Config{Secret: bytes.Repeat([]byte{7}, 32)}, h.dir.Directory, auth.Senders{auth.SchemeEmail: auth.NewConsoleSender(h.codes)})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := gateway.New(gateway.Config{Now: p.clock.Now}, b, h.dir, accounts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	p.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Shutdown(ctx); err != nil {
			t.Errorf("peer shutdown: %v", err)
		}
		srv.Close()
	})
	return p
}

// connect authenticates d on the peer, replacing its connection.
func (p *peer) connect(t *testing.T, h *harness, d *device) {
	t.Helper()
	d.ws.CloseNow()
	url := h.url
	h.url = p.url
	d.client = h.dial(t)
	h.url = url
	if _, ok := d.call(&wire.Auth{User: d.user, Device: d.id, Credential: d.cred}).(*wire.Welcome); !ok {
		t.Fatalf("auth at the peer failed")
	}
}

// TestRemovedDeviceClosedOnEveryGateway removes a device through one
// gateway while it is connected to another, on the same bus and
// directory: the other gateway closes its connection at once with the
// device-removed code, without the device doing anything.
func TestRemovedDeviceClosedOnEveryGateway(t *testing.T) {
	h := newHarness(t, nil)
	p := newPeer(t, h, h.bus)
	owner := h.register(t, "email:owner@example.org")
	stolen := h.register(t, "email:owner@example.org")
	p.connect(t, h, stolen)
	stolen.quiet()

	if got := owner.call(&wire.RemoveDevice{Device: stolen.id}); !isOK(got) {
		t.Fatalf("remove device: %#v", got)
	}
	if code := stolen.closeCode(); code != wire.CloseDeviceRemoved {
		t.Fatalf("the removed device's connection at the other gateway closed with %d, want %d", code, wire.CloseDeviceRemoved)
	}
}

// TestRemovedDeviceRefusedWithoutAnnouncement removes a device through one
// gateway while it is connected to another that never hears of it (a bus
// of its own stands for a lost announcement). Once the other gateway's
// device cache has expired, whatever the device asks is refused and its
// connection closed with the device-removed code.
func TestRemovedDeviceRefusedWithoutAnnouncement(t *testing.T) {
	peerBus, err := embedded.Open(embedded.Config{Dir: filepath.Join(t.TempDir(), "bus")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peerBus.Close() })
	if err := peerBus.CreateTopic(context.Background(), bus.InTopic, 1); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil)
	p := newPeer(t, h, peerBus)
	friend := h.register(t, "email:friend@example.org")

	tests := []struct {
		name string
		req  func(d *device) wire.Body
		// done reports whether the request took effect anyway.
		done func(t *testing.T, d *device) bool
	}{
		{
			name: "send",
			req: func(d *device) wire.Body {
				return &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Recipients: to(friend)}
			},
			done: func(t *testing.T, d *device) bool {
				_, next, err := peerBus.Bounds(ctxT(t), bus.InTopic, 0)
				if err != nil {
					t.Fatal(err)
				}
				return next > 0
			},
		},
		{
			name: "set contact",
			req:  func(d *device) wire.Body { return &wire.SetContact{User: friend.user, State: wire.ContactAllowed} },
			done: func(t *testing.T, d *device) bool {
				cs, err := h.dir.Contacts(ctxT(t), d.user, wire.MaxListEntries)
				if err != nil {
					t.Fatal(err)
				}
				return len(cs) > 0
			},
		},
		{
			name: "lookup",
			req:  func(d *device) wire.Body { return &wire.Lookup{Address: "email:friend@example.org"} },
		},
		{
			name: "list devices",
			req:  func(d *device) wire.Body { return &wire.ListDevices{} },
		},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := "email:owner" + string(rune('a'+i)) + "@example.org"
			owner := h.register(t, addr)
			stolen := h.register(t, addr)
			if err := peerBus.CreateTopic(ctxT(t), bus.InboxTopic(stolen.user), 1); err != nil {
				t.Fatal(err)
			}
			p.connect(t, h, stolen)
			stolen.quiet() // the peer now caches the user's devices

			if got := owner.call(&wire.RemoveDevice{Device: stolen.id}); !isOK(got) {
				t.Fatalf("remove device: %#v", got)
			}
			p.clock.advance(3 * time.Second) // past the device cache (2s)
			stolen.send(tc.req(stolen))
			if code := stolen.closeCode(); code != wire.CloseDeviceRemoved {
				t.Fatalf("after its removal, a %s closed the connection with %d, want %d", tc.name, code, wire.CloseDeviceRemoved)
			}
			if tc.done != nil && tc.done(t, stolen) {
				t.Fatalf("the removed device's %s took effect", tc.name)
			}
		})
	}
}
