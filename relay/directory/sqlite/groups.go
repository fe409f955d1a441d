package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// ChangeGroup applies one change of a group's member list. The write
// transaction (BEGIN IMMEDIATE) holds the database for its checks and its
// writes, against every other writer, in this process or another.
func (d *Directory) ChangeGroup(ctx context.Context, c directory.GroupChange, lim directory.GroupLimits) error {
	err := d.write(ctx, func(tx *sql.Tx) error {
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
	rows, err := d.r.QueryContext(ctx, `SELECT m.user_id FROM groups g
		LEFT JOIN group_members m ON m.group_id = g.id AND m.state = 2
		WHERE g.id = ?`, group[:])
	if err != nil {
		return nil, fmt.Errorf("group members: %w", err)
	}
	defer rows.Close()
	found := false
	var users []wire.UserID
	for rows.Next() {
		found = true
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("group members: %w", err)
		}
		if b == nil {
			continue
		}
		u, err := userID(b)
		if err != nil {
			return nil, fmt.Errorf("group members: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("group members: %w", err)
	}
	if !found {
		return nil, fmt.Errorf("group members: %w", directory.ErrNotFound)
	}
	return users, nil
}

// SharesGroup reports whether a and b have both joined one group.
func (d *Directory) SharesGroup(ctx context.Context, a, b wire.UserID) (bool, error) {
	var n int
	err := d.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM group_members x
		JOIN group_members y ON y.group_id = x.group_id AND y.user_id = ? AND y.state = 2
		WHERE x.user_id = ? AND x.state = 2 LIMIT 1)`, b[:], a[:]).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("shares group: %w", err)
	}
	return n > 0, nil
}

// DeviceIDs returns the approved devices' IDs of several users in one
// query per thousand users.
func (d *Directory) DeviceIDs(ctx context.Context, users []wire.UserID) (map[wire.UserID][]wire.DeviceID, error) {
	out := make(map[wire.UserID][]wire.DeviceID, len(users))
	// A user named twice must not fall in two chunks.
	users = slices.Clone(users)
	slices.SortFunc(users, func(a, b wire.UserID) int { return bytes.Compare(a[:], b[:]) })
	users = slices.Compact(users)
	for chunk := range chunks(users) {
		rows, err := d.r.QueryContext(ctx, `SELECT user_id, id FROM devices WHERE user_id IN (`+params(len(chunk))+`) AND pending_until_ns = 0 ORDER BY user_id, id`, ids(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("device ids: %w", err)
		}
		err = scanDeviceIDs(rows, out)
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("device ids: %w", err)
		}
	}
	return out, nil
}

func scanDeviceIDs(rows *sql.Rows, out map[wire.UserID][]wire.DeviceID) error {
	for rows.Next() {
		var (
			b  []byte
			id int64
		)
		if err := rows.Scan(&b, &id); err != nil {
			return err
		}
		u, err := userID(b)
		if err != nil {
			return err
		}
		out[u] = append(out[u], wire.DeviceID(id))
	}
	return rows.Err()
}

// maxParams bounds the user IDs bound in one statement, far below
// SQLite's limit on parameters.
const maxParams = 1000

// chunks splits users into runs of at most maxParams.
func chunks(users []wire.UserID) func(yield func([]wire.UserID) bool) {
	return func(yield func([]wire.UserID) bool) {
		for len(users) > 0 {
			n := min(len(users), maxParams)
			if !yield(users[:n]) {
				return
			}
			users = users[n:]
		}
	}
}

// params is n comma-separated placeholders.
func params(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// ids is users as statement arguments.
func ids(users []wire.UserID) []any {
	args := make([]any, len(users))
	for i := range users {
		args[i] = users[i][:]
	}
	return args
}

// groupTx is a write transaction as directory.ApplyGroupChange uses it.
// The transaction is BEGIN IMMEDIATE: nothing else writes until it ends,
// so the locks it is asked for are held already.
type groupTx struct{ tx *sql.Tx }

var _ directory.GroupTx = groupTx{}

// nullable stores an empty hash (no invite link) as NULL.
func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func (t groupTx) CreateGroup(ctx context.Context, g wire.ConversationID, h directory.GroupHashes) (bool, error) {
	res, err := t.tx.ExecContext(ctx, `INSERT INTO groups (id, admin_hash, add_hash, link_hash) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, g[:], h.Admin, h.Add, nullable(h.Link))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t groupTx) LockGroup(ctx context.Context, g wire.ConversationID) (directory.GroupHashes, error) {
	var h directory.GroupHashes
	err := t.tx.QueryRowContext(ctx, `SELECT admin_hash, add_hash, link_hash FROM groups WHERE id = ?`, g[:]).Scan(&h.Admin, &h.Add, &h.Link)
	if errors.Is(err, sql.ErrNoRows) {
		return h, directory.ErrNotFound
	}
	return h, err
}

func (t groupTx) SetGroupHashes(ctx context.Context, g wire.ConversationID, h directory.GroupHashes) error {
	_, err := t.tx.ExecContext(ctx, `UPDATE groups SET admin_hash = ?, add_hash = ?, link_hash = ? WHERE id = ?`,
		h.Admin, h.Add, nullable(h.Link), g[:])
	return err
}

func (t groupTx) DeleteGroup(ctx context.Context, g wire.ConversationID) error {
	_, err := t.tx.ExecContext(ctx, `DELETE FROM groups WHERE id = ?`, g[:])
	return err
}

func (t groupTx) MemberStates(ctx context.Context, g wire.ConversationID, users []wire.UserID) (map[wire.UserID]directory.MemberState, error) {
	out := make(map[wire.UserID]directory.MemberState)
	for chunk := range chunks(users) {
		rows, err := t.tx.QueryContext(ctx, `SELECT user_id, state FROM group_members WHERE group_id = ? AND user_id IN (`+params(len(chunk))+`)`,
			append([]any{g[:]}, ids(chunk)...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var (
				b     []byte
				state int
			)
			if err := rows.Scan(&b, &state); err != nil {
				rows.Close()
				return nil, err
			}
			u, err := userID(b)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[u] = directory.MemberState(state)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t groupTx) MemberCount(ctx context.Context, g wire.ConversationID) (int, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM group_members WHERE group_id = ?`, g[:]).Scan(&n)
	return n, err
}

func (t groupTx) Registered(ctx context.Context, users []wire.UserID) (int, error) {
	total := 0
	for chunk := range chunks(users) {
		var n int
		if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id IN (`+params(len(chunk))+`)`, ids(chunk)...).Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func (t groupTx) LockLists(ctx context.Context, users []wire.UserID, max int) (bool, error) {
	for chunk := range chunks(users) {
		var n int
		err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM group_members WHERE user_id IN (`+params(len(chunk))+`)
			GROUP BY user_id HAVING count(*) >= ? LIMIT 1)`, append(ids(chunk), max)...).Scan(&n)
		if err != nil || n > 0 {
			return n > 0, err
		}
	}
	return false, nil
}

func (t groupTx) PutMembers(ctx context.Context, g wire.ConversationID, users []wire.UserID, state directory.MemberState) error {
	// Each row binds the group, a user and the state: a third of maxParams
	// rows per statement.
	for len(users) > 0 {
		n := min(len(users), maxParams/3)
		args := make([]any, 0, 3*n)
		for _, u := range users[:n] {
			args = append(args, g[:], u[:], int(state))
		}
		values := strings.TrimSuffix(strings.Repeat("(?, ?, ?),", n), ",")
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id, state) VALUES `+values+`
			ON CONFLICT (group_id, user_id) DO UPDATE SET state = excluded.state`, args...); err != nil {
			return err
		}
		users = users[n:]
	}
	return nil
}

func (t groupTx) RemoveMembers(ctx context.Context, g wire.ConversationID, users []wire.UserID) error {
	for chunk := range chunks(users) {
		if _, err := t.tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND user_id IN (`+params(len(chunk))+`)`,
			append([]any{g[:]}, ids(chunk)...)...); err != nil {
			return err
		}
	}
	return nil
}
