package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Run keeps this device connected to the relay until ctx ends or Close
// is called: it dials, authenticates, publishes and refreshes prekeys,
// receives and acknowledges messages, and sends the outbox; after any
// disconnection it reconnects with exponential backoff and jitter. It
// returns ctx.Err() (or ErrClosed) when stopped, and ErrAuthFailed or
// ErrDeviceRemoved when the relay refuses this device for good. Only one
// Run may be active at a time.
func (c *Client) Run(ctx context.Context) error {
	if _, err := c.registered(); err != nil {
		return err
	}
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.running:
		c.mu.Unlock()
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c.running, c.stopRun, c.runDone = true, cancel, make(chan struct{})
	done := c.runDone
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running, c.stopRun, c.runDone = false, nil, nil
		c.mu.Unlock()
		close(done)
	}()

	failures := 0
	for {
		established, err := c.connectOnce(ctx)
		if ctx.Err() != nil {
			c.mu.Lock()
			closed := c.closed
			c.mu.Unlock()
			if closed {
				return ErrClosed
			}
			return ctx.Err()
		}
		if errors.Is(err, ErrAuthFailed) || errors.Is(err, ErrDeviceRemoved) {
			c.emit(Disconnected{Err: err})
			return err
		}
		if established {
			failures = 0
		}
		delay := c.backoff(failures)
		failures++
		if approved(err) {
			delay = 0 // this held device was approved: delivery starts
		}
		c.log.Info("client: disconnected", "err", err, "retry_in", delay)
		c.emit(Disconnected{Err: err, RetryIn: delay})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// backoff is the wait after n consecutive failed connections: MinBackoff
// doubled n times, capped at MaxBackoff, then drawn uniformly from its
// upper half ("equal jitter").
func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.MinBackoff
	for i := 0; i < n && d < c.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, c.cfg.MaxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

// connectOnce runs one connection to its end and says why it ended;
// established reports whether it got as far as authentication.
func (c *Client) connectOnce(ctx context.Context) (established bool, err error) {
	me := c.me()
	conn, err := c.dial(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	actx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	welcome, err := conn.Auth(actx, me.User, me.Device, me.Credential)
	cancel()
	if err != nil {
		return false, closeReason(err)
	}
	// Before the inbox starts: notices are checked with the key.
	if err := c.pinCoopKey(ctx, welcome.CoopKey); err != nil {
		return false, err
	}
	if err := c.setHeld(ctx, welcome.PendingUntilMS); err != nil {
		return false, err
	}
	if err := c.notePushKey(ctx, welcome.PushKey); err != nil {
		return false, err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		<-gctx.Done()
		conn.Close()
		return nil
	})
	g.Go(func() error { return c.inbox(gctx, conn) })
	c.setConn(conn)
	c.emit(Connected{})
	g.Go(func() error { return c.worker(gctx, conn, welcome) })
	if welcome.PendingUntilMS == 0 { // a held device may not upload, nor back up
		g.Go(func() error { return c.uploader(gctx, conn) })
		g.Go(func() error { return c.dailyBackups(gctx) })
	}
	g.Go(func() error { return c.downloader(gctx) })
	err = g.Wait()
	c.setConn(nil)
	if cerr := conn.Err(); cerr != nil && !errors.Is(cerr, transport.ErrClosed) {
		err = cerr
	}
	return true, closeReason(err)
}

// errConnEnded ends a connection's goroutines when its socket closed.
var errConnEnded = errors.New("client: connection ended")

// closeReason maps the relay's final close codes to errors.
func closeReason(err error) error {
	var ce *transport.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case wire.CloseAuthFailed:
			return ErrAuthFailed
		case wire.CloseDeviceRemoved:
			return ErrDeviceRemoved
		}
	}
	return err
}

func (c *Client) setConn(conn *transport.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = conn
	if conn != nil {
		close(c.ready)
	} else {
		c.ready = make(chan struct{})
	}
}

// connection returns the current connection, waiting for Run to make one
// (within ctx); ErrOffline when Run is not running.
func (c *Client) connection(ctx context.Context) (*transport.Conn, error) {
	if _, err := c.registered(); err != nil {
		return nil, err
	}
	for {
		c.mu.Lock()
		conn, ready, running, done := c.conn, c.ready, c.running, c.runDone
		c.mu.Unlock()
		if conn != nil {
			return conn, nil
		}
		if !running {
			return nil, ErrOffline
		}
		select {
		case <-ready:
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrOffline, ctx.Err())
		}
	}
}

// worker does what a connection needs besides receiving: key upkeep,
// contact sync, the outbox, the Lookups that confirm the addresses
// contacts gave (checkClaims), the changes of group lists due
// (groupChores) and notices. Everything that waits for a
// reply from the relay runs here (or in callers' goroutines), never in
// inbox: a reply can be stuck behind deliveries that only inbox drains.
func (c *Client) worker(ctx context.Context, conn *transport.Conn, w *wire.Welcome) error {
	keys := &keyUpkeep{c: c, conn: conn}
	defer keys.stop()
	if err := keys.run(ctx, w.OneTimeLeft, w.KEMOneTimeLeft); err != nil {
		if !isRelayError(err) {
			return err
		}
		c.emit(Failure{Err: err})
	}
	if w.PendingUntilMS != 0 {
		return c.heldWorker(ctx, conn, keys)
	}
	if err := c.syncContacts(ctx, conn); err != nil {
		if !isRelayError(err) {
			return err
		}
		c.emit(Failure{Err: err})
	}
	fresh := true // the first flush of a connection tries what waits for a device
	var retry *time.Timer
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		push, err := c.syncPush(ctx, conn, fresh)
		if err != nil {
			if !isRelayError(err) {
				return err
			}
			c.emit(Failure{Err: err})
		}
		delay, err := c.flushOutbox(ctx, conn, fresh)
		fresh = false
		if err != nil {
			return err
		}
		if push > 0 && (delay == 0 || push < delay) {
			delay = push
		}
		claims, err := c.checkClaims(ctx, conn)
		if err != nil {
			return err
		}
		if claims > 0 && (delay == 0 || claims < delay) {
			delay = claims
		}
		groups, err := c.groupChores(ctx, conn)
		if err != nil {
			return err
		}
		if groups > 0 && (delay == 0 || groups < delay) {
			delay = groups
		}
		if err := c.checkVouches(ctx, conn); err != nil {
			if !isRelayError(err) {
				return err
			}
			c.emit(Failure{Err: err})
		}
		var retryC <-chan time.Time
		if delay > 0 {
			if retry == nil {
				retry = time.NewTimer(delay)
			} else {
				retry.Reset(delay)
			}
			retryC = retry.C
		}
		select {
		case <-c.wake:
		case <-retryC:
		case <-keys.due():
			err = keys.run(ctx, keys.ec, keys.kem)
		case n, ok := <-conn.Notices():
			if !ok {
				return errConnEnded
			}
			err = c.handleNotice(ctx, keys, n)
		case <-ctx.Done():
			return nil
		}
		if err != nil {
			if !isRelayError(err) {
				return err
			}
			c.emit(Failure{Err: err})
		}
	}
}

// keyUpkeep runs maintainKeys for one connection and, when a refill of
// the one-time pools has to wait (prekeyRefillInterval), runs it again
// with the latest counts the relay reported once the wait is over: many
// reports in a row make one refill.
type keyUpkeep struct {
	c       *Client
	conn    *transport.Conn
	ec, kem uint32 // the latest counts of one-time prekeys the relay reported
	timer   *time.Timer
	waiting bool // timer is set for a refill
}

// run notes the counts and runs maintainKeys with them.
func (k *keyUpkeep) run(ctx context.Context, ec, kem uint32) error {
	k.ec, k.kem, k.waiting = ec, kem, false
	wait, err := k.c.maintainKeys(ctx, k.conn, ec, kem)
	if wait > 0 {
		if k.timer == nil {
			k.timer = time.NewTimer(wait)
		} else {
			k.timer.Reset(wait)
		}
		k.waiting = true
	}
	return err
}

// due is ready when a refill that waited may run; nil if none waits.
func (k *keyUpkeep) due() <-chan time.Time {
	if !k.waiting {
		return nil
	}
	return k.timer.C
}

func (k *keyUpkeep) stop() {
	if k.timer != nil {
		k.timer.Stop()
	}
}

// isRelayError reports whether err is the relay's answer (the connection
// is fine) rather than a failure of the connection or the store.
func isRelayError(err error) bool {
	var we *wire.Error
	return errors.As(err, &we)
}

func (c *Client) handleNotice(ctx context.Context, keys *keyUpkeep, n *wire.Notice) error {
	switch n.Kind {
	case wire.NoticePrekeysLow:
		if keys.waiting {
			// A refill is due when the wait ends; it will use these counts.
			keys.ec, keys.kem = n.OneTimeLeft, n.KEMOneTimeLeft
			return nil
		}
		return keys.run(ctx, n.OneTimeLeft, n.KEMOneTimeLeft)
	case wire.NoticeRetentionGap:
		c.emit(MessagesMissed{})
	case wire.NoticeDevicePending:
		c.emit(DevicePending{Device: n.Device})
	}
	return nil
}

// syncContacts brings the relay's allowlist into the local contacts: an
// account's other devices may have added, accepted or blocked someone.
func (c *Client) syncContacts(ctx context.Context, conn *transport.Conn) error {
	list, err := transport.Call[*wire.Contacts](ctx, conn, &wire.ListContacts{})
	if err != nil {
		return fmt.Errorf("list contacts: %w", err)
	}
	me := c.me()
	return c.update(ctx, func(ts *txState) error {
		for _, e := range list.Entries {
			if e.User == me.User || e.User.IsZero() {
				continue
			}
			ct, err := getContact(ts.tx, me.User, e.User)
			if err != nil {
				return err
			}
			var state ContactState
			switch e.State {
			case wire.ContactAllowed:
				state = ContactAllowed
			case wire.ContactBlocked:
				state = ContactBlocked
			default:
				continue
			}
			if ct == nil {
				ct = &Contact{User: e.User, Added: fromMS(e.UpdatedMS)}
			} else if ct.State == state {
				continue
			}
			if ct.State == ContactRequest && state == ContactAllowed {
				ct.accept() // accepted on another device
			}
			ct.State = state
			if err := c.putContact(ts, ct); err != nil {
				return err
			}
		}
		return nil
	})
}
