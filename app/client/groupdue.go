package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// groupChores makes the changes of the relay's group lists this device
// still owes (bGroupDue), from the connection's worker: joining a group
// a contact invited this account to (then the joining goes to the group,
// see join), and leaving a group once the leaving has gone to it (then
// this device forgets the group's secrets and sender keys). It returns
// when to try again (0 if nothing waits), or a connection or store
// error; a refusal of the relay ends the chore (an invitation withdrawn
// meanwhile shows the group as left).
func (c *Client) groupChores(ctx context.Context, conn *transport.Conn) (time.Duration, error) {
	type chore struct {
		group wire.ConversationID
		due   *dueRecord
	}
	var chores []chore
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bGroupDue, nil, func(k, v []byte) error {
			d, err := parseDue(v)
			if err != nil {
				return err
			}
			var g wire.ConversationID
			copy(g[:], k)
			chores = append(chores, chore{g, d})
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("group changes due: %w", err)
	}
	var retry time.Duration
	for _, ch := range chores {
		var err error
		switch ch.due.Op {
		case dueJoin:
			err = c.join(ctx, conn, ch.group)
		case dueLeave:
			err = c.leave(ctx, conn, ch.group, ch.due.After)
		default:
			err = c.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(bGroupDue, ch.group[:]) })
		}
		var we *wire.Error
		switch {
		case err == nil:
		case errors.As(err, &we) && (we.Code == wire.CodeRateLimited || we.Code == wire.CodeUnavailable || we.Code == wire.CodeInternal):
			retry = retryDelay
		case errors.As(err, &we), errors.Is(err, ErrNotAllowed), errors.Is(err, ErrNotMember), errors.Is(err, ErrNoSuchGroup):
			if err := c.giveUpJoin(ctx, ch.group); err != nil {
				return 0, err
			}
		default:
			return 0, err
		}
	}
	return retry, nil
}

// leave takes this account off the group's list once the outbox entry
// after (its leaving, sent to the group) is gone, and then forgets the
// group's secrets and sender keys.
func (c *Client) leave(ctx context.Context, conn *transport.Conn, group wire.ConversationID, after uint64) error {
	waiting := false
	err := c.st.View(ctx, func(tx store.Tx) error {
		e, err := loadEntry(tx, after)
		waiting = e != nil
		return err
	})
	if err != nil || waiting {
		return err
	}
	err = c.setGroup(ctx, conn, &wire.SetGroup{Group: group, Op: wire.GroupLeave})
	var we *wire.Error
	if err != nil && !(errors.As(err, &we) && (we.Code == wire.CodeNotFound || we.Code == wire.CodeForbidden)) {
		return err
	}
	err = c.update(ctx, func(ts *txState) error {
		g, err := loadGroup(ts.tx, group)
		if err != nil {
			return err
		}
		if g != nil {
			g.Secrets = groupSecrets{}
			if err := putGroup(ts.tx, g); err != nil {
				return err
			}
		}
		return c.leftGroup(ts, group)
	})
	if err != nil {
		return err
	}
	c.emit(GroupChanged{Group: group})
	return nil
}

// giveUpJoin ends a join the relay refused (the invitation was
// withdrawn, or the group is gone): the group shows as left.
func (c *Client) giveUpJoin(ctx context.Context, group wire.ConversationID) error {
	changed := false
	err := c.update(ctx, func(ts *txState) error {
		changed = false
		if err := ts.tx.Delete(bGroupDue, group[:]); err != nil {
			return err
		}
		g, err := loadGroup(ts.tx, group)
		if g == nil || err != nil || g.Status != GroupInvited {
			return err
		}
		g.Status, g.Secrets, changed = GroupLeft, groupSecrets{}, true
		return putGroup(ts.tx, g)
	})
	if err != nil {
		return fmt.Errorf("record a refused join: %w", err)
	}
	if changed {
		c.emit(GroupChanged{Group: group})
	}
	return nil
}
