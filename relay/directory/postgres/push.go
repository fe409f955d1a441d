package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

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
	tag, err := d.pool.Exec(ctx, `INSERT INTO push_subscriptions (user_id, device_id, endpoint, p256dh, auth, muted, updated_ns, online_until_ns)
		SELECT user_id, id, $1, $2, $3, $4, $5, $6 FROM devices WHERE user_id = $7 AND id = $8
		ON CONFLICT (user_id, device_id) DO UPDATE SET endpoint = excluded.endpoint, p256dh = excluded.p256dh, auth = excluded.auth,
			muted = excluded.muted, updated_ns = excluded.updated_ns, online_until_ns = excluded.online_until_ns`,
		s.Endpoint, s.P256dh, s.Auth, s.MutedBytes(), ns(d.now()), ns(s.OnlineUntil), s.User[:], int64(s.Device))
	if err != nil {
		return fmt.Errorf("set push subscription: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("set push subscription: %w", directory.ErrNotFound)
	}
	return nil
}

// DeletePushSubscription deletes a device's subscription, or only the one
// with endpoint when endpoint is not empty.
func (d *Directory) DeletePushSubscription(ctx context.Context, user wire.UserID, device wire.DeviceID, endpoint string) error {
	_, err := d.pool.Exec(ctx, `DELETE FROM push_subscriptions WHERE user_id = $1 AND device_id = $2 AND ($3 = '' OR endpoint = $3)`,
		user[:], int64(device), endpoint)
	if err != nil {
		return fmt.Errorf("delete push subscription: %w", err)
	}
	return nil
}

// PushSubscriptions lists user's subscriptions in device order.
func (d *Directory) PushSubscriptions(ctx context.Context, user wire.UserID) ([]directory.PushSubscription, error) {
	rows, err := d.pool.Query(ctx, `SELECT device_id, endpoint, p256dh, auth, muted, updated_ns, online_until_ns
		FROM push_subscriptions WHERE user_id = $1 ORDER BY device_id`, user[:])
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

// SetPushPresence records the devices' presence in one batch.
func (d *Directory) SetPushPresence(ctx context.Context, devices []directory.DeviceRef, until time.Time) error {
	if len(devices) == 0 {
		return nil
	}
	var batch pgx.Batch
	for _, dev := range devices {
		batch.Queue(`UPDATE push_subscriptions SET online_until_ns = $1 WHERE user_id = $2 AND device_id = $3`, ns(until), dev.User[:], int64(dev.Device))
	}
	if err := d.pool.SendBatch(ctx, &batch).Close(); err != nil {
		return fmt.Errorf("set push presence: %w", err)
	}
	return nil
}

// CountPushSubscriptions says how many subscriptions are stored.
func (d *Directory) CountPushSubscriptions(ctx context.Context) (int64, error) {
	var n int64
	if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM push_subscriptions`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count push subscriptions: %w", err)
	}
	return n, nil
}
