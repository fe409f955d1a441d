package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Rates are the gateway's rate limits, each a bucket in Config.Limits
// that belongs to an account or to a client network (limit.Network of
// the client's address: an IPv4 address or an IPv6 /64), never to a
// connection: signing in again, or at another gateway, goes on with the
// same buckets. A request is counted in each of its buckets in turn,
// the account's first; the first bucket that is empty refuses it with
// rate_limited and how long to wait, and the buckets before it stay
// charged. A zero field takes its default.
type Rates struct {
	// Lookup and FetchBundles tell who is registered, so they share
	// buckets: per account 2 a second with bursts of 60 and 500 a day;
	// per network (a household shares one) 10 a second with bursts of
	// 600 and 10,000 a day.
	Lookup, LookupDaily, NetLookup, NetLookupDaily limit.Rate

	// FetchBundles of a user who has joined a group the asker has joined
	// too are counted apart, per account: 20 a second with bursts of
	// 2,000, and 20,000 a day, so that a member of a large group can
	// start a session with every other member (it learns nothing of who
	// is registered, and the one-time prekey limits still hold).
	GroupFetch, GroupFetchDaily limit.Rate

	// Sends (messages and contact requests): per account 500 a second
	// with bursts of 2,000; per network 2,000 a second with bursts of
	// 10,000.
	Send, NetSend limit.Rate

	// Contact requests, on top of Send: from an account created less than
	// NewAccount (24 hours) ago, 5, then one every 3 hours; per network,
	// 30, then one every 2 minutes. The router's limits (one a day per
	// pair, 20 a day per sender) hold for every account.
	NewRequest, NetRequest limit.Rate
	NewAccount             time.Duration

	// Per account: SetContact 1 a second with bursts of 60; ListContacts
	// and ListDevices each one every 10 seconds with bursts of 20;
	// RemoveDevice one every 10 seconds with bursts of 16 (every device);
	// PublishKeys one every 10 seconds with bursts of 20.
	SetContact, ListContacts, ListDevices, RemoveDevice, PublishKeys limit.Rate

	// SetGroup, per account: 1 a second with bursts of 60; creating a
	// group besides, one every 10 minutes with bursts of 10.
	SetGroup, CreateGroup limit.Rate

	// Upload, per account: 1 a second with bursts of 60 (Uploads bounds
	// the bytes and the unfinished uploads besides).
	Upload limit.Rate

	// Coop frames, per account: 1 a second with bursts of 60; a Join
	// besides (each creates a checkout at the payment provider), 5, then
	// one every 10 minutes.
	Coop, CoopJoin limit.Rate

	// SetPush, per account: 10, then one every 10 seconds (a browser
	// subscribes once, and again when its subscription changes).
	SetPush limit.Rate

	// Linking, per account, surviving reconnects: FetchLink, LinkDevice
	// and ApproveDevice each 10, then one a minute (a link's code has 60
	// bits: guessing is hopeless, but lookups stay bounded). Link frames
	// per network: 20, then one every 3 minutes.
	FetchLink, LinkDevice, ApproveDevice, NetLink limit.Rate

	// Sign-ins (Auth): per network 120, then 2 a second, counted before
	// the directory is asked; per account, once its credential is
	// checked, 30 (every device twice over), then one every 6 seconds.
	// A client that reconnects after every refusal gets no more.
	NetAuth, Auth limit.Rate
}

func (r *Rates) setDefaults() {
	def := func(d *limit.Rate, v limit.Rate) {
		if *d == (limit.Rate{}) {
			*d = v
		}
	}
	def(&r.Lookup, limit.PerSecond(2, 60))
	def(&r.LookupDaily, limit.PerDay(500))
	def(&r.NetLookup, limit.PerSecond(10, 600))
	def(&r.NetLookupDaily, limit.PerDay(10_000))
	def(&r.GroupFetch, limit.PerSecond(20, 2000))
	def(&r.GroupFetchDaily, limit.PerDay(20_000))
	def(&r.Send, limit.PerSecond(500, 2000))
	def(&r.NetSend, limit.PerSecond(2000, 10_000))
	def(&r.NewRequest, limit.Rate{Every: 3 * time.Hour, Burst: 5})
	def(&r.NetRequest, limit.Rate{Every: 2 * time.Minute, Burst: 30})
	def(&r.SetContact, limit.PerSecond(1, 60))
	def(&r.ListContacts, limit.Rate{Every: 10 * time.Second, Burst: 20})
	def(&r.ListDevices, limit.Rate{Every: 10 * time.Second, Burst: 20})
	def(&r.RemoveDevice, limit.Rate{Every: 10 * time.Second, Burst: wire.MaxDevices})
	def(&r.PublishKeys, limit.Rate{Every: 10 * time.Second, Burst: 20})
	def(&r.SetGroup, limit.PerSecond(1, 60))
	def(&r.CreateGroup, limit.Rate{Every: 10 * time.Minute, Burst: 10})
	def(&r.Upload, limit.PerSecond(1, 60))
	def(&r.Coop, limit.PerSecond(1, 60))
	def(&r.CoopJoin, limit.Rate{Every: 10 * time.Minute, Burst: 5})
	def(&r.SetPush, limit.Rate{Every: 10 * time.Second, Burst: 10})
	def(&r.FetchLink, limit.Rate{Every: time.Minute, Burst: 10})
	def(&r.LinkDevice, limit.Rate{Every: time.Minute, Burst: 10})
	def(&r.ApproveDevice, limit.Rate{Every: time.Minute, Burst: 10})
	def(&r.NetLink, limit.Rate{Every: 3 * time.Minute, Burst: 20})
	def(&r.NetAuth, limit.PerSecond(2, 120))
	def(&r.Auth, limit.Rate{Every: 6 * time.Second, Burst: 30})
	if r.NewAccount == 0 {
		r.NewAccount = 24 * time.Hour
	}
}

func (r *Rates) validate() error {
	for _, x := range []limit.Rate{
		r.Lookup, r.LookupDaily, r.NetLookup, r.NetLookupDaily, r.Send, r.NetSend, r.NewRequest, r.NetRequest,
		r.SetContact, r.ListContacts, r.ListDevices, r.RemoveDevice, r.PublishKeys, r.NetAuth, r.Auth,
		r.GroupFetch, r.GroupFetchDaily, r.SetGroup, r.CreateGroup, r.Upload, r.Coop, r.CoopJoin, r.SetPush,
		r.GroupFetch, r.GroupFetchDaily, r.SetGroup, r.CreateGroup, r.Upload, r.Coop, r.CoopJoin,
		r.FetchLink, r.LinkDevice, r.ApproveDevice, r.NetLink,
	} {
		if x.Every < 0 || x.Burst < 0 {
			return errors.New("gateway: negative rate")
		}
	}
	if r.NewAccount < 0 {
		return errors.New("gateway: negative duration")
	}
	return nil
}

// charge is one bucket a request is counted in.
type charge struct {
	key  string
	rate limit.Rate
}

// perUser is the bucket of what for the connection's account.
func (c *conn) perUser(what string, r limit.Rate) charge {
	return charge{key: what + "/user/" + c.key.user.String(), rate: r}
}

// perNet is the bucket of what for the client's network.
func (c *conn) perNet(what string, r limit.Rate) charge {
	return charge{key: what + "/net/" + c.network, rate: r}
}

// take counts one request in each bucket in turn, and stops at the first
// that refuses it, saying how long until it would not.
func (c *conn) take(ctx context.Context, charges ...charge) (ok bool, retry time.Duration, err error) {
	now := c.g.cfg.Now()
	for _, ch := range charges {
		ok, retry, err := c.g.cfg.Limits.Take(ctx, ch.key, ch.rate, 1, now)
		if err != nil {
			return false, 0, fmt.Errorf("rate limit: %w", err)
		}
		if !ok {
			return false, retry, nil
		}
	}
	return true, 0, nil
}

// limit counts request id in its buckets, or answers it with
// rate_limited (or an error when the buckets cannot be read).
func (c *conn) limit(ctx context.Context, id uint64, charges ...charge) bool {
	ok, retry, err := c.take(ctx, charges...)
	switch {
	case err != nil:
		c.reply(id, c.errorFrame(err))
	case !ok:
		c.reply(id, &wire.Error{Code: wire.CodeRateLimited, Message: "too many requests", RetryAfterMS: uint64(retry.Milliseconds()) + 1})
	}
	return ok && err == nil
}

// limitLookup counts a Lookup or FetchBundles.
func (c *conn) limitLookup(ctx context.Context, id uint64) bool {
	r := c.g.cfg.Rates
	return c.limit(ctx, id,
		c.perUser("lookup", r.Lookup), c.perUser("lookup-day", r.LookupDaily),
		c.perNet("lookup", r.NetLookup), c.perNet("lookup-day", r.NetLookupDaily))
}

// limitSend counts a Send, and a contact request in the request buckets
// too, or answers it with Rejected{rate_limited}.
func (c *conn) limitSend(ctx context.Context, id uint64, s *wire.Send) bool {
	r := c.g.cfg.Rates
	charges := []charge{c.perUser("send", r.Send)}
	if s.Kind == wire.KindRequest {
		isNew, err := c.newAccount(ctx)
		if err != nil {
			c.reply(id, c.errorFrame(err))
			return false
		}
		if isNew {
			charges = append(charges, c.perUser("new-request", r.NewRequest))
		}
	}
	charges = append(charges, c.perNet("send", r.NetSend))
	if s.Kind == wire.KindRequest {
		charges = append(charges, c.perNet("request", r.NetRequest))
	}
	ok, retry, err := c.take(ctx, charges...)
	switch {
	case err != nil:
		c.reply(id, c.errorFrame(err))
	case !ok:
		what := "sending too fast"
		if s.Kind == wire.KindRequest {
			what = "too many contact requests"
		}
		c.reply(id, &wire.Rejected{MessageID: s.MessageID, Code: wire.CodeRateLimited, RetryAfterMS: uint64(retry.Milliseconds()) + 1,
			Message: fmt.Sprintf("%s; retry in %v", what, retry.Round(time.Millisecond))})
	}
	return ok && err == nil
}

// newAccount reports whether the connection's account is new (younger
// than Rates.NewAccount). Its creation time is read once per connection.
func (c *conn) newAccount(ctx context.Context) (bool, error) {
	if c.created.IsZero() {
		t, err := c.g.dir.UserCreated(ctx, c.key.user)
		if err != nil {
			return false, fmt.Errorf("account age: %w", err)
		}
		c.created = t
	}
	return c.g.cfg.Now().Sub(c.created) < c.g.cfg.Rates.NewAccount, nil
}
