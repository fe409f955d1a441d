package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// CreateLink stores an unclaimed link, replacing an expired one with the
// same code.
func (d *Directory) CreateLink(ctx context.Context, l directory.Link, now time.Time) error {
	if err := l.Check(); err != nil {
		return fmt.Errorf("create link: %w", err)
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM device_links WHERE code = ? AND expires_ns <= ?`, l.Code, ns(now)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO device_links (code, key, identity, device_name, cred_hash, expires_ns)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (code) DO NOTHING`,
			l.Code, l.Key, l.Identity, l.DeviceName, l.CredHash, ns(l.Expires))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
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
		device  sql.NullInt64
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
	l.Device = wire.DeviceID(device.Int64)
	return l, nil
}

// Link returns the link stored under code.
func (d *Directory) Link(ctx context.Context, code string) (directory.Link, error) {
	l, err := scanLink(d.r.QueryRowContext(ctx, `SELECT `+linkColumns+` FROM device_links WHERE code = ?`, code))
	if err != nil {
		return directory.Link{}, fmt.Errorf("link: %w", err)
	}
	return l, nil
}

// ClaimLink adds the device waiting on an unclaimed, unexpired link to
// user's account and records the claim, in one write transaction.
func (d *Directory) ClaimLink(ctx context.Context, code string, user wire.UserID, provision []byte, offset int64, now time.Time) (wire.DeviceID, error) {
	var id wire.DeviceID
	err := d.write(ctx, func(tx *sql.Tx) error {
		var (
			name string
			hash []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT device_name, cred_hash FROM device_links
			WHERE code = ? AND device_id IS NULL AND expires_ns > ?`, code, ns(now)).Scan(&name, &hash)
		if err != nil {
			return notFound(err)
		}
		if id, err = d.insertDevice(ctx, tx, user, newDevice{name: name, credHash: hash, offset: offset, linked: true}); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE device_links SET user_id = ?, device_id = ?, provision = ? WHERE code = ?`,
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
	l, err := scanLink(d.w.QueryRowContext(ctx, `DELETE FROM device_links WHERE code = ? RETURNING `+linkColumns, code))
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
	res, err := d.w.ExecContext(ctx, `DELETE FROM device_links WHERE code IN (
		SELECT code FROM device_links WHERE expires_ns < ? ORDER BY expires_ns LIMIT ?)`, ns(before), limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired links: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete expired links: %w", err)
	}
	return n, nil
}
