package gateway_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestConnection checks the connection's state machine: what may come
// before authentication, what may not come after, and the close code of
// each way a connection ends.
func TestConnection(t *testing.T) {
	tests := []struct {
		name string
		tune func(*gateway.Config)
		run  func(t *testing.T, h *harness) *client // returns the connection that must close
		want websocket.StatusCode
	}{
		{"send before authentication", nil, func(t *testing.T, h *harness) *client {
			c := h.dial(t)
			c.send(&wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage})
			return c
		}, wire.CloseAuthRequired},
		{"lookup before authentication", nil, func(t *testing.T, h *harness) *client {
			c := h.dial(t)
			c.send(&wire.Lookup{Address: "email:alice@example.org"})
			return c
		}, wire.CloseAuthRequired},
		{"text frame", nil, func(t *testing.T, h *harness) *client {
			c := h.dial(t)
			if err := c.ws.Write(ctxT(t), websocket.MessageText, []byte("hello")); err != nil {
				t.Fatal(err)
			}
			return c
		}, wire.CloseProtocolError},
		{"malformed frame", nil, func(t *testing.T, h *harness) *client {
			c := h.dial(t)
			if err := c.ws.Write(ctxT(t), websocket.MessageBinary, []byte{0xff, 0xff, 0xff}); err != nil {
				t.Fatal(err)
			}
			return c
		}, wire.CloseProtocolError},
		{"unknown frame type", nil, func(t *testing.T, h *harness) *client {
			c := h.dial(t)
			if err := c.ws.Write(ctxT(t), websocket.MessageBinary, []byte{0xfa, 0x01, 0x00}); err != nil {
				t.Fatal(err)
			}
			return c
		}, wire.CloseUnknownFrame},
		{"relay frame from a client", nil, func(t *testing.T, h *harness) *client {
			c := h.dial(t)
			c.send(&wire.OK{})
			return c
		}, wire.CloseWrongDirection},
		{"frame too large", nil, func(t *testing.T, h *harness) *client {
			c := h.dial(t)
			c.ws.Write(ctxT(t), websocket.MessageBinary, make([]byte, wire.MaxFrameSize+1)) // may fail: the relay closes first
			return c
		}, websocket.StatusMessageTooBig},
		{"too many frames before authentication", nil, func(t *testing.T, h *harness) *client {
			c := h.dial(t)
			for range 11 {
				c.send(&wire.Verify{Address: "email:alice@example.org", Code: "12345678", DeviceName: "x"})
			}
			return c
		}, wire.CloseProtocolError},
		{"silent past the authentication deadline", func(c *gateway.Config) { c.AuthTimeout = 50 * time.Millisecond }, func(t *testing.T, h *harness) *client {
			return h.dial(t)
		}, wire.CloseIdle},
		{"authenticated twice", nil, func(t *testing.T, h *harness) *client {
			d := h.register(t, "email:alice@example.org")
			d.send(&wire.Auth{User: d.user, Device: d.id, Credential: d.cred})
			return d.client
		}, wire.CloseProtocolError},
		{"register after authentication", nil, func(t *testing.T, h *harness) *client {
			d := h.register(t, "email:alice@example.org")
			d.send(&wire.Register{Address: "email:alice@example.org"})
			return d.client
		}, wire.CloseProtocolError},
		{"signed in again elsewhere", nil, func(t *testing.T, h *harness) *client {
			d := h.register(t, "email:alice@example.org")
			other := h.dial(t)
			if _, ok := other.call(&wire.Auth{User: d.user, Device: d.id, Credential: d.cred}).(*wire.Welcome); !ok {
				t.Fatal("second connection not authenticated")
			}
			return d.client
		}, wire.CloseReplaced},
		{"relay shutting down", nil, func(t *testing.T, h *harness) *client {
			d := h.register(t, "email:alice@example.org")
			// Shutdown returns once the device has read the close.
			done := make(chan error, 1)
			go func() { done <- h.gw.Shutdown(context.Background()) }()
			t.Cleanup(func() {
				if err := <-done; err != nil {
					t.Errorf("shutdown: %v", err)
				}
			})
			return d.client
		}, wire.CloseShutdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.tune)
			c := tt.run(t, h)
			if got := c.closeCode(); got != tt.want {
				t.Fatalf("close code %d, want %d", got, tt.want)
			}
		})
	}
}

// TestShutdownRefusesNewConnections: after Shutdown a connection is
// closed at once with CloseShutdown.
func TestShutdownRefusesNewConnections(t *testing.T) {
	h := newHarness(t, nil)
	if err := h.gw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := h.dial(t).closeCode(); got != wire.CloseShutdown {
		t.Fatalf("close code %d, want %d", got, wire.CloseShutdown)
	}
}

func TestRegister(t *testing.T) {
	type step struct {
		addr string
		want wire.Code // 0: OK
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"code sent", []step{{"email:alice@example.org", 0}}},
		{"not an address", []step{{"alice", wire.CodeBadAddress}}},
		{"scheme not supported yet", []step{{"tel:+447700900123", wire.CodeUnsupportedScheme}}},
		{"too soon after the last code", []step{{"email:bob@example.org", 0}, {"email:bob@example.org", wire.CodeRateLimited}}},
		{"code not delivered", []step{{"email:carol@bounce.example", wire.CodeDeliveryFailed}}},
	}
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.dial(t)
			for i, s := range tt.steps {
				got := c.call(&wire.Register{Address: s.addr})
				if s.want == 0 {
					if sent, ok := got.(*wire.CodeSent); !ok || len(sent.Token) != auth.TokenLen {
						t.Fatalf("step %d: %#v, want a code sent with a token", i, got)
					}
					if code := h.codes.code(t, s.addr); len(code) != 8 {
						t.Fatalf("step %d: code %q, want 8 digits", i, code)
					}
					continue
				}
				if code := errorCode(t, got); code != s.want {
					t.Fatalf("step %d: %v, want %v", i, code, s.want)
				}
				if s.want == wire.CodeRateLimited && got.(*wire.Error).RetryAfterMS == 0 {
					t.Fatalf("step %d: rate limited without a retry time", i)
				}
			}
		})
	}
}

func TestVerify(t *testing.T) {
	// tokens holds the token of the last request for each address.
	tokens := make(map[string][]byte)
	// request asks for a code on c and returns it.
	request := func(t *testing.T, h *harness, c *client, addr string) string {
		t.Helper()
		h.clock.advance(2 * time.Second)
		sent, ok := c.call(&wire.Register{Address: addr}).(*wire.CodeSent)
		if !ok {
			t.Fatalf("register %s: no code sent", addr)
		}
		tokens[addr] = sent.Token
		return h.codes.code(t, addr)
	}
	wrong := func(code string) string {
		if code == "00000000" {
			return "11111111"
		}
		return "00000000"
	}
	tests := []struct {
		name string
		code func(t *testing.T, h *harness, c *client, addr string) string // the code typed
		want wire.Code                                                     // 0: Verified
	}{
		{"right code", request, 0},
		{"right code with a hyphen", func(t *testing.T, h *harness, c *client, addr string) string {
			code := request(t, h, c, addr)
			return code[:4] + "-" + code[4:]
		}, 0},
		{"no code pending", func(*testing.T, *harness, *client, string) string { return "12345678" }, wire.CodeBadCode},
		{"wrong code", func(t *testing.T, h *harness, c *client, addr string) string {
			return wrong(request(t, h, c, addr))
		}, wire.CodeBadCode},
		{"not digits", func(t *testing.T, h *harness, c *client, addr string) string {
			request(t, h, c, addr)
			return "abcdefgh"
		}, wire.CodeBadCode},
		{"expired", func(t *testing.T, h *harness, c *client, addr string) string {
			code := request(t, h, c, addr)
			h.clock.advance(11 * time.Minute)
			return code
		}, wire.CodeCodeExpired},
		{"fifth wrong code", func(t *testing.T, h *harness, c *client, addr string) string {
			code := request(t, h, c, addr)
			for i := range 4 {
				got := c.call(&wire.Verify{Address: addr, Code: wrong(code), Token: tokens[addr], DeviceName: "x"})
				if got := errorCode(t, got); got != wire.CodeBadCode {
					t.Fatalf("attempt %d: %v", i+1, got)
				}
			}
			return wrong(code)
		}, wire.CodeTooManyAttempts},
	}
	h := newHarness(t, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := "email:user" + string(rune('a'+i)) + "@example.org"
			c := h.dial(t)
			code := tt.code(t, h, c, addr)
			got := c.call(&wire.Verify{Address: addr, Code: code, Token: tokens[addr], DeviceName: "phone"})
			if tt.want != 0 {
				if code := errorCode(t, got); code != tt.want {
					t.Fatalf("got %v, want %v", code, tt.want)
				}
				// Still unauthenticated: the connection may try again.
				if got := c.call(&wire.Verify{Address: addr, Code: "12345678", Token: tokens[addr], DeviceName: "phone"}); errorCode(t, got) != wire.CodeBadCode {
					t.Fatalf("retry: %#v", got)
				}
				return
			}
			v, ok := got.(*wire.Verified)
			if !ok {
				t.Fatalf("got %#v, want verified", got)
			}
			if !v.Created || v.Device != 1 || v.User.IsZero() || len(v.Credential) == 0 {
				t.Fatalf("verified %+v", v)
			}
			// The connection is now the device's: it may use the directory.
			devs, ok := c.call(&wire.ListDevices{}).(*wire.Devices)
			if !ok || len(devs.Devices) != 1 || devs.Devices[0].ID != 1 || devs.Devices[0].Name != "phone" {
				t.Fatalf("devices: %+v", devs)
			}
			stored, err := h.dir.Device(context.Background(), v.User, v.Device)
			if err != nil || bytes.Equal(stored.CredHash, v.Credential) || len(stored.CredHash) == 0 {
				t.Fatalf("stored device %+v, %v: want the credential's hash only", stored, err)
			}
		})
	}
}

// TestVerifyDevices: each verification of an address adds a device to its
// account, up to wire.MaxDevices.
func TestVerifyDevices(t *testing.T) {
	h := newHarness(t, nil)
	const addr = "email:alice@example.org"
	var user wire.UserID
	for i := 1; i <= wire.MaxDevices; i++ {
		d := h.register(t, addr)
		if i == 1 {
			user = d.user
		}
		if d.user != user || d.id != wire.DeviceID(i) {
			t.Fatalf("device %d: user %v, id %d", i, d.user, d.id)
		}
	}
	h.clock.advance(2 * time.Second)
	c := h.dial(t)
	sent, ok := c.call(&wire.Register{Address: addr}).(*wire.CodeSent)
	if !ok {
		t.Fatal("register: no code sent")
	}
	got := c.call(&wire.Verify{Address: addr, Code: h.codes.code(t, addr), Token: sent.Token, DeviceName: "one too many"})
	if code := errorCode(t, got); code != wire.CodeBadRequest {
		t.Fatalf("device %d: %v, want bad_request", wire.MaxDevices+1, code)
	}
	devs, err := h.dir.Devices(context.Background(), user)
	if err != nil || len(devs) != wire.MaxDevices {
		t.Fatalf("%d devices, %v; want %d", len(devs), err, wire.MaxDevices)
	}
}

func TestAuth(t *testing.T) {
	var failures atomic.Int64
	h := newHarness(t, func(c *gateway.Config) {
		c.Metrics.AuthFailures = func() { failures.Add(1) }
	})
	d := h.register(t, "email:alice@example.org")
	if got := d.call(keys(3)); !isOK(got) {
		t.Fatalf("publish keys: %#v", got)
	}
	tests := []struct {
		name string
		auth wire.Auth
		ok   bool
	}{
		{"right credential", wire.Auth{User: d.user, Device: d.id, Credential: d.cred}, true},
		{"wrong credential", wire.Auth{User: d.user, Device: d.id, Credential: bytes.Repeat([]byte{1}, len(d.cred))}, false},
		{"no credential", wire.Auth{User: d.user, Device: d.id}, false},
		{"unknown device", wire.Auth{User: d.user, Device: d.id + 1, Credential: d.cred}, false},
		{"unknown user", wire.Auth{User: wire.NewUserID(), Device: d.id, Credential: d.cred}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := failures.Load()
			c := h.dial(t)
			if !tt.ok {
				c.send(&tt.auth)
				if got := c.closeCode(); got != wire.CloseAuthFailed {
					t.Fatalf("close code %d, want %d", got, wire.CloseAuthFailed)
				}
				if failures.Load() != before+1 {
					t.Fatal("failure not counted")
				}
				return
			}
			w, ok := c.call(&tt.auth).(*wire.Welcome)
			if !ok || w.User != d.user || w.Device != d.id || w.OneTimeLeft != 3 || w.KEMOneTimeLeft != 0 || w.ServerTimeMS == 0 {
				t.Fatalf("welcome %+v", w)
			}
			if failures.Load() != before {
				t.Fatal("success counted as a failure")
			}
		})
	}
}

func TestPublishKeys(t *testing.T) {
	noPublic := keys(2)
	noPublic.OneTime[1].Public = nil
	noKEMPublic := keys(0)
	noKEMPublic.KEMOneTime = []wire.Prekey{prekey(7, true), {ID: 8, Signature: []byte{1}}}
	unsigned := keys(0)
	unsigned.Signed.Signature = nil
	twice := keys(2)
	twice.OneTime[1].ID = twice.OneTime[0].ID
	tests := []struct {
		name    string
		full    bool // the device's pools already hold the most allowed
		keys    *wire.PublishKeys
		want    wire.Code // 0: OK
		oneTime int       // one-time prekeys stored afterwards
	}{
		{"complete set", false, keys(3), 0, 3},
		{"one-time keys only", false, &wire.PublishKeys{OneTime: []wire.Prekey{prekey(50, false)}}, 0, 1},
		{"one-time key without a public key", false, noPublic, wire.CodeBadRequest, 0},
		{"KEM one-time key without a public key", false, noKEMPublic, wire.CodeBadRequest, 0},
		{"signed prekey without a signature", false, unsigned, wire.CodeBadRequest, 0},
		{"one-time key ID twice", false, twice, wire.CodeBadRequest, 0},
		{"pool full", true, &wire.PublishKeys{OneTime: []wire.Prekey{prekey(5000, false)}}, wire.CodeTooLarge, 1000},
	}
	h := newHarness(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := h.register(t, "email:alice@example.org")
			if tt.full {
				for i := range 1000 / wire.MaxPrekeys {
					batch := &wire.PublishKeys{}
					for j := range wire.MaxPrekeys {
						batch.OneTime = append(batch.OneTime, prekey(uint32(i*wire.MaxPrekeys+j+1), false))
					}
					if got := d.call(batch); !isOK(got) {
						t.Fatalf("batch %d: %#v", i, got)
					}
				}
			}
			got := d.call(tt.keys)
			if tt.want == 0 && !isOK(got) {
				t.Fatalf("got %#v, want OK", got)
			}
			if tt.want != 0 {
				if code := errorCode(t, got); code != tt.want {
					t.Fatalf("got %v, want %v", code, tt.want)
				}
			}
			counts, err := h.dir.PrekeyCounts(context.Background(), d.user, d.id)
			if err != nil || counts.OneTime != tt.oneTime {
				t.Fatalf("prekey counts %+v, %v; want %d one-time", counts, err, tt.oneTime)
			}
		})
	}
}

func TestFetchBundles(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) {
		c.PrekeyLow = 3
		c.PrekeyPairRate = limit.PerDay(100) // the pools are tested here, not the limits
	})
	alice := h.register(t, "email:alice@example.org")
	alice2 := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob2 := h.register(t, "email:bob@example.org")
	carol := h.register(t, "email:carol@example.org") // publishes nothing
	dave := h.register(t, "email:dave@example.org")   // signs out of his only device
	if got := dave.call(&wire.RemoveDevice{Device: dave.id}); !isOK(got) {
		t.Fatalf("sign out: %#v", got)
	}
	for _, d := range []*device{alice, alice2, bob, bob2} {
		if got := d.call(keys(3)); !isOK(got) {
			t.Fatalf("publish keys: %#v", got)
		}
	}
	tests := []struct {
		name    string
		user    wire.UserID
		want    wire.Code       // 0: Bundles
		devices []wire.DeviceID // with a bundle each
	}{
		{"every device of a user", bob.user, 0, []wire.DeviceID{bob.id, bob2.id}},
		{"never a session with oneself", alice.user, 0, []wire.DeviceID{alice2.id}},
		{"no such user", wire.NewUserID(), wire.CodeNotFound, nil},
		{"no device signed in", dave.user, wire.CodeNoDevices, nil},
		{"no keys published", carol.user, wire.CodeNoPrekeys, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alice.call(&wire.FetchBundles{User: tt.user})
			if tt.want != 0 {
				if code := errorCode(t, got); code != tt.want {
					t.Fatalf("got %v, want %v", code, tt.want)
				}
				return
			}
			b, ok := got.(*wire.Bundles)
			if !ok || b.User != tt.user || len(b.Bundles) != len(tt.devices) {
				t.Fatalf("got %#v, want bundles for %v", got, tt.devices)
			}
			for i, bd := range b.Bundles {
				if bd.Device != tt.devices[i] || bd.OneTime == nil || len(bd.Identity) == 0 || len(bd.Signed.Signature) == 0 || !bd.KEMLastResort {
					t.Fatalf("bundle %d: %+v", i, bd)
				}
			}
		})
	}

	t.Run("one-time keys run out", func(t *testing.T) {
		// Bob's devices had three one-time keys each; one went above.
		seen := map[uint32]bool{}
		for i := range 3 {
			b, ok := alice.call(&wire.FetchBundles{User: bob.user}).(*wire.Bundles)
			if !ok {
				t.Fatalf("fetch %d failed", i)
			}
			one := b.Bundles[0].OneTime
			if i == 2 {
				if one != nil {
					t.Fatalf("fetch %d: one-time key %d from an empty pool", i, one.ID)
				}
				continue
			}
			if one == nil || seen[one.ID] {
				t.Fatalf("fetch %d: one-time key %+v handed out twice or missing", i, one)
			}
			seen[one.ID] = true
		}
	})
	t.Run("the owner hears that keys run low", func(t *testing.T) {
		// Every fetch above left bob fewer than three: each sent a notice.
		f := bob.next()
		n, ok := f.Body.(*wire.Notice)
		if !ok || n.Kind != wire.NoticePrekeysLow || n.OneTimeLeft != 2 {
			t.Fatalf("got %#v, want a prekeys-low notice with 2 left", f.Body)
		}
	})
}

func TestLookup(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	tests := []struct {
		name string
		addr string
		want wire.Code // 0: Found
		user wire.UserID
	}{
		{"registered address", "email:bob@example.org", 0, bob.user},
		{"typed differently", "bob@EXAMPLE.org", 0, bob.user},
		{"no account", "email:nobody@example.org", wire.CodeNotFound, wire.UserID{}},
		{"not an address", "bob", wire.CodeBadAddress, wire.UserID{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := alice.call(&wire.Lookup{Address: tt.addr})
			if tt.want != 0 {
				if code := errorCode(t, got); code != tt.want {
					t.Fatalf("got %v, want %v", code, tt.want)
				}
				return
			}
			if f, ok := got.(*wire.Found); !ok || f.User != tt.user {
				t.Fatalf("got %#v, want %v", got, tt.user)
			}
		})
	}
}

// TestLookupLimit: lookups and bundle fetches share one limit per
// account, and a refused one says when to retry.
func TestLookupLimit(t *testing.T) {
	tests := []struct {
		name    string
		request func(bob *device) wire.Body
	}{
		{"lookup", func(*device) wire.Body { return &wire.Lookup{Address: "email:bob@example.org"} }},
		{"fetch bundles", func(bob *device) wire.Body { return &wire.FetchBundles{User: bob.user} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *gateway.Config) { c.Rates.Lookup = limit.Rate{Every: time.Hour, Burst: 2} })
			alice := h.register(t, "email:alice@example.org")
			bob := h.register(t, "email:bob@example.org")
			if got := bob.call(keys(3)); !isOK(got) {
				t.Fatal(got)
			}
			for i := range 2 {
				if got := alice.call(tt.request(bob)); got.Type() == wire.TypeError {
					t.Fatalf("request %d within the burst: %#v", i, got)
				}
			}
			got := alice.call(tt.request(bob))
			if code := errorCode(t, got); code != wire.CodeRateLimited || got.(*wire.Error).RetryAfterMS == 0 {
				t.Fatalf("got %#v, want rate_limited with a retry time", got)
			}
			// The limit is the account's: another one is not held back.
			if got := bob.call(&wire.Lookup{Address: "email:alice@example.org"}); got.Type() != wire.TypeFound {
				t.Fatalf("another account: %#v", got)
			}
		})
	}
}

func TestSetContact(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org").user
	tests := []struct {
		name  string
		set   wire.SetContact
		want  wire.Code // 0: OK
		state wire.ContactState
	}{
		{"allow", wire.SetContact{User: bob, State: wire.ContactAllowed}, 0, wire.ContactAllowed},
		{"block", wire.SetContact{User: bob, State: wire.ContactBlocked}, 0, wire.ContactBlocked},
		{"forget", wire.SetContact{User: bob, State: wire.ContactNone}, 0, wire.ContactNone},
		{"oneself", wire.SetContact{User: alice.user, State: wire.ContactAllowed}, wire.CodeBadRequest, wire.ContactNone},
		{"no user", wire.SetContact{State: wire.ContactAllowed}, wire.CodeBadRequest, wire.ContactNone},
		{"no such user", wire.SetContact{User: wire.NewUserID(), State: wire.ContactBlocked}, wire.CodeNotFound, wire.ContactNone},
		{"unknown state", wire.SetContact{User: bob, State: 7}, wire.CodeBadRequest, wire.ContactNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.contactChanges())
			got := alice.call(&tt.set)
			if tt.want != 0 {
				if code := errorCode(t, got); code != tt.want {
					t.Fatalf("got %v, want %v", code, tt.want)
				}
				if len(h.contactChanges()) != before {
					t.Fatal("a refused change was reported")
				}
				return
			}
			if !isOK(got) {
				t.Fatalf("got %#v, want OK", got)
			}
			changes := h.contactChanges()
			if len(changes) != before+1 || changes[before] != [2]wire.UserID{alice.user, tt.set.User} {
				t.Fatalf("changes reported: %v", changes[before:])
			}
			st, err := h.dir.ContactState(context.Background(), alice.user, tt.set.User)
			if err != nil || wire.ContactState(st) != tt.state {
				t.Fatalf("stored state %v, %v; want %v", st, err, tt.state)
			}
		})
	}
}

func TestListContacts(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	if got, ok := alice.call(&wire.ListContacts{}).(*wire.Contacts); !ok || len(got.Entries) != 0 {
		t.Fatalf("new account's contacts: %#v", got)
	}
	set := map[wire.UserID]wire.ContactState{
		h.register(t, "email:bob@example.org").user:   wire.ContactAllowed,
		h.register(t, "email:carol@example.org").user: wire.ContactBlocked,
		h.register(t, "email:dave@example.org").user:  wire.ContactAllowed,
	}
	for u, st := range set {
		if got := alice.call(&wire.SetContact{User: u, State: st}); !isOK(got) {
			t.Fatal(got)
		}
	}
	got, ok := alice.call(&wire.ListContacts{}).(*wire.Contacts)
	if !ok || len(got.Entries) != len(set) {
		t.Fatalf("contacts: %#v", got)
	}
	for i, e := range got.Entries {
		if set[e.User] != e.State || e.UpdatedMS == 0 {
			t.Errorf("entry %+v", e)
		}
		if i > 0 && bytes.Compare(got.Entries[i-1].User[:], e.User[:]) >= 0 {
			t.Errorf("entries out of order")
		}
	}
}

func TestListDevices(t *testing.T) {
	h := newHarness(t, nil)
	d1 := h.register(t, "email:alice@example.org")
	d2 := h.register(t, "email:alice@example.org")
	h.register(t, "email:bob@example.org")
	for _, d := range []*device{d1, d2} {
		got, ok := d.call(&wire.ListDevices{}).(*wire.Devices)
		if !ok || len(got.Devices) != 2 {
			t.Fatalf("devices: %#v", got)
		}
		for i, info := range got.Devices {
			if info.ID != wire.DeviceID(i+1) || info.Name != "phone" || info.CreatedMS == 0 {
				t.Fatalf("device %d: %+v", i, info)
			}
		}
	}
}

func TestRemoveDevice(t *testing.T) {
	tests := []struct {
		name   string
		remove func(d1, d2 *device) wire.DeviceID
		want   wire.Code // 0: OK
	}{
		{"another device", func(_, d2 *device) wire.DeviceID { return d2.id }, 0},
		{"this device: signing out", func(d1, _ *device) wire.DeviceID { return d1.id }, 0},
		{"no such device", func(_, d2 *device) wire.DeviceID { return d2.id + 1 }, wire.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			d1 := h.register(t, "email:alice@example.org")
			d2 := h.register(t, "email:alice@example.org")
			id := tt.remove(d1, d2)
			got := d1.call(&wire.RemoveDevice{Device: id})
			if tt.want != 0 {
				if code := errorCode(t, got); code != tt.want {
					t.Fatalf("got %v, want %v", code, tt.want)
				}
				if devs, err := h.dir.Devices(context.Background(), d1.user); err != nil || len(devs) != 2 {
					t.Fatalf("%d devices, %v; want 2", len(devs), err)
				}
				return
			}
			if !isOK(got) {
				t.Fatalf("got %#v, want OK", got)
			}
			removed := d1
			if id == d2.id {
				removed = d2
			}
			if got := removed.closeCode(); got != wire.CloseDeviceRemoved {
				t.Fatalf("removed device's connection: close code %d, want %d", got, wire.CloseDeviceRemoved)
			}
			// Its credential no longer works.
			c := h.dial(t)
			c.send(&wire.Auth{User: removed.user, Device: removed.id, Credential: removed.cred})
			if got := c.closeCode(); got != wire.CloseAuthFailed {
				t.Fatalf("removed device signing in: close code %d", got)
			}
		})
	}
}
