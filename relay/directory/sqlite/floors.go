package sqlite

import (
	"context"
	"fmt"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// InboxFloors returns the lowest committed offset of each user's approved
// devices,
// for up to limit users after after.
func (d *Directory) InboxFloors(ctx context.Context, after wire.UserID, limit int) ([]directory.InboxFloor, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("inbox floors: limit %d: %w", limit, directory.ErrInvalid)
	}
	rows, err := d.r.QueryContext(ctx, `SELECT u.id, COUNT(d.id), COALESCE(MIN(d.inbox_offset), 0)
		FROM users u LEFT JOIN devices d ON d.user_id = u.id AND d.pending_until_ns = 0
		WHERE u.id > ? GROUP BY u.id ORDER BY u.id LIMIT ?`, after[:], limit)
	if err != nil {
		return nil, fmt.Errorf("inbox floors: %w", err)
	}
	defer rows.Close()
	var out []directory.InboxFloor
	for rows.Next() {
		var id []byte
		var f directory.InboxFloor
		if err := rows.Scan(&id, &f.Devices, &f.Offset); err != nil {
			return nil, fmt.Errorf("inbox floors: %w", err)
		}
		if f.User, err = userID(id); err != nil {
			return nil, fmt.Errorf("inbox floors: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("inbox floors: %w", err)
	}
	return out, nil
}
