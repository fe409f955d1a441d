package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// InboxFloors returns the lowest committed offset of each user's devices,
// for up to limit users after after.
func (d *Directory) InboxFloors(ctx context.Context, after wire.UserID, limit int) ([]directory.InboxFloor, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("inbox floors: limit %d: %w", limit, directory.ErrInvalid)
	}
	rows, err := d.pool.Query(ctx, `SELECT u.id, COUNT(d.id), COALESCE(MIN(d.inbox_offset), 0)
		FROM users u LEFT JOIN devices d ON d.user_id = u.id AND d.pending_until_ns = 0
		WHERE u.id > $1 GROUP BY u.id ORDER BY u.id LIMIT $2`, after[:], limit)
	if err != nil {
		return nil, fmt.Errorf("inbox floors: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.InboxFloor, error) {
		var id []byte
		var f directory.InboxFloor
		if err := row.Scan(&id, &f.Devices, &f.Offset); err != nil {
			return f, err
		}
		var err error
		f.User, err = userID(id)
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("inbox floors: %w", err)
	}
	return out, nil
}
