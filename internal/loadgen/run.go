package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/padding"
	"github.com/mutualcoop/mutual/relay/wire"
)

// client is one bench account with one device and one connection.
type client struct {
	idx  int
	addr string
	src  netip.Addr // the source address to connect from; zero for any
	self Peer
	cred []byte
	conn *transport.Conn
	enc  PayloadEncoder
	e2e  *E2E    // with end-to-end encryption: enc, made before registering
	peer *client // the client this one sends to
	conv wire.ConversationID
	// members: with Config.GroupSize, the clients of this client's group
	// (itself included), and conv is the group's ID.
	members []*client
	// devices: with Config.Devices, the account's other devices, which
	// receive what the account's members send and its own copies; they
	// send nothing.
	devices []*client
	// plain: registers with a minimal key set, never encrypts (the
	// flooding account and its recipients).
	plain bool

	quota atomic.Int64 // messages still to send
	seq   atomic.Uint64

	// Sender side, written by this client's senders.
	sendMu    sync.Mutex
	accepted  []wire.MessageID
	acceptLat []time.Duration

	// Receiver side, written by this client's receiver.
	recvMu  sync.Mutex
	seen    map[wire.MessageID]struct{}
	latency []time.Duration
}

// run is the state of one Run.
type run struct {
	cfg     Config
	clients []*client
	t0      time.Time // sending started

	sent, accepted, rejected, failed atomic.Int64
	delivered, dups, refused, bad    atomic.Int64
	lastAnswer, lastDelivery         atomic.Int64 // ns since t0

	mu         sync.Mutex
	rejectedBy map[wire.Code]int64
	warnOnce   sync.Once

	flood *flooder // with Config.Flood
}

// ackEvery is the most deliveries a receiver takes before acknowledging;
// it acknowledges sooner whenever no further delivery is waiting.
const ackEvery = 32

// Run performs one bench run against the relay at cfg.URL. It returns an
// error when the setup fails (a client cannot register or connect) or ctx
// ends; losses are in the Result, not an error.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	r := &run{cfg: cfg, rejectedBy: make(map[wire.Code]int64)}
	res := &Result{Clients: cfg.Clients, GroupSize: cfg.GroupSize, Devices: cfg.devices(), RejectedBy: r.rejectedBy, Payload: payloadMode(cfg)}
	defer r.closeAll()
	start := time.Now()
	if err := r.setup(ctx, res); err != nil {
		return nil, err
	}
	res.Setup = time.Since(start)
	if err := r.measure(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// payloadMode describes how cfg's payloads cross the relay.
func payloadMode(cfg Config) string {
	switch {
	case cfg.e2e() && cfg.GroupSize > 0:
		padded, _ := padding.Size(cfg.Size) // Validate checked the size
		return fmt.Sprintf("end-to-end encrypted (Sender Keys, %d bytes padded to %d)", cfg.Size, padded)
	case cfg.e2e():
		padded, _ := padding.Size(cfg.Size) // Validate checked the size
		return fmt.Sprintf("end-to-end encrypted (PQXDH sessions, %d bytes padded to %d)", cfg.Size, padded)
	case cfg.NewEncoder != nil:
		return "through the configured encoder"
	}
	return fmt.Sprintf("opaque, %d bytes, not encrypted", cfg.Size)
}

// measure starts the receivers, sends every message, waits for the
// deliveries and fills in res.
func (r *run) measure(ctx context.Context, res *Result) error {
	var receivers sync.WaitGroup
	for _, c := range r.all() {
		receivers.Add(1)
		go func() {
			defer receivers.Done()
			r.receive(ctx, c)
		}()
	}
	finish := func() {
		r.closeAll() // which ends the receivers
		receivers.Wait()
	}
	defer finish()

	metrics := &http.Client{Timeout: 10 * time.Second}
	var before RelayStats
	if r.cfg.MetricsURL != "" {
		var err error
		if before, err = ScrapeRelayStats(ctx, metrics, r.cfg.MetricsURL); err != nil {
			return err
		}
	}
	if r.cfg.OnSending != nil {
		defer r.cfg.OnSending()()
	}
	r.t0 = time.Now()
	stopFlood := func() {}
	if r.flood != nil {
		fctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			r.flood.run(fctx, r.cfg.SendTimeout)
		}()
		stopFlood = func() {
			cancel()
			<-done
			res.Flood = r.flood.result()
		}
		defer stopFlood()
	}
	if err := r.sendAll(ctx); err != nil {
		return err
	}
	res.Sending = time.Duration(r.lastAnswer.Load())
	fmt.Fprintf(r.cfg.Progress, "bench: %d sends answered in %s; waiting for deliveries\n", r.sent.Load(), FormatDuration(res.Sending))
	if err := r.drain(ctx); err != nil {
		return err
	}
	stopFlood()
	stopFlood = func() {}
	finish() // the counts are final once the receivers have stopped
	if r.cfg.MetricsURL != "" {
		after, err := ScrapeRelayStats(ctx, metrics, r.cfg.MetricsURL)
		if err != nil {
			return err
		}
		d := after.sub(before)
		res.Relay = &d
	}
	r.fill(res)
	return nil
}

// setup registers, connects and introduces the clients.
func (r *run) setup(ctx context.Context, res *Result) error {
	n := r.cfg.Clients
	r.clients = make([]*client, n)
	for i := range r.clients {
		r.clients[i] = &client{
			idx:  i,
			addr: fmt.Sprintf("email:bench-%s-%d@bench.test", r.cfg.RunID, i),
			src:  r.src(i),
			seen: make(map[wire.MessageID]struct{}),
		}
	}
	for i, c := range r.clients {
		c.peer = r.clients[(i+1)%n]
		c.quota.Store(int64(r.cfg.Messages / n))
		if i < r.cfg.Messages%n {
			c.quota.Add(1)
		}
		c.conv = wire.ConversationID(wire.NewMessageID())
	}
	if r.cfg.GroupSize > 0 {
		for i, c := range r.clients {
			c.members = r.groupOf(i)
			c.conv = c.members[0].conv
		}
	}

	start := time.Now()
	if err := r.forEach(ctx, r.register); err != nil {
		return err
	}
	if err := r.forEach(ctx, r.registerDevices); err != nil {
		return err
	}
	fmt.Fprintf(r.cfg.Progress, "bench: %d clients registered in %s\n", n, FormatDuration(time.Since(start)))

	var before uint64
	if r.cfg.Memory != nil {
		var err error
		if before, err = r.cfg.Memory(ctx); err != nil {
			return err
		}
	}
	start = time.Now()
	if err := r.forEach(ctx, r.connect); err != nil {
		return err
	}
	fmt.Fprintf(r.cfg.Progress, "bench: %d clients connected in %s\n", n, FormatDuration(time.Since(start)))
	if r.cfg.Memory != nil {
		after, err := r.cfg.Memory(ctx)
		if err != nil {
			return err
		}
		res.MemoryPerConn = (int64(after) - int64(before)) / int64(n)
		res.HaveMemory = true
		res.MemoryNote = r.cfg.MemoryNote
	}
	if err := r.forEach(ctx, r.connectDevices); err != nil {
		return err
	}
	if r.cfg.GroupSize > 0 {
		if err := r.forEach(ctx, r.createGroup); err != nil {
			return err
		}
		if err := r.forEach(ctx, r.joinGroup); err != nil {
			return err
		}
		fmt.Fprintf(r.cfg.Progress, "bench: %d groups of %d made\n", (n+r.cfg.GroupSize-1)/r.cfg.GroupSize, r.cfg.GroupSize)
	} else if err := r.forEach(ctx, r.introduce); err != nil {
		return err
	}
	switch {
	case r.cfg.e2e() && r.cfg.GroupSize > 0:
		if err := r.distributeSenderKeys(); err != nil {
			return err
		}
	case r.cfg.e2e():
		start = time.Now()
		if err := r.forEach(ctx, r.startSession); err != nil {
			return err
		}
		if err := r.handshake(); err != nil {
			return err
		}
		fmt.Fprintf(r.cfg.Progress, "bench: %d end-to-end sessions set up in %s\n", n, FormatDuration(time.Since(start)))
		for _, c := range r.clients {
			c.enc = c.e2e
		}
	case r.cfg.NewEncoder != nil:
		for _, c := range r.clients {
			c.enc = r.cfg.NewEncoder(c.self)
		}
	default:
		for _, c := range r.all() {
			c.enc = Opaque{}
		}
	}
	if r.cfg.Flood != nil {
		return r.setupFlood(ctx)
	}
	return nil
}

// startSession fetches, through the relay, the bundle of the device c
// sends to and sets up a session with it, as a client does before its
// first message.
func (r *run) startSession(ctx context.Context, c *client) error {
	to := c.peer.self
	b, err := transport.Call[*wire.Bundles](ctx, c.conn, &wire.FetchBundles{User: to.User})
	if err != nil {
		return fmt.Errorf("client %d fetches bundles: %w", c.idx, err)
	}
	for i := range b.Bundles {
		if b.Bundles[i].Device == to.Device {
			if err := c.e2e.Start(ctx, to, &b.Bundles[i]); err != nil {
				return fmt.Errorf("client %d: %w", c.idx, err)
			}
			return nil
		}
	}
	return fmt.Errorf("client %d: no bundle for the device it sends to", c.idx)
}

// handshake makes every session an answered one, before anything is
// timed: each client encrypts a first message (a PreKeySignalMessage) to
// the client it sends to, which decrypts it and answers. Without the
// answer every message of the run would stay a PreKeySignalMessage, since
// the ring never sends the other way. These two messages are handed over
// in this process, not through the relay; everything timed crosses the
// relay. One client at a time, so that with two clients the sessions each
// way do not cross.
func (r *run) handshake() error {
	hello := appendPayload(nil, payload{}, PayloadHeader)
	for _, c := range r.clients {
		to := c.peer
		first, err := c.e2e.Encode(to.self, hello)
		if err != nil {
			return fmt.Errorf("client %d: first message: %w", c.idx, err)
		}
		if _, err := to.e2e.Decode(c.self, first); err != nil {
			return fmt.Errorf("client %d: first message from %d: %w", to.idx, c.idx, err)
		}
		answer, err := to.e2e.Encode(c.self, hello)
		if err != nil {
			return fmt.Errorf("client %d: answer: %w", to.idx, err)
		}
		if _, err := c.e2e.Decode(to.self, answer); err != nil {
			return fmt.Errorf("client %d: answer from %d: %w", c.idx, to.idx, err)
		}
	}
	return nil
}

// forEach calls f for every client, SetupParallel at a time.
func (r *run) forEach(ctx context.Context, f func(context.Context, *client) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.cfg.SetupParallel)
	for _, c := range r.clients {
		g.Go(func() error { return f(gctx, c) })
	}
	return g.Wait()
}

func (r *run) dial(ctx context.Context, c *client) (*transport.Conn, error) {
	opts := transport.Options{Client: "mutual-bench/1", DeliveryBuffer: 256}
	if c.src.IsValid() {
		d := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(c.src, 0))}
		opts.DialContext = d.DialContext
	}
	return transport.Dial(ctx, r.cfg.URL, opts)
}

// src is client i's source address, if the run gives each its own.
func (r *run) src(i int) netip.Addr {
	if !r.cfg.LocalNet.IsValid() {
		return netip.Addr{}
	}
	return sourceAddr(r.cfg.LocalNet, i)
}

// sourceAddr is client i's own address in p: for IPv4 the i-th after
// p's first address, skipping those ending in .0 or .255 so that none is
// a network or broadcast address; for IPv6 the (i+1)-th.
func sourceAddr(p netip.Prefix, i int) netip.Addr {
	base := p.Masked().Addr()
	if !base.Is4() {
		b := base.As16()
		off := uint64(i + 1)
		for k := 15; k >= 8 && off > 0; k-- {
			sum := uint64(b[k]) + off&0xff
			b[k] = byte(sum)
			off = off>>8 + sum>>8
		}
		return netip.AddrFrom16(b)
	}
	b := base.As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += uint32(i/254)*256 + uint32(i%254) + 1
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// register signs the client's device in with a fresh code and publishes
// its keys. The connection is closed afterwards: connect opens the one
// the run uses, so that memory is measured for connections alone.
func (r *run) register(ctx context.Context, c *client) error {
	if r.cfg.e2e() && c.e2e == nil && !c.plain {
		e, err := NewE2E(nil)
		if err != nil {
			return fmt.Errorf("client %d keys: %w", c.idx, err)
		}
		c.e2e = e
	}
	for {
		err := r.tryRegister(ctx, c)
		var e *wire.Error
		if !errors.As(err, &e) || e.Code != wire.CodeRateLimited || e.RetryAfterMS == 0 {
			if err != nil {
				return fmt.Errorf("register client %d: %w", c.idx, err)
			}
			return nil
		}
		// The relay's per-network code limit: wait as told.
		r.warnOnce.Do(func() {
			fmt.Fprintf(r.cfg.Progress, "bench: the relay limits code requests from this network; waiting as it says (%s at a time)\n",
				FormatDuration(time.Duration(e.RetryAfterMS)*time.Millisecond))
		})
		t := time.NewTimer(time.Duration(e.RetryAfterMS) * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("register client %d: %w", c.idx, ctx.Err())
		}
	}
}

func (r *run) tryRegister(ctx context.Context, c *client) error {
	conn, err := r.dial(ctx, c)
	if err != nil {
		return err
	}
	defer conn.Close()
	token, err := conn.Register(ctx, c.addr)
	if err != nil {
		return err
	}
	code, err := r.cfg.Codes.WaitCode(ctx, c.addr)
	if err != nil {
		return err
	}
	v, err := conn.Verify(ctx, c.addr, code, token, "bench")
	if err != nil {
		return err
	}
	c.self = Peer{User: v.User, Device: v.Device}
	c.cred = v.Credential
	keys := minimalKeys()
	if c.e2e != nil {
		keys = c.e2e.PublishKeys()
	}
	if _, err := transport.Call[*wire.OK](ctx, conn, keys); err != nil {
		return fmt.Errorf("publish keys: %w", err)
	}
	return nil
}

// minimalKeys is a key set of the right shape for the relay, which keeps
// keys opaque: an identity key, a signed prekey and a last-resort KEM
// prekey, without one-time prekeys.
func minimalKeys() *wire.PublishKeys {
	return &wire.PublishKeys{
		Identity:      bytes.Repeat([]byte{5}, 33),
		Signed:        &wire.Prekey{ID: 1, Public: bytes.Repeat([]byte{6}, 33), Signature: bytes.Repeat([]byte{7}, 64)},
		KEMLastResort: &wire.Prekey{ID: 2, Public: bytes.Repeat([]byte{8}, 1569), Signature: bytes.Repeat([]byte{9}, 64)},
	}
}

func (r *run) connect(ctx context.Context, c *client) error {
	conn, err := r.dial(ctx, c)
	if err != nil {
		return fmt.Errorf("connect client %d: %w", c.idx, err)
	}
	if _, err := conn.Auth(ctx, c.self.User, c.self.Device, c.cred); err != nil {
		conn.Close()
		return fmt.Errorf("authenticate client %d: %w", c.idx, err)
	}
	c.conn = conn
	return nil
}

// introduce makes the client allow both its ring neighbours.
func (r *run) introduce(ctx context.Context, c *client) error {
	n := len(r.clients)
	prev, next := r.clients[(c.idx+n-1)%n], c.peer
	for _, o := range []*client{prev, next} {
		if _, err := transport.Call[*wire.OK](ctx, c.conn, &wire.SetContact{User: o.self.User, State: wire.ContactAllowed}); err != nil {
			return fmt.Errorf("client %d allows %d: %w", c.idx, o.idx, err)
		}
		if prev == next {
			break
		}
	}
	return nil
}

func (r *run) since() time.Duration { return time.Since(r.t0) }

// storeMax raises a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// sendAll runs every client's senders until all messages are sent and
// answered.
func (r *run) sendAll(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tokens chan struct{}
	var wg sync.WaitGroup
	if r.cfg.Rate > 0 {
		tokens = make(chan struct{}, 64)
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.pace(sctx, tokens)
		}()
	}
	var senders sync.WaitGroup
	for _, c := range r.clients {
		for range r.cfg.InFlight {
			senders.Add(1)
			go func() {
				defer senders.Done()
				r.sender(sctx, c, tokens)
			}()
		}
	}
	senders.Wait()
	cancel()
	wg.Wait()
	return ctx.Err()
}

// pace releases one token per message at cfg.Rate, catching up at once
// when it falls behind.
func (r *run) pace(ctx context.Context, tokens chan<- struct{}) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	total := int64(r.cfg.Messages)
	var released int64
	for released < total {
		due := min(total, int64(r.cfg.Rate*r.since().Seconds())+1)
		for ; released < due; released++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// sender sends c's messages one at a time until c's quota is used up.
func (r *run) sender(ctx context.Context, c *client, tokens <-chan struct{}) {
	var buf []byte
	to := c.peer.self
	for c.quota.Add(-1) >= 0 {
		if tokens != nil {
			select {
			case <-tokens:
			case <-ctx.Done():
				return
			}
		}
		sent := r.since()
		r.sent.Add(1)
		buf = appendPayload(buf[:0], payload{sent: int64(sent), seq: c.seq.Add(1), sender: uint32(c.idx)}, r.cfg.Size)
		data, err := c.enc.Encode(to, buf)
		if err != nil {
			r.failed.Add(1)
			continue
		}
		id := wire.NewMessageID()
		send := &wire.Send{
			MessageID: id, Conversation: c.conv, Kind: wire.KindMessage,
			Recipients: []wire.Recipient{{User: to.User, Device: to.Device, Ciphertext: data}},
		}
		if c.members != nil {
			send = groupSend(c, id, data)
		}
		sctx, cancel := context.WithTimeout(ctx, r.cfg.SendTimeout)
		reply, err := c.conn.Request(sctx, send)
		cancel()
		now := r.since()
		storeMax(&r.lastAnswer, int64(now))
		var e *wire.Error
		switch b := reply.(type) {
		case *wire.Accepted:
			r.accepted.Add(1)
			c.sendMu.Lock()
			c.accepted = append(c.accepted, id)
			c.acceptLat = append(c.acceptLat, now-sent)
			c.sendMu.Unlock()
		case *wire.Rejected:
			r.reject(b.Code)
		default:
			switch {
			case errors.As(err, &e):
				r.reject(e.Code)
			case ctx.Err() != nil:
				return
			default:
				r.failed.Add(1)
			}
		}
	}
}

func (r *run) reject(code wire.Code) {
	r.rejected.Add(1)
	r.mu.Lock()
	r.rejectedBy[code]++
	r.mu.Unlock()
}

// receive takes c's deliveries until its connection closes, acknowledging
// them in batches.
func (r *run) receive(ctx context.Context, c *client) {
	dl := c.conn.Deliveries()
	pending := 0
	for d := range dl {
		r.handle(c, d)
		pending++
		if pending >= ackEvery || len(dl) == 0 {
			// A failed ack means the connection is ending, which closes
			// dl.
			_ = c.conn.Send(ctx, &wire.Ack{Offset: d.Offset})
			pending = 0
		}
	}
}

func (r *run) handle(c *client, d *wire.Deliver) {
	env := &d.Envelope
	data := env.Ciphertext
	switch env.Kind {
	case wire.KindMessage:
	case wire.KindGroup:
		data = env.Shared
	case wire.KindRejected:
		r.refused.Add(1)
		return
	default:
		r.bad.Add(1)
		return
	}
	plain, err := c.enc.Decode(Peer{User: env.Sender, Device: env.SenderDevice}, data)
	if err != nil {
		r.bad.Add(1)
		return
	}
	p, err := decodePayload(plain)
	if err != nil {
		r.bad.Add(1)
		return
	}
	now := r.since()
	c.recvMu.Lock()
	if _, dup := c.seen[env.MessageID]; dup {
		c.recvMu.Unlock()
		r.dups.Add(1)
		return
	}
	c.seen[env.MessageID] = struct{}{}
	c.latency = append(c.latency, now-time.Duration(p.sent))
	c.recvMu.Unlock()
	r.delivered.Add(1)
	storeMax(&r.lastDelivery, int64(now))
}

// drain waits until every accepted message has been delivered, or
// DrainTimeout passes.
func (r *run) drain(ctx context.Context) error {
	deadline := time.NewTimer(r.cfg.DrainTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if r.delivered.Load() >= r.accepted.Load()*r.fanOut() && r.lost() == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// lost counts the deliveries of accepted messages their recipients have
// not received: one per message, or with groups one per other member.
func (r *run) lost() int64 {
	var n int64
	for _, c := range r.clients {
		to := []*client{c.peer}
		if c.members != nil {
			to = recipients(c)
		}
		c.sendMu.Lock()
		for _, p := range to {
			p.recvMu.Lock()
			for _, id := range c.accepted {
				if _, ok := p.seen[id]; !ok {
					n++
				}
			}
			p.recvMu.Unlock()
		}
		c.sendMu.Unlock()
	}
	return n
}

// fanOut is how many deliveries each message makes.
func (r *run) fanOut() int64 {
	if r.cfg.GroupSize > 0 {
		d := int64(r.cfg.devices())
		return int64(r.cfg.GroupSize-1)*d + d - 1
	}
	return 1
}

func (r *run) closeAll() {
	for _, c := range r.all() {
		if c.conn != nil {
			c.conn.Close()
		}
	}
}

// fill copies the counts into res once the receivers have stopped.
func (r *run) fill(res *Result) {
	res.Sent, res.Accepted, res.Rejected, res.Failed = r.sent.Load(), r.accepted.Load(), r.rejected.Load(), r.failed.Load()
	res.Delivered, res.Duplicates, res.Refused, res.Malformed = r.delivered.Load(), r.dups.Load(), r.refused.Load(), r.bad.Load()
	res.Lost = r.lost()
	res.Elapsed = time.Duration(max(r.lastDelivery.Load(), r.lastAnswer.Load()))
	var lat, acc []time.Duration
	for _, c := range r.all() {
		lat = append(lat, c.latency...)
		acc = append(acc, c.acceptLat...)
	}
	res.Latency = percentiles(lat)
	res.AcceptLatency = percentiles(acc)
}
