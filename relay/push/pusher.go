package push

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Store is what the pusher needs of the directory.
type Store interface {
	PushSubscriptions(ctx context.Context, user wire.UserID) ([]directory.PushSubscription, error)
	DeletePushSubscription(ctx context.Context, user wire.UserID, device wire.DeviceID, endpoint string) error
}

// Results of a push, the label of Metrics.Sent.
const (
	ResultSent   = "sent"   // the push service took it
	ResultGone   = "gone"   // the subscription no longer exists, and was deleted
	ResultFailed = "failed" // anything else: refused, unreachable, too slow
)

// Metrics receives the pusher's counts. Nil fields are skipped.
type Metrics struct {
	Sent    func(result string) // each push sent, by result
	Dropped func()              // each record not looked at: the queue was full
}

// Config configures a Pusher.
type Config struct {
	Key     *Key
	Subject string   // VAPID's sub: mailto: or https: (required)
	Hosts   []string // the allowed push services; nil: DefaultHosts
	// Workers send pushes, each one at a time; default 8.
	Workers int
	// Queue is how many users may wait to be looked at; default 4,096.
	// Records for a user already waiting are merged into its entry.
	Queue int
	// Window is the least time between two pushes to one device; 5s.
	Window time.Duration
	// Timeout bounds one request to a push service; 10s.
	Timeout time.Duration
	// RootCAs are the certificates trusted for push services; nil: the
	// system's (tests trust their stand-in's).
	RootCAs *x509.CertPool
	// Connected reports whether a device is connected to a gateway of
	// this process, which is then the only gateway of the relay. Nil: a
	// cluster, where the directory's presence (OnlineUntil) says it.
	Connected func(user wire.UserID, device wire.DeviceID) bool

	Logger  *slog.Logger
	Metrics Metrics
	Now     func() time.Time
}

func (c *Config) setDefaults() {
	if c.Hosts == nil {
		c.Hosts = DefaultHosts()
	}
	if c.Workers == 0 {
		c.Workers = 8
	}
	if c.Queue == 0 {
		c.Queue = 4096
	}
	if c.Window == 0 {
		c.Window = 5 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
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
	case c.Key == nil:
		return errors.New("push: no VAPID key")
	case c.Workers < 0, c.Queue < 0, c.Window < 0, c.Timeout < 0:
		return errors.New("push: negative setting")
	}
	return CheckSubject(c.Subject)
}

// noSubsTTL is how long a user found without subscriptions is not looked
// up again (Forget ends it at once).
const noSubsTTL = time.Minute

// maxRemembered bounds the devices and users the pusher remembers.
const maxRemembered = 1 << 20

// Pusher sends the pushes that inbox records call for (see the package
// comment). Notify never blocks; Close stops the workers.
type Pusher struct {
	cfg    Config
	store  Store
	client *Client
	hosts  Hosts
	queue  chan *job

	mu      sync.Mutex
	waiting map[wire.UserID]*job              // queued and not yet taken
	pushed  map[directory.DeviceRef]time.Time // last push to each device
	noSubs  map[wire.UserID]time.Time         // users without subscriptions, until

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// job is one user to look at, and the conversations records came for.
type job struct {
	user  wire.UserID
	convs []wire.ConversationID // at most maxConvs, the first first
}

// maxConvs bounds the conversations one queued job keeps: a push names
// one; the others matter only for muted ones.
const maxConvs = 8

// New returns a pusher with its workers running.
func New(cfg Config, store Store) (*Pusher, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hosts, err := ParseHosts(cfg.Hosts)
	if err != nil {
		return nil, err
	}
	client, err := NewClient(ClientConfig{Key: cfg.Key, Subject: cfg.Subject, Hosts: hosts, Timeout: cfg.Timeout, RootCAs: cfg.RootCAs, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &Pusher{
		cfg: cfg, store: store, client: client, hosts: hosts,
		queue:   make(chan *job, cfg.Queue),
		waiting: make(map[wire.UserID]*job),
		pushed:  make(map[directory.DeviceRef]time.Time),
		noSubs:  make(map[wire.UserID]time.Time),
		stop:    stop,
	}
	for range cfg.Workers {
		p.wg.Go(func() { p.work(ctx) })
	}
	return p, nil
}

// PublicKey is the relay's VAPID public key (Welcome.push_key).
func (p *Pusher) PublicKey() []byte { return p.cfg.Key.PublicKey() }

// CheckEndpoint reports whether the relay would send to endpoint; its
// errors wrap ErrEndpoint.
func (p *Pusher) CheckEndpoint(endpoint string) error {
	_, err := p.hosts.Check(endpoint)
	return err
}

// Forget drops what the pusher remembers of user's subscriptions: the
// gateway of this process calls it when a device of user subscribes.
func (p *Pusher) Forget(user wire.UserID) {
	p.mu.Lock()
	delete(p.noSubs, user)
	p.mu.Unlock()
}

// Notify says that a record that wakes its recipient was appended to
// user's inbox in conversation conv. It never blocks: when the queue is
// full, the record is dropped and counted.
func (p *Pusher) Notify(user wire.UserID, conv wire.ConversationID) {
	now := p.cfg.Now()
	p.mu.Lock()
	if until, ok := p.noSubs[user]; ok {
		if now.Before(until) {
			p.mu.Unlock()
			return
		}
		delete(p.noSubs, user)
	}
	if j := p.waiting[user]; j != nil {
		if len(j.convs) < maxConvs && !contains(j.convs, conv) {
			j.convs = append(j.convs, conv)
		}
		p.mu.Unlock()
		return
	}
	j := &job{user: user, convs: []wire.ConversationID{conv}}
	select {
	case p.queue <- j:
		p.waiting[user] = j
		p.mu.Unlock()
	default:
		p.mu.Unlock()
		if m := p.cfg.Metrics.Dropped; m != nil {
			m()
		}
	}
}

func contains(cs []wire.ConversationID, c wire.ConversationID) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

// Close stops the workers after the pushes they are sending; what is
// still queued is dropped.
func (p *Pusher) Close() {
	p.stop()
	p.wg.Wait()
	p.client.http.CloseIdleConnections()
}

func (p *Pusher) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-p.queue:
			p.mu.Lock()
			delete(p.waiting, j.user)
			convs := j.convs
			p.mu.Unlock()
			p.handle(ctx, j.user, convs)
		}
	}
}

// handle pushes to the devices of user that want it: subscribed, not
// connected, not pushed within the window, and not muting every
// conversation the records came in (the push names the first one that is
// not muted).
func (p *Pusher) handle(ctx context.Context, user wire.UserID, convs []wire.ConversationID) {
	lctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	subs, err := p.store.PushSubscriptions(lctx, user)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			p.cfg.Logger.Warn("push: reading subscriptions failed", "err", err)
		}
		return
	}
	now := p.cfg.Now()
	if len(subs) == 0 {
		p.mu.Lock()
		if len(p.noSubs) >= maxRemembered {
			clear(p.noSubs)
		}
		p.noSubs[user] = now.Add(noSubsTTL)
		p.mu.Unlock()
		return
	}
	for _, s := range subs {
		conv, ok := firstUnmuted(s, convs)
		if !ok || p.connected(s, now) || !p.due(directory.DeviceRef{User: s.User, Device: s.Device}, now) {
			continue
		}
		p.send(ctx, s, conv)
	}
}

func firstUnmuted(s directory.PushSubscription, convs []wire.ConversationID) (wire.ConversationID, bool) {
	for _, c := range convs {
		if !s.IsMuted(c) {
			return c, true
		}
	}
	return wire.ConversationID{}, false
}

func (p *Pusher) connected(s directory.PushSubscription, now time.Time) bool {
	if p.cfg.Connected != nil {
		return p.cfg.Connected(s.User, s.Device)
	}
	return now.Before(s.OnlineUntil)
}

// due reports whether device may be pushed at now, and if so counts the
// push: at most one per Window.
func (p *Pusher) due(d directory.DeviceRef, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if last, ok := p.pushed[d]; ok && now.Sub(last) < p.cfg.Window && !now.Before(last) {
		return false
	}
	if len(p.pushed) >= maxRemembered {
		for k, t := range p.pushed {
			if now.Sub(t) >= p.cfg.Window {
				delete(p.pushed, k)
			}
		}
		if len(p.pushed) >= maxRemembered {
			clear(p.pushed)
		}
	}
	p.pushed[d] = now
	return true
}

// Payload is what a push carries, encrypted to the device: the
// conversation a record came in, so that the notification can open it.
func Payload(conv wire.ConversationID) []byte {
	return fmt.Appendf(nil, `{"v":1,"c":"%x"}`, conv[:])
}

func (p *Pusher) send(ctx context.Context, s directory.PushSubscription, conv wire.ConversationID) {
	err := p.client.Send(ctx, Subscription{Endpoint: s.Endpoint, P256dh: s.P256dh, Auth: s.Auth}, Payload(conv))
	result := ResultSent
	switch {
	case errors.Is(err, ErrGone):
		result = ResultGone
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
		derr := p.store.DeletePushSubscription(dctx, s.User, s.Device, s.Endpoint)
		cancel()
		if derr != nil {
			p.cfg.Logger.Warn("push: deleting a gone subscription failed", "err", derr)
		}
	case err != nil:
		result = ResultFailed
		if ctx.Err() == nil {
			// Client.Send's errors name no endpoint.
			p.cfg.Logger.Debug("push: send failed", "err", err)
		}
	}
	if m := p.cfg.Metrics.Sent; m != nil {
		m(result)
	}
}
