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
// A group message (wire.KindGroup) names its group by its conversation
// ID. It goes to the recipients who have joined the group (and the
// sender's own other devices), each getting one inbox record with the
// shared ciphertext once and their devices' own parts; a recipient who has
// not joined gets nothing, and the sender a wire.KindRejected record
// naming them. A group message from someone who has not joined the group
// is dropped whole, without a record (the gateway refuses it before it is
// stored; this catches a list changed in between). Who has joined is read
// from a cache at most Config.GroupCacheTTL old, which the gateway of the
// same process clears at once when a list changes (ForgetGroup).
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
	GroupMembers(ctx context.Context, group wire.ConversationID) ([]wire.UserID, error)
	NoteRequest(ctx context.Context, from, to wire.UserID, id wire.MessageID, now time.Time, lim directory.RequestLimits) (bool, error)
}

// Metrics receives counts of routing decisions. Nil fields are skipped.
type Metrics struct {
	Routed   func(n int)            // inbox records appended
	Rejected func(reason wire.Code) // messages refused for one recipient
	Batch    func(records int, d time.Duration)
	// GroupFanout is told, for each group message routed, how many users'
	// inboxes received it (the sender's own included).
	GroupFanout func(users int)
	// GroupDropped counts group messages dropped whole: their sender had
	// not joined the group.
	GroupDropped func()
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
	// GroupCacheTTL is how long a group's joined members are reused:
	// default, and at most, 2s (the protocol's promise). A list changed
	// through the gateway of this process is read again at once.
	GroupCacheTTL time.Duration
	// GroupCacheMembers bounds the members cached over all groups;
	// default 1<<20.
	GroupCacheMembers int
	// Wake is told, once a batch's appends are durable, of each record
	// appended to an inbox that should wake its recipient's devices
	// (relay/push): a message, request or group message the sender did
	// not mark silent, to a user other than the sender. It must not
	// block. A batch routed again after a failure may tell it twice.
	Wake    func(user wire.UserID, conv wire.ConversationID)
	Logger  *slog.Logger
	Metrics Metrics
	Now     func() time.Time // for tests; default time.Now
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
	if c.GroupCacheTTL == 0 {
		c.GroupCacheTTL = MaxGroupCacheTTL
	}
	if c.GroupCacheMembers == 0 {
		c.GroupCacheMembers = 1 << 20
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
	if c.AllowCacheTTL < 0 || c.AllowCacheMax < 0 || c.GroupCacheTTL < 0 || c.GroupCacheMembers < 0 {
		return errors.New("router: negative cache setting")
	}
	if c.GroupCacheTTL > MaxGroupCacheTTL {
		return fmt.Errorf("router: group members cached for %v, more than %v", c.GroupCacheTTL, MaxGroupCacheTTL)
	}
	if c.Requests.PerSender < 0 || c.Requests.PairWindow < 0 || c.Requests.SenderWindow < 0 {
		return errors.New("router: negative request limit")
	}
	return nil
}

// MaxGroupCacheTTL is the longest a group's members may be cached: a
// message sent that long after a removal no longer reaches the removed
// member (docs/protocol.md, Groups).
const MaxGroupCacheTTL = 2 * time.Second

// Router routes messages from `in` to inboxes.
type Router struct {
	cfg    Config
	bus    Bus
	dir    Directory
	groups *directory.MemberCache

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
	return &Router{
		cfg: cfg, bus: b, dir: dir,
		groups:  directory.NewMemberCache(cfg.GroupCacheTTL, cfg.GroupCacheMembers, cfg.Now),
		allowed: make(map[pair]time.Time),
	}, nil
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

// ForgetGroup drops what the router remembers of a group's members, so
// that a change of its list takes effect at once.
func (r *Router) ForgetGroup(group wire.ConversationID) { r.groups.Forget(group) }

// Route routes one batch of `in` records and returns once every resulting
// append is durable.
func (r *Router) Route(ctx context.Context, batch []bus.Record) error {
	start := r.cfg.Now()
	var out []bus.Message
	var wakes []wake
	for i := range batch {
		msgs, err := r.routeOne(ctx, batch[i].Value, &wakes)
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
	if r.cfg.Wake != nil {
		for _, w := range wakes {
			r.cfg.Wake(w.user, w.conv)
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

// wake is a recipient to wake once the batch is durable (Config.Wake).
type wake struct {
	user wire.UserID
	conv wire.ConversationID
}

// routeOne decides one submitted message and returns the inbox records to
// append, adding the recipients to wake to wakes. Only directory failures are errors: a record the router cannot
// decode was written by a gateway of another version or is damaged, and
// is logged and dropped rather than blocking the partition forever.
func (r *Router) routeOne(ctx context.Context, value []byte, wakes *[]wake) ([]bus.Message, error) {
	rec, err := bus.DecodeParcel(value)
	if err != nil {
		r.cfg.Logger.Error("router: dropping undecodable record", "err", err)
		return nil, nil
	}
	var joined map[wire.UserID]bool
	switch rec.Kind {
	case wire.KindMessage, wire.KindRequest:
	case wire.KindGroup:
		if joined, err = r.groups.Joined(ctx, r.dir, rec.Conversation); err != nil {
			return nil, err
		}
		if !joined[rec.Sender] {
			// Neither the group nor the sender is logged: the log
			// must not say who writes to which group.
			r.cfg.Logger.Debug("router: dropping a group message from someone who has not joined the group", "msg", rec.MessageID)
			if m := r.cfg.Metrics.GroupDropped; m != nil {
				m()
			}
			return nil, nil
		}
	default:
		r.cfg.Logger.Error("router: dropping record of unexpected kind", "kind", rec.Kind, "msg", rec.MessageID)
		return nil, nil
	}
	var out []bus.Message
	fanout := 0
	for _, group := range byUser(rec.Recipients) {
		to := group[0].User
		var v verdict
		if rec.Kind == wire.KindGroup {
			v = member(rec, joined, to)
		} else if v, err = r.decide(ctx, rec, to); err != nil {
			return nil, err
		}
		if v == deliver {
			inbox := *rec
			inbox.Recipients = group
			out = append(out, bus.Message{Topic: bus.InboxTopic(to), Value: bus.AppendParcel(nil, &inbox)})
			fanout++
			if !rec.Silent && to != rec.Sender {
				*wakes = append(*wakes, wake{to, rec.Conversation})
			}
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
	if m := r.cfg.Metrics.GroupFanout; m != nil && rec.Kind == wire.KindGroup {
		m(fanout)
	}
	return out, nil
}

// member decides a group message for to: delivered to a user who has
// joined the group (and to the sender's own other devices), refused with
// not_accepted to anyone else (invited only, left, removed, a stranger).
func member(rec *bus.Parcel, joined map[wire.UserID]bool, to wire.UserID) verdict {
	if to == rec.Sender || joined[to] {
		return deliver
	}
	return notAccepted
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
	index := make(map[wire.UserID]int) // a group message names up to 1,024 users
	for _, rc := range rs {
		i, ok := index[rc.User]
		if !ok {
			i = len(groups)
			index[rc.User] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], rc)
	}
	return groups
}
