package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestCrashUnderLoad kills the real relay binary with SIGKILL at random
// moments while clients send and receive, restarts it on the same data
// directory and port, and checks the promise of docs/protocol.md: every
// message answered Accepted is delivered, at least once, and exactly once
// once receivers drop duplicates by message ID.
func TestCrashUnderLoad(t *testing.T) {
	const (
		clients = 6
		kills   = 5
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	proc := startCrashRelay(t, ctx)
	defer proc.stop(t)

	// Six contacts in a ring: each sends to the next, and allows both
	// neighbours.
	cs := make([]*crashClient, clients)
	for i := range cs {
		cs[i] = proc.register(t, ctx, i)
	}
	for i, c := range cs {
		c.peer = cs[(i+1)%clients]
		conn, err := proc.auth(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []*crashClient{cs[(i+clients-1)%clients], c.peer} {
			if _, err := transport.Call[*wire.OK](ctx, conn, &wire.SetContact{User: o.user, State: wire.ContactAllowed}); err != nil {
				t.Fatalf("set contact: %v", err)
			}
		}
		conn.Close()
	}

	stop := make(chan struct{})
	var sessions sync.WaitGroup
	for _, c := range cs {
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			c.run(ctx, proc, stop)
		}()
	}
	stopped := false
	stopSessions := func() {
		if !stopped {
			stopped = true
			close(stop)
			sessions.Wait()
		}
	}
	defer stopSessions()

	// The driver: wait until messages flow, then kill at a random moment,
	// restart, and again.
	for k := range kills {
		base := totalAccepted(cs)
		if err := wait.Until(ctx, func() bool { return totalAccepted(cs) >= base+50 }); err != nil {
			t.Fatalf("before kill %d, no progress: %v\n%s", k+1, err, proc.logTail())
		}
		delay := time.NewTimer(time.Duration(50+rand.IntN(250)) * time.Millisecond)
		select {
		case <-delay.C:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		proc.kill(t)
		proc.start(t, ctx)
	}
	// Load goes on for a little while after the last restart, then stops.
	base := totalAccepted(cs)
	if err := wait.Until(ctx, func() bool { return totalAccepted(cs) >= base+50 }); err != nil {
		t.Fatalf("after the last restart, no progress: %v\n%s", err, proc.logTail())
	}
	for _, c := range cs {
		c.producing.Store(false)
	}

	// Drain: everything is answered Accepted, then delivered.
	err := wait.Until(ctx, func() bool {
		for _, c := range cs {
			if c.outstanding() > 0 || c.undelivered() > 0 {
				return false
			}
		}
		return true
	})
	stopSessions()
	var accepted, dups, lost int
	var resent int64
	for _, c := range cs {
		resent += c.resent.Load()
		c.mu.Lock()
		accepted += len(c.accepted)
		c.mu.Unlock()
		lost += c.undelivered()
		d, foreign := c.peer.received(c.idx)
		dups += d
		if foreign > 0 {
			t.Errorf("client %d received %d messages nobody sent it", c.peer.idx, foreign)
		}
		if n := c.failures.Load(); n > 0 {
			t.Errorf("client %d: %d sends refused for good", c.idx, n)
		}
	}
	t.Logf("%d kills; %d messages accepted, %d lost, %d duplicate deliveries (dropped by message ID), %d resent with the same ID, %d reconnections",
		kills, accepted, lost, dups, resent, totalReconnects(cs))
	if err != nil || lost > 0 {
		for _, c := range cs {
			t.Logf("client %d: %d outstanding, %d accepted and not delivered", c.idx, c.outstanding(), c.undelivered())
		}
		t.Fatalf("drain: %v; %d accepted messages lost\n%s", err, lost, proc.logTail())
	}
}

func totalAccepted(cs []*crashClient) int {
	n := 0
	for _, c := range cs {
		c.mu.Lock()
		n += len(c.accepted)
		c.mu.Unlock()
	}
	return n
}

func totalReconnects(cs []*crashClient) int64 {
	var n int64
	for _, c := range cs {
		n += c.sessions.Load() - 1
	}
	return n
}

// crashRelay is the relay binary run as a child process.
type crashRelay struct {
	bin, data, addr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    bytes.Buffer // standard error of every run
	out    codeLines    // standard output: the DEV CODE lines
}

func startCrashRelay(t *testing.T, ctx context.Context) *crashRelay {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "mutual")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/mutualcoop/mutual/cmd/mutual")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the relay: %v\n%s", err, out)
	}
	// A free port, kept for every restart.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &crashRelay{bin: bin, data: filepath.Join(dir, "data"), addr: addr}
	p.out.codes = make(map[string]string)
	p.out.changed = make(chan struct{})
	p.start(t, ctx)
	return p
}

// start runs the relay and waits until it answers /healthz.
func (p *crashRelay) start(t *testing.T, ctx context.Context) {
	t.Helper()
	cmd := exec.Command(p.bin, "serve", "--dev", "--listen", p.addr, "--data", p.data, "--log-level", "warn")
	cmd.Stdout = &p.out
	cmd.Stderr = &lockedWriter{mu: &p.mu, w: &p.log}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the relay: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited = cmd, exited
	p.mu.Unlock()
	client := &http.Client{Timeout: time.Second}
	err := wait.Until(ctx, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		resp, err := client.Get("http://" + p.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	select {
	case <-exited:
		t.Fatalf("the relay exited at start: %v\n%s", cmd.ProcessState, p.logTail())
	default:
	}
	if err != nil {
		t.Fatalf("the relay did not become healthy: %v\n%s", err, p.logTail())
	}
}

// kill ends the relay with SIGKILL and waits for it to be gone.
func (p *crashRelay) kill(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	<-exited
}

// stop ends the relay gracefully.
func (p *crashRelay) stop(t *testing.T) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	select {
	case <-exited:
		return
	default:
	}
	cmd.Process.Signal(syscall.SIGTERM)
	grace := time.NewTimer(15 * time.Second)
	defer grace.Stop()
	select {
	case <-exited:
		if !cmd.ProcessState.Success() {
			t.Errorf("relay stopped with %v\n%s", cmd.ProcessState, p.logTail())
		}
	case <-grace.C:
		cmd.Process.Kill()
		<-exited
		t.Errorf("relay did not stop on SIGTERM\n%s", p.logTail())
	}
}

func (p *crashRelay) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.log.String()
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return "relay log:\n" + s
}

func (p *crashRelay) url() string { return "ws://" + p.addr + "/v1/ws" }

// register signs a new account in with the code the relay prints.
func (p *crashRelay) register(t *testing.T, ctx context.Context, i int) *crashClient {
	return registerClient(t, ctx, p.url(), &p.out, fmt.Sprintf("email:crash-%d@mutual.test", i), i)
}

// registerClient signs a new account in at the relay at url with the code
// it prints, and returns it as a load-driving client.
func registerClient(t *testing.T, ctx context.Context, url string, codes *codeLines, addr string, i int) *crashClient {
	t.Helper()
	// Each client signs in from an address of its own, as people do: the
	// relay limits codes per address and client network.
	src := netip.AddrFrom4([4]byte{127, 0, 1 + byte(i/250), 1 + byte(i%250)})
	d := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))}
	conn, err := transport.Dial(ctx, url, transport.Options{DialContext: d.DialContext})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	token, err := conn.Register(ctx, addr)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	code, err := codes.wait(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	v, err := conn.Verify(ctx, addr, code, token, "test")
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	c := &crashClient{idx: i, user: v.User, device: v.Device, cred: v.Credential, stored: make(map[wire.MessageID]int), bodies: make(map[wire.MessageID]string), accepted: make(map[wire.MessageID]bool)}
	c.producing.Store(true)
	return c
}

func (p *crashRelay) auth(ctx context.Context, c *crashClient) (*transport.Conn, error) {
	conn, err := transport.Dial(ctx, p.url(), transport.Options{})
	if err != nil {
		return nil, err
	}
	if _, err := conn.Auth(ctx, c.user, c.device, c.cred); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// codeLines collects the DEV CODE lines a relay writes to its standard
// output.
type codeLines struct {
	mu      sync.Mutex
	partial []byte
	codes   map[string]string
	changed chan struct{}
}

func (c *codeLines) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, b...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		if f := strings.Fields(string(c.partial[:i])); len(f) == 4 && f[0] == "DEV" && f[1] == "CODE" {
			c.codes[f[2]] = f[3]
			close(c.changed)
			c.changed = make(chan struct{})
		}
		c.partial = c.partial[i+1:]
	}
}

func (c *codeLines) wait(ctx context.Context, addr string) (string, error) {
	for {
		c.mu.Lock()
		code, changed := c.codes[addr], c.changed
		c.mu.Unlock()
		if code != "" {
			return code, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return "", fmt.Errorf("no code for %s: %w", addr, ctx.Err())
		}
	}
}

// crashClient is one device that keeps reconnecting. It sends to peer:
// messages wait in an outbox until answered Accepted, and are resent with
// the same ID after a reconnect. It stores what it receives in memory,
// then acknowledges it.
type crashClient struct {
	idx    int
	user   wire.UserID
	device wire.DeviceID
	cred   []byte
	peer   *crashClient
	// compose, when set, writes the client's nth message instead of a
	// message to peer.
	compose func(n int) *wire.Send

	producing atomic.Bool  // new messages are still being written
	sessions  atomic.Int64 // connections made
	failures  atomic.Int64 // sends refused for a reason other than unavailable
	resent    atomic.Int64 // sends of a message already sent once

	mu       sync.Mutex
	next     int
	outbox   []*wire.Send // not yet answered Accepted, not in flight
	inflight int
	accepted map[wire.MessageID]bool

	rmu    sync.Mutex
	stored map[wire.MessageID]int // received message -> deliveries
	bodies map[wire.MessageID]string
}

// crashWindow is how many sends a client has in flight at once.
const crashWindow = 4

// run connects, sends and receives until stop is closed, reconnecting
// with exponential backoff and jitter whenever the connection ends.
func (c *crashClient) run(ctx context.Context, p *crashRelay, stop <-chan struct{}) {
	backoff := 20 * time.Millisecond
	for {
		select {
		case <-stop:
			return
		default:
		}
		conn, err := p.auth(ctx, c)
		if err != nil {
			var ce *transport.CloseError
			if errors.As(err, &ce) && ce.Code == wire.CloseAuthFailed {
				c.failures.Add(1)
				return
			}
			wait := time.NewTimer(backoff/2 + rand.N(backoff))
			select {
			case <-wait.C:
			case <-stop:
				wait.Stop()
				return
			}
			backoff = min(2*backoff, 500*time.Millisecond)
			continue
		}
		backoff = 20 * time.Millisecond
		c.sessions.Add(1)
		c.session(ctx, conn, stop)
	}
}

// session serves one connection until it ends or stop is closed.
func (c *crashClient) session(ctx context.Context, conn *transport.Conn, stop <-chan struct{}) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.receive(ctx, conn)
	}()
	for range crashWindow {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.send(ctx, conn)
		}()
	}
	select {
	case <-conn.Done():
	case <-stop:
		conn.Close()
	}
	wg.Wait()
}

// take returns the next message to send: one waiting in the outbox, else
// a new one while producing.
func (c *crashClient) take() *wire.Send {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s *wire.Send
	switch {
	case len(c.outbox) > 0:
		s = c.outbox[0]
		c.outbox = c.outbox[1:]
		c.resent.Add(1)
	case c.producing.Load() && c.compose != nil:
		c.next++
		s = c.compose(c.next)
	case c.producing.Load():
		c.next++
		s = &wire.Send{
			MessageID: wire.NewMessageID(), Kind: wire.KindMessage,
			Recipients: []wire.Recipient{{User: c.peer.user, Device: c.peer.device, Ciphertext: fmt.Appendf(nil, "m-%d-%d", c.idx, c.next)}},
		}
	default:
		return nil
	}
	c.inflight++
	return s
}

// done settles a send: accepted, or back to the outbox.
func (c *crashClient) done(s *wire.Send, accepted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	if accepted {
		c.accepted[s.MessageID] = true
		return
	}
	c.outbox = append(c.outbox, s)
}

func (c *crashClient) outstanding() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.outbox) + c.inflight
}

// send sends messages one at a time until the connection ends or there is
// nothing left to send.
func (c *crashClient) send(ctx context.Context, conn *transport.Conn) {
	for {
		s := c.take()
		if s == nil {
			return
		}
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		reply, err := conn.Request(rctx, s)
		cancel()
		switch r := reply.(type) {
		case *wire.Accepted:
			c.done(s, true)
			continue
		case *wire.Rejected:
			c.done(s, false)
			switch r.Code {
			case wire.CodeRateLimited:
				// Over the connection's send rate: slow down.
				wait := time.NewTimer(50 * time.Millisecond)
				select {
				case <-wait.C:
				case <-conn.Done():
					wait.Stop()
					return
				}
				continue
			case wire.CodeUnavailable:
				// Not stored: the relay's bus is unwell. Retry on a
				// new connection.
				conn.Close()
			default:
				c.failures.Add(1)
			}
			return
		}
		// No answer: the connection ended. The message may or may not be
		// durable; it is resent with the same ID after reconnecting.
		c.done(s, false)
		if err == nil {
			c.failures.Add(1)
		}
		return
	}
}

// receive stores every delivery, then acknowledges it.
func (c *crashClient) receive(ctx context.Context, conn *transport.Conn) {
	for d := range conn.Deliveries() {
		c.store(d)
		if err := conn.Send(ctx, &wire.Ack{Offset: d.Offset}); err != nil {
			return
		}
	}
}

func (c *crashClient) store(d *wire.Deliver) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.stored[d.Envelope.MessageID]++
	body := d.Envelope.Ciphertext
	if len(d.Envelope.Shared) > 0 {
		body = d.Envelope.Shared // a group message
	}
	c.bodies[d.Envelope.MessageID] = string(body)
}

// received counts the duplicate deliveries, and the messages that are
// not from client from, the one that sends to this one.
func (c *crashClient) received(from int) (dups, foreign int) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	prefix := fmt.Sprintf("m-%d-", from)
	for id, n := range c.stored {
		dups += n - 1
		if !strings.HasPrefix(c.bodies[id], prefix) {
			foreign++
		}
	}
	return dups, foreign
}

// undelivered counts the messages c's peer has not received of those
// answered Accepted.
func (c *crashClient) undelivered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.peer.rmu.Lock()
	defer c.peer.rmu.Unlock()
	n := 0
	for id := range c.accepted {
		if c.peer.stored[id] == 0 {
			n++
		}
	}
	return n
}
