//go:build !js

package ui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// testRelay is a real relay on the embedded default, on loopback, with
// codes mailed to a real SMTP server.
type testRelay struct{ *relaytest.Relay }

func startRelay(t *testing.T) *testRelay {
	t.Helper()
	return &testRelay{relaytest.Start(t, relaytest.Options{})}
}

func (r *testRelay) config() client.Config {
	return client.Config{ServerURL: r.URL(), ClientName: "ui-test/1", MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
}

// recorder keeps what a Session publishes.
type recorder struct {
	mu     sync.Mutex
	events []any
	signal chan struct{}
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{}, 1)} }

func (r *recorder) add(ev any) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// wait waits until cond holds for one of the events, or fails.
func (r *recorder) wait(t *testing.T, what string, cond func(any) bool) {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for i := 0; ; {
		r.mu.Lock()
		evs := r.events[i:]
		i = len(r.events)
		r.mu.Unlock()
		for _, ev := range evs {
			if cond(ev) {
				return
			}
		}
		select {
		case <-r.signal:
		case <-deadline.C:
			t.Fatalf("no event: %s", what)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// device is a plain client, the other side of the conversation.
func newDevice(t *testing.T, r *testRelay, address string) (*client.Client, client.Account) {
	t.Helper()
	ctx := ctxT(t)
	c, err := client.Open(ctx, memstore.New(), r.config())
	if err != nil {
		t.Fatal(err)
	}
	token, err := c.Register(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	code, err := r.WaitCode(ctx, address)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := c.Verify(ctx, address, code, token, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(runCtx)
	}()
	t.Cleanup(func() {
		stop()
		c.Close()
		<-done
	})
	for ev := range c.Events() {
		if _, ok := ev.(client.Connected); ok {
			break
		}
	}
	return c, acct
}

func TestConfigValidate(t *testing.T) {
	open := func(context.Context) (*client.Client, func() error, error) { return nil, nil, errors.New("no") }
	wipe := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"complete", Config{Open: open, Wipe: wipe}, true},
		{"no open", Config{Wipe: wipe}, false},
		{"no wipe", Config{Open: open}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSession(tc.cfg); (err == nil) != tc.ok {
				t.Errorf("NewSession: %v", err)
			}
		})
	}
}

func TestSessionOpenFails(t *testing.T) {
	boom := errors.New("IndexedDB is not available")
	s, err := NewSession(Config{
		Open: func(context.Context) (*client.Client, func() error, error) { return nil, nil, boom },
		Wipe: func(context.Context) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Start: %v", err)
	}
	if _, err := s.client(); !errors.Is(err, boom) || s.Registered() || !errors.Is(s.openError(), boom) {
		t.Errorf("after a failed open: client err %v, registered %v", err, s.Registered())
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// TestSessionLifecycle signs a device in through the Session, exchanges
// messages with a contact, and signs it out, against a real relay.
func TestSessionLifecycle(t *testing.T) {
	r := startRelay(t)
	var mu sync.Mutex
	opened, wiped := 0, 0
	s, err := NewSession(Config{
		Open: func(ctx context.Context) (*client.Client, func() error, error) {
			c, err := client.Open(ctx, memstore.New(), r.config())
			if err != nil {
				return nil, nil, err
			}
			mu.Lock()
			opened++
			mu.Unlock()
			return c, func() error { return nil }, nil
		},
		Wipe: func(context.Context) error {
			mu.Lock()
			wiped++
			mu.Unlock()
			return nil
		},
		Now: func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := newRecorder()
	defer s.subscribe(rec.add)()

	ctx := ctxT(t)
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Registered() || s.Status() != StatusOnline {
		t.Fatalf("new device: registered %v, status %v", s.Registered(), s.Status())
	}
	s.setOnline(false)
	if s.Status() != StatusOffline {
		t.Errorf("status %v with the browser offline", s.Status())
	}
	s.setOnline(true)

	const alice = "email:alice@example.org"
	token, err := s.Register(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	code, err := r.WaitCode(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	var we *wire.Error
	if _, err = s.Verify(ctx, alice, "000000", token, "Chrome on Linux"); !errors.As(err, &we) || we.Code != wire.CodeBadCode {
		t.Fatalf("wrong code: %v", err)
	}
	if got := errorText(err, true); !strings.Contains(got, "code isn't right") {
		t.Errorf("wrong code says %q", got)
	}
	acct, err := s.Verify(ctx, alice, code, token, "Chrome on Linux")
	if err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "signedIn", func(ev any) bool { _, ok := ev.(signedIn); return ok })
	wait.For(t, "online", func() bool { return s.Status() == StatusOnline && s.Registered() })

	bob, bobAcct := newDevice(t, r, "email:bob@example.org")
	ct, err := bob.AddContact(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, ct.User, "hello Alice"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "the request", func(ev any) bool {
		m, ok := ev.(client.MessageReceived)
		return ok && m.Message.Text == "hello Alice" && m.Message.Peer == bobAcct.User
	})
	c, err := s.client()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Accept(ctx, bobAcct.User); err != nil {
		t.Fatal(err)
	}
	conv, err := c.Conversation(bobAcct.User)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.History(ctx, conv, 0, pageSize)
	if err != nil || len(page) != 1 {
		t.Fatalf("history: %v, %d messages", err, len(page))
	}

	devs, err := c.Devices(ctx)
	if err != nil || len(devs) != 1 || devs[0].Name != "Chrome on Linux" {
		t.Fatalf("devices: %v %+v", err, devs)
	}

	if err := s.SignOut(ctx); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, "sessionReset", func(ev any) bool { _, ok := ev.(sessionReset); return ok })
	mu.Lock()
	if opened != 2 || wiped != 1 {
		t.Errorf("opened %d times, wiped %d times", opened, wiped)
	}
	mu.Unlock()
	if s.Registered() || s.deviceRemoved() {
		t.Errorf("after signing out: registered %v, removed %v", s.Registered(), s.deviceRemoved())
	}
	if _, ok := s.account(); ok {
		t.Error("an account after signing out")
	}
	// Signing in again: the account lists the new device only, the one
	// signed out was removed.
	if token, err = s.Register(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if code, err = r.WaitCode(ctx, alice); err != nil {
		t.Fatal(err)
	}
	again, err := s.Verify(ctx, alice, code, token, "Firefox on Linux")
	if err != nil {
		t.Fatal(err)
	}
	if again.User != acct.User || again.Device == acct.Device {
		t.Fatalf("signed in again as %v/%d, was %v/%d", again.User, again.Device, acct.User, acct.Device)
	}
	wait.For(t, "online again", func() bool { return s.Status() == StatusOnline })
	if c, err = s.client(); err != nil {
		t.Fatal(err)
	}
	devs, err = c.Devices(ctx)
	if err != nil || len(devs) != 1 || devs[0].ID != again.Device {
		t.Fatalf("devices after signing in again: %v %+v", err, devs)
	}
}

// fakeTabs is an in-process Config.Claim: one holder at a time, as the
// browser's Web Lock gives.
type fakeTabs struct {
	mu     sync.Mutex
	held   bool
	onLost func()
	freed  chan struct{}
}

func (f *fakeTabs) claim(ctx context.Context, take bool, onLost func()) (func(), error) {
	for {
		f.mu.Lock()
		if !f.held {
			f.held, f.onLost, f.freed = true, onLost, make(chan struct{})
			freed := f.freed
			f.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					f.mu.Lock()
					f.held = false
					f.mu.Unlock()
					close(freed)
				})
			}, nil
		}
		if !take {
			f.mu.Unlock()
			return nil, ErrElsewhere
		}
		lost, freed := f.onLost, f.freed
		f.mu.Unlock()
		lost()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// TestSessionTabs runs two Sessions over one store, as two tabs of a
// browser: one at a time uses it, and the other can take over.
func TestSessionTabs(t *testing.T) {
	st := memstore.New()
	tabs := &fakeTabs{}
	newTab := func() (*Session, *recorder) {
		s, err := NewSession(Config{
			Open: func(ctx context.Context) (*client.Client, func() error, error) {
				c, err := client.Open(ctx, st, client.Config{ServerURL: "ws://127.0.0.1:1/v1/ws"})
				return c, func() error { return nil }, err
			},
			Wipe:  func(context.Context) error { return nil },
			Claim: tabs.claim,
		})
		if err != nil {
			t.Fatal(err)
		}
		rec := newRecorder()
		t.Cleanup(s.subscribe(rec.add))
		t.Cleanup(func() { s.Close() })
		return s, rec
	}
	ctx := ctxT(t)
	first, firstRec := newTab()
	if err := first.Start(ctx); err != nil || first.isElsewhere() {
		t.Fatalf("first tab: %v, elsewhere %v", err, first.isElsewhere())
	}
	second, _ := newTab()
	if err := second.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !second.isElsewhere() || second.Status() != StatusOffline {
		t.Fatalf("second tab: elsewhere %v, status %v", second.isElsewhere(), second.Status())
	}
	if _, err := second.client(); err == nil {
		t.Fatal("the second tab has a client")
	}

	if err := second.takeOver(ctx); err != nil {
		t.Fatal(err)
	}
	firstRec.wait(t, "the first tab lets go", func(ev any) bool { _, ok := ev.(elsewhereChanged); return ok })
	if !first.isElsewhere() || second.isElsewhere() {
		t.Fatalf("after taking over: first elsewhere %v, second elsewhere %v", first.isElsewhere(), second.isElsewhere())
	}
	if _, err := first.client(); err == nil {
		t.Error("the first tab kept its client")
	}
	if _, err := second.client(); err != nil {
		t.Errorf("the second tab has no client: %v", err)
	}
	if second.Status() != StatusOnline {
		t.Errorf("second tab status %v", second.Status())
	}
}
