package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

var _ directory.Pushes = (*Directory)(nil)

// SetPushSubscription stores a device's subscription, replacing its
// previous one.
func (d *Directory) SetPushSubscription(ctx context.Context, s directory.PushSubscription) error {
	if err := s.Check(); err != nil {
		return err
	}
	res, err := d.w.ExecContext(ctx, `INSERT INTO push_subscriptions (user_id, device_id, endpoint, p256dh, auth, muted, updated_ns, online_until_ns)
		SELECT user_id, id, ?, ?, ?, ?, ?, ? FROM devices WHERE user_id = ? AND id = ?
		ON CONFLICT (user_id, device_id) DO UPDATE SET endpoint = excluded.endpoint, p256dh = excluded.p256dh, auth = excluded.auth,
			muted = excluded.muted, updated_ns = excluded.updated_ns, online_until_ns = excluded.online_until_ns`,
		s.Endpoint, s.P256dh, s.Auth, s.MutedBytes(), ns(d.now()), ns(s.OnlineUntil), s.User[:], int64(s.Device))
	if err != nil {
		return fmt.Errorf("set push subscription: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("set push subscription: %w", err)
	} else if n == 0 {
		return fmt.Errorf("set push subscription: %w", directory.ErrNotFound)
	}
	return nil
}

// DeletePushSubscription deletes a device's subscription, or only the one
// with endpoint when endpoint is not empty.
func (d *Directory) DeletePushSubscription(ctx context.Context, user wire.UserID, device wire.DeviceID, endpoint string) error {
	_, err := d.w.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE user_id = ? AND device_id = ? AND (? = '' OR endpoint = ?)`,
		user[:], int64(device), endpoint, endpoint)
	if err != nil {
		return fmt.Errorf("delete push subscription: %w", err)
	}
	return nil
}

// PushSubscriptions lists user's subscriptions in device order.
func (d *Directory) PushSubscriptions(ctx context.Context, user wire.UserID) ([]directory.PushSubscription, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT device_id, endpoint, p256dh, auth, muted, updated_ns, online_until_ns
		FROM push_subscriptions WHERE user_id = ? ORDER BY device_id`, user[:])
	if err != nil {
		return nil, fmt.Errorf("push subscriptions: %w", err)
	}
	defer rows.Close()
	var out []directory.PushSubscription
	for rows.Next() {
		s := directory.PushSubscription{User: user}
		var dev, updated, online int64
		var muted []byte
		if err := rows.Scan(&dev, &s.Endpoint, &s.P256dh, &s.Auth, &muted, &updated, &online); err != nil {
			return nil, fmt.Errorf("push subscriptions: %w", err)
		}
		if s.Muted, err = directory.ParseMuted(muted); err != nil {
			return nil, fmt.Errorf("push subscriptions: %w", err)
		}
		s.Device, s.Updated, s.OnlineUntil = wire.DeviceID(dev), fromNS(updated), fromNS(online)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("push subscriptions: %w", err)
	}
	return out, nil
}

// SetPushPresence records the devices' presence in one transaction.
func (d *Directory) SetPushPresence(ctx context.Context, devices []directory.DeviceRef, until time.Time) error {
	if len(devices) == 0 {
		return nil
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE push_subscriptions SET online_until_ns = ? WHERE user_id = ? AND device_id = ?`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, dev := range devices {
			if _, err := stmt.ExecContext(ctx, ns(until), dev.User[:], int64(dev.Device)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("set push presence: %w", err)
	}
	return nil
}

// CountPushSubscriptions says how many subscriptions are stored.
func (d *Directory) CountPushSubscriptions(ctx context.Context) (int64, error) {
	var n int64
	if err := d.r.QueryRowContext(ctx, `SELECT count(*) FROM push_subscriptions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count push subscriptions: %w", err)
	}
	return n, nil
}
