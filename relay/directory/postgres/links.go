package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// CreateLink stores an unclaimed link, replacing an expired one with the
// same code.
func (d *Directory) CreateLink(ctx context.Context, l directory.Link, now time.Time) error {
	if err := l.Check(); err != nil {
		return fmt.Errorf("create link: %w", err)
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM device_links WHERE code = $1 AND expires_ns <= $2`, l.Code, ns(now)); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO device_links (code, key, identity, device_name, cred_hash, expires_ns)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING`,
			l.Code, l.Key, l.Identity, l.DeviceName, l.CredHash, ns(l.Expires))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return directory.ErrExists
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create link: %w", err)
	}
	return nil
}

const linkColumns = `code, key, identity, device_name, cred_hash, expires_ns, user_id, device_id, provision`

func scanLink(row interface{ Scan(...any) error }) (directory.Link, error) {
	var (
		l       directory.Link
		expires int64
		user    []byte
		device  *int64
	)
	if err := row.Scan(&l.Code, &l.Key, &l.Identity, &l.DeviceName, &l.CredHash, &expires, &user, &device, &l.Provision); err != nil {
		return directory.Link{}, notFound(err)
	}
	l.Expires = fromNS(expires)
	if user != nil {
		u, err := userID(user)
		if err != nil {
			return directory.Link{}, err
		}
		l.User = u
	}
	if device != nil {
		l.Device = wire.DeviceID(*device)
	}
	return l, nil
}

// Link returns the link stored under code.
func (d *Directory) Link(ctx context.Context, code string) (directory.Link, error) {
	l, err := scanLink(d.pool.QueryRow(ctx, `SELECT `+linkColumns+` FROM device_links WHERE code = $1`, code))
	if err != nil {
		return directory.Link{}, fmt.Errorf("link: %w", err)
	}
	return l, nil
}

// ClaimLink adds the device waiting on an unclaimed, unexpired link to
// user's account and records the claim, in one transaction. The link's
// row is locked first: a concurrent claim waits, then finds it claimed.
func (d *Directory) ClaimLink(ctx context.Context, code string, user wire.UserID, provision []byte, offset int64, now time.Time) (wire.DeviceID, error) {
	var id wire.DeviceID
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var (
			name string
			hash []byte
		)
		err := tx.QueryRow(ctx, `SELECT device_name, cred_hash FROM device_links
			WHERE code = $1 AND device_id IS NULL AND expires_ns > $2 FOR UPDATE`, code, ns(now)).Scan(&name, &hash)
		if err != nil {
			return notFound(err)
		}
		if id, err = d.insertDevice(ctx, tx, user, newDevice{name: name, credHash: hash, offset: offset, linked: true}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE device_links SET user_id = $1, device_id = $2, provision = $3 WHERE code = $4`,
			user[:], int64(id), provision, code)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("claim link: %w", err)
	}
	return id, nil
}

// DeleteLink removes a link and returns it.
func (d *Directory) DeleteLink(ctx context.Context, code string) (directory.Link, error) {
	l, err := scanLink(d.pool.QueryRow(ctx, `DELETE FROM device_links WHERE code = $1 RETURNING `+linkColumns, code))
	if err != nil {
		return directory.Link{}, fmt.Errorf("delete link: %w", err)
	}
	return l, nil
}

// DeleteExpiredLinks removes up to limit links that expired before before.
func (d *Directory) DeleteExpiredLinks(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit <= 0 {
		return 0, fmt.Errorf("delete expired links: limit %d: %w", limit, directory.ErrInvalid)
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM device_links WHERE code IN (
		SELECT code FROM device_links WHERE expires_ns < $1 ORDER BY expires_ns LIMIT $2)`, ns(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired links: %w", err)
	}
	return tag.RowsAffected(), nil
}
