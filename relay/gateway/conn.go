package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// state is where a connection is in the protocol.
type state int

const (
	stateNew     state = iota // only Register, Verify, Auth and Link are allowed
	stateAuthed               // a device is authenticated
	stateLinking              // Link was answered: no frame until the link's Verified
)

// conn is one WebSocket connection. The reader goroutine owns state, key,
// created, unauth and pendingUntil; the writer is the only goroutine that
// writes to ws, and the only one that closes it. While the connection
// links (stateLinking), the link's waiter (links.go) may authenticate it:
// it sets key and unauth, then isAuthed, and the reader reads them only
// once it sees isAuthed; serve joins the waiter before the teardown.
//
// What only an authenticated device uses (the send queue and its sender,
// the acknowledgement signal) is made by startSession when it
// authenticates: a connection that never does costs its reader, its
// writer and a small reply queue.
type conn struct {
	g       *Gateway
	ws      *websocket.Conn
	ip      string
	network string // limit.Network(ip), the scope of per-network limits

	// The client network (limit.Network of ip), and whether the
	// connection still counts as unauthenticated in the gateway's caps
	// (admission.go).
	net    netip.Prefix
	unauth bool

	state        state
	key          devKey
	isAuthed     atomic.Bool
	held         atomic.Bool // the device waits for approval (held.go)
	pendingUntil time.Time   // when its hold ends
	isLinking    atomic.Bool // a link waiter runs (links.go)
	stopLink     context.CancelFunc
	linkDone     chan struct{}
	unauthFrames int
	refusedFor   atomic.Int64 // the wait of the last rate_limited answer, in ns; taken by the reader
	created      time.Time    // when the account was created; read when first needed

	out        chan wire.Frame
	writerDone chan struct{}
	sendq      chan *pendingSend
	notices    chan *wire.Notice // from other connections; never closed
	kickCh     chan struct{}

	closeMu     sync.Mutex
	closeCode   websocket.StatusCode
	closeReason string

	// Delivery window: offsets of the last record delivered and the last
	// acknowledged; -1 for none.
	lastSent  atomic.Int64
	acked     atomic.Int64
	ackSignal chan struct{}

	wg           sync.WaitGroup // sender, deliverer
	stopDelivery context.CancelFunc
}

func newConn(g *Gateway, ws *websocket.Conn, ip string) *conn {
	c := &conn{
		g: g, ws: ws, ip: ip,
		network:    limit.Network(ip).String(),
		out:        make(chan wire.Frame, g.cfg.OutQueue),
		writerDone: make(chan struct{}),
		kickCh:     make(chan struct{}),
		notices:    make(chan *wire.Notice, 4),
	}
	c.lastSent.Store(-1)
	c.acked.Store(-1)
	return c
}

// startSession makes what an authenticated device uses and starts its
// sender. The reader calls it once, when the device authenticates.
func (c *conn) startSession() {
	c.sendq = make(chan *pendingSend, c.g.cfg.SendQueue)
	c.ackSignal = make(chan struct{}, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.sender()
	}()
}

func (c *conn) authed() bool { return c.isAuthed.Load() }

// setClose records why the connection ends; the first reason wins.
func (c *conn) setClose(code websocket.StatusCode, reason string) bool {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.closeCode != 0 {
		return false
	}
	if len(reason) > 120 {
		reason = reason[:120]
	}
	c.closeCode, c.closeReason = code, reason
	return true
}

// kick asks the connection to close with code, from any goroutine.
func (c *conn) kick(code websocket.StatusCode, reason string) {
	if c.setClose(code, reason) {
		close(c.kickCh)
	}
}

// notify hands a notice to the writer from another connection's
// goroutine. It never blocks: a notice that does not fit is dropped (the
// device learns the same from its next Welcome).
func (c *conn) notify(n *wire.Notice) {
	select {
	case c.notices <- n:
	default:
	}
}

// enqueue hands a frame to the writer. It fails once the writer has
// stopped.
func (c *conn) enqueue(f wire.Frame) bool {
	select {
	case c.out <- f:
		return true
	case <-c.writerDone:
		return false
	}
}

func (c *conn) reply(id uint64, b wire.Body) {
	if d := refusedFor(b); d > 0 {
		c.refusedFor.Store(int64(d))
	}
	c.enqueue(wire.Frame{ID: id, Body: b})
}

// refusedFor is how long an answer tells the client to wait before asking
// again: its retry time when it is a rate_limited refusal, else zero.
func refusedFor(b wire.Body) time.Duration {
	var ms uint64
	switch r := b.(type) {
	case *wire.Error:
		if r.Code == wire.CodeRateLimited {
			ms = max(r.RetryAfterMS, 1)
		}
	case *wire.Rejected:
		if r.Code == wire.CodeRateLimited {
			ms = max(r.RetryAfterMS, 1)
		}
	}
	return time.Duration(ms) * time.Millisecond
}

// pauseAfterRefusal makes the reader wait, after a request it answered
// rate_limited, for as long as the answer said (at most
// Config.RefusalPause), before it reads the next frame: a client that asks
// again at once gets nothing sooner, and a flood of refused frames waits
// in its own socket rather than costing the relay. An honest client
// waits anyway. It returns false when the connection is closing.
func (c *conn) pauseAfterRefusal() bool {
	d := time.Duration(c.refusedFor.Swap(0))
	if d <= 0 {
		return true
	}
	t := time.NewTimer(min(d, c.g.cfg.RefusalPause))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.kickCh:
		return false
	}
}

// serve runs the connection to its end and joins every goroutine.
func (c *conn) serve() {
	writerExited := make(chan struct{})
	go func() {
		defer close(writerExited)
		c.writer()
	}()

	// One deadline for the whole of authentication: frames sent before it
	// do not extend it.
	authTimer := time.AfterFunc(c.g.cfg.AuthTimeout, func() {
		c.kick(wire.CloseIdle, "authentication timeout")
	})
	c.readLoop(authTimer)
	authTimer.Stop()
	if c.stopLink != nil {
		c.stopLink()
		<-c.linkDone
	}

	// Teardown, in order: queued sends become durable and are answered,
	// delivery stops, the writer flushes what is left and closes.
	if c.sendq != nil {
		close(c.sendq)
	}
	if c.stopDelivery != nil {
		c.stopDelivery()
	}
	c.wg.Wait()
	close(c.out)
	<-writerExited

	code := c.code()
	if f := c.g.cfg.Metrics.Closed; f != nil {
		f(int(code))
	}
	if c.authed() {
		c.g.offsets.forget(c.key)
	}
}

func (c *conn) code() websocket.StatusCode {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	return c.closeCode
}

// writer writes queued frames with a deadline each, pings an
// authenticated peer, and closes the socket at the end.
func (c *conn) writer() {
	defer close(c.writerDone)
	ping := time.NewTicker(c.g.cfg.PingInterval)
	defer ping.Stop()
	var buf []byte
	write := func(f wire.Frame) bool {
		buf = wire.AppendFrame(buf[:0], f)
		ctx, cancel := context.WithTimeout(context.Background(), c.g.cfg.WriteTimeout)
		defer cancel()
		if err := c.ws.Write(ctx, websocket.MessageBinary, buf); err != nil {
			if ctx.Err() != nil {
				// The timed-out write closed the socket, so the reader may
				// have recorded a plain "going away" first: too slow is the
				// reason.
				c.closeMu.Lock()
				c.closeCode, c.closeReason = wire.CloseTooSlow, "too slow"
				c.closeMu.Unlock()
			} else {
				c.setClose(websocket.StatusGoingAway, "")
			}
			c.ws.CloseNow()
			return false
		}
		if cap(buf) > 64<<10 {
			buf = nil // do not keep a large buffer for an idle connection
		}
		return true
	}
	closeWS := func() {
		code, reason := c.code(), ""
		c.closeMu.Lock()
		reason = c.closeReason
		c.closeMu.Unlock()
		if code == 0 {
			code = websocket.StatusNormalClosure
		}
		c.ws.Close(code, reason)
	}
	for {
		select {
		case f, ok := <-c.out:
			if !ok {
				closeWS()
				return
			}
			if !write(f) {
				return
			}
		case <-c.kickCh:
			// Write what is already queued, then close; the reader sees the
			// close and the teardown follows.
			for queued := true; queued; {
				select {
				case f, ok := <-c.out:
					if ok && !write(f) {
						return
					}
					queued = ok
				default:
					queued = false
				}
			}
			closeWS()
			c.drain()
			return
		case n := <-c.notices:
			if !write(wire.Frame{Body: n}) {
				return
			}
		case <-ping.C:
			if !c.authed() && !c.isLinking.Load() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.g.cfg.WriteTimeout)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				c.setClose(wire.CloseIdle, "no answer to ping")
				c.ws.CloseNow()
				return
			}
		}
	}
}

// drain discards frames queued after the socket closed, until teardown
// closes the queue.
func (c *conn) drain() {
	for range c.out {
	}
}

// readLoop reads frames until the connection ends.
func (c *conn) readLoop(authTimer *time.Timer) {
	ctx := context.Background()
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			switch {
			case errors.Is(err, websocket.ErrMessageTooBig):
				c.setClose(websocket.StatusMessageTooBig, "frame too large")
			case websocket.CloseStatus(err) != -1:
				c.setClose(websocket.StatusNormalClosure, "")
			default:
				c.setClose(websocket.StatusGoingAway, "")
			}
			return
		}
		if typ != websocket.MessageBinary {
			c.kick(wire.CloseProtocolError, "frames must be binary")
			return
		}
		f, err := wire.DecodeFrame(data)
		if errors.Is(err, wire.ErrUnknownFrame) {
			c.kick(wire.CloseUnknownFrame, err.Error())
			return
		}
		if err != nil {
			c.kick(wire.CloseProtocolError, err.Error())
			return
		}
		t := f.Body.Type()
		if t >= wire.TypeOK {
			c.kick(wire.CloseWrongDirection, fmt.Sprintf("%s is a relay frame", t))
			return
		}
		if m := c.g.cfg.Metrics.Frame; m != nil {
			m(t)
		}
		if c.state == stateLinking {
			if !c.isAuthed.Load() {
				c.kick(wire.CloseProtocolError, "waiting to be linked: no other frame")
				return
			}
			c.state = stateAuthed // the link's waiter authenticated the connection
		}
		if c.state == stateNew {
			if t != wire.TypeRegister && t != wire.TypeVerify && t != wire.TypeAuth && t != wire.TypeLink {
				c.kick(wire.CloseAuthRequired, "authenticate first")
				return
			}
			if c.unauthFrames++; c.unauthFrames > c.g.cfg.MaxUnauthFrames {
				c.kick(wire.CloseProtocolError, "too many frames before authentication")
				return
			}
		} else if t == wire.TypeRegister || t == wire.TypeVerify || t == wire.TypeAuth || t == wire.TypeLink {
			c.kick(wire.CloseProtocolError, "already authenticated")
			return
		}
		if !c.handle(f) {
			return
		}
		if c.state == stateAuthed || c.state == stateLinking {
			authTimer.Stop()
		}
		if !c.pauseAfterRefusal() {
			return
		}
	}
}
