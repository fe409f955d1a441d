package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Bus is what the gateway needs of the bus.
type Bus interface {
	CreateTopic(ctx context.Context, topic string, partitions int32) error
	Append(ctx context.Context, msgs ...bus.Message) error
	Subscribe(ctx context.Context, topic string, partition int32, offset int64) (bus.Subscription, error)
	Bounds(ctx context.Context, topic string, partition int32) (oldest, next int64, err error)
}

// Directory is what the gateway needs of the directory.
type Directory interface {
	AddVerifiedDevice(ctx context.Context, user wire.UserID, nd directory.NewDevice) (directory.Device, error)
	ApproveDevice(ctx context.Context, user wire.UserID, id wire.DeviceID, offset int64) error
	CreateLink(ctx context.Context, l directory.Link, now time.Time) error
	Link(ctx context.Context, code string) (directory.Link, error)
	ClaimLink(ctx context.Context, code string, user wire.UserID, provision []byte, offset int64, now time.Time) (wire.DeviceID, error)
	DeleteLink(ctx context.Context, code string) (directory.Link, error)
	Device(ctx context.Context, user wire.UserID, id wire.DeviceID) (directory.Device, error)
	Devices(ctx context.Context, user wire.UserID) ([]directory.Device, error)
	DeviceIDs(ctx context.Context, users []wire.UserID) (map[wire.UserID][]wire.DeviceID, error)
	RemoveDevice(ctx context.Context, user wire.UserID, id wire.DeviceID) error
	CommitOffsets(ctx context.Context, offsets []directory.DeviceOffset) error
	PublishKeys(ctx context.Context, user wire.UserID, device wire.DeviceID, k directory.Keys) error
	ClaimBundle(ctx context.Context, user wire.UserID, device wire.DeviceID) (directory.Bundle, error)
	LastResortBundle(ctx context.Context, user wire.UserID, device wire.DeviceID) (directory.Bundle, error)
	ContactState(ctx context.Context, owner, other wire.UserID) (directory.ContactState, error)
	PrekeyCounts(ctx context.Context, user wire.UserID, device wire.DeviceID) (directory.PrekeyCounts, error)
	SetContact(ctx context.Context, owner, other wire.UserID, state directory.ContactState, max int) error
	Contacts(ctx context.Context, owner wire.UserID, max int) ([]directory.Contact, error)
	UserCreated(ctx context.Context, user wire.UserID) (time.Time, error)
	ChangeGroup(ctx context.Context, c directory.GroupChange, lim directory.GroupLimits) error
	GroupMembers(ctx context.Context, group wire.ConversationID) ([]wire.UserID, error)
	SharesGroup(ctx context.Context, a, b wire.UserID) (bool, error)
	CreateBlob(ctx context.Context, b directory.Blob, lim directory.BlobLimits) error
	RenewBlobToken(ctx context.Context, id wire.BlobID, owner wire.UserID, tokenHash []byte, expires time.Time) (directory.Blob, error)
	BlobUsage(ctx context.Context, owner wire.UserID, since time.Time) (directory.BlobUsage, error)
	SetPushSubscription(ctx context.Context, s directory.PushSubscription) error
	DeletePushSubscription(ctx context.Context, user wire.UserID, device wire.DeviceID, endpoint string) error
	SetPushPresence(ctx context.Context, devices []directory.DeviceRef, until time.Time) error
}

// Accounts is what the gateway needs of account authentication.
type Accounts interface {
	// Request sends a code to a raw address typed by a person and returns
	// the token that binds the code to this request.
	Request(ctx context.Context, rawAddr, clientIP string) (token []byte, err error)
	// Verify checks the code, presented with its request's token, and
	// returns the account, creating it on first use.
	Verify(ctx context.Context, rawAddr, code string, token []byte, clientIP string) (user wire.UserID, created bool, err error)
	// Lookup finds the account registered under an address.
	Lookup(ctx context.Context, rawAddr string) (wire.UserID, error)
	// NewCredential returns a fresh device credential and the hash to store.
	NewCredential() (cred, hash []byte)
	// CheckCredential compares a presented credential with a stored hash
	// in constant time.
	CheckCredential(cred, hash []byte) bool
}

// Metrics receives the gateway's events. Nil fields are skipped.
type Metrics struct {
	Connected    func(delta int)              // +1 on accept, -1 on close
	Closed       func(code int)               // close code of each connection
	Frame        func(t wire.Type)            // each frame received
	Accepted     func(n int, d time.Duration) // messages made durable, and how long the append took
	Delivered    func(n int)                  // Deliver frames queued
	AuthFailures func()
	Refused      func(reason string)  // connections refused before the upgrade: network, unauthenticated or connections
	GroupRefused func(code wire.Code) // SetGroup requests refused, by the code of the answer
	// UploadGranted counts the uploads of new blobs granted, with their
	// sizes; UploadRefused the Upload requests refused, by code.
	UploadGranted func(size int64)
	UploadRefused func(code wire.Code)
}

// Config configures a Gateway. Zero fields take the defaults in
// setDefaults.
type Config struct {
	AuthTimeout     time.Duration // from the upgrade to authentication, in all; 30s
	PingInterval    time.Duration // keepalive pings after authentication; 30s
	WriteTimeout    time.Duration // one frame to the socket; 10s
	OutQueue        int           // frames waiting for the writer; 64
	SendQueue       int           // Sends waiting for the bus; 64
	Window          int           // unacknowledged deliveries per connection; 256
	OffsetFlush     time.Duration // how often acknowledged offsets reach the directory; 200ms
	PrekeyLow       int           // one-time prekeys left that trigger a notice; 10
	DeviceCache     time.Duration // how long a user's device list is reused; 2s
	MaxUnauthFrames int           // frames allowed before authentication; 10
	RefusalPause    time.Duration // longest wait before reading on after a rate_limited answer; 1s
	MaxContacts     int           // entries in an account's contact list; wire.MaxListEntries, and no more
	MaxGroups       int           // group lists an account is on, invited or joined; 1,000
	// GroupCache is how long a group's joined members are reused to
	// accept group messages: default, and at most, 2s. A list changed
	// through this gateway is read again at once.
	GroupCache time.Duration

	// Connection caps, checked before the WebSocket upgrade: a connection
	// over one is refused with 503 (429 for the per-network cap) and a
	// Retry-After. MaxConns counts every open connection (default 10,000;
	// the relay derives it from its open-file limit), MaxUnauth those not
	// yet authenticated (default a quarter of MaxConns, at most 4,096),
	// and MaxUnauthPerNetwork those not yet authenticated from one client
	// network, an IPv4 address or IPv6 /64 (limit.Network; default 32, at
	// most a quarter of MaxUnauth).
	MaxConns            int
	MaxUnauth           int
	MaxUnauthPerNetwork int

	ContactCache    time.Duration // how long a recipient's decision about a sender is reused; 2s
	RequestMaxBytes int           // ciphertext per device of a contact request; 16 KiB

	// Quota bounds what each account may have stored (see Quota).
	Quota Quota
	// Uploads bounds the attachments' blobs each account may upload
	// (see Uploads).
	Uploads Uploads

	// DiskFree reports the free and total bytes of the filesystem that
	// messages are written to; nil skips the check (a Kafka cluster
	// watches its own disks). While the free space is below the larger of
	// MinFreeBytes (default 1 GiB; negative: no check) and MinFreePercent
	// of the filesystem (default 2; negative: none), Send answers
	// unavailable.
	DiskFree       func() (free, total uint64, err error)
	MinFreeBytes   int64
	MinFreePercent float64

	// OriginPatterns are the extra browser origins allowed to connect
	// (same-origin is always allowed; native clients send no Origin).
	OriginPatterns []string
	// TrustForwardedFor takes the client IP for rate limits from the last
	// X-Forwarded-For entry: set it only behind a proxy that sets it.
	TrustForwardedFor bool

	// One-time prekeys handed out (prekeys.go). Past any of these, and to
	// someone the device's user blocked, a bundle carries no one-time
	// prekeys: what an empty pool gives.
	PrekeyPairRate   limit.Rate // taken by one account from one device; 2 a day
	PrekeyClaimRate  limit.Rate // taken by one account from all devices; 100 a day
	PrekeyDeviceRate limit.Rate // handed out by one device to all accounts; 20 an hour

	// Limits keeps the per-account and per-network rate limits. Every
	// gateway of one relay must share it (the directory's table in cluster
	// mode); nil keeps them in this process's memory.
	Limits limit.Store
	// Rates are the limits' values; zero fields take the defaults.
	Rates Rates

	// OnContactChange is called after a user changes what they decided
	// about another (the in-process router forgets its cached answer).
	OnContactChange func(owner, other wire.UserID)
	// OnGroupChange is called after a group's member list changes (the
	// in-process router forgets the members it cached).
	OnGroupChange func(group wire.ConversationID)

	// Linking a device (links.go): a link a new device waits on lives
	// LinkLifetime (default 10 minutes); the gateway it waits on reads
	// its row every LinkPoll (default 500 ms; a claim through the same
	// gateway wakes it at once); at most MaxLinkingPerNetwork connections
	// of one client network wait on this gateway at a time (default 3).
	LinkLifetime         time.Duration
	LinkPoll             time.Duration
	MaxLinkingPerNetwork int

	// Account protection (held.go): a device signed in by code alone to
	// an account with a device seen within ActiveWithin (default 30 days)
	// is held for HoldFor (default 7 days) unless a device approves it.
	// NoHold turns this off: no device is ever held (tests of other
	// things sign several devices in to one account by code).
	HoldFor      time.Duration
	ActiveWithin time.Duration
	NoHold       bool

	// Coop answers Coop frames, signs co-op notices (Welcome.CoopKey) and
	// counts sign-ins (coop.go); nil: Coop frames are answered
	// unavailable and Welcome carries no key.
	Coop Coop

	// Push takes the devices' Web Push subscriptions and gives Welcome
	// the relay's VAPID key (push.go); nil: SetPush is answered
	// unavailable and Welcome carries no key.
	Push Push
	// SharedPresence records in the directory which devices are connected
	// here, for the pushers of a cluster (push.go). One gateway alone
	// leaves it off: the pusher of its process asks it (Connected).
	SharedPresence bool

	Logger  *slog.Logger
	Metrics Metrics
	Now     func() time.Time
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	defInt := func(d *int, v int) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.AuthTimeout, 30*time.Second)
	def(&c.PingInterval, 30*time.Second)
	def(&c.WriteTimeout, 10*time.Second)
	def(&c.OffsetFlush, 200*time.Millisecond)
	def(&c.DeviceCache, 2*time.Second)
	def(&c.RefusalPause, time.Second)
	def(&c.ContactCache, 2*time.Second)
	def(&c.GroupCache, MaxGroupCache)
	def(&c.LinkLifetime, 10*time.Minute)
	def(&c.LinkPoll, 500*time.Millisecond)
	def(&c.HoldFor, 7*24*time.Hour)
	def(&c.ActiveWithin, 30*24*time.Hour)
	defInt(&c.MaxLinkingPerNetwork, 3)
	defInt(&c.MaxGroups, 1000)
	defInt(&c.RequestMaxBytes, 16<<10)
	c.Quota.setDefaults()
	c.Uploads.setDefaults()
	if c.MinFreeBytes == 0 {
		c.MinFreeBytes = 1 << 30
	}
	if c.MinFreePercent == 0 {
		c.MinFreePercent = 2
	}
	defInt(&c.OutQueue, 64)
	defInt(&c.SendQueue, 64)
	defInt(&c.Window, 256)
	defInt(&c.PrekeyLow, 10)
	defInt(&c.MaxUnauthFrames, 10)
	defInt(&c.MaxConns, 10000)
	defInt(&c.MaxUnauth, min(max(c.MaxConns/4, 1), 4096))
	// One network never takes more than a quarter of MaxUnauth.
	defInt(&c.MaxUnauthPerNetwork, min(max(c.MaxUnauth/4, 1), 32))
	c.Rates.setDefaults()
	defInt(&c.MaxContacts, wire.MaxListEntries)
	defRate := func(r *limit.Rate, v limit.Rate) {
		if *r == (limit.Rate{}) {
			*r = v
		}
	}
	defRate(&c.PrekeyPairRate, limit.PerDay(2))
	defRate(&c.PrekeyClaimRate, limit.PerDay(100))
	defRate(&c.PrekeyDeviceRate, limit.Rate{Every: 3 * time.Minute, Burst: 20})
	if c.Limits == nil {
		c.Limits = limit.NewMemory(1 << 20)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports a configuration that cannot work.
func (c *Config) Validate() error {
	switch {
	case c.AuthTimeout < 0, c.PingInterval < 0, c.WriteTimeout < 0, c.OffsetFlush < 0, c.DeviceCache < 0, c.RefusalPause < 0,
		c.LinkLifetime < 0, c.LinkPoll < 0, c.HoldFor < 0, c.ActiveWithin < 0:
		return errors.New("gateway: negative duration")
	case c.GroupCache < 0 || c.GroupCache > MaxGroupCache:
		return fmt.Errorf("gateway: group members cached for %v; at most %v", c.GroupCache, MaxGroupCache)
	case c.OutQueue < 0, c.SendQueue < 0, c.Window < 0, c.MaxUnauthFrames < 0, c.MaxContacts < 0, c.MaxGroups < 0,
		c.MaxConns < 0, c.MaxUnauth < 0, c.MaxUnauthPerNetwork < 0, c.MaxLinkingPerNetwork < 0:
		return errors.New("gateway: negative size")
	case c.MaxContacts > wire.MaxListEntries:
		return fmt.Errorf("gateway: at most %d contacts fit in one list", wire.MaxListEntries)
	case c.PrekeyPairRate.Off(), c.PrekeyClaimRate.Off(), c.PrekeyDeviceRate.Off():
		return errors.New("gateway: a one-time prekey limit is off")
	case c.ContactCache < 0 || c.RequestMaxBytes < 0:
		return errors.New("gateway: negative contact setting")
	case c.MinFreePercent >= 100:
		return errors.New("gateway: free disk percentage of 100 or more")
	}
	if err := c.Rates.validate(); err != nil {
		return err
	}
	if err := c.Uploads.validate(); err != nil {
		return err
	}
	return c.Quota.validate()
}

// MaxGroupCache is the longest a group's members may be cached: a message
// sent that long after a member's removal is refused (docs/protocol.md,
// Groups).
const MaxGroupCache = 2 * time.Second

// groupCacheMembers bounds the members cached over all groups.
const groupCacheMembers = 1 << 20

type devKey struct {
	user   wire.UserID
	device wire.DeviceID
}

// Gateway is the WebSocket endpoint. It is an http.Handler.
type Gateway struct {
	cfg      Config
	bus      Bus
	dir      Directory
	accounts Accounts
	offsets  *offsets
	devices  *deviceCache
	contacts *contactCache
	groups   *directory.MemberCache
	quota    []quotaRate
	disk     *diskGuard // nil: no check
	links    *linkWaiters

	mu     sync.Mutex
	conns  map[devKey]*conn // authenticated connections by device
	all    map[*conn]struct{}
	closed bool
	wg     sync.WaitGroup // connections
	adm    admission

	life      context.Context // ends with Shutdown
	stop      context.CancelFunc
	flusherWG sync.WaitGroup
	watchWG   sync.WaitGroup // the reader of removal announcements
	coopWG    sync.WaitGroup // sign-ins being told to the co-op
	presentWG sync.WaitGroup // the refresher of the cluster's presence
}

// New returns a gateway. It creates bus.ControlTopic if missing and reads
// removal announcements from its end; that reader and the offset flusher
// run until Shutdown or Close.
func New(cfg Config, b Bus, dir Directory, accounts Accounts) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	g := &Gateway{
		cfg: cfg, bus: b, dir: dir, accounts: accounts,
		offsets:  newOffsets(dir, cfg.Logger),
		devices:  newDeviceCache(cfg.DeviceCache, cfg.Now),
		contacts: newContactCache(cfg.ContactCache, cfg.Now),
		groups:   directory.NewMemberCache(cfg.GroupCache, groupCacheMembers, cfg.Now),
		quota:    cfg.Quota.rates(),
		disk:     newDiskGuard(&cfg),
		links:    newLinkWaiters(cfg.MaxLinkingPerNetwork),
		conns:    make(map[devKey]*conn),
		all:      make(map[*conn]struct{}),
		life:     ctx,
		stop:     stop,
	}
	if err := g.watchRemovals(ctx); err != nil {
		stop()
		return nil, err
	}
	g.flusherWG.Add(1)
	go func() {
		defer g.flusherWG.Done()
		g.offsets.run(ctx, cfg.OffsetFlush)
	}()
	if cfg.SharedPresence {
		g.presentWG.Go(func() { g.refreshPresence(ctx) })
	}
	return g, nil
}

// ServeHTTP upgrades the request to a WebSocket and serves it until the
// connection ends. A connection over one of the caps (Config.MaxConns...)
// is refused before the upgrade.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip := g.clientIP(r)
	network := limit.Network(ip)
	if why := g.adm.admit(&g.cfg, network); why != admitted {
		if f := g.cfg.Metrics.Refused; f != nil {
			f(why.String())
		}
		refuse(w, why)
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		OriginPatterns:  g.cfg.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled, // ciphertext does not compress
	})
	if err != nil {
		g.adm.release(network, true)
		return // Accept has written the HTTP error
	}
	ws.SetReadLimit(wire.MaxFrameSize)
	c := newConn(g, ws, ip)
	c.net, c.unauth = network, true
	defer func() { g.adm.release(network, c.unauth) }()
	if !g.track(c) {
		ws.Close(wire.CloseShutdown, "relay shutting down")
		return
	}
	defer g.untrack(c)
	c.serve()
}

func (g *Gateway) clientIP(r *http.Request) string {
	if g.cfg.TrustForwardedFor {
		if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
			parts := strings.Split(xff, ",")
			return strings.TrimSpace(parts[len(parts)-1])
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (g *Gateway) track(c *conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.all[c] = struct{}{}
	g.wg.Add(1)
	if f := g.cfg.Metrics.Connected; f != nil {
		f(1)
	}
	return true
}

func (g *Gateway) untrack(c *conn) {
	g.mu.Lock()
	delete(g.all, c)
	bound := c.authed() && g.conns[c.key] == c
	if bound {
		delete(g.conns, c.key)
	}
	g.mu.Unlock()
	if bound {
		g.markAbsent(c.key)
	}
	if f := g.cfg.Metrics.Connected; f != nil {
		f(-1)
	}
	g.wg.Done()
}

// bind makes c the connection of its device, closing an older one: a
// device has one delivery stream at a time.
func (g *Gateway) bind(c *conn) {
	g.mu.Lock()
	old := g.conns[c.key]
	g.conns[c.key] = c
	g.mu.Unlock()
	if old != nil {
		old.kick(wire.CloseReplaced, "signed in again elsewhere")
	}
}

// local returns the connection of a device on this gateway, if any.
func (g *Gateway) local(k devKey) *conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conns[k]
}

// Shutdown closes every connection with wire.CloseShutdown after letting
// each finish what it was doing (queued sends are made durable and
// answered), then writes the acknowledged offsets. If ctx ends first, the
// remaining connections are dropped.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	conns := make([]*conn, 0, len(g.all))
	for c := range g.all {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	for _, c := range conns {
		c.kick(wire.CloseShutdown, "relay restarting")
	}
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		for _, c := range conns {
			c.ws.CloseNow()
		}
		<-done
		err = ctx.Err()
	}
	g.stop()
	g.flusherWG.Wait()
	g.watchWG.Wait()
	g.coopWG.Wait()
	g.presentWG.Wait()
	if ferr := g.offsets.flush(context.WithoutCancel(ctx)); ferr != nil && err == nil {
		err = fmt.Errorf("flush offsets: %w", ferr)
	}
	return err
}

// Close drops every connection at once and writes the acknowledged offsets.
func (g *Gateway) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := g.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
