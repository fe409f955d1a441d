package gateway_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/bus/embedded"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/router"
	"github.com/mutualcoop/mutual/relay/wire"
)

// harness is a gateway on loopback with its real parts: the embedded bus
// and the SQLite directory in a temporary directory, the account service
// delivering codes through a ConsoleSender, and the router moving what is
// sent from `in` to the inboxes.
type harness struct {
	t     *testing.T
	gw    *gateway.Gateway
	url   string
	bus   *faultBus
	dir   *faultDir
	codes *codeBook
	clock *clock // the account service's: code lifetimes and gaps

	mu      sync.Mutex
	changes [][2]wire.UserID // OnContactChange calls
}

func newHarness(t *testing.T, tune func(*gateway.Config)) *harness {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	b, err := embedded.Open(embedded.Config{Dir: filepath.Join(tmp, "bus")})
	if err != nil {
		t.Fatal(err)
	}
	d, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(tmp, "directory.db")})
	if err != nil {
		b.Close()
		t.Fatal(err)
	}
	h := &harness{
		t:     t,
		bus:   &faultBus{Bus: b},
		dir:   &faultDir{Directory: d, failDevices: make(map[wire.UserID]bool)},
		codes: &codeBook{codes: make(map[string]string)},
		clock: &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)},
	}
	accounts, err := auth.New(auth.Config{
		Secret:            bytes.Repeat([]byte{7}, 32),
		RequestsPerWindow: 1000,
		RequestGap:        time.Second,
		NetBurst:          1000,
		VerifyNetBurst:    1000,
		Now:               h.clock.Now,
	}, d, auth.Senders{auth.SchemeEmail: auth.NewConsoleSender(h.codes)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic(ctx, bus.InTopic, 1); err != nil {
		t.Fatal(err)
	}
	r, err := router.New(router.Config{}, b, d)
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Config{OnContactChange: func(owner, other wire.UserID) {
		r.Forget(owner, other)
		h.mu.Lock()
		h.changes = append(h.changes, [2]wire.UserID{owner, other})
		h.mu.Unlock()
	}, OnGroupChange: r.ForgetGroup,
		// Tests of account protection turn it on; the others sign
		// several devices in to one account by code.
		NoHold: true,
	}
	if tune != nil {
		tune(&cfg)
	}
	h.gw, err = gateway.New(cfg, h.bus, h.dir, accounts)
	if err != nil {
		t.Fatal(err)
	}
	routerCtx, stopRouter := context.WithCancel(ctx)
	routerDone := make(chan struct{})
	go func() {
		defer close(routerDone)
		r.Run(routerCtx)
	}()
	srv := httptest.NewServer(h.gw)
	h.url = "ws" + strings.TrimPrefix(srv.URL, "http")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.gw.Shutdown(ctx); err != nil {
			t.Errorf("gateway shutdown: %v", err)
		}
		stopRouter()
		<-routerDone
		srv.Close()
		if err := b.Close(); err != nil {
			t.Errorf("close bus: %v", err)
		}
		if err := d.Close(); err != nil {
			t.Errorf("close directory: %v", err)
		}
	})
	return h
}

// contactChanges returns the OnContactChange calls so far.
func (h *harness) contactChanges() [][2]wire.UserID {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][2]wire.UserID(nil), h.changes...)
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// codeBook reads the lines of the ConsoleSender and keeps the last code of
// each address. Writing a code for an address at the domain
// bounce.example fails, as a mail server refusing it would.
type codeBook struct {
	mu    sync.Mutex
	codes map[string]string
}

func (c *codeBook) Write(b []byte) (int, error) {
	f := strings.Fields(string(b))
	if len(f) != 4 || f[0] != "DEV" || f[1] != "CODE" {
		return 0, fmt.Errorf("unexpected line %q", b)
	}
	if strings.HasSuffix(f[2], "@bounce.example") {
		return 0, errors.New("mailbox unavailable")
	}
	c.mu.Lock()
	c.codes[f[2]] = f[3]
	c.mu.Unlock()
	return len(b), nil
}

// code returns the last code sent to addr (in canonical form).
func (c *codeBook) code(t *testing.T, addr string) string {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	code, ok := c.codes[addr]
	if !ok {
		t.Fatalf("no code was sent to %s", addr)
	}
	return code
}

var errDirectoryDown = errors.New("directory down")

// faultDir is the SQLite directory with device lookups that fail for
// chosen users, and offset writes that can be held back.
type faultDir struct {
	*sqlite.Directory
	mu          sync.Mutex
	failDevices map[wire.UserID]bool
	hold        chan struct{} // when set, CommitOffsets waits for it to close
	holding     chan struct{} // told of each CommitOffsets that waits
}

// holdCommits makes CommitOffsets wait until release is called; started
// tells of each one that waits.
func (d *faultDir) holdCommits() (started <-chan struct{}, release func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	hold, holding := make(chan struct{}), make(chan struct{}, 16)
	d.hold, d.holding = hold, holding
	var once sync.Once
	return holding, func() { once.Do(func() { close(hold) }) }
}

func (d *faultDir) CommitOffsets(ctx context.Context, offsets []directory.DeviceOffset) error {
	d.mu.Lock()
	hold, holding := d.hold, d.holding
	d.mu.Unlock()
	if hold != nil {
		select {
		case holding <- struct{}{}:
		default:
		}
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return d.Directory.CommitOffsets(ctx, offsets)
}

func (d *faultDir) failDevicesOf(u wire.UserID) {
	d.mu.Lock()
	d.failDevices[u] = true
	d.mu.Unlock()
}

func (d *faultDir) Devices(ctx context.Context, u wire.UserID) ([]directory.Device, error) {
	d.mu.Lock()
	fail := d.failDevices[u]
	d.mu.Unlock()
	if fail {
		return nil, errDirectoryDown
	}
	return d.Directory.Devices(ctx, u)
}

func (d *faultDir) DeviceIDs(ctx context.Context, users []wire.UserID) (map[wire.UserID][]wire.DeviceID, error) {
	d.mu.Lock()
	fail := false
	for _, u := range users {
		fail = fail || d.failDevices[u]
	}
	d.mu.Unlock()
	if fail {
		return nil, errDirectoryDown
	}
	return d.Directory.DeviceIDs(ctx, users)
}

// faultBus is the embedded bus with appends that fail on demand.
type faultBus struct {
	*embedded.Bus
	failAppends atomic.Int32 // appends still to fail
}

func (b *faultBus) Append(ctx context.Context, msgs ...bus.Message) error {
	if b.failAppends.Add(-1) >= 0 {
		return errors.New("disk full")
	}
	return b.Bus.Append(ctx, msgs...)
}

// waitInbox waits until u's inbox holds n records.
func (h *harness) waitInbox(u wire.UserID, n int64) {
	h.t.Helper()
	ctx := ctxT(h.t)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		_, next, err := h.bus.Bounds(ctx, bus.InboxTopic(u), 0)
		if err != nil {
			h.t.Fatal(err)
		}
		if next >= n {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			h.t.Fatalf("the inbox holds %d records, want %d", next, n)
		}
	}
}

// ctxT is a context for one step of a test: long enough for a slow
// machine, short enough that a hang fails instead of stalling the run.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// client is a raw WebSocket connection to the gateway that speaks frames.
type client struct {
	t      *testing.T
	ws     *websocket.Conn
	nextID uint64
	pushed []wire.Frame // Deliver and Notice frames read while waiting for a reply
}

func (h *harness) dial(t *testing.T) *client {
	t.Helper()
	ws, _, err := websocket.Dial(ctxT(t), h.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(wire.MaxClientReadSize)
	t.Cleanup(func() { ws.CloseNow() })
	return &client{t: t, ws: ws}
}

// send writes one frame and returns its ID.
func (c *client) send(b wire.Body) uint64 {
	c.t.Helper()
	c.nextID++
	if err := c.ws.Write(ctxT(c.t), websocket.MessageBinary, wire.Encode(wire.Frame{ID: c.nextID, Body: b})); err != nil {
		c.t.Fatalf("write %s: %v", b.Type(), err)
	}
	return c.nextID
}

func (c *client) read() wire.Frame {
	c.t.Helper()
	typ, data, err := c.ws.Read(ctxT(c.t))
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageBinary {
		c.t.Fatalf("a %v frame from the relay", typ)
	}
	f, err := wire.DecodeFrame(data)
	if err != nil {
		c.t.Fatalf("decode: %v", err)
	}
	return f
}

// call sends a request and returns its answer, keeping the frames the
// relay sent on its own meanwhile.
func (c *client) call(b wire.Body) wire.Body {
	c.t.Helper()
	id := c.send(b)
	for {
		f := c.read()
		switch f.ID {
		case id:
			return f.Body
		case 0:
			c.pushed = append(c.pushed, f)
		default:
			c.t.Fatalf("answer to request %d while waiting for %d", f.ID, id)
		}
	}
}

// next returns the next frame the relay sent on its own.
func (c *client) next() wire.Frame {
	c.t.Helper()
	if len(c.pushed) > 0 {
		f := c.pushed[0]
		c.pushed = c.pushed[1:]
		return f
	}
	f := c.read()
	if f.ID != 0 {
		c.t.Fatalf("unexpected answer to request %d: %#v", f.ID, f.Body)
	}
	return f
}

// deliver returns the next Deliver frame.
func (c *client) deliver() *wire.Deliver {
	c.t.Helper()
	f := c.next()
	d, ok := f.Body.(*wire.Deliver)
	if !ok {
		c.t.Fatalf("got %#v, want a delivery", f.Body)
	}
	return d
}

// quiet checks that the relay sends nothing on its own before it answers
// a request sent now.
func (c *client) quiet() {
	c.t.Helper()
	if len(c.pushed) > 0 {
		c.t.Fatalf("unexpected %#v", c.pushed[0].Body)
	}
	c.call(&wire.ListContacts{})
	if len(c.pushed) > 0 {
		c.t.Fatalf("unexpected %#v", c.pushed[0].Body)
	}
}

// closeCode reads until the relay closes the connection and returns the
// close code.
func (c *client) closeCode() websocket.StatusCode {
	c.t.Helper()
	for {
		if _, _, err := c.ws.Read(ctxT(c.t)); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// device is a registered device and its connection.
type device struct {
	*client
	addr string
	user wire.UserID
	id   wire.DeviceID
	cred []byte
}

// register signs a new device in for addr with the code sent to it.
func (h *harness) register(t *testing.T, addr string) *device {
	t.Helper()
	return h.registerOn(t, h.dial(t), addr)
}

// registerOn signs a new device in under addr on the connection c.
func (h *harness) registerOn(t *testing.T, c *client, addr string) *device {
	t.Helper()
	h.clock.advance(2 * time.Second) // past the gap between two codes
	sent, ok := c.call(&wire.Register{Address: addr}).(*wire.CodeSent)
	if !ok {
		t.Fatalf("register %s: no code sent", addr)
	}
	got := c.call(&wire.Verify{Address: addr, Code: h.codes.code(t, addr), Token: sent.Token, DeviceName: "phone"})
	v, ok := got.(*wire.Verified)
	if !ok {
		t.Fatalf("verify %s: %#v", addr, got)
	}
	return &device{client: c, addr: addr, user: v.User, id: v.Device, cred: v.Credential}
}

// reconnect opens a new connection for d and authenticates it.
func (h *harness) reconnect(t *testing.T, d *device) *wire.Welcome {
	t.Helper()
	d.ws.CloseNow()
	d.client = h.dial(t)
	w, ok := d.call(&wire.Auth{User: d.user, Device: d.id, Credential: d.cred}).(*wire.Welcome)
	if !ok {
		t.Fatalf("auth failed")
	}
	return w
}

// allow has d accept messages from others.
func (d *device) allow(others ...*device) {
	d.t.Helper()
	for _, o := range others {
		if got := d.call(&wire.SetContact{User: o.user, State: wire.ContactAllowed}); !isOK(got) {
			d.t.Fatalf("set contact: %#v", got)
		}
	}
}

// to addresses a message to every given device.
func to(ds ...*device) []wire.Recipient {
	var rs []wire.Recipient
	for _, d := range ds {
		rs = append(rs, wire.Recipient{User: d.user, Device: d.id, Ciphertext: []byte(fmt.Sprintf("for %d", d.id))})
	}
	return rs
}

// mustSend sends a message and waits for Accepted.
func (d *device) mustSend(kind wire.Kind, rs []wire.Recipient) wire.MessageID {
	d.t.Helper()
	id := wire.NewMessageID()
	got := d.call(&wire.Send{MessageID: id, Kind: kind, Recipients: rs})
	if a, ok := got.(*wire.Accepted); !ok || a.MessageID != id {
		d.t.Fatalf("send: %#v, want accepted", got)
	}
	return id
}

func isOK(b wire.Body) bool {
	_, ok := b.(*wire.OK)
	return ok
}

// errorCode returns the code of an Error answer, or fails.
func errorCode(t *testing.T, b wire.Body) wire.Code {
	t.Helper()
	e, ok := b.(*wire.Error)
	if !ok {
		t.Fatalf("got %#v, want an error", b)
	}
	return e.Code
}

func prekey(id uint32, signed bool) wire.Prekey {
	p := wire.Prekey{ID: id, Public: bytes.Repeat([]byte{byte(id)}, 32)}
	if signed {
		p.Signature = bytes.Repeat([]byte{9}, 64)
	}
	return p
}

// keys is a complete set of public keys with n one-time prekeys.
func keys(n int) *wire.PublishKeys {
	s, k := prekey(1, true), prekey(2, true)
	pk := &wire.PublishKeys{Identity: bytes.Repeat([]byte{5}, 32), Signed: &s, KEMLastResort: &k}
	for i := range n {
		pk.OneTime = append(pk.OneTime, prekey(uint32(100+i), false))
	}
	return pk
}

// inboxRecord is one record of an inbox: its parcel, and its bytes.
type inboxRecord struct {
	*bus.Parcel
	Value []byte
}

// inboxRecords returns the records u's inbox holds.
func (h *harness) inboxRecords(t *testing.T, u wire.UserID) []inboxRecord {
	t.Helper()
	ctx := ctxT(t)
	oldest, next, err := h.bus.Bounds(ctx, bus.InboxTopic(u), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []inboxRecord
	if next == oldest {
		return nil
	}
	sub, err := h.bus.Subscribe(ctx, bus.InboxTopic(u), 0, oldest)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for int64(len(out)) < next-oldest {
		recs, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			p, err := bus.DecodeParcel(r.Value)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, inboxRecord{Parcel: p, Value: r.Value})
		}
	}
	return out
}
