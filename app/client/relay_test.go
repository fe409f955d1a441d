//go:build !js

package client_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/boltstore"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// testRelay is a real relay on the embedded default (log on disk, SQLite)
// on loopback, with codes delivered by SMTP to a real SMTP server.
type testRelay struct {
	*relaytest.Relay
	t testing.TB
}

func startRelay(t testing.TB) *testRelay {
	t.Helper()
	return startRelayWith(t, nil)
}

// startRelayWith starts a relay whose configuration tune adjusts, if set.
// It holds no device signed in by code (gateway.Config.NoHold), as tests
// of other things sign several devices in to one account that way; tests
// of account protection turn holds on again with tune.
func startRelayWith(t testing.TB, tune func(*server.Config)) *testRelay {
	t.Helper()
	config := func(c *server.Config) {
		c.Gateway.NoHold = true
		if tune != nil {
			tune(c)
		}
	}
	return &testRelay{Relay: relaytest.Start(t, relaytest.Options{Config: config}), t: t}
}

// ctxT is a context for one test step.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// device is one client of the test: its store on disk, its Client and
// its Run, and every event it has emitted.
type device struct {
	t       testing.TB
	r       *testRelay
	name    string
	address string
	path    string
	st      store.Store
	c       *client.Client
	acct    client.Account

	cancel context.CancelFunc
	done   chan error // Run's result

	tune func(*client.Config)          // adjusts the configuration, if set
	wrap func(store.Store) store.Store // wraps the store, if set

	mu     sync.Mutex
	events []client.Event
}

func (r *testRelay) config() client.Config {
	return client.Config{
		ServerURL: r.URL(), ClientName: "client-test/1",
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}
}

// newDevice registers a new device of address (a new account unless the
// address has one) with the code the relay mails, and starts it.
func (r *testRelay) newDevice(name, address string) *device {
	r.t.Helper()
	return r.newDeviceWith(name, address, nil)
}

func (r *testRelay) newDeviceWith(name, address string, tune func(*client.Config)) *device {
	r.t.Helper()
	d := &device{t: r.t, r: r, name: name, address: address, path: filepath.Join(r.t.TempDir(), "client.db"), tune: tune}
	d.open()
	ctx := ctxT(r.t)
	token, err := d.c.Register(ctx, address)
	if err != nil {
		r.t.Fatalf("%s: register: %v", name, err)
	}
	code, err := r.WaitCode(ctx, address)
	if err != nil {
		r.t.Fatalf("%s: code: %v", name, err)
	}
	acct, err := d.c.Verify(ctx, address, code, token, name)
	if err != nil {
		r.t.Fatalf("%s: verify: %v", name, err)
	}
	d.acct = acct
	d.start()
	r.t.Cleanup(d.close)
	return d
}

func (d *device) open() {
	d.t.Helper()
	bst, err := boltstore.Open(d.path, boltstore.Options{})
	if err != nil {
		d.t.Fatal(err)
	}
	var st store.Store = bst
	if d.wrap != nil {
		st = d.wrap(st)
	}
	cfg := d.r.config()
	if d.tune != nil {
		d.tune(&cfg)
	}
	c, err := client.Open(context.Background(), st, cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	d.st, d.c = st, c
}

// start runs the client and waits until it is connected.
func (d *device) start() {
	d.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan error, 1)
	go func() { d.done <- d.c.Run(ctx) }()
	d.waitEvent("connected", func(ev client.Event) bool { _, ok := ev.(client.Connected); return ok })
}

// stop ends Run.
func (d *device) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
	d.cancel = nil
}

// close stops the device and closes its client and store.
func (d *device) close() {
	if d.c == nil {
		return
	}
	d.stop()
	d.c.Close()
	d.drain()
	d.st.Close()
	d.c = nil
}

// restart closes the client and its store, opens them again and runs.
func (d *device) restart() {
	d.t.Helper()
	d.close()
	d.open()
	d.start()
}

// drain records the events waiting in the channel.
func (d *device) drain() {
	for {
		select {
		case ev, ok := <-d.c.Events():
			if !ok {
				return
			}
			d.record(ev)
		default:
			return
		}
	}
}

func (d *device) record(ev client.Event) {
	d.mu.Lock()
	d.events = append(d.events, ev)
	d.mu.Unlock()
}

// eventually waits until cond holds, checking it again after each event
// the client emits (every change of state emits one).
func (d *device) eventually(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for !cond() {
		select {
		case ev, ok := <-d.c.Events():
			if !ok {
				d.t.Fatalf("%s: events closed while waiting for %s", d.name, what)
			}
			d.record(ev)
		case err := <-d.done:
			d.t.Fatalf("%s: Run ended while waiting for %s: %v", d.name, what, err)
		case <-deadline.C:
			d.t.Fatalf("%s: timed out waiting for %s", d.name, what)
		}
	}
}

// waitEvent waits for an event (emitted since the device started) that
// match accepts, and returns it.
func (d *device) waitEvent(what string, match func(client.Event) bool) client.Event {
	d.t.Helper()
	var found client.Event
	d.eventually(what, func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		for i, ev := range d.events {
			if match(ev) {
				found = ev
				d.events = append(d.events[:i:i], d.events[i+1:]...)
				return true
			}
		}
		return false
	})
	return found
}

// messages returns the messages of the conversation with peer.
func (d *device) messages(peer *device) []client.Message {
	d.t.Helper()
	conv := client.DirectConversation(d.acct.User, peer.acct.User)
	ms, err := d.c.Messages(context.Background(), conv)
	if err != nil {
		d.t.Fatalf("%s: messages: %v", d.name, err)
	}
	return ms
}

// waitText waits until the conversation with peer holds a message with
// text, and returns it.
func (d *device) waitText(peer *device, text string) client.Message {
	d.t.Helper()
	var m client.Message
	d.eventually(fmt.Sprintf("message %q", text), func() bool {
		for _, x := range d.messages(peer) {
			if x.Text == text {
				m = x
				return true
			}
		}
		return false
	})
	return m
}

// waitState waits until this device's message id to peer is in state,
// or past it on the way Sent → Delivered → Read: a receipt can move a
// message on between two looks at it, so waiting for Sent alone could
// miss it.
func (d *device) waitState(peer *device, id wire.MessageID, state client.MessageState) {
	d.t.Helper()
	d.eventually(fmt.Sprintf("message %s %s", id, state), func() bool {
		m, err := d.c.Message(context.Background(), d.acct.User, id)
		return err == nil && reached(m.State, state)
	})
}

// reached says whether a message in state got has come as far as want.
func reached(got, want client.MessageState) bool {
	progress := []client.MessageState{client.StateSent, client.StateDelivered, client.StateRead}
	i, j := slices.Index(progress, got), slices.Index(progress, want)
	if i < 0 || j < 0 {
		return got == want
	}
	return i >= j
}

func (d *device) send(to *device, text string) wire.MessageID {
	d.t.Helper()
	id, err := d.c.Send(ctxT(d.t), to.acct.User, text)
	if err != nil {
		d.t.Fatalf("%s: send %q: %v", d.name, text, err)
	}
	return id
}

// contact returns what d knows of peer.
func (d *device) contact(peer *device) client.Contact {
	d.t.Helper()
	ct, err := d.c.Contact(ctxT(d.t), peer.acct.User)
	if err != nil {
		d.t.Fatalf("%s: contact %s: %v", d.name, peer.name, err)
	}
	return ct
}

// waitAccepted waits until peer has written to d (so d's messages to
// them go as plain messages).
func (d *device) waitAccepted(peer *device) {
	d.t.Helper()
	d.eventually(peer.name+" accepting "+d.name, func() bool { return d.contact(peer).Accepted })
}

// befriend makes a and b contacts: a adds b, writes (a contact request),
// b accepts, and a learns it (b's delivery receipt arrives), so that a's
// next messages go at once rather than wait for b's answer.
func befriend(t testing.TB, a, b *device) {
	t.Helper()
	if _, err := a.c.AddContact(ctxT(t), b.address); err != nil {
		t.Fatalf("%s adds %s: %v", a.name, b.name, err)
	}
	a.send(b, "hello from "+a.name)
	b.waitEvent("a contact request", func(ev client.Event) bool {
		r, ok := ev.(client.RequestReceived)
		return ok && r.Contact.User == a.acct.User
	})
	if err := b.c.Accept(ctxT(t), a.acct.User); err != nil {
		t.Fatalf("%s accepts %s: %v", b.name, a.name, err)
	}
	a.waitAccepted(b)
}

// rawDevice registers a device of address with a bare connection and
// returns it, authenticated.
func (r *testRelay) rawDevice(address string) *transport.Conn {
	r.t.Helper()
	conn, _, err := r.Register(ctxT(r.t), address, "raw")
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { conn.Close() })
	return conn
}
