package transport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestRequestCorrelation(t *testing.T) {
	const n = 32
	// The relay gathers every request, then answers them in reverse order.
	relay := newRelay(t, func(p *peer) {
		var got []wire.Frame
		for len(got) < n {
			f, err := p.read()
			if err != nil {
				p.t.Errorf("relay read: %v", err)
				return
			}
			got = append(got, f)
		}
		for i := len(got) - 1; i >= 0; i-- {
			l := got[i].Body.(*wire.Lookup)
			if err := p.write(wire.Frame{ID: got[i].ID, Body: &wire.Found{User: userOf(l.Address)}}); err != nil {
				p.t.Errorf("relay write: %v", err)
				return
			}
		}
		p.drain()
	})
	c := relay.dial(t, transport.Options{})

	ctx := context.Background()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			addr := fmt.Sprintf("email:u%02d@example.org", i)
			found, err := transport.Call[*wire.Found](ctx, c, &wire.Lookup{Address: addr})
			switch {
			case err != nil:
				errs <- fmt.Errorf("lookup %d: %w", i, err)
			case found.User != userOf(addr):
				errs <- fmt.Errorf("lookup %d: got the answer for %q", i, found.User[:])
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestReplies(t *testing.T) {
	u := wire.UserID{7}
	relay := newRelay(t, func(p *peer) {
		p.serve(func(f wire.Frame) []wire.Frame {
			var reply wire.Body
			switch b := f.Body.(type) {
			case *wire.Lookup:
				reply = &wire.Error{Code: wire.CodeRateLimited, Message: "slow down", RetryAfterMS: 1500}
			case *wire.Send:
				reply = &wire.Rejected{MessageID: b.MessageID, Code: wire.CodeStaleDevices, User: u, Devices: []wire.DeviceID{1, 3}}
			case *wire.FetchBundles:
				reply = &wire.Bundles{User: b.User}
			case *wire.ListDevices:
				reply = &wire.OK{}
			}
			return []wire.Frame{{ID: f.ID, Body: reply}}
		})
	})
	c := relay.dial(t, transport.Options{})
	ctx := context.Background()

	t.Run("error", func(t *testing.T) {
		reply, err := c.Request(ctx, &wire.Lookup{Address: "email:a@example.org"})
		var we *wire.Error
		if !errors.As(err, &we) {
			t.Fatalf("got %v, %v; want a *wire.Error", reply, err)
		}
		if we.Code != wire.CodeRateLimited || we.RetryAfterMS != 1500 || we.Message != "slow down" {
			t.Fatalf("got %+v", we)
		}
	})
	t.Run("rejected is a reply", func(t *testing.T) {
		m := wire.NewMessageID()
		reply, err := c.Request(ctx, &wire.Send{MessageID: m, Kind: wire.KindMessage})
		if err != nil {
			t.Fatal(err)
		}
		r, ok := reply.(*wire.Rejected)
		if !ok || r.MessageID != m || r.Code != wire.CodeStaleDevices || r.User != u || len(r.Devices) != 2 {
			t.Fatalf("got %#v", reply)
		}
	})
	t.Run("call", func(t *testing.T) {
		b, err := transport.Call[*wire.Bundles](ctx, c, &wire.FetchBundles{User: u})
		if err != nil || b.User != u {
			t.Fatalf("got %v, %v", b, err)
		}
	})
	t.Run("call with an unexpected reply", func(t *testing.T) {
		_, err := transport.Call[*wire.Devices](ctx, c, &wire.ListDevices{})
		var ue *transport.UnexpectedReplyError
		if !errors.As(err, &ue) || ue.Request != wire.TypeListDevices || ue.Reply != wire.TypeOK {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("ack is not a request", func(t *testing.T) {
		if _, err := c.Request(ctx, &wire.Ack{Offset: 1}); err == nil {
			t.Fatal("Request(Ack) succeeded")
		}
	})
}

func TestHelpers(t *testing.T) {
	const (
		addr   = "email:alice@example.org"
		code   = "12345678"
		client = "mutual-test/1"
	)
	u := wire.UserID{1, 2, 3}
	cred := bytes.Repeat([]byte{9}, 32)
	token := bytes.Repeat([]byte{5}, 16)
	relay := newRelay(t, func(p *peer) {
		p.serve(func(f wire.Frame) []wire.Frame {
			var reply wire.Body = &wire.Error{Code: wire.CodeBadRequest}
			switch b := f.Body.(type) {
			case *wire.Register:
				if b.Address == addr {
					reply = &wire.CodeSent{Token: token}
				}
			case *wire.Verify:
				if b.Address == addr && b.Code == code && bytes.Equal(b.Token, token) && b.DeviceName == "Laptop" {
					reply = &wire.Verified{User: u, Device: 1, Credential: cred, Created: true}
				} else {
					reply = &wire.Error{Code: wire.CodeBadCode}
				}
			case *wire.Auth:
				if b.User == u && b.Device == 1 && bytes.Equal(b.Credential, cred) && b.Client == client {
					reply = &wire.Welcome{User: u, Device: 1, OneTimeLeft: 5}
				}
			}
			return []wire.Frame{{ID: f.ID, Body: reply}}
		})
	})
	c := relay.dial(t, transport.Options{Client: client})
	ctx := context.Background()

	tok, err := c.Register(ctx, addr)
	if err != nil || !bytes.Equal(tok, token) {
		t.Fatalf("register: %x, %v; want token %x", tok, err, token)
	}
	var we *wire.Error
	if _, err := c.Verify(ctx, addr, "00000000", tok, "Laptop"); !errors.As(err, &we) || we.Code != wire.CodeBadCode {
		t.Fatalf("verify with a wrong code: %v", err)
	}
	if _, err := c.Verify(ctx, addr, code, nil, "Laptop"); !errors.As(err, &we) || we.Code != wire.CodeBadCode {
		t.Fatalf("verify without the token: %v", err)
	}
	v, err := c.Verify(ctx, addr, code, tok, "Laptop")
	if err != nil || v.User != u || !bytes.Equal(v.Credential, cred) || !v.Created {
		t.Fatalf("verify: %+v, %v", v, err)
	}
	w, err := c.Auth(ctx, v.User, v.Device, v.Credential)
	if err != nil || w.User != u || w.OneTimeLeft != 5 {
		t.Fatalf("auth: %+v, %v", w, err)
	}
}

func TestAuthFailed(t *testing.T) {
	relay := newRelay(t, func(p *peer) {
		if _, err := p.read(); err != nil {
			p.t.Errorf("relay read: %v", err)
			return
		}
		p.ws.Close(wire.CloseAuthFailed, "authentication failed")
	})
	c := relay.dial(t, transport.Options{})
	_, err := c.Auth(context.Background(), wire.UserID{1}, 1, []byte("wrong"))
	if ce := asCloseError(t, err); ce.Code != wire.CloseAuthFailed {
		t.Fatalf("got %v", err)
	}
}

func TestDeliveries(t *testing.T) {
	const n = 100
	acked := make(chan int64, 1)
	relay := newRelay(t, func(p *peer) {
		for i := int64(1); i <= n; i++ {
			env := wire.Envelope{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Ciphertext: []byte{byte(i)}}
			if err := p.write(wire.Frame{Body: &wire.Deliver{Offset: i, Envelope: env}}); err != nil {
				p.t.Errorf("relay write: %v", err)
				return
			}
			if i == n/2 {
				if err := p.write(wire.Frame{Body: &wire.Notice{Kind: wire.NoticePrekeysLow, OneTimeLeft: 3}}); err != nil {
					p.t.Errorf("relay write: %v", err)
					return
				}
			}
		}
		var last int64
		for last < n {
			f, err := p.read()
			if err != nil {
				p.t.Errorf("relay read: %v", err)
				return
			}
			a, ok := f.Body.(*wire.Ack)
			if !ok || f.ID != 0 || a.Offset <= last {
				p.t.Errorf("relay got %v (id %d) after ack %d", f.Body.Type(), f.ID, last)
				return
			}
			last = a.Offset
		}
		acked <- last
		p.drain()
	})
	c := relay.dial(t, transport.Options{DeliveryBuffer: 8})
	ctx := context.Background()

	for want := int64(1); want <= n; want++ {
		d := <-c.Deliveries()
		if d == nil || d.Offset != want || d.Envelope.Ciphertext[0] != byte(want) {
			t.Fatalf("delivery %d: got %+v", want, d)
		}
		if want%10 == 0 {
			if err := c.Send(ctx, &wire.Ack{Offset: d.Offset}); err != nil {
				t.Fatalf("ack: %v", err)
			}
		}
	}
	if got := <-acked; got != n {
		t.Fatalf("relay saw ack %d", got)
	}
	if nt := <-c.Notices(); nt.Kind != wire.NoticePrekeysLow || nt.OneTimeLeft != 3 {
		t.Fatalf("notice: %+v", nt)
	}
}

// TestBackpressure: with the consumer not reading, the reader holds one
// frame beyond the full buffer and reads nothing more; once the consumer
// catches up every delivery arrives, in order.
func TestBackpressure(t *testing.T) {
	const (
		buffer = 4
		n      = 50
	)
	sent := make(chan struct{})
	relay := newRelay(t, func(p *peer) {
		for i := int64(1); i <= n; i++ {
			if err := p.write(wire.Frame{Body: &wire.Deliver{Offset: i}}); err != nil {
				p.t.Errorf("relay write: %v", err)
				return
			}
		}
		close(sent)
		p.drain()
	})
	c := relay.dial(t, transport.Options{DeliveryBuffer: buffer})

	<-sent // small frames: all of them sit in socket buffers by now
	wait.For(t, "the reader to stall", func() bool { return transport.Stalls(c) > 0 })
	if got := transport.FramesRead(c); got != buffer+1 {
		t.Fatalf("reader took %d frames from the socket while stalled, want %d", got, buffer+1)
	}
	if got := len(c.Deliveries()); got != buffer {
		t.Fatalf("%d deliveries buffered, want %d", got, buffer)
	}
	for want := int64(1); want <= n; want++ {
		if d := <-c.Deliveries(); d.Offset != want {
			t.Fatalf("got offset %d, want %d", d.Offset, want)
		}
	}
	if got := transport.FramesRead(c); got != n {
		t.Fatalf("frames read %d, want %d", got, n)
	}
}

// TestSlowConsumer pushes large deliveries through a one-frame buffer:
// nothing is lost and the order is kept.
func TestSlowConsumer(t *testing.T) {
	const n = 200
	body := bytes.Repeat([]byte{0x5a}, 32<<10)
	relay := newRelay(t, func(p *peer) {
		for i := int64(1); i <= n; i++ {
			env := wire.Envelope{Kind: wire.KindMessage, Ciphertext: body}
			if err := p.write(wire.Frame{Body: &wire.Deliver{Offset: i, Envelope: env}}); err != nil {
				p.t.Errorf("relay write: %v", err)
				return
			}
		}
		p.drain()
	})
	c := relay.dial(t, transport.Options{DeliveryBuffer: 1})
	for want := int64(1); want <= n; want++ {
		d := <-c.Deliveries()
		if d == nil || d.Offset != want || !bytes.Equal(d.Envelope.Ciphertext, body) {
			t.Fatalf("delivery %d: got %v", want, d)
		}
	}
}

func TestNoticesDropOldest(t *testing.T) {
	relay := newRelay(t, func(p *peer) {
		p.serve(func(f wire.Frame) []wire.Frame {
			var out []wire.Frame
			for i := int64(1); i <= 5; i++ {
				out = append(out, wire.Frame{Body: &wire.Notice{Kind: wire.NoticeRetentionGap, Oldest: i}})
			}
			return append(out, wire.Frame{ID: f.ID, Body: &wire.OK{}})
		})
	})
	c := relay.dial(t, transport.Options{NoticeBuffer: 2})
	// The reader handles frames in order, so the notices are queued by
	// the time the reply arrives.
	if _, err := c.Request(context.Background(), &wire.ListContacts{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int64{4, 5} {
		if n := <-c.Notices(); n.Oldest != want {
			t.Fatalf("got notice %d, want %d", n.Oldest, want)
		}
	}
}

func TestRelayCloses(t *testing.T) {
	tests := []struct {
		code   websocket.StatusCode
		reason string
	}{
		{wire.CloseAuthRequired, "authenticate first"},
		{wire.CloseTooSlow, "too slow"},
		{wire.CloseDeviceRemoved, ""},
		{websocket.StatusGoingAway, "restart"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.code), func(t *testing.T) {
			relay := newRelay(t, func(p *peer) {
				if _, err := p.read(); err != nil {
					p.t.Errorf("relay read: %v", err)
					return
				}
				p.ws.Close(tt.code, tt.reason)
			})
			c := relay.dial(t, transport.Options{})
			ctx := context.Background()
			_, err := c.Request(ctx, &wire.ListContacts{})
			ce := asCloseError(t, err)
			if ce.Code != int(tt.code) || ce.Reason != tt.reason {
				t.Fatalf("got %+v", ce)
			}
			<-c.Done()
			if err := c.Err(); err != error(ce) {
				t.Fatalf("Err() = %v, want %v", err, ce)
			}
			if _, ok := <-c.Deliveries(); ok {
				t.Fatal("Deliveries still open")
			}
			if _, ok := <-c.Notices(); ok {
				t.Fatal("Notices still open")
			}
			if _, err := c.Request(ctx, &wire.ListContacts{}); err != error(ce) {
				t.Fatalf("request after close: %v", err)
			}
			if err := c.Send(ctx, &wire.Ack{Offset: 1}); err != error(ce) {
				t.Fatalf("send after close: %v", err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	received := make(chan struct{})
	status := make(chan websocket.StatusCode, 1)
	relay := newRelay(t, func(p *peer) {
		if _, err := p.read(); err != nil {
			p.t.Errorf("relay read: %v", err)
			return
		}
		close(received) // and never answer
		status <- p.drain()
	})
	c := relay.dial(t, transport.Options{})
	if c.Err() != nil {
		t.Fatalf("Err() = %v on an open connection", c.Err())
	}
	result := make(chan error, 1)
	go func() {
		_, err := c.Request(context.Background(), &wire.ListDevices{})
		result <- err
	}()
	<-received
	if err := c.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-result; !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("pending request: %v", err)
	}
	if !errors.Is(c.Err(), transport.ErrClosed) {
		t.Fatalf("Err() = %v", c.Err())
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if got := <-status; got != websocket.StatusNormalClosure {
		t.Fatalf("relay saw close status %d", got)
	}
}

func TestCloseWhileStalled(t *testing.T) {
	status := make(chan websocket.StatusCode, 1)
	relay := newRelay(t, func(p *peer) {
		for i := int64(1); i <= 20; i++ {
			if err := p.write(wire.Frame{Body: &wire.Deliver{Offset: i}}); err != nil {
				p.t.Errorf("relay write: %v", err)
				return
			}
		}
		status <- p.drain()
	})
	c := relay.dial(t, transport.Options{DeliveryBuffer: 1})
	wait.For(t, "the reader to stall", func() bool { return transport.Stalls(c) > 0 })
	c.Close()
	if got := <-status; got != websocket.StatusNormalClosure {
		t.Fatalf("relay saw close status %d", got)
	}
	// What was buffered can still be read, then the channel is closed.
	if d := <-c.Deliveries(); d == nil || d.Offset != 1 {
		t.Fatalf("got %v", d)
	}
	if _, ok := <-c.Deliveries(); ok {
		t.Fatal("Deliveries still open")
	}
}

func TestRequestCancel(t *testing.T) {
	first := make(chan uint64, 1)
	late := make(chan struct{})
	relay := newRelay(t, func(p *peer) {
		f, err := p.read()
		if err != nil {
			p.t.Errorf("relay read: %v", err)
			return
		}
		first <- f.ID
		<-late
		// Answer the abandoned request, then the next one.
		if err := p.write(wire.Frame{ID: f.ID, Body: &wire.Found{User: wire.UserID{1}}}); err != nil {
			p.t.Errorf("relay write: %v", err)
			return
		}
		p.serve(func(f wire.Frame) []wire.Frame {
			return []wire.Frame{{ID: f.ID, Body: &wire.Found{User: wire.UserID{2}}}}
		})
	})
	c := relay.dial(t, transport.Options{})

	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() {
		_, err := c.Request(ctx, &wire.Lookup{Address: "email:a@example.org"})
		result <- err
	}()
	<-first
	cancel()
	if err := <-result; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: %v", err)
	}
	close(late)
	found, err := transport.Call[*wire.Found](context.Background(), c, &wire.Lookup{Address: "email:b@example.org"})
	if err != nil || found.User != (wire.UserID{2}) {
		t.Fatalf("next request: %v, %v", found, err)
	}
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name  string
		write func(p *peer) error
		want  error
	}{
		{"garbage", func(p *peer) error { return p.writeRaw([]byte{0xff, 0xff, 0xff}) }, wire.ErrMalformed},
		{"no body", func(p *peer) error { return p.writeRaw(protowire.AppendVarint([]byte{0x08}, 5)) }, wire.ErrMalformed},
		{"text", func(p *peer) error {
			return p.ws.Write(context.Background(), websocket.MessageText, []byte("hello"))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := make(chan websocket.StatusCode, 1)
			relay := newRelay(t, func(p *peer) {
				if err := tt.write(p); err != nil {
					p.t.Errorf("relay write: %v", err)
				}
				status <- p.drain()
			})
			c := relay.dial(t, transport.Options{})
			<-c.Done()
			if c.Err() == nil || tt.want != nil && !errors.Is(c.Err(), tt.want) {
				t.Fatalf("Err() = %v, want %v", c.Err(), tt.want)
			}
			if got := <-status; got != wire.CloseProtocolError {
				t.Fatalf("relay saw close status %d", got)
			}
		})
	}
}

func TestUnknownFrameIgnored(t *testing.T) {
	relay := newRelay(t, func(p *peer) {
		p.serve(func(f wire.Frame) []wire.Frame {
			// A frame type from a later protocol version, then the reply.
			b := protowire.AppendTag(nil, 1, protowire.VarintType)
			b = protowire.AppendVarint(b, f.ID)
			b = protowire.AppendTag(b, 99, protowire.BytesType)
			b = protowire.AppendBytes(b, []byte{1, 2, 3})
			if err := p.writeRaw(b); err != nil {
				p.t.Errorf("relay write: %v", err)
			}
			return []wire.Frame{{ID: f.ID, Body: &wire.OK{}}}
		})
	})
	c := relay.dial(t, transport.Options{})
	if _, err := transport.Call[*wire.OK](context.Background(), c, &wire.ListContacts{}); err != nil {
		t.Fatal(err)
	}
}

func TestReadLimit(t *testing.T) {
	status := make(chan websocket.StatusCode, 1)
	relay := newRelay(t, func(p *peer) {
		env := wire.Envelope{Ciphertext: make([]byte, 2048)}
		if err := p.write(wire.Frame{Body: &wire.Deliver{Offset: 1, Envelope: env}}); err != nil {
			p.t.Errorf("relay write: %v", err)
		}
		status <- p.drain()
	})
	c := relay.dial(t, transport.Options{ReadLimit: 1024})
	<-c.Done()
	if !errors.Is(c.Err(), websocket.ErrMessageTooBig) {
		t.Fatalf("Err() = %v", c.Err())
	}
	if got := <-status; got != websocket.StatusMessageTooBig {
		t.Fatalf("relay saw close status %d", got)
	}
}

func TestFrameTooLarge(t *testing.T) {
	relay := newRelay(t, func(p *peer) {
		p.serve(func(f wire.Frame) []wire.Frame {
			return []wire.Frame{{ID: f.ID, Body: &wire.OK{}}}
		})
	})
	c := relay.dial(t, transport.Options{})
	ctx := context.Background()
	big := &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage}
	for range 6 {
		big.Recipients = append(big.Recipients, wire.Recipient{Device: 1, Ciphertext: make([]byte, wire.MaxCiphertext)})
	}
	if _, err := c.Request(ctx, big); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Fatalf("oversized send: %v", err)
	}
	// Nothing was written: the connection is still good.
	if _, err := transport.Call[*wire.OK](ctx, c, &wire.ListContacts{}); err != nil {
		t.Fatal(err)
	}
}

func TestWriteTimeout(t *testing.T) {
	release := make(chan struct{})
	relay := newRelay(t, func(p *peer) {
		<-release // read nothing until the client has given up
		p.drain()
	})
	c := relay.dial(t, transport.Options{WriteTimeout: 50 * time.Millisecond})
	defer close(release)

	msg := &wire.Send{MessageID: wire.NewMessageID(), Kind: wire.KindMessage}
	for range 4 {
		msg.Recipients = append(msg.Recipients, wire.Recipient{Device: 1, Ciphertext: make([]byte, 90<<10)})
	}
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.Send(context.Background(), msg)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("send into a full socket: %v", err)
	}
	<-c.Done()
	if c.Err() != err {
		t.Fatalf("Err() = %v, want the write error %v", c.Err(), err)
	}
}

func TestDial(t *testing.T) {
	t.Run("options", func(t *testing.T) {
		bad := []transport.Options{
			{ReadLimit: -1},
			{WriteTimeout: -time.Second},
			{DeliveryBuffer: -1},
			{NoticeBuffer: -1},
			{Client: strings.Repeat("x", wire.MaxClientName+1)},
		}
		for _, o := range bad {
			if o.Validate() == nil {
				t.Errorf("%+v: valid", o)
			}
			if _, err := transport.Dial(context.Background(), "ws://127.0.0.1:1/v1/ws", o); err == nil {
				t.Errorf("%+v: dial succeeded", o)
			}
		}
		if err := (transport.Options{}).Validate(); err != nil {
			t.Errorf("zero options: %v", err)
		}
	})
	t.Run("not a websocket", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		defer srv.Close()
		url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws"
		if _, err := transport.Dial(context.Background(), url, transport.Options{}); err == nil {
			t.Fatal("dial succeeded")
		}
	})
}
