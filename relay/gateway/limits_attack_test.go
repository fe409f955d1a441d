package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// These tests replay floods against the default limits. The gateway's
// clock stands still unless a test moves it, so no bucket refills behind
// the test's back and every count is exact.

// frozenHarness is a harness whose gateway runs on a clock of its own,
// standing at the real time (accounts are created at the directory's real
// time, so they are new by it), and that takes client addresses from
// X-Forwarded-For, so a test can speak from several networks.
func frozenHarness(t *testing.T) (*harness, *clock) {
	t.Helper()
	gc := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.Now = gc.Now
		c.TrustForwardedFor = true
		// The limits run on gc; the pause after a refusal on real time
		// (TestRefusedClientWaits).
		c.RefusalPause = time.Millisecond
	})
	return h, gc
}

// dialForwarded connects as a client at ip, given in X-Forwarded-For (no ip:
// the loopback address).
func (h *harness) dialForwarded(t *testing.T, ip string) *client {
	t.Helper()
	var opts *websocket.DialOptions
	if ip != "" {
		opts = &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {ip}}}
	}
	ws, _, err := websocket.Dial(ctxT(t), h.url, opts)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(wire.MaxClientReadSize)
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, ws: ws}
}

// registerFrom signs a new device in for addr from ip.
func (h *harness) registerFrom(t *testing.T, addr, ip string) *device {
	t.Helper()
	return h.registerOn(t, h.dialForwarded(t, ip), addr)
}

// reconnectFrom opens a new authenticated connection for d from ip.
func (h *harness) reconnectFrom(t *testing.T, d *device, ip string) {
	t.Helper()
	d.ws.CloseNow()
	d.client = h.dialForwarded(t, ip)
	if _, ok := d.call(&wire.Auth{User: d.user, Device: d.id, Credential: d.cred}).(*wire.Welcome); !ok {
		t.Fatal("auth failed")
	}
}

// untilLimited makes request after request until one is refused with
// rate_limited, and returns how many were not, with the refusal.
func untilLimited(t *testing.T, d *device, request func() wire.Body) (int, *wire.Error) {
	t.Helper()
	for n := 0; n < 1000; n++ {
		if e, ok := d.call(request()).(*wire.Error); ok && e.Code == wire.CodeRateLimited {
			if e.RetryAfterMS == 0 {
				t.Fatalf("rate_limited without a retry time: %#v", e)
			}
			return n, e
		}
	}
	t.Fatal("never rate limited")
	return 0, nil
}

// TestLookupBudgetAcrossReconnects: an account that signs in again and
// again gets no more lookups than one connection would, and no more than
// its daily budget however long it paces itself.
func TestLookupBudgetAcrossReconnects(t *testing.T) {
	h, gc := frozenHarness(t)
	mallory := h.register(t, "email:mallory@example.org")
	probe := 0
	lookup := func() wire.Body {
		probe++
		return &wire.Lookup{Address: fmt.Sprintf("email:guess%d@example.org", probe)}
	}

	// Ten connections at one instant: the burst of 60 is the account's.
	total := 0
	for i := range 10 {
		if i > 0 {
			h.reconnect(t, mallory)
		}
		n, _ := untilLimited(t, mallory, lookup)
		total += n
	}
	if total != 60 {
		t.Fatalf("10 connections of one account made %d lookups at one instant, want the burst of 60", total)
	}

	// Pacing itself (30 s between rounds refill the per-second bucket)
	// the account meets its daily budget of 500, which refills one every
	// 172.8 s.
	var elapsed time.Duration
	for round := 0; ; round++ {
		if round > 100 {
			t.Fatal("the daily budget never ran out")
		}
		gc.advance(30 * time.Second)
		elapsed += 30 * time.Second
		h.reconnect(t, mallory)
		// A round that gets nothing was refused with the per-second
		// bucket full: by the daily budget.
		n, _ := untilLimited(t, mallory, lookup)
		total += n
		if n == 0 {
			break
		}
	}
	if max := 500 + int(elapsed/(24*time.Hour/500)); total < 500 || total > max {
		t.Fatalf("%d lookups in %v, want the daily 500 and at most %d", total, elapsed, max)
	}
	// Fetching bundles draws on the same budget.
	if e, ok := mallory.call(&wire.FetchBundles{User: mallory.user}).(*wire.Error); !ok || e.Code != wire.CodeRateLimited {
		t.Fatalf("FetchBundles after the lookup budget: %#v", e)
	}
}

// TestLookupNetworkLimit: many accounts from one network share its
// lookups, and another network is not held back by them.
func TestLookupNetworkLimit(t *testing.T) {
	h, _ := frozenHarness(t)
	total := 0
	for i := range 12 {
		d := h.register(t, fmt.Sprintf("email:sock%d@example.org", i))
		n, _ := untilLimited(t, d, func() wire.Body { return &wire.Lookup{Address: "email:someone@example.org"} })
		total += n
	}
	if total != 600 {
		t.Fatalf("12 accounts of one network made %d lookups at one instant, want the network's burst of 600", total)
	}
	other := h.registerFrom(t, "email:neighbour@example.org", "203.0.113.7")
	if got := other.call(&wire.Lookup{Address: "email:sock0@example.org"}); got.Type() != wire.TypeFound {
		t.Fatalf("lookup from another network: %#v", got)
	}
}

// TestAccountRequestFloods: the requests that had no limit (SetContact,
// ListContacts, ListDevices, RemoveDevice, PublishKeys) are limited per
// account, across connections, without holding back another account.
func TestAccountRequestFloods(t *testing.T) {
	tests := []struct {
		name    string
		burst   int
		request func(other *device) wire.Body
	}{
		{"SetContact", 60, func(o *device) wire.Body { return &wire.SetContact{User: o.user, State: wire.ContactAllowed} }},
		{"ListContacts", 20, func(*device) wire.Body { return &wire.ListContacts{} }},
		{"ListDevices", 20, func(*device) wire.Body { return &wire.ListDevices{} }},
		{"RemoveDevice", wire.MaxDevices, func(*device) wire.Body { return &wire.RemoveDevice{Device: 999} }},
		{"PublishKeys", 20, func(*device) wire.Body { return keys(0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := frozenHarness(t)
			mallory := h.register(t, "email:mallory@example.org")
			alice := h.register(t, "email:alice@example.org")
			total := 0
			for i := range 3 {
				if i > 0 {
					h.reconnect(t, mallory)
				}
				n, _ := untilLimited(t, mallory, func() wire.Body { return tt.request(alice) })
				total += n
			}
			if total != tt.burst {
				t.Fatalf("3 connections of one account made %d requests at one instant, want the burst of %d", total, tt.burst)
			}
			if e, ok := alice.call(tt.request(mallory)).(*wire.Error); ok && e.Code == wire.CodeRateLimited {
				t.Fatal("another account was held back")
			}
		})
	}
}

// TestRequestSpamFromNewAccounts: fresh accounts made on one network to
// send contact requests get few each on their first day, and the network
// few in all; another network is not held back, and an account past its
// first day is held by the network's limit only.
func TestRequestSpamFromNewAccounts(t *testing.T) {
	h, gc := frozenHarness(t)
	target := h.registerFrom(t, "email:target@example.org", "198.51.100.1")
	request := func(d *device) wire.Body {
		return &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindRequest, Recipients: to(target)}
	}
	accepted := func(d *device, tries int) int {
		t.Helper()
		n := 0
		for range tries {
			switch got := d.call(request(d)).(type) {
			case *wire.Accepted:
				n++
			case *wire.Rejected:
				if got.Code != wire.CodeRateLimited {
					t.Fatalf("rejected: %#v", got)
				}
			default:
				t.Fatalf("got %#v", got)
			}
		}
		return n
	}

	spammers := make([]*device, 20)
	for i := range spammers {
		spammers[i] = h.register(t, fmt.Sprintf("email:spam%d@example.org", i))
	}
	if n := accepted(spammers[0], 10); n != 5 {
		t.Fatalf("a new account sent %d of 10 requests, want 5", n)
	}
	total := 5
	for _, d := range spammers[1:] {
		total += accepted(d, 20)
	}
	if total != 30 {
		t.Fatalf("20 new accounts of one network sent %d of 400 requests, want the network's 30", total)
	}
	if n := accepted(h.registerFrom(t, "email:honest@example.org", "203.0.113.7"), 1); n != 1 {
		t.Fatal("a new account on another network was held back")
	}

	// A day later the accounts are no longer new, and the network's
	// bucket is full again: one account may use all of it, no more.
	gc.advance(25 * time.Hour)
	h.reconnect(t, spammers[1])
	if n := accepted(spammers[1], 31); n != 30 {
		t.Fatalf("an older account sent %d of 31 requests, want the network's 30", n)
	}
	// Sending messages is not held back by the request limits.
	target.allow(spammers[2])
	h.reconnect(t, spammers[2])
	spammers[2].mustSend(wire.KindMessage, to(target))
}

// TestRefusedClientWaits: after answering a request rate_limited, the
// gateway reads nothing more from that connection until the wait it gave
// has passed (at most Config.RefusalPause), so a client that keeps asking
// floods only its own socket; other connections are served meanwhile.
func TestRefusedClientWaits(t *testing.T) {
	gc := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.Now = gc.Now
		// A refusal says to wait an hour, and the pause is as long: the
		// test ends first.
		c.Rates.Lookup = limit.Rate{Every: time.Hour, Burst: 3}
		c.RefusalPause = time.Hour
	})
	mallory := h.register(t, "email:mallory@example.org")
	alice := h.register(t, "email:alice@example.org")
	untilLimited(t, mallory, func() wire.Body { return &wire.Lookup{Address: "email:alice@example.org"} })
	mallory.send(&wire.Lookup{Address: "email:alice@example.org"})
	mallory.send(&wire.ListContacts{})
	// Another account is answered at once.
	if got := alice.call(&wire.ListContacts{}); got.Type() != wire.TypeContacts {
		t.Fatalf("another account: %#v", got)
	}
	// Mallory's frames wait in the socket, unread; a gateway that read on
	// would answer both within milliseconds.
	ctx, cancel := context.WithTimeout(ctxT(t), 300*time.Millisecond)
	defer cancel()
	if _, data, err := mallory.ws.Read(ctx); err == nil {
		f, _ := wire.DecodeFrame(data)
		t.Fatalf("answered during the pause: %#v", f.Body)
	}
}

// TestSignInLimits: an account signs in again at most Rates.Auth times,
// from however many networks, and a network at most Rates.NetAuth times,
// whoever signs in: a client that reconnects after every refusal to
// start afresh gets nothing by it.
func TestSignInLimits(t *testing.T) {
	gc := &clock{now: time.Now()}
	h := newHarness(t, func(c *gateway.Config) {
		c.Now = gc.Now
		c.TrustForwardedFor = true
		c.RefusalPause = time.Millisecond
		c.Rates.NetAuth = limit.Rate{Every: time.Hour, Burst: 5}
	})
	auth := func(d *device, ip string) wire.Body {
		t.Helper()
		return h.dialForwarded(t, ip).call(&wire.Auth{User: d.user, Device: d.id, Credential: d.cred})
	}
	mallory := h.registerFrom(t, "email:mallory@example.org", "192.0.2.1")
	signIns := 0
	for i := range 100 {
		got := auth(mallory, fmt.Sprintf("198.51.100.%d", i/5+1)) // five from each network
		if e, ok := got.(*wire.Error); ok && e.Code == wire.CodeRateLimited {
			break
		}
		if got.Type() != wire.TypeWelcome {
			t.Fatalf("sign-in %d: %#v", i, got)
		}
		signIns++
	}
	if signIns != 30 {
		t.Fatalf("one account signed in %d times at one instant, want its 30", signIns)
	}
	alice := h.registerFrom(t, "email:alice@example.org", "192.0.2.2")
	if got := auth(alice, "198.51.100.200"); got.Type() != wire.TypeWelcome {
		t.Fatalf("another account: %#v", got)
	}
	// 198.51.100.1 has signed five in: the next sign-in from there is
	// refused before its credential is looked at.
	if e, ok := auth(alice, "198.51.100.1").(*wire.Error); !ok || e.Code != wire.CodeRateLimited {
		t.Fatal("a sixth sign-in from one network was not refused")
	}
}
