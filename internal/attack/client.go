package attack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/relay/wire"
)

// callTimeout bounds one request's wait for its answer.
const callTimeout = 30 * time.Second

// conn is a raw connection to the relay from one source address. It is
// used by one goroutine at a time.
type conn struct {
	ws   *websocket.Conn
	next uint64
}

// dialFrom opens a WebSocket to url from the local address src.
func dialFrom(ctx context.Context, url string, src netip.Addr) (*conn, error) {
	d := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), Timeout: 10 * time.Second}
	hc := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(wire.MaxClientReadSize)
	return &conn{ws: ws}, nil
}

// call sends a request and returns the relay's answer to it, skipping
// deliveries and notices. A connection the relay closes is an error.
func (c *conn) call(ctx context.Context, b wire.Body) (wire.Body, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	c.next++
	id := c.next
	if err := c.ws.Write(ctx, websocket.MessageBinary, wire.Encode(wire.Frame{ID: id, Body: b})); err != nil {
		return nil, err
	}
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		f, err := wire.DecodeFrame(data)
		if err != nil {
			return nil, fmt.Errorf("attack: bad frame from the relay: %w", err)
		}
		if f.ID == id {
			return f.Body, nil
		}
	}
}

func (c *conn) close() { c.ws.CloseNow() }

// outcome names how the relay answered a request, for the counts: "ok",
// the code of an Error or Rejected answer, or why the connection failed.
func outcome(b wire.Body, err error) string {
	var ce websocket.CloseError
	switch {
	case errors.As(err, &ce):
		return fmt.Sprintf("closed %d", ce.Code)
	case err != nil:
		return "failed"
	}
	switch r := b.(type) {
	case *wire.Error:
		return r.Code.String()
	case *wire.Rejected:
		return r.Code.String()
	}
	return "ok"
}

// account is a registered device the attack signs in with.
type account struct {
	addr   string
	user   wire.UserID
	device wire.DeviceID
	cred   []byte
}

// register signs a new device in under addr from src, with a code from
// codes, and publishes keys with oneTime one-time prekeys of each kind.
func (r *Run) register(ctx context.Context, src netip.Addr, addr string, oneTime int) (*account, error) {
	c, err := dialFrom(ctx, r.cfg.URL, src)
	if err != nil {
		return nil, err
	}
	defer c.close()
	b, err := c.call(ctx, &wire.Register{Address: addr})
	sent, ok := b.(*wire.CodeSent)
	if !ok {
		return nil, fmt.Errorf("register %s: %s %v", addr, outcome(b, err), err)
	}
	code, err := r.cfg.Codes.WaitCode(ctx, addr)
	if err != nil {
		return nil, err
	}
	b, err = c.call(ctx, &wire.Verify{Address: addr, Code: code, Token: sent.Token, DeviceName: "attack"})
	v, ok := b.(*wire.Verified)
	if !ok {
		return nil, fmt.Errorf("verify %s: %s %v", addr, outcome(b, err), err)
	}
	if b, err := c.call(ctx, keys(oneTime)); outcome(b, err) != "ok" {
		return nil, fmt.Errorf("publish keys: %s %v", outcome(b, err), err)
	}
	return &account{addr: addr, user: v.User, device: v.Device, cred: v.Credential}, nil
}

// signIn opens an authenticated connection of a from src.
func (r *Run) signIn(ctx context.Context, src netip.Addr, a *account) (*conn, string) {
	c, err := dialFrom(ctx, r.cfg.URL, src)
	if err != nil {
		return nil, "dial failed"
	}
	b, err := c.call(ctx, &wire.Auth{User: a.user, Device: a.device, Credential: a.cred})
	if _, ok := b.(*wire.Welcome); !ok {
		c.close()
		return nil, "auth " + outcome(b, err)
	}
	return c, "ok"
}

// keys is a key set of the right shape with n one-time prekeys of each
// kind; the relay keeps keys opaque.
func keys(n int) *wire.PublishKeys {
	k := &wire.PublishKeys{
		Identity:      filled(33, 5),
		Signed:        &wire.Prekey{ID: 1, Public: filled(33, 6), Signature: filled(64, 7)},
		KEMLastResort: &wire.Prekey{ID: 2, Public: filled(1569, 8), Signature: filled(64, 9)},
	}
	for i := range n {
		k.OneTime = append(k.OneTime, wire.Prekey{ID: uint32(100 + i), Public: filled(33, 10)})
		k.KEMOneTime = append(k.KEMOneTime, wire.Prekey{ID: uint32(1000 + i), Public: filled(1569, 11), Signature: filled(64, 12)})
	}
	return k
}

func filled(n int, b byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = b
	}
	return p
}
