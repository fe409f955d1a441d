package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// AddDevice registers a new device for user.
func (d *Directory) AddDevice(ctx context.Context, user wire.UserID, name string, credHash []byte, offset int64) (wire.DeviceID, error) {
	if err := directory.CheckHash("credential hash", credHash); err != nil {
		return 0, err
	}
	var id wire.DeviceID
	err := d.write(ctx, func(tx *sql.Tx) (err error) {
		id, err = d.insertDevice(ctx, tx, user, newDevice{name: name, credHash: credHash, offset: offset})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("add device: %w", err)
	}
	return id, nil
}

// AddVerifiedDevice registers a device signed in by code alone, held
// when the account has an approved device in use since nd.ActiveSince.
func (d *Directory) AddVerifiedDevice(ctx context.Context, user wire.UserID, nd directory.NewDevice) (directory.Device, error) {
	if err := directory.CheckHash("credential hash", nd.CredHash); err != nil {
		return directory.Device{}, err
	}
	var dev directory.Device
	err := d.write(ctx, func(tx *sql.Tx) error {
		add := newDevice{name: nd.Name, credHash: nd.CredHash, offset: nd.Offset}
		if !nd.HoldUntil.IsZero() {
			var active bool
			err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM devices
				WHERE user_id = ? AND pending_until_ns = 0 AND last_seen_ns >= ?)`,
				user[:], ns(directory.Day(nd.ActiveSince))).Scan(&active)
			if err != nil {
				return err
			}
			if active {
				add.pendingUntil = nd.HoldUntil
			}
		}
		id, err := d.insertDevice(ctx, tx, user, add)
		if err != nil {
			return err
		}
		dev, err = scanDevice(user, tx.QueryRowContext(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = ? AND id = ?`, user[:], int64(id)))
		return err
	})
	if err != nil {
		return directory.Device{}, fmt.Errorf("add device: %w", err)
	}
	return dev, nil
}

// newDevice is what insertDevice writes.
type newDevice struct {
	name         string
	credHash     []byte
	offset       int64
	pendingUntil time.Time
	linked       bool
}

// insertDevice takes the user's next device ID and adds the device.
func (d *Directory) insertDevice(ctx context.Context, tx *sql.Tx, user wire.UserID, nd newDevice) (wire.DeviceID, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `UPDATE users SET last_device = last_device + 1 WHERE id = ? RETURNING last_device`, user[:]).Scan(&id)
	if err != nil {
		return 0, notFound(err)
	}
	if id > math.MaxUint32 {
		return 0, fmt.Errorf("user has used all device ids")
	}
	now := d.now()
	_, err = tx.ExecContext(ctx, `INSERT INTO devices (user_id, id, name, cred_hash, created_ns, last_seen_ns, inbox_offset, pending_until_ns, linked)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, user[:], id, nd.name, nd.credHash, ns(now), ns(directory.Day(now)), nd.offset, ns(nd.pendingUntil), nd.linked)
	return wire.DeviceID(id), err
}

// ApproveDevice ends a device's hold and moves it to offset.
func (d *Directory) ApproveDevice(ctx context.Context, user wire.UserID, id wire.DeviceID, offset int64) error {
	res, err := d.w.ExecContext(ctx, `UPDATE devices SET pending_until_ns = 0, inbox_offset = MAX(inbox_offset, ?)
		WHERE user_id = ? AND id = ? AND pending_until_ns <> 0`, offset, user[:], int64(id))
	if err != nil {
		return fmt.Errorf("approve device: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("approve device: %w", err)
	} else if n == 0 {
		return fmt.Errorf("approve device: %w", directory.ErrNotFound)
	}
	return nil
}

const deviceColumns = `id, name, cred_hash, created_ns, last_seen_ns, inbox_offset, pending_until_ns, linked`

func scanDevice(user wire.UserID, row interface{ Scan(...any) error }) (directory.Device, error) {
	var (
		dev                    = directory.Device{User: user}
		id                     int64
		created, seen, pending int64
	)
	if err := row.Scan(&id, &dev.Name, &dev.CredHash, &created, &seen, &dev.Offset, &pending, &dev.Linked); err != nil {
		return directory.Device{}, err
	}
	dev.ID = wire.DeviceID(id)
	dev.Created, dev.LastSeen, dev.PendingUntil = fromNS(created), fromNS(seen), fromNS(pending)
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
