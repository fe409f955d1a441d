package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Groups. The relay keeps, per group, its member list (who is invited,
// who has joined) and the hashes of three secrets; SetGroup changes the
// list by docs/protocol.md's rules, which the directory applies in one
// transaction with their checks. A group message (KindGroup) is accepted
// only from a joined member, checked here from a cache of the group's
// members (Config.GroupCache, cleared at once when a list changes through
// this gateway); the router keeps its own check, per recipient, and stays
// the rule.

// handleSetGroup changes a group's member list.
func (c *conn) handleSetGroup(ctx context.Context, id uint64, s *wire.SetGroup) {
	refuse := func(code wire.Code, msg string, retry time.Duration) {
		if m := c.g.cfg.Metrics.GroupRefused; m != nil {
			m(code)
		}
		e := &wire.Error{Code: code, Message: msg}
		if code == wire.CodeRateLimited {
			e.RetryAfterMS = uint64(retry.Milliseconds()) + 1
		}
		c.reply(id, e)
	}
	r := c.g.cfg.Rates
	charges := []charge{c.perUser("set-group", r.SetGroup)}
	if s.Op == wire.GroupCreate {
		charges = append(charges, c.perUser("create-group", r.CreateGroup))
	}
	ok, retry, err := c.take(ctx, charges...)
	switch {
	case err != nil:
		c.reply(id, c.errorFrame(err))
		return
	case !ok:
		refuse(wire.CodeRateLimited, fmt.Sprintf("too many group changes; retry in %v", retry.Round(time.Second)), retry)
		return
	}
	change := directory.GroupChange{
		Group: s.Group, Op: s.Op, Actor: c.key.user, Users: s.Users, Proof: s.Proof,
		Hashes: directory.GroupHashes{Admin: s.AdminHash, Add: s.AddHash, Link: s.LinkHash},
	}
	if p := change.Problem(); p != "" {
		refuse(wire.CodeBadRequest, p, 0)
		return
	}
	err = c.g.dir.ChangeGroup(ctx, change, directory.GroupLimits{Members: wire.MaxGroupMembers, Lists: c.g.cfg.MaxGroups})
	switch {
	case errors.Is(err, directory.ErrUnknownUser):
		refuse(wire.CodeNotFound, "a user named is not registered", 0)
		return
	case errors.Is(err, directory.ErrNotFound):
		refuse(wire.CodeNotFound, "no such group", 0)
		return
	case errors.Is(err, directory.ErrForbidden):
		refuse(wire.CodeForbidden, "only a member who presents the right secret may make this change", 0)
		return
	case errors.Is(err, directory.ErrExists):
		refuse(wire.CodeExists, "the group ID is taken", 0)
		return
	case errors.Is(err, directory.ErrFull):
		refuse(wire.CodeTooLarge, fmt.Sprintf("a group holds at most %d users, and an account is on at most %d groups", wire.MaxGroupMembers, c.g.cfg.MaxGroups), 0)
		return
	case err != nil:
		if m := c.g.cfg.Metrics.GroupRefused; m != nil {
			m(wire.CodeInternal)
		}
		c.reply(id, c.errorFrame(err))
		return
	}
	c.g.groups.Forget(s.Group)
	if f := c.g.cfg.OnGroupChange; f != nil {
		f(s.Group)
	}
	c.reply(id, &wire.OK{})
}

// joinedGroup reports whether the connection's user has joined group.
func (c *conn) joinedGroup(ctx context.Context, group wire.ConversationID) (bool, error) {
	joined, err := c.g.groups.Joined(ctx, c.g.dir, group)
	if err != nil {
		return false, fmt.Errorf("group members: %w", err)
	}
	return joined[c.key.user], nil
}

// limitFetch counts a FetchBundles: against the account's group budget
// when the asker and the user have both joined one group (a member of a
// large group fetches every member's bundles), else with Lookup.
func (c *conn) limitFetch(ctx context.Context, id uint64, user wire.UserID) bool {
	if user != c.key.user {
		shared, err := c.g.dir.SharesGroup(ctx, c.key.user, user)
		if err != nil {
			c.reply(id, c.errorFrame(err))
			return false
		}
		if shared {
			r := c.g.cfg.Rates
			return c.limit(ctx, id, c.perUser("group-fetch", r.GroupFetch), c.perUser("group-fetch-day", r.GroupFetchDaily))
		}
	}
	return c.limitLookup(ctx, id)
}
