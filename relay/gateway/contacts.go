package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The gateway refuses, before anything is written, a message (KindMessage)
// to a user who has not allowed its sender: the router would refuse it
// anyway, after it had been stored on `in` and answered with a notice in
// the sender's inbox, which is how a flood of messages to strangers used
// to fill the disk. The router keeps its own check, which stays the rule;
// this one only answers early, from a cache that may be Config.ContactCache
// out of date (a message to someone who has just allowed the sender may be
// refused for that long, on a gateway other than the one where they did;
// one to someone who has just blocked the sender is still refused by the
// router). A blocked sender gets the same answer as one never allowed.

// contactCache remembers, for a short time, what recipients have decided
// about senders: (owner, other) -> allowed.
type contactCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[contactPair]contactEntry
}

type contactPair struct{ owner, other wire.UserID }

type contactEntry struct {
	allowed bool
	expires time.Time
}

const contactCacheMax = 100_000

func newContactCache(ttl time.Duration, now func() time.Time) *contactCache {
	return &contactCache{ttl: ttl, now: now, m: make(map[contactPair]contactEntry)}
}

// allowed reports whether owner has allowed other.
func (c *contactCache) allowed(ctx context.Context, dir Directory, owner, other wire.UserID) (bool, error) {
	now := c.now()
	k := contactPair{owner, other}
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.allowed, nil
	}
	st, err := dir.ContactState(ctx, owner, other)
	if err != nil {
		return false, err
	}
	allowed := st == directory.Allowed
	c.mu.Lock()
	if len(c.m) >= contactCacheMax {
		clear(c.m)
	}
	c.m[k] = contactEntry{allowed: allowed, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return allowed, nil
}

// forget drops what is remembered of owner's decision about other, when
// owner changes it through this gateway.
func (c *contactCache) forget(owner, other wire.UserID) {
	c.mu.Lock()
	delete(c.m, contactPair{owner, other})
	c.mu.Unlock()
}

// refuser returns the first of users (other than the sender) who has not
// allowed the sender, or the zero ID when all have.
func (c *conn) refuser(ctx context.Context, users []wire.UserID) (wire.UserID, error) {
	for _, u := range users {
		if u == c.key.user {
			continue // the sender's own devices
		}
		ok, err := c.g.contacts.allowed(ctx, c.g.dir, u, c.key.user)
		if err != nil {
			return wire.UserID{}, err
		}
		if !ok {
			return u, nil
		}
	}
	return wire.UserID{}, nil
}

// requestTooLarge reports whether a contact request carries a ciphertext
// over the cap: a request is one PQXDH initial message (a padded text of
// at most 8 KiB, an ML-KEM-1024 ciphertext and the handshake's keys), so
// anything much larger is not one.
func (c *conn) requestTooLarge(s *wire.Send) bool {
	for i := range s.Recipients {
		if len(s.Recipients[i].Ciphertext) > c.g.cfg.RequestMaxBytes {
			return true
		}
	}
	return false
}
