package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// AddDevice registers a new device for user.
func (d *Directory) AddDevice(ctx context.Context, user wire.UserID, name string, credHash []byte, offset int64) (wire.DeviceID, error) {
	if err := directory.CheckHash("credential hash", credHash); err != nil {
		return 0, err
	}
	var id int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE users SET last_device = last_device + 1 WHERE id = ? RETURNING last_device`, user[:]).Scan(&id)
		if err != nil {
			return notFound(err)
		}
		if id > math.MaxUint32 {
			return fmt.Errorf("user has used all device ids")
		}
		now := d.now()
		_, err = tx.ExecContext(ctx, `INSERT INTO devices (user_id, id, name, cred_hash, created_ns, last_seen_ns, inbox_offset)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, user[:], id, name, credHash, ns(now), ns(directory.Day(now)), offset)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("add device: %w", err)
	}
	return wire.DeviceID(id), nil
}

const deviceColumns = `id, name, cred_hash, created_ns, last_seen_ns, inbox_offset`

func scanDevice(user wire.UserID, row interface{ Scan(...any) error }) (directory.Device, error) {
	var (
		dev           = directory.Device{User: user}
		id            int64
		created, seen int64
	)
	if err := row.Scan(&id, &dev.Name, &dev.CredHash, &created, &seen, &dev.Offset); err != nil {
		return directory.Device{}, err
	}
	dev.ID = wire.DeviceID(id)
	dev.Created, dev.LastSeen = fromNS(created), fromNS(seen)
	return dev, nil
}

// Device returns one device.
func (d *Directory) Device(ctx context.Context, user wire.UserID, id wire.DeviceID) (directory.Device, error) {
	row := d.r.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = ? AND id = ?`, user[:], int64(id))
	dev, err := scanDevice(user, row)
	if err != nil {
		return directory.Device{}, fmt.Errorf("device: %w", notFound(err))
	}
	return dev, nil
}

// Devices lists user's devices in ID order.
func (d *Directory) Devices(ctx context.Context, user wire.UserID) ([]directory.Device, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = ? ORDER BY id`, user[:])
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	defer rows.Close()
	var devs []directory.Device
	for rows.Next() {
		dev, err := scanDevice(user, rows)
		if err != nil {
			return nil, fmt.Errorf("devices: %w", err)
		}
		devs = append(devs, dev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	return devs, nil
}

// RemoveDevice deletes a device; its prekeys go with it.
func (d *Directory) RemoveDevice(ctx context.Context, user wire.UserID, id wire.DeviceID) error {
	res, err := d.w.ExecContext(ctx, `DELETE FROM devices WHERE user_id = ? AND id = ?`, user[:], int64(id))
	if err != nil {
		return fmt.Errorf("remove device: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("remove device: %w", err)
	} else if n == 0 {
		return fmt.Errorf("remove device: %w", directory.ErrNotFound)
	}
	return nil
}

const commitOffsetQuery = `UPDATE devices SET inbox_offset = MAX(inbox_offset, ?), last_seen_ns = MAX(last_seen_ns, ?)
	WHERE user_id = ? AND id = ?`

// CommitOffsets moves the offsets and last-seen times of several devices
// forward in one transaction.
func (d *Directory) CommitOffsets(ctx context.Context, offsets []directory.DeviceOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, d.commitOffset)
		for _, o := range directory.MergeOffsets(offsets) {
			if _, err := stmt.ExecContext(ctx, o.Offset, ns(directory.Day(o.Seen)), o.User[:], int64(o.Device)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	return nil
}
