package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// relay is a real relay on the embedded default, on loopback, with codes
// delivered by SMTP to a real SMTP server.
type relay struct {
	*relaytest.Relay
	t *testing.T
}

func startRelay(t *testing.T, tune func(*server.Config)) *relay {
	return startRelayWith(t, tune, nil)
}

// startRelayWith is startRelay that also adjusts the embedded parts. Its
// relay holds no device signed in by code alone (gateway.Config.NoHold),
// so that tests of other things may sign a second device in by code; a
// test of account protection turns the hold back on in tune.
func startRelayWith(t *testing.T, tune func(*server.Config), tuneParts func(*server.EmbeddedConfig)) *relay {
	t.Helper()
	config := func(c *server.Config) {
		c.Gateway.NoHold = true
		if tune != nil {
			tune(c)
		}
	}
	return &relay{Relay: relaytest.Start(t, relaytest.Options{Config: config, Embedded: tuneParts}), t: t}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (r *relay) dial() *transport.Conn {
	r.t.Helper()
	c, err := r.Dial(ctxT(r.t))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

// client is a registered device with an open connection.
type client struct {
	t      *testing.T
	r      *relay
	addr   string
	user   wire.UserID
	device wire.DeviceID
	cred   []byte
	conn   *transport.Conn
}

// register signs a new device in with the code mailed to addr.
func (r *relay) register(addr string) *client {
	r.t.Helper()
	ctx := ctxT(r.t)
	c, v, err := r.Register(ctx, addr, "test")
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	cl := &client{t: r.t, r: r, addr: addr, user: v.User, device: v.Device, cred: v.Credential, conn: c}
	cl.publishKeys()
	return cl
}

// reconnect closes the connection and authenticates a new one.
func (c *client) reconnect() {
	c.t.Helper()
	c.conn.Close()
	c.conn = c.r.dial()
	if _, err := c.conn.Auth(ctxT(c.t), c.user, c.device, c.cred); err != nil {
		c.t.Fatalf("auth: %v", err)
	}
}

func (c *client) publishKeys() {
	pk := func(id uint32) wire.Prekey {
		return wire.Prekey{ID: id, Public: bytes.Repeat([]byte{byte(id)}, 33), Signature: bytes.Repeat([]byte{1}, 64)}
	}
	keys := &wire.PublishKeys{Identity: bytes.Repeat([]byte{5}, 33)}
	s, k := pk(1), pk(2)
	keys.Signed, keys.KEMLastResort = &s, &k
	for i := range 3 {
		keys.OneTime = append(keys.OneTime, pk(uint32(10+i)))
	}
	if _, err := transport.Call[*wire.OK](ctxT(c.t), c.conn, keys); err != nil {
		c.t.Fatalf("publish keys: %v", err)
	}
}

func (c *client) allow(other *client, state wire.ContactState) {
	c.t.Helper()
	if _, err := transport.Call[*wire.OK](ctxT(c.t), c.conn, &wire.SetContact{User: other.user, State: state}); err != nil {
		c.t.Fatalf("set contact: %v", err)
	}
}

// send sends text to one device of another client and returns the reply.
func (c *client) send(to *client, kind wire.Kind, text string) (wire.MessageID, wire.Body) {
	c.t.Helper()
	id := wire.NewMessageID()
	reply, err := c.conn.Request(ctxT(c.t), &wire.Send{
		MessageID: id, Kind: kind,
		Recipients: []wire.Recipient{{User: to.user, Device: to.device, Ciphertext: []byte(text)}},
	})
	if err != nil {
		c.t.Fatalf("send: %v", err)
	}
	return id, reply
}

func (c *client) mustSend(to *client, kind wire.Kind, text string) wire.MessageID {
	c.t.Helper()
	id, reply := c.send(to, kind, text)
	if _, ok := reply.(*wire.Accepted); !ok {
		c.t.Fatalf("send %q: got %#v, want accepted", text, reply)
	}
	return id
}

// next waits for the next delivery and acknowledges it.
func (c *client) next() *wire.Deliver {
	c.t.Helper()
	select {
	case d, ok := <-c.conn.Deliveries():
		if !ok {
			c.t.Fatalf("%s: connection ended: %v", c.addr, c.conn.Err())
		}
		if err := c.conn.Send(ctxT(c.t), &wire.Ack{Offset: d.Offset}); err != nil {
			c.t.Fatalf("ack: %v", err)
		}
		return d
	case <-ctxT(c.t).Done():
		c.t.Fatalf("%s: no delivery", c.addr)
	}
	return nil
}

func TestChatBetweenContacts(t *testing.T) {
	// Alice empties Bob's small pool below: more one-time prekeys than
	// one account may take from one device a day.
	r := startRelay(t, func(c *server.Config) { c.Gateway.PrekeyPairRate = limit.PerDay(10) })
	alice := r.register("email:alice@example.org")
	bob := r.register("email:Bob@Example.ORG")
	alice.allow(bob, wire.ContactAllowed)
	bob.allow(alice, wire.ContactAllowed)

	id := alice.mustSend(bob, wire.KindMessage, "hello bob")
	d := bob.next()
	if d.Envelope.MessageID != id || string(d.Envelope.Ciphertext) != "hello bob" || d.Envelope.Kind != wire.KindMessage {
		t.Fatalf("bob got %+v", d.Envelope)
	}
	// The relay stamps the sender from the connection.
	if d.Envelope.Sender != alice.user || d.Envelope.SenderDevice != alice.device {
		t.Fatalf("sender %v/%d, want %v/%d", d.Envelope.Sender, d.Envelope.SenderDevice, alice.user, alice.device)
	}
	bob.mustSend(alice, wire.KindMessage, "hi alice")
	if d := alice.next(); string(d.Envelope.Ciphertext) != "hi alice" || d.Envelope.Sender != bob.user {
		t.Fatalf("alice got %+v", d.Envelope)
	}

	// Lookup finds an account by its address, normalised.
	f, err := transport.Call[*wire.Found](ctxT(t), alice.conn, &wire.Lookup{Address: "Bob@EXAMPLE.org"})
	if err != nil || f.User != bob.user {
		t.Fatalf("lookup: %v %v", f, err)
	}
	// Bundles: each one-time prekey is handed out once.
	seen := map[uint32]bool{}
	for range 3 {
		b, err := transport.Call[*wire.Bundles](ctxT(t), alice.conn, &wire.FetchBundles{User: bob.user})
		if err != nil || len(b.Bundles) != 1 || b.Bundles[0].OneTime == nil {
			t.Fatalf("bundles: %+v %v", b, err)
		}
		if id := b.Bundles[0].OneTime.ID; seen[id] {
			t.Fatalf("one-time prekey %d handed out twice", id)
		} else {
			seen[id] = true
		}
	}
	b, err := transport.Call[*wire.Bundles](ctxT(t), alice.conn, &wire.FetchBundles{User: bob.user})
	if err != nil || b.Bundles[0].OneTime != nil || !b.Bundles[0].KEMLastResort {
		t.Fatalf("after the pool is empty: %+v %v", b, err)
	}
	// Bob hears that his keys run low.
	select {
	case n := <-bob.conn.Notices():
		if n.Kind != wire.NoticePrekeysLow {
			t.Fatalf("notice %+v", n)
		}
	case <-ctxT(t).Done():
		t.Fatal("no prekeys-low notice")
	}
}

func TestStrangersAndContactRequests(t *testing.T) {
	r := startRelay(t, nil)
	bob := r.register("email:bob@example.org")
	carol := r.register("email:carol@example.org")
	carol.allow(bob, wire.ContactAllowed) // Carol wants to hear back; Bob has not decided

	// A message to a stranger is refused at once, unstored, naming Bob.
	id, reply := carol.send(bob, wire.KindMessage, "buy now")
	if r, ok := reply.(*wire.Rejected); !ok || r.MessageID != id || r.User != bob.user || r.Code != wire.CodeNotAccepted {
		t.Fatalf("carol got %#v, want not_accepted", reply)
	}
	// A contact request goes through once.
	req := carol.mustSend(bob, wire.KindRequest, "hi, it's carol")
	if d := bob.next(); d.Envelope.Kind != wire.KindRequest || d.Envelope.MessageID != req || d.Envelope.Sender != carol.user {
		t.Fatalf("bob got %+v, want carol's request", d.Envelope)
	}
	// A second one is over the limit.
	again := carol.mustSend(bob, wire.KindRequest, "hello??")
	if d := carol.next(); d.Envelope.Kind != wire.KindRejected || d.Envelope.MessageID != again || d.Envelope.Code != wire.CodeRateLimited {
		t.Fatalf("carol got %+v, want a rate_limited rejection", d.Envelope)
	}
	// Bob accepts: messages flow.
	bob.allow(carol, wire.ContactAllowed)
	carol.mustSend(bob, wire.KindMessage, "thanks")
	if d := bob.next(); string(d.Envelope.Ciphertext) != "thanks" {
		t.Fatalf("bob got %+v", d.Envelope)
	}
	// Bob blocks: refused at once, as when he had not decided; a request
	// meets the same limits as before the block (the pair's one a day is
	// spent), so the block does not show.
	bob.allow(carol, wire.ContactBlocked)
	if _, reply := carol.send(bob, wire.KindMessage, "but why"); reply.(*wire.Rejected).Code != wire.CodeNotAccepted {
		t.Fatalf("carol got %#v after the block", reply)
	}
	carol.mustSend(bob, wire.KindRequest, "please")
	if d := carol.next(); d.Envelope.Kind != wire.KindRejected || d.Envelope.Code != wire.CodeRateLimited {
		t.Fatalf("carol got %+v after the block", d.Envelope)
	}
	list, err := transport.Call[*wire.Contacts](ctxT(t), bob.conn, &wire.ListContacts{})
	if err != nil || len(list.Entries) != 1 || list.Entries[0].User != carol.user || list.Entries[0].State != wire.ContactBlocked {
		t.Fatalf("bob's contacts: %+v %v", list, err)
	}
}

func TestResumeAfterReconnect(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	bob.allow(alice, wire.ContactAllowed)
	var ids []wire.MessageID
	for i := range 5 {
		ids = append(ids, alice.mustSend(bob, wire.KindMessage, fmt.Sprint("m", i)))
	}
	// Bob stores and acknowledges two, then loses his connection.
	for i := range 2 {
		if d := bob.next(); d.Envelope.MessageID != ids[i] {
			t.Fatalf("message %d: got %v", i, d.Envelope.MessageID)
		}
	}
	bob.reconnect()
	for i := 2; i < 5; i++ {
		if d := bob.next(); d.Envelope.MessageID != ids[i] {
			t.Fatalf("after reconnect, message %d: got %v", i, d.Envelope.MessageID)
		}
	}
	// A device that did not acknowledge gets the same message again, with
	// the same ID.
	id := alice.mustSend(bob, wire.KindMessage, "again")
	first := <-bob.conn.Deliveries()
	bob.reconnect()
	second := bob.next()
	if first.Envelope.MessageID != id || second.Envelope.MessageID != id || first.Offset != second.Offset {
		t.Fatalf("redelivery: %v@%d then %v@%d", first.Envelope.MessageID, first.Offset, second.Envelope.MessageID, second.Offset)
	}
}

func TestStaleDevices(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	bob2 := r.register("email:bob@example.org") // Bob's second device
	bob.allow(alice, wire.ContactAllowed)
	_, reply := alice.send(bob, wire.KindMessage, "only one device")
	rej, ok := reply.(*wire.Rejected)
	if !ok || rej.Code != wire.CodeStaleDevices || rej.User != bob.user || len(rej.Devices) != 2 {
		t.Fatalf("got %#v, want stale_devices listing two devices", reply)
	}
	// Encrypted for both, it reaches both.
	id := wire.NewMessageID()
	if _, err := transport.Call[*wire.Accepted](ctxT(t), alice.conn, &wire.Send{MessageID: id, Kind: wire.KindMessage, Recipients: []wire.Recipient{
		{User: bob.user, Device: bob.device, Ciphertext: []byte("for 1")},
		{User: bob.user, Device: bob2.device, Ciphertext: []byte("for 2")},
	}}); err != nil {
		t.Fatal(err)
	}
	if d := bob.next(); string(d.Envelope.Ciphertext) != "for 1" {
		t.Fatalf("device 1 got %q", d.Envelope.Ciphertext)
	}
	if d := bob2.next(); string(d.Envelope.Ciphertext) != "for 2" {
		t.Fatalf("device 2 got %q", d.Envelope.Ciphertext)
	}
	// Bob's device 1 must include device 2 when it writes.
	alice.allow(bob, wire.ContactAllowed)
	if _, reply := bob.send(alice, wire.KindMessage, "hi"); reply.(*wire.Rejected).Code != wire.CodeStaleDevices {
		t.Fatalf("got %#v, want stale_devices for the sender's own devices", reply)
	}
	devs, err := transport.Call[*wire.Devices](ctxT(t), bob.conn, &wire.ListDevices{})
	if err != nil || len(devs.Devices) != 2 {
		t.Fatalf("devices: %+v %v", devs, err)
	}
	// Removing device 2 closes its connection with 4007.
	if _, err := transport.Call[*wire.OK](ctxT(t), bob.conn, &wire.RemoveDevice{Device: bob2.device}); err != nil {
		t.Fatal(err)
	}
	<-bob2.conn.Done()
	var ce *transport.CloseError
	if !errors.As(bob2.conn.Err(), &ce) || ce.Code != wire.CloseDeviceRemoved {
		t.Fatalf("removed device: %v", bob2.conn.Err())
	}
}

func TestCodes(t *testing.T) {
	r := startRelay(t, nil)
	ctx := ctxT(t)
	c := r.dial()
	var e *wire.Error
	if _, err := c.Register(ctx, "not an address"); !errors.As(err, &e) || e.Code != wire.CodeBadAddress {
		t.Fatalf("bad address: %v", err)
	}
	if _, err := c.Register(ctx, "tel:+447700900123"); !errors.As(err, &e) || e.Code != wire.CodeUnsupportedScheme {
		t.Fatalf("tel: %v", err)
	}
	token, err := c.Register(ctx, "email:dave@example.org")
	if err != nil {
		t.Fatal(err)
	}
	code, err := r.WaitCode(ctx, "dave@example.org")
	if err != nil {
		t.Fatal(err)
	}
	wrong := "00000000"
	if code == wrong {
		wrong = "11111111"
	}
	// Five wrong attempts with the request's token, on any connection,
	// void the code; the right one then fails too.
	for i := range 5 {
		c := r.dial()
		if _, err := c.Verify(ctx, "email:dave@example.org", wrong, token, "x"); !errors.As(err, &e) || (e.Code != wire.CodeBadCode && e.Code != wire.CodeTooManyAttempts) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := r.dial().Verify(ctx, "email:dave@example.org", code, token, "x"); !errors.As(err, &e) || (e.Code != wire.CodeBadCode && e.Code != wire.CodeTooManyAttempts) {
		t.Fatalf("the right code after five wrong ones: %v", err)
	}
	// A flood of requests for one address is refused with a retry time.
	var limited *wire.Error
	for range 10 {
		if _, err := r.dial().Register(ctx, "email:erin@example.org"); errors.As(err, &e) && e.Code == wire.CodeRateLimited {
			limited = e
			break
		}
	}
	if limited == nil || limited.RetryAfterMS == 0 {
		t.Fatalf("no rate limit with a retry time: %+v", limited)
	}
}

// rawConn opens a WebSocket without the transport, to misbehave.
func (r *relay) rawConn() *websocket.Conn {
	r.t.Helper()
	ws, _, err := websocket.Dial(ctxT(r.t), r.URL(), nil)
	if err != nil {
		r.t.Fatal(err)
	}
	ws.SetReadLimit(wire.MaxClientReadSize)
	r.t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// closeCode reads until the relay closes and returns its close code.
func closeCode(t *testing.T, ws *websocket.Conn) websocket.StatusCode {
	for {
		_, _, err := ws.Read(ctxT(t))
		if err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func TestHostileInput(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	bob.allow(alice, wire.ContactAllowed)

	tests := []struct {
		name string
		typ  websocket.MessageType
		data []byte
		want websocket.StatusCode
	}{
		{"send before auth", websocket.MessageBinary, wire.Encode(wire.Frame{ID: 1, Body: &wire.Send{Kind: wire.KindMessage}}), wire.CloseAuthRequired},
		{"malformed", websocket.MessageBinary, []byte{0xff, 0xff, 0xff}, wire.CloseProtocolError},
		{"unknown frame", websocket.MessageBinary, []byte{0xfa, 0x01, 0x00}, wire.CloseUnknownFrame},
		{"relay frame", websocket.MessageBinary, wire.Encode(wire.Frame{Body: &wire.OK{}}), wire.CloseWrongDirection},
		{"text frame", websocket.MessageText, []byte("hello"), wire.CloseProtocolError},
		{"oversized", websocket.MessageBinary, make([]byte, wire.MaxFrameSize+1), websocket.StatusMessageTooBig},
		{"wrong credential", websocket.MessageBinary, wire.Encode(wire.Frame{ID: 1, Body: &wire.Auth{User: alice.user, Device: alice.device, Credential: make([]byte, 32)}}), wire.CloseAuthFailed},
		{"unknown device", websocket.MessageBinary, wire.Encode(wire.Frame{ID: 1, Body: &wire.Auth{User: wire.NewUserID(), Device: 1, Credential: alice.cred}}), wire.CloseAuthFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := r.rawConn()
			if err := ws.Write(ctxT(t), tt.typ, tt.data); err != nil && tt.want != websocket.StatusMessageTooBig {
				t.Fatal(err)
			}
			if got := closeCode(t, ws); got != tt.want {
				t.Fatalf("close code %d, want %d", got, tt.want)
			}
		})
	}
	t.Run("authenticated twice", func(t *testing.T) {
		alice.reconnect()
		if _, err := alice.conn.Auth(ctxT(t), alice.user, alice.device, alice.cred); err == nil {
			t.Fatal("second Auth on one connection accepted")
		}
		alice.reconnect()
	})
	t.Run("silent until the deadline", func(t *testing.T) {
		r := startRelay(t, func(c *server.Config) { c.Gateway.AuthTimeout = 50 * time.Millisecond })
		if got := closeCode(t, r.rawConn()); got != wire.CloseIdle {
			t.Fatalf("close code %d, want %d", got, wire.CloseIdle)
		}
	})
	// None of it disturbed anyone else.
	alice.mustSend(bob, wire.KindMessage, "still here")
	if d := bob.next(); string(d.Envelope.Ciphertext) != "still here" {
		t.Fatalf("bob got %q", d.Envelope.Ciphertext)
	}
	resp, err := http.Get(r.BaseURL() + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestSlowReaderIsClosed(t *testing.T) {
	r := startRelay(t, func(c *server.Config) {
		c.Gateway.WriteTimeout = 100 * time.Millisecond
		c.Gateway.Window = 1 << 20
		c.Gateway.Quota = gateway.Quota{ByteRate: -1, BytesPerDay: -1, MessagesPerDay: -1}
	})
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	bob.allow(alice, wire.ContactAllowed)
	// Bob's device stops reading; Alice sends far more than the socket
	// buffers hold.
	ws := r.rawConn()
	if err := ws.Write(ctxT(t), websocket.MessageBinary, wire.Encode(wire.Frame{ID: 1, Body: &wire.Auth{User: bob.user, Device: bob.device, Credential: bob.cred}})); err != nil {
		t.Fatal(err)
	}
	bob.conn.Close()
	big := strings.Repeat("x", 64<<10)
	for range 400 {
		alice.mustSend(bob, wire.KindMessage, big)
	}
	// Alice is unaffected, and the relay reports the slow reader closed.
	carol := r.register("email:carol@example.org")
	carol.allow(alice, wire.ContactAllowed)
	alice.mustSend(carol, wire.KindMessage, "fine")
	if d := carol.next(); string(d.Envelope.Ciphertext) != "fine" {
		t.Fatal("carol did not get her message")
	}
	want := fmt.Sprintf(`mutual_gateway_closes_total{code="%d"} 1`, wire.CloseTooSlow)
	ctx := ctxT(t)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get(r.MetricsURL())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), want) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("metrics never showed %s:\n%s", want, body)
		case <-tick.C:
		}
	}
}
