// Package router is Mutual's "bot": it consumes the global `in` topic and
// appends each message to the inboxes of the recipients who want it.
//
// A recipient wants a message when the sender is on their allowlist
// (directory.Allowed), when it is the sender's own other device, or when it
// is a contact request (wire.KindRequest) from someone they have neither
// allowed nor blocked, within the request rate limits. Anything else is
// dropped, and the sender's inbox gets a wire.KindRejected record saying
// for whom and why, so the sending device can tell its user; except a
// request refused because of a block, which is dropped without a record
// so that its sender cannot tell a block from a request not answered.
//
// Delivery is at least once: the router's position in `in` moves past a
// batch only after every append for that batch is durable. After a crash
// the batch is routed again, and receivers drop the duplicates by message
// ID; a contact request routed again is let through again without being
// counted twice against its limits (the directory remembers it by message
// ID), so the sender is never told it was refused when it was delivered.
// Several routers may run (cluster mode); the bus's consumer group gives
// each partition of `in` to one of them.
package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Bus is what the router needs of the bus.
type Bus interface {
	Append(ctx context.Context, msgs ...bus.Message) error
	Consume(ctx context.Context, group, topic string, handle func(ctx context.Context, batch []bus.Record) error) error
}

// Directory is what the router needs of the directory.
type Directory interface {
	ContactState(ctx context.Context, owner, other wire.UserID) (directory.ContactState, error)
	NoteRequest(ctx context.Context, from, to wire.UserID, id wire.MessageID, now time.Time, lim directory.RequestLimits) (bool, error)
}

// Metrics receives counts of routing decisions. Nil fields are skipped.
type Metrics struct {
	Routed   func(n int)            // inbox records appended
	Rejected func(reason wire.Code) // messages refused for one recipient
	Batch    func(records int, d time.Duration)
}

// Config configures a Router.
type Config struct {
	Group    string                  // consumer group on `in`; default "router"
	Requests directory.RequestLimits // contact request limits
	// AllowCacheTTL is how long an "allowed" answer from the directory is
	// reused. Blocking someone takes effect after at most this long in
	// cluster mode; in one process the gateway calls Forget at once.
	AllowCacheTTL time.Duration // default 5s
	AllowCacheMax int           // entries; default 100,000
	Logger        *slog.Logger
	Metrics       Metrics
	Now           func() time.Time // for tests; default time.Now
}

func (c *Config) setDefaults() {
	if c.Group == "" {
		c.Group = "router"
	}
	if c.Requests == (directory.RequestLimits{}) {
		// One request to the same person a day; at most 20 a day from
		// one sender.
		c.Requests = directory.RequestLimits{PairWindow: 24 * time.Hour, PerSender: 20, SenderWindow: 24 * time.Hour}
	}
	if c.AllowCacheTTL == 0 {
		c.AllowCacheTTL = 5 * time.Second
	}
	if c.AllowCacheMax == 0 {
		c.AllowCacheMax = 100_000
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
	if c.AllowCacheTTL < 0 || c.AllowCacheMax < 0 {
		return errors.New("router: negative cache setting")
	}
	if c.Requests.PerSender < 0 || c.Requests.PairWindow < 0 || c.Requests.SenderWindow < 0 {
		return errors.New("router: negative request limit")
	}
	return nil
}

// Router routes messages from `in` to inboxes.
type Router struct {
	cfg Config
	bus Bus
	dir Directory

	mu      sync.Mutex
	allowed map[pair]time.Time // (owner, sender) -> allowed until
}

type pair struct{ owner, sender wire.UserID }

// New returns a router. Run starts it.
func New(cfg Config, b Bus, dir Directory) (*Router, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Router{cfg: cfg, bus: b, dir: dir, allowed: make(map[pair]time.Time)}, nil
}

// Run consumes `in` until ctx is done. A failed batch (the directory or
// the bus is down) is retried with backoff; Run returns only when ctx ends.
func (r *Router) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := r.bus.Consume(ctx, r.cfg.Group, bus.InTopic, r.Route)
		if ctx.Err() != nil {
			return nil
		}
		r.cfg.Logger.Warn("router: consume failed, retrying", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Forget drops what the router remembers about owner's decision on other,
// so a block takes effect at once.
func (r *Router) Forget(owner, other wire.UserID) {
	r.mu.Lock()
	delete(r.allowed, pair{owner, other})
	r.mu.Unlock()
}

// Route routes one batch of `in` records and returns once every resulting
// append is durable.
func (r *Router) Route(ctx context.Context, batch []bus.Record) error {
	start := r.cfg.Now()
	var out []bus.Message
	for i := range batch {
		msgs, err := r.routeOne(ctx, batch[i].Value)
		if err != nil {
			return fmt.Errorf("route %s/%d@%d: %w", batch[i].Topic, batch[i].Partition, batch[i].Offset, err)
		}
		out = append(out, msgs...)
	}
	if len(out) > 0 {
		if err := r.bus.Append(ctx, out...); err != nil {
			return fmt.Errorf("append to inboxes: %w", err)
		}
	}
	if m := r.cfg.Metrics; m.Routed != nil {
		m.Routed(len(out))
	}
	if m := r.cfg.Metrics; m.Batch != nil {
		m.Batch(len(batch), r.cfg.Now().Sub(start))
	}
	return nil
}

// routeOne decides one submitted message and returns the inbox records to
// append. Only directory failures are errors: a record the router cannot
// decode was written by a gateway of another version or is damaged, and
// is logged and dropped rather than blocking the partition forever.
func (r *Router) routeOne(ctx context.Context, value []byte) ([]bus.Message, error) {
	rec, err := bus.DecodeParcel(value)
	if err != nil {
		r.cfg.Logger.Error("router: dropping undecodable record", "err", err)
		return nil, nil
	}
	if rec.Kind != wire.KindMessage && rec.Kind != wire.KindRequest {
		r.cfg.Logger.Error("router: dropping record of unexpected kind", "kind", rec.Kind, "msg", rec.MessageID)
		return nil, nil
	}
	var out []bus.Message
	for _, group := range byUser(rec.Recipients) {
		to := group[0].User
		v, err := r.decide(ctx, rec, to)
		if err != nil {
			return nil, err
		}
		if v == deliver {
			inbox := *rec
			inbox.Recipients = group
			out = append(out, bus.Message{Topic: bus.InboxTopic(to), Value: bus.AppendParcel(nil, &inbox)})
			continue
		}
		if r.cfg.Metrics.Rejected != nil {
			r.cfg.Metrics.Rejected(v.code())
		}
		if v == drop {
			continue
		}
		notice := bus.Parcel{
			MessageID: rec.MessageID, Conversation: rec.Conversation,
			Sender: rec.Sender, SenderDevice: rec.SenderDevice,
			ServerTimeMS: rec.ServerTimeMS, Kind: wire.KindRejected,
			Code: v.code(), Subject: to,
		}
		out = append(out, bus.Message{Topic: bus.InboxTopic(rec.Sender), Value: bus.AppendParcel(nil, &notice)})
	}
	return out, nil
}

// verdict is what becomes of a message for one recipient.
type verdict int

const (
	deliver     verdict = iota
	notAccepted         // refused, and the sender is told: not_accepted
	rateLimited         // refused, and the sender is told: rate_limited
	// drop refuses without telling anyone: a request to someone who
	// blocked the sender. Its sender sees what a delivered request shows
	// (nothing until an answer), so a block cannot be told from silence.
	drop
)

// code is the reason a refused message gives.
func (v verdict) code() wire.Code {
	if v == rateLimited {
		return wire.CodeRateLimited
	}
	return wire.CodeNotAccepted
}

// decide returns what becomes of rec for to. A message (not a request)
// from someone to has not allowed is refused with not_accepted whether
// to never decided, removed them or blocked them: the sender cannot tell
// which.
func (r *Router) decide(ctx context.Context, rec *bus.Parcel, to wire.UserID) (verdict, error) {
	if to == rec.Sender {
		return deliver, nil // the sender's own other devices
	}
	if r.cachedAllowed(to, rec.Sender) {
		return deliver, nil
	}
	state, err := r.dir.ContactState(ctx, to, rec.Sender)
	if err != nil {
		return 0, err // the directory names the call
	}
	switch {
	case state == directory.Allowed:
		r.remember(to, rec.Sender)
		return deliver, nil
	case rec.Kind != wire.KindRequest:
		return notAccepted, nil
	}
	// A request to someone who blocked the sender counts against the
	// limits like any other, so that the limits do not reveal the block
	// either. Counted by message ID: the same request routed again (this
	// batch retried, or resent by its client) is let through, not refused.
	ok, err := r.dir.NoteRequest(ctx, rec.Sender, to, rec.MessageID, r.cfg.Now(), r.cfg.Requests)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return rateLimited, nil
	case state == directory.Blocked:
		return drop, nil
	}
	return deliver, nil
}

func (r *Router) cachedAllowed(owner, sender wire.UserID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.allowed[pair{owner, sender}]
	if ok && r.cfg.Now().Before(until) {
		return true
	}
	if ok {
		delete(r.allowed, pair{owner, sender})
	}
	return false
}

func (r *Router) remember(owner, sender wire.UserID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.allowed) >= r.cfg.AllowCacheMax {
		// Drop expired entries; if none expired, start over. Either way the
		// map stays bounded and the directory stays the source of truth.
		now := r.cfg.Now()
		for k, until := range r.allowed {
			if !now.Before(until) {
				delete(r.allowed, k)
			}
		}
		if len(r.allowed) >= r.cfg.AllowCacheMax {
			clear(r.allowed)
		}
	}
	r.allowed[pair{owner, sender}] = r.cfg.Now().Add(r.cfg.AllowCacheTTL)
}

// byUser groups recipients by user, keeping first-seen order.
func byUser(rs []wire.Recipient) [][]wire.Recipient {
	var groups [][]wire.Recipient
	for _, rc := range rs {
		found := false
		for i := range groups {
			if groups[i][0].User == rc.User {
				groups[i] = append(groups[i], rc)
				found = true
				break
			}
		}
		if !found {
			groups = append(groups, []wire.Recipient{rc})
		}
	}
	return groups
}
