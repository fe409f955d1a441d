package directory

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// MemberSource is where a MemberCache reads a group's members from: a
// Directory.
type MemberSource interface {
	GroupMembers(ctx context.Context, group wire.ConversationID) ([]wire.UserID, error)
}

// MemberCache remembers, for a short time, who has joined each group: the
// gateway and the router ask on every group message. It holds at most a
// bound of members in all, so a flood of groups cannot grow it; the
// directory stays the truth, and an entry is at most the cache's lifetime
// out of date unless Forget drops it sooner. It is safe for concurrent use.
type MemberCache struct {
	ttl  time.Duration
	max  int
	now  func() time.Time
	mu   sync.Mutex
	m    map[wire.ConversationID]memberEntry
	held int // members in m
}

type memberEntry struct {
	joined  map[wire.UserID]bool
	expires time.Time
}

// NewMemberCache returns a cache whose entries live for ttl and that
// holds at most max members in all (an empty group counts as one).
func NewMemberCache(ttl time.Duration, max int, now func() time.Time) *MemberCache {
	return &MemberCache{ttl: ttl, max: max, now: now, m: make(map[wire.ConversationID]memberEntry)}
}

// Joined returns the set of users who have joined group, empty when there
// is no such group. The caller must not change it.
func (c *MemberCache) Joined(ctx context.Context, src MemberSource, group wire.ConversationID) (map[wire.UserID]bool, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[group]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.joined, nil
	}
	users, err := src.GroupMembers(ctx, group)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	joined := make(map[wire.UserID]bool, len(users))
	for _, u := range users {
		joined[u] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[group]; ok {
		c.held -= weight(old)
		delete(c.m, group)
	}
	e = memberEntry{joined: joined, expires: now.Add(c.ttl)}
	if c.held+weight(e) > c.max {
		// Drop what has expired; if that is not enough, start over.
		for g, old := range c.m {
			if !now.Before(old.expires) {
				c.held -= weight(old)
				delete(c.m, g)
			}
		}
		if c.held+weight(e) > c.max {
			clear(c.m)
			c.held = 0
		}
	}
	if weight(e) <= c.max {
		c.m[group] = e
		c.held += weight(e)
	}
	return joined, nil
}

// Forget drops what the cache holds of group, when its list changes.
func (c *MemberCache) Forget(group wire.ConversationID) {
	c.mu.Lock()
	if e, ok := c.m[group]; ok {
		c.held -= weight(e)
		delete(c.m, group)
	}
	c.mu.Unlock()
}

func weight(e memberEntry) int { return max(len(e.joined), 1) }
