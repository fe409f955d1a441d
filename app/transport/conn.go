package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Options tune a connection. The zero value is ready to use.
type Options struct {
	// ReadLimit is the largest message accepted from the relay, in bytes.
	// Default wire.MaxClientReadSize.
	ReadLimit int64
	// WriteTimeout bounds each write to the socket; a write that misses it
	// ends the connection. Default 10s.
	WriteTimeout time.Duration
	// DeliveryBuffer is how many Deliver frames wait for the consumer
	// before the reader stops reading. Default 64.
	DeliveryBuffer int
	// NoticeBuffer is how many Notice frames wait for the consumer; past
	// it the oldest is dropped. Default 8.
	NoticeBuffer int
	// Client describes the client to the relay in Auth (for example
	// "mutual-cli/1"); the relay uses it for metrics only.
	Client string
	// DialContext opens the TCP connection, in native builds only (a
	// browser opens its own); nil uses net.Dialer. The load generator
	// uses it to give each client its own source address.
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	switch {
	case o.ReadLimit < 0:
		return errors.New("transport: negative read limit")
	case o.WriteTimeout < 0:
		return errors.New("transport: negative write timeout")
	case o.DeliveryBuffer < 0:
		return errors.New("transport: negative delivery buffer")
	case o.NoticeBuffer < 0:
		return errors.New("transport: negative notice buffer")
	case len(o.Client) > wire.MaxClientName:
		return fmt.Errorf("transport: client name over %d bytes", wire.MaxClientName)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.ReadLimit == 0 {
		o.ReadLimit = wire.MaxClientReadSize
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.DeliveryBuffer == 0 {
		o.DeliveryBuffer = 64
	}
	if o.NoticeBuffer == 0 {
		o.NoticeBuffer = 8
	}
	return o
}

// Conn is one connection to the relay. Its methods may be called from any
// goroutine.
type Conn struct {
	ws   *websocket.Conn
	opts Options

	// ctx ends when the connection does; it bounds every socket operation
	// and wakes a reader stalled on a full Deliveries channel.
	ctx    context.Context
	cancel context.CancelFunc

	// writeSem serialises writes; the writer holding it records why its
	// write failed before letting it go (see readFrames).
	writeSem chan struct{}
	nextID   atomic.Uint64

	deliveries chan *wire.Deliver
	notices    chan *wire.Notice

	mu      sync.Mutex
	pending map[uint64]chan wire.Body // nil once the connection has ended
	err     error                     // why the connection ended; first reason wins
	// linkID is the frame ID of the Link this connection sent (0: none),
	// whose second answer goes to linked (link.go).
	linkID uint64
	linked chan wire.Body

	closeOnce sync.Once
	done      chan struct{}

	framesRead atomic.Uint64 // messages taken from the socket
	stalls     atomic.Uint64 // times the reader waited for the delivery consumer
}

// Dial connects to the relay's WebSocket endpoint, for example
// "ws://127.0.0.1:8080/v1/ws". ctx bounds the opening handshake only.
func Dial(ctx context.Context, url string, opts Options) (*Conn, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	ws, _, err := websocket.Dial(ctx, url, dialOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("transport: dial: %w", err)
	}
	ws.SetReadLimit(opts.ReadLimit)
	c := &Conn{
		ws:         ws,
		opts:       opts,
		writeSem:   make(chan struct{}, 1),
		deliveries: make(chan *wire.Deliver, opts.DeliveryBuffer),
		notices:    make(chan *wire.Notice, opts.NoticeBuffer),
		pending:    make(map[uint64]chan wire.Body),
		done:       make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	go c.run()
	return c, nil
}

// Request sends body with a fresh frame ID and waits for the relay's reply
// to it. A *wire.Error reply is returned as the error (use errors.As); any
// other reply, *wire.Rejected included, is returned as the body. If the
// connection ends first, the error is the reason (see Err).
func (c *Conn) Request(ctx context.Context, body wire.Body) (wire.Body, error) {
	if body.Type() == wire.TypeAck {
		return nil, errors.New("transport: ack has no reply: use Send")
	}
	return c.request(ctx, c.nextID.Add(1), body)
}

// request sends body with frame ID id and waits for the reply, as Request.
func (c *Conn) request(ctx context.Context, id uint64, body wire.Body) (wire.Body, error) {
	reply := make(chan wire.Body, 1)
	c.mu.Lock()
	if c.pending == nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.pending[id] = reply
	c.mu.Unlock()

	if err := c.write(ctx, wire.Frame{ID: id, Body: body}); err != nil {
		c.forget(id)
		return nil, err
	}
	select {
	case b := <-reply:
		return answer(b)
	case <-ctx.Done():
		c.forget(id)
		return nil, fmt.Errorf("transport: wait for %s reply: %w", body.Type(), ctx.Err())
	case <-c.done:
		select {
		case b := <-reply:
			return answer(b)
		default:
			return nil, c.Err()
		}
	}
}

func answer(b wire.Body) (wire.Body, error) {
	if e, ok := b.(*wire.Error); ok {
		return nil, e
	}
	return b, nil
}

func (c *Conn) forget(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// Send sends body without waiting for a reply (frame ID 0): for Ack, which
// has none.
func (c *Conn) Send(ctx context.Context, body wire.Body) error {
	return c.write(ctx, wire.Frame{Body: body})
}

// Deliveries returns the Deliver frames the relay pushes, in the order it
// sent them. The channel is closed when the connection ends; Deliver frames
// already buffered can still be received.
func (c *Conn) Deliveries() <-chan *wire.Deliver { return c.deliveries }

// Notices returns the Notice frames the relay pushes. The channel is closed
// when the connection ends.
func (c *Conn) Notices() <-chan *wire.Notice { return c.notices }

// Done is closed when the connection has ended and its reader has
// returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the connection is open, then why it ended:
// ErrClosed after Close, a *CloseError when the relay closed it with a
// status, or the read, write or decoding error.
func (c *Conn) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection with a normal-closure handshake, fails the
// outstanding requests with ErrClosed and waits for the reader to return.
// It returns nil; calling it again does nothing.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.setErr(ErrClosed)
		select {
		case <-c.done:
		default:
			// The handshake reads the relay's answer itself if the
			// reader is stalled on Deliveries; its error only says the
			// relay did not answer in time, which changes nothing here.
			_ = c.ws.Close(websocket.StatusNormalClosure, "")
		}
		c.cancel()
	})
	<-c.done
	return nil
}

func (c *Conn) setErr(err error) {
	if err == nil {
		return
	}
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// write sends one frame, holding writeSem for the duration.
func (c *Conn) write(ctx context.Context, f wire.Frame) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("transport: send %s: %w", f.Body.Type(), err)
	}
	b := wire.Encode(f)
	if len(b) > wire.MaxFrameSize {
		return fmt.Errorf("transport: %s frame of %d bytes is over the limit of %d", f.Body.Type(), len(b), wire.MaxFrameSize)
	}
	select {
	case c.writeSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("transport: send %s: %w", f.Body.Type(), ctx.Err())
	case <-c.done:
		return c.Err()
	}
	err := c.writeLocked(f.Body.Type(), b)
	<-c.writeSem
	if errors.Is(err, net.ErrClosed) {
		// The connection is ending for another reason, which the reader
		// is about to record: report that one. Cancelling wakes a reader
		// stalled on a consumer that may be this very goroutine.
		c.cancel()
		<-c.done
		return c.Err()
	}
	return err
}

func (c *Conn) writeLocked(t wire.Type, b []byte) error {
	if c.ctx.Err() != nil {
		return net.ErrClosed
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.WriteTimeout)
	err := c.ws.Write(ctx, websocket.MessageBinary, b)
	cancel()
	switch {
	case err == nil:
		return nil
	case errors.Is(err, net.ErrClosed) || c.ctx.Err() != nil:
		return net.ErrClosed
	}
	// A write that failed (its deadline passed, or the socket broke)
	// leaves the connection unusable: record why and end it.
	err = fmt.Errorf("transport: send %s: %w", t, err)
	if errors.Is(err, context.DeadlineExceeded) {
		// The timed-out write closed the socket, so the reader may have
		// recorded "use of closed network connection" first: the timeout
		// is the reason.
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
	} else {
		c.setErr(err)
	}
	c.cancel()
	return err
}

// run is the reader goroutine: it ends the connection when reading ends.
func (c *Conn) run() {
	c.setErr(c.readFrames())
	c.setErr(ErrClosed) // the reader only stops without a reason when ctx ended, which always has one
	c.cancel()
	_ = c.ws.CloseNow() // usually closed already
	c.mu.Lock()
	c.pending = nil
	c.mu.Unlock()
	close(c.deliveries)
	close(c.notices)
	close(c.done)
}

// readFrames reads and dispatches frames until the connection fails or ends.
func (c *Conn) readFrames() error {
	for {
		typ, b, err := c.ws.Read(c.ctx)
		if err != nil {
			return c.readError(err)
		}
		c.framesRead.Add(1)
		if typ != websocket.MessageBinary {
			return c.abort(wire.CloseProtocolError, "text message",
				errors.New("transport: relay sent a text message"))
		}
		f, err := wire.DecodeFrame(b)
		switch {
		case errors.Is(err, wire.ErrUnknownFrame):
			// A frame type from a later version of the protocol: whatever
			// it is about, this client cannot act on it.
			continue
		case err != nil:
			return c.abort(wire.CloseProtocolError, "bad frame",
				fmt.Errorf("transport: decode frame: %w", err))
		}
		if !c.dispatch(f) {
			return nil
		}
	}
}

func (c *Conn) readError(err error) error {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return &CloseError{Code: int(ce.Code), Reason: ce.Reason}
	}
	if errors.Is(err, net.ErrClosed) {
		// Closed from this side: by Close, or by a failed write. A writer
		// records why before it lets writeSem go, so taking it here
		// makes that reason the one that wins.
		c.writeSem <- struct{}{}
		<-c.writeSem
	}
	return fmt.Errorf("transport: read frame: %w", err)
}

// abort ends the connection because the relay broke the protocol.
func (c *Conn) abort(code int, reason string, err error) error {
	c.setErr(err)
	_ = c.ws.Close(websocket.StatusCode(code), reason)
	return err
}

// dispatch routes one frame; it reports false when the connection ended
// while the reader waited for the delivery consumer.
func (c *Conn) dispatch(f wire.Frame) bool {
	if f.ID == 0 {
		switch b := f.Body.(type) {
		case *wire.Deliver:
			return c.deliver(b)
		case *wire.Notice:
			c.notice(b)
		case *wire.Verified, *wire.Error:
			c.linkAnswer(f.Body)
		}
		// Anything else without an ID answers nothing this client asked.
		return true
	}
	c.mu.Lock()
	reply, ok := c.pending[f.ID]
	delete(c.pending, f.ID)
	c.mu.Unlock()
	if !ok && f.ID == c.linkRequest() {
		c.linkAnswer(f.Body)
		return true
	}
	if ok {
		reply <- f.Body // buffered, and the only send
	}
	// A reply nobody waits for any more (its request was cancelled) is
	// dropped.
	return true
}

func (c *Conn) deliver(d *wire.Deliver) bool {
	select {
	case c.deliveries <- d:
		return true
	default:
	}
	c.stalls.Add(1)
	select {
	case c.deliveries <- d:
		return true
	case <-c.ctx.Done():
		return false
	}
}

// notice queues n, dropping the oldest queued notice when the buffer is
// full: the reader is the only sender, so this never blocks.
func (c *Conn) notice(n *wire.Notice) {
	for {
		select {
		case c.notices <- n:
			return
		default:
		}
		select {
		case <-c.notices:
		default:
		}
	}
}
