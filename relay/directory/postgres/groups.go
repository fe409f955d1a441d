package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// ChangeGroup applies one change of a group's member list in one
// transaction. The group's row is locked first (FOR UPDATE, or the insert
// of a new one), then the list counts of the users it adds, by advisory
// locks taken in one order: concurrent changes wait for each other and
// cannot deadlock.
func (d *Directory) ChangeGroup(ctx context.Context, c directory.GroupChange, lim directory.GroupLimits) error {
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		return directory.ApplyGroupChange(ctx, groupTx{tx}, c, lim)
	})
	if err != nil {
		return fmt.Errorf("change group: %w", err)
	}
	return nil
}

// GroupMembers returns the users who have joined a group.
func (d *Directory) GroupMembers(ctx context.Context, group wire.ConversationID) ([]wire.UserID, error) {
	// One row with a NULL user: the group exists and nobody has joined.
	rows, err := d.pool.Query(ctx, `SELECT m.user_id FROM groups g
		LEFT JOIN group_members m ON m.group_id = g.id AND m.state = 2
		WHERE g.id = $1`, group[:])
	if err != nil {
		return nil, fmt.Errorf("group members: %w", err)
	}
	found := false
	var users []wire.UserID
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&b}, func() error {
		found = true
		if b == nil {
			return nil
		}
		u, err := userID(b)
		users = append(users, u)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("group members: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("group members: %w", directory.ErrNotFound)
	}
	return users, nil
}

// SharesGroup reports whether a and b have both joined one group.
func (d *Directory) SharesGroup(ctx context.Context, a, b wire.UserID) (bool, error) {
	var ok bool
	err := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM group_members x
		JOIN group_members y ON y.group_id = x.group_id AND y.user_id = $2 AND y.state = 2
		WHERE x.user_id = $1 AND x.state = 2)`, a[:], b[:]).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("shares group: %w", err)
	}
	return ok, nil
}

// DeviceIDs returns the approved devices' IDs of several users in one
// query.
func (d *Directory) DeviceIDs(ctx context.Context, users []wire.UserID) (map[wire.UserID][]wire.DeviceID, error) {
	out := make(map[wire.UserID][]wire.DeviceID, len(users))
	rows, err := d.pool.Query(ctx, `SELECT user_id, id FROM devices WHERE user_id = ANY($1) AND pending_until_ns = 0 ORDER BY user_id, id`, byteas(users))
	if err != nil {
		return nil, fmt.Errorf("device ids: %w", err)
	}
	var (
		b  []byte
		id int64
	)
	_, err = pgx.ForEachRow(rows, []any{&b, &id}, func() error {
		u, err := userID(b)
		out[u] = append(out[u], wire.DeviceID(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("device ids: %w", err)
	}
	return out, nil
}

// byteas is users as a bytea[] argument.
func byteas(users []wire.UserID) [][]byte {
	out := make([][]byte, len(users))
	for i := range users {
		out[i] = users[i][:]
	}
	return out
}

// groupTx is a transaction as directory.ApplyGroupChange uses it.
type groupTx struct{ tx pgx.Tx }

var _ directory.GroupTx = groupTx{}

// nullable stores an empty hash (no invite link) as NULL.
func nullable(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (t groupTx) CreateGroup(ctx context.Context, g wire.ConversationID, h directory.GroupHashes) (bool, error) {
	tag, err := t.tx.Exec(ctx, `INSERT INTO groups (id, admin_hash, add_hash, link_hash) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, g[:], h.Admin, h.Add, nullable(h.Link))
	return tag.RowsAffected() == 1, err
}

func (t groupTx) LockGroup(ctx context.Context, g wire.ConversationID) (directory.GroupHashes, error) {
	var h directory.GroupHashes
	err := t.tx.QueryRow(ctx, `SELECT admin_hash, add_hash, link_hash FROM groups WHERE id = $1 FOR UPDATE`, g[:]).Scan(&h.Admin, &h.Add, &h.Link)
	return h, notFound(err)
}

func (t groupTx) SetGroupHashes(ctx context.Context, g wire.ConversationID, h directory.GroupHashes) error {
	_, err := t.tx.Exec(ctx, `UPDATE groups SET admin_hash = $1, add_hash = $2, link_hash = $3 WHERE id = $4`,
		h.Admin, h.Add, nullable(h.Link), g[:])
	return err
}

func (t groupTx) DeleteGroup(ctx context.Context, g wire.ConversationID) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM groups WHERE id = $1`, g[:])
	return err
}

func (t groupTx) MemberStates(ctx context.Context, g wire.ConversationID, users []wire.UserID) (map[wire.UserID]directory.MemberState, error) {
	rows, err := t.tx.Query(ctx, `SELECT user_id, state FROM group_members WHERE group_id = $1 AND user_id = ANY($2)`, g[:], byteas(users))
	if err != nil {
		return nil, err
	}
	out := make(map[wire.UserID]directory.MemberState)
	var (
		b     []byte
		state int16
	)
	_, err = pgx.ForEachRow(rows, []any{&b, &state}, func() error {
		u, err := userID(b)
		out[u] = directory.MemberState(state)
		return err
	})
	return out, err
}

func (t groupTx) MemberCount(ctx context.Context, g wire.ConversationID) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM group_members WHERE group_id = $1`, g[:]).Scan(&n)
	return n, err
}

func (t groupTx) Registered(ctx context.Context, users []wire.UserID) (int, error) {
	var n int
	err := t.tx.QueryRow(ctx, `SELECT count(*) FROM users WHERE id = ANY($1)`, byteas(users)).Scan(&n)
	return n, err
}

// listLockClass is the first key of the advisory locks on users' list
// counts. The two-key locks are a key space of their own: they never
// meet the one-key locks of contact lists and requests.
const listLockClass = 0x4d47 // "MG"

func (t groupTx) LockLists(ctx context.Context, users []wire.UserID, max int) (bool, error) {
	// User IDs are random: their first 4 bytes make a good key. Two users
	// sharing one only wait for each other. Sorted, so that every
	// transaction takes its locks in one order.
	keys := make([]int32, len(users))
	for i, u := range users {
		keys[i] = int32(binary.BigEndian.Uint32(u[:4]))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if _, err := t.tx.Exec(ctx, `SELECT count(*) FROM (SELECT pg_advisory_xact_lock($1, k)
		FROM (SELECT k FROM unnest($2::int4[]) AS k ORDER BY k) AS sorted) AS locked`,
		int32(listLockClass), keys); err != nil {
		return false, err
	}
	var full bool
	err := t.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM group_members WHERE user_id = ANY($1)
		GROUP BY user_id HAVING count(*) >= $2)`, byteas(users), int64(max)).Scan(&full)
	return full, err
}

func (t groupTx) PutMembers(ctx context.Context, g wire.ConversationID, users []wire.UserID, state directory.MemberState) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO group_members (group_id, user_id, state) SELECT $1, u, $3 FROM unnest($2::bytea[]) AS u
		ON CONFLICT (group_id, user_id) DO UPDATE SET state = excluded.state`, g[:], byteas(users), int16(state))
	return err
}

func (t groupTx) RemoveMembers(ctx context.Context, g wire.ConversationID, users []wire.UserID) error {
	_, err := t.tx.Exec(ctx, `DELETE FROM group_members WHERE group_id = $1 AND user_id = ANY($2)`, g[:], byteas(users))
	return err
}
