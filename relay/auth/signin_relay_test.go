package auth_test

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The tests in this file run the sign-in attacks against a real relay
// (internal/relaytest: gateway, SQLite directory, SMTP delivery) over
// WebSockets. The victim connects from 127.0.0.1 and the stranger from
// 127.0.0.2: two client networks, as the relay sees them.
const (
	victimHost   = "127.0.0.1"
	strangerHost = "127.0.0.2"
)

// openRelay starts a relay whose sign-in limits are the defaults, on the
// clock clk.
func openRelay(t *testing.T, clk *clock) *relaytest.Relay {
	t.Helper()
	r, err := relaytest.Open(t.Context(), relaytest.Options{
		Embedded: func(c *server.EmbeddedConfig) {
			c.Auth.NetBurst, c.Auth.VerifyNetBurst, c.Auth.RequestGap = 0, 0, 0
			c.Auth.Now = clk.Now
		},
		// The code limits run on clk; a refused client's pause runs on
		// real time (the gateway's tests cover it).
		Config: func(c *server.Config) { c.Gateway.RefusalPause = time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return r
}

// wsClient is an unauthenticated connection to the relay from one host.
type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
	id uint64
}

// dialFrom opens a connection to r from the loopback address host.
func dialFrom(t *testing.T, r *relaytest.Relay, host string) *wsClient {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(host)}}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, r.URL(), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("dial from %s: %v", host, err)
	}
	ws.SetReadLimit(wire.MaxClientReadSize)
	t.Cleanup(func() { ws.CloseNow(); hc.CloseIdleConnections() })
	return &wsClient{t: t, ws: ws}
}

// call sends one request and returns its answer.
func (c *wsClient) call(b wire.Body) wire.Body {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 30*time.Second)
	defer cancel()
	c.id++
	if err := c.ws.Write(ctx, websocket.MessageBinary, wire.Encode(wire.Frame{ID: c.id, Body: b})); err != nil {
		c.t.Fatalf("write %s: %v", b.Type(), err)
	}
	_, data, err := c.ws.Read(ctx)
	if err != nil {
		c.t.Fatalf("read the answer to %s: %v", b.Type(), err)
	}
	f, err := wire.DecodeFrame(data)
	if err != nil || f.ID != c.id {
		c.t.Fatalf("answer to %s: frame %d, %v", b.Type(), f.ID, err)
	}
	return f.Body
}

// register asks for a code for addr and returns the token, or the error.
func (c *wsClient) register(addr string) ([]byte, *wire.Error) {
	c.t.Helper()
	switch b := c.call(&wire.Register{Address: addr}).(type) {
	case *wire.CodeSent:
		return b.Token, nil
	case *wire.Error:
		return nil, b
	default:
		c.t.Fatalf("register: %s", b.Type())
		return nil, nil
	}
}

// signIn asks for a code for addr from host, reads it from the mail and
// verifies it.
func signIn(t *testing.T, r *relaytest.Relay, host, addr string) *wire.Verified {
	t.Helper()
	c := dialFrom(t, r, host)
	token, e := c.register(addr)
	if e != nil {
		t.Fatalf("register %s from %s: %v", addr, host, e)
	}
	code, err := r.WaitCode(t.Context(), addr)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := c.call(&wire.Verify{Address: addr, Code: code, Token: token, DeviceName: "phone"}).(*wire.Verified)
	if !ok {
		t.Fatalf("verify %s from %s: not verified", addr, host)
	}
	return v
}

// TestRelayStrangerCannotVoidCode: a stranger's 300 guesses at the code
// someone else asked for, from one network, are answered only up to the
// network's verification limit, and the code still signs its owner in.
func TestRelayStrangerCannotVoidCode(t *testing.T) {
	clk := newClock()
	r := openRelay(t, clk)
	const victim = "email:victim@example.org"
	vc := dialFrom(t, r, victimHost)
	token, e := vc.register(victim)
	if e != nil {
		t.Fatal(e)
	}
	code, err := r.WaitCode(t.Context(), victim)
	if err != nil {
		t.Fatal(err)
	}

	answered, limited := 0, 0
	var c *wsClient
	for i := range 300 {
		if i%10 == 0 { // at most 10 frames before authentication
			c = dialFrom(t, r, strangerHost)
		}
		guess := &wire.Verify{Address: victim, Code: wrong(code, i), DeviceName: "stranger"}
		if i%2 == 1 {
			guess.Token = make([]byte, 16)
			rand.Read(guess.Token)
		}
		e, ok := c.call(guess).(*wire.Error)
		switch {
		case !ok:
			t.Fatalf("guess %d signed in", i)
		case e.Code == wire.CodeRateLimited:
			limited++
		case e.Code == wire.CodeBadCode:
			answered++
		default:
			t.Fatalf("guess %d: %v", i, e)
		}
	}
	t.Logf("300 guesses from one network: %d answered, %d refused by the limit", answered, limited)
	if answered > 30 {
		t.Errorf("%d guesses answered, want at most the network's 30", answered)
	}
	v, ok := vc.call(&wire.Verify{Address: victim, Code: code, Token: token, DeviceName: "phone"}).(*wire.Verified)
	if !ok || !v.Created {
		t.Fatal("the victim's code no longer signs in after a stranger's guesses")
	}
}

// TestRelayStrangerCannotLockOut: a stranger who keeps asking for codes
// for someone else's address, four every 15 minutes, is refused; the
// owner, asking from their own network, still gets a code and signs in.
func TestRelayStrangerCannotLockOut(t *testing.T) {
	clk := newClock()
	r := openRelay(t, clk)
	const victim = "email:victim@example.org"
	for round := range 3 {
		sc := dialFrom(t, r, strangerHost)
		for range 4 {
			sc.register(victim)
			clk.Add(30 * time.Second)
		}
		clk.Add(12 * time.Minute)
		v := signIn(t, r, victimHost, victim)
		if v.Created != (round == 0) {
			t.Fatalf("round %d: created %v", round, v.Created)
		}
		clk.Add(time.Minute)
	}
}

// TestRelayCaseFolded: U1@ and u1@ are one mailbox: one account, one limit.
func TestRelayCaseFolded(t *testing.T) {
	clk := newClock()
	r := openRelay(t, clk)
	first := signIn(t, r, victimHost, "email:U1@example.org")
	clk.Add(30 * time.Second)
	second := signIn(t, r, victimHost, "email:u1@example.org")
	if !first.Created || second.Created || second.User != first.User {
		t.Fatalf("U1@ made %v (created %v), u1@ signed in to %v (created %v): want one account",
			first.User, first.Created, second.User, second.Created)
	}
	clk.Add(30 * time.Second)
	signIn(t, r, victimHost, "email:U1@EXAMPLE.org")
	clk.Add(30 * time.Second)
	_, e := dialFrom(t, r, victimHost).register("email:u1@Example.org")
	if e == nil || e.Code != wire.CodeRateLimited {
		t.Fatalf("fourth code in 15 minutes for one mailbox in four spellings: %v, want rate_limited", e)
	}
}
