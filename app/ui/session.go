package ui

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"github.com/mutualcoop/mutual/app/client"
)

// Config configures a Session.
type Config struct {
	// Open opens this device's store and the client over it; closeStore
	// releases the store once the client is closed. It is called by
	// Start and again after signing out. Required.
	Open func(ctx context.Context) (c *client.Client, closeStore func() error, err error)
	// Wipe deletes this device's local data (the store, closed by then)
	// when the user signs out. Required.
	Wipe func(ctx context.Context) error
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives diagnostics (never addresses, codes or content);
	// default discards them.
	Logger *slog.Logger
	// Claim, if set, makes this instance the only one using the device's
	// data before Open (ClaimTab does it for the tabs of a browser): it
	// fails with ErrElsewhere while another one is, unless take, which
	// asks that one to let go and waits. onLost is called when another
	// instance takes over; release gives the claim up.
	Claim func(ctx context.Context, take bool, onLost func()) (release func(), err error)
}

// Validate reports configurations that cannot work.
func (c Config) Validate() error {
	if c.Open == nil {
		return errors.New("ui: Config.Open is required")
	}
	if c.Wipe == nil {
		return errors.New("ui: Config.Wipe is required")
	}
	return nil
}

// Status is the connection status shown in the header.
type Status int

const (
	// StatusOffline: no network, or not connected and not trying.
	StatusOffline Status = iota
	// StatusConnecting: the client is connecting or waiting to retry.
	StatusConnecting
	// StatusOnline: connected to the relay (or, before signing in, the
	// browser has a network).
	StatusOnline
)

// String is the status as the page's #status data-state attribute has it.
func (s Status) String() string {
	switch s {
	case StatusOnline:
		return "online"
	case StatusConnecting:
		return "connecting"
	default:
		return "offline"
	}
}

// label is the status as people read it.
func (s Status) label() string {
	switch s {
	case StatusOnline:
		return "Online"
	case StatusConnecting:
		return "Connecting…"
	default:
		return "Offline"
	}
}

// Events the Session adds to the client's, for the root component.
type (
	// statusChanged: Status changed.
	statusChanged struct{}
	// sessionReset: the user signed out; the Session holds a new, empty
	// client.
	sessionReset struct{}
	// signedIn: Verify made this device part of an account.
	signedIn struct{}
	// elsewhereChanged: another tab took over, or this one did.
	elsewhereChanged struct{}
)

// Session is the web app's state for its whole life: this device's client
// (reopened empty after signing out), its connection loop, the connection
// status and the hand-off of the client's events to the UI. The program's
// main makes one and gives its NewPage to Routes. Its methods may be
// called from any goroutine.
type Session struct {
	cfg Config
	log *slog.Logger

	ctx    context.Context // the Session's life; Close cancels it
	cancel context.CancelFunc

	mu         sync.Mutex
	c          *client.Client
	closeStore func() error
	acct       client.Account
	registered bool
	openErr    error
	online     bool   // the browser's view of the network
	connected  bool   // the client is connected to the relay
	running    bool   // the connection loop runs
	removed    bool   // the relay refused this device for good
	signingOut bool   // SignOut is under way
	elsewhere  bool   // another tab uses the device's data
	release    func() // gives up the claim
	lost       sync.WaitGroup
	closed     bool   // Close was called
	stopRun    func() // ends the connection loop
	runDone    chan struct{}
	pumpDone   chan struct{}
	subs       map[int]func(any)
	nextSub    int
}

// NewSession returns a Session; Start opens the client.
func NewSession(cfg Config) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Session{cfg: cfg, log: cfg.Logger, ctx: ctx, cancel: cancel, online: true, subs: make(map[int]func(any))}, nil
}

// NewPage returns the app's root component, the factory to give Routes
// in the browser.
func (s *Session) NewPage() app.Composer { return &shell{s: s} }

// Start opens the client and, if this device is registered, starts the
// connection loop. An error is also kept and shown by the app; so is
// another tab using the device's data (ErrElsewhere, not returned).
func (s *Session) Start(ctx context.Context) error {
	return s.open(ctx, false)
}

// Close stops the connection loop and closes the client and its store.
func (s *Session) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	err := s.closeClient()
	s.lost.Wait()
	return err
}

// takeOver makes this tab the one that uses the device's data, asking the
// one that does to let go.
func (s *Session) takeOver(ctx context.Context) error {
	return s.open(ctx, true)
}

// onLost closes the client when another tab takes over.
func (s *Session) onLost() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.lost.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.lost.Done()
		if err := s.closeClient(); err != nil {
			s.log.Warn("close the client for another tab", "err", err)
		}
		s.mu.Lock()
		s.elsewhere = true
		s.mu.Unlock()
		s.publish(elsewhereChanged{})
		s.publish(statusChanged{})
	}()
}

// isElsewhere reports whether another tab uses the device's data.
func (s *Session) isElsewhere() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.elsewhere
}

func (s *Session) open(ctx context.Context, take bool) error {
	var release func()
	if s.cfg.Claim != nil {
		r, err := s.cfg.Claim(ctx, take, s.onLost)
		if errors.Is(err, ErrElsewhere) {
			s.mu.Lock()
			s.elsewhere = true
			s.mu.Unlock()
			s.publish(elsewhereChanged{})
			return nil
		}
		if err != nil {
			s.mu.Lock()
			s.openErr = err
			s.mu.Unlock()
			return err
		}
		release = r
	}
	wasElsewhere := s.isElsewhere()
	err := s.openClient(ctx, release)
	if wasElsewhere {
		s.mu.Lock()
		s.elsewhere = false
		s.mu.Unlock()
		s.publish(elsewhereChanged{})
		s.publish(statusChanged{})
	}
	return err
}

// openClient opens the client; release gives up the claim (with the
// client, or now if opening fails).
func (s *Session) openClient(ctx context.Context, release func()) error {
	if release == nil {
		release = func() {}
	}
	c, closeStore, err := s.cfg.Open(ctx)
	if err != nil {
		release()
		s.mu.Lock()
		s.openErr = err
		s.mu.Unlock()
		s.log.Error("open the client", "err", err)
		return err
	}
	acct, err := c.Account()
	registered := err == nil
	if err != nil && !errors.Is(err, client.ErrNotRegistered) {
		c.Close()
		closeStore()
		release()
		s.mu.Lock()
		s.openErr = err
		s.mu.Unlock()
		return err
	}
	pumpDone := make(chan struct{})
	s.mu.Lock()
	s.c, s.closeStore, s.acct, s.registered, s.openErr = c, closeStore, acct, registered, nil
	s.release = release
	s.removed, s.connected = false, false
	s.pumpDone = pumpDone
	s.mu.Unlock()
	go s.pump(c, pumpDone)
	if registered {
		s.startRun()
	}
	return nil
}

// pump hands the client's events to the subscribers until Close closes
// the channel.
func (s *Session) pump(c *client.Client, done chan struct{}) {
	defer close(done)
	for ev := range c.Events() {
		changed := false
		s.mu.Lock()
		if s.c == c {
			switch ev := ev.(type) {
			case client.Connected:
				changed = !s.connected
				s.connected = true
				// A relay is usually redeployed with a new version of the
				// app: ask the browser to look for one now, not only at
				// the next page load (the update banner follows).
				app.TryUpdate()
			case client.Disconnected:
				changed = s.connected
				s.connected = false
				if (errors.Is(ev.Err, client.ErrDeviceRemoved) || errors.Is(ev.Err, client.ErrAuthFailed)) && !s.signingOut {
					s.removed, changed = true, true
				}
			}
		}
		s.mu.Unlock()
		s.publish(ev)
		if changed {
			s.publish(statusChanged{})
		}
	}
}

// startRun starts the connection loop of the current client.
func (s *Session) startRun() {
	s.mu.Lock()
	if s.running || s.c == nil {
		s.mu.Unlock()
		return
	}
	c := s.c
	ctx, stop := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.running, s.stopRun, s.runDone = true, stop, done
	s.mu.Unlock()
	go func() {
		defer close(done)
		err := c.Run(ctx)
		s.mu.Lock()
		if s.c == c {
			s.running, s.connected = false, false
			if (errors.Is(err, client.ErrDeviceRemoved) || errors.Is(err, client.ErrAuthFailed)) && !s.signingOut {
				s.removed = true
			}
		}
		s.mu.Unlock()
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, client.ErrClosed) {
			s.log.Warn("connection loop ended", "err", err)
		}
		s.publish(statusChanged{})
	}()
	s.publish(statusChanged{})
}

// closeClient stops the connection loop and the pump and closes the
// client and its store.
func (s *Session) closeClient() error {
	s.mu.Lock()
	c, closeStore, stop, runDone, pumpDone, release := s.c, s.closeStore, s.stopRun, s.runDone, s.pumpDone, s.release
	s.c, s.closeStore, s.stopRun, s.runDone, s.pumpDone, s.release = nil, nil, nil, nil, nil, nil
	s.running, s.connected, s.registered = false, false, false
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	var err error
	if c != nil {
		err = c.Close()
	}
	if runDone != nil {
		<-runDone
	}
	if pumpDone != nil {
		<-pumpDone
	}
	if closeStore != nil {
		if cerr := closeStore(); err == nil {
			err = cerr
		}
	}
	if release != nil {
		release()
	}
	return err
}

// client returns the current client, or client.ErrClosed while there is
// none (signing out, or the store could not be opened).
func (s *Session) client() (*client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		if s.openErr != nil {
			return nil, s.openErr
		}
		return nil, client.ErrClosed
	}
	return s.c, nil
}

// Registered reports whether this device belongs to an account.
func (s *Session) Registered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registered
}

// account returns this device's account; ok is false before signing in.
func (s *Session) account() (client.Account, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acct, s.registered
}

// Status returns the connection status.
func (s *Session) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.online, s.elsewhere:
		return StatusOffline
	case s.connected:
		return StatusOnline
	case s.running:
		return StatusConnecting
	case !s.registered && s.c != nil:
		return StatusOnline
	default:
		return StatusOffline
	}
}

// openError is why the client could not be opened, if it could not.
func (s *Session) openError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.openErr
}

// deviceRemoved reports whether the relay refused this device for good
// (it was removed from the account, or its credential no longer works).
func (s *Session) deviceRemoved() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.removed
}

// setOnline records the browser's view of the network.
func (s *Session) setOnline(online bool) {
	s.mu.Lock()
	changed := s.online != online
	s.online = online
	s.mu.Unlock()
	if changed {
		s.publish(statusChanged{})
	}
}

// isOnline is the browser's view of the network.
func (s *Session) isOnline() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.online
}

// now is the Session's clock.
func (s *Session) now() time.Time { return s.cfg.Now() }

// Register asks the relay to mail a code to address ("email:...") and
// returns the token Verify presents with the code.
func (s *Session) Register(ctx context.Context, address string) (token []byte, err error) {
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	return c.Register(ctx, address)
}

// Verify proves the code mailed to address, with the token Register
// returned, makes this device part of the address's account under
// deviceName and starts the connection loop.
func (s *Session) Verify(ctx context.Context, address, code string, token []byte, deviceName string) (client.Account, error) {
	c, err := s.client()
	if err != nil {
		return client.Account{}, err
	}
	acct, err := c.Verify(ctx, address, code, token, deviceName)
	if err != nil {
		return client.Account{}, err
	}
	s.mu.Lock()
	if s.c == c {
		s.acct, s.registered = acct, true
	}
	s.mu.Unlock()
	s.startRun()
	s.publish(signedIn{})
	return acct, nil
}

// removeTimeout bounds telling the relay to forget this device when
// signing out; after it, the device is wiped anyway.
const removeTimeout = 10 * time.Second

// SignOut removes this device from the account (if the relay can be told
// now: signing out offline only wipes it), closes the client, deletes the
// local data and opens a new, empty client.
func (s *Session) SignOut(ctx context.Context) error {
	s.mu.Lock()
	c, acct, registered, connected := s.c, s.acct, s.registered, s.connected
	s.signingOut = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.signingOut = false
		s.mu.Unlock()
	}()
	if c != nil && registered && connected {
		rctx, cancel := context.WithTimeout(ctx, removeTimeout)
		if err := c.RemoveDevice(rctx, acct.Device); err != nil {
			s.log.Warn("remove this device from the account", "err", err)
		}
		cancel()
	}
	if err := s.closeClient(); err != nil {
		s.log.Warn("close the client", "err", err)
	}
	wipeErr := s.cfg.Wipe(ctx)
	if wipeErr != nil {
		s.log.Error("delete local data", "err", wipeErr)
	}
	openErr := s.open(ctx, false)
	s.publish(sessionReset{})
	s.publish(statusChanged{})
	return errors.Join(wipeErr, openErr)
}

// subscribe calls fn with every event (client events and the Session's
// own) until the returned function is called. fn runs on the pump's
// goroutine and must not block.
func (s *Session) subscribe(fn func(any)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextSub
	s.nextSub++
	s.subs[id] = fn
	return func() {
		s.mu.Lock()
		delete(s.subs, id)
		s.mu.Unlock()
	}
}

func (s *Session) publish(ev any) {
	s.mu.Lock()
	fns := make([]func(any), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(ev)
	}
}
