package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// AddDevice registers a new device for user. Updating the user's device
// counter locks the user's row, which serializes concurrent registrations.
func (d *Directory) AddDevice(ctx context.Context, user wire.UserID, name string, credHash []byte, offset int64) (wire.DeviceID, error) {
	if err := directory.CheckHash("credential hash", credHash); err != nil {
		return 0, err
	}
	var id int64
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE users SET last_device = last_device + 1 WHERE id = $1 RETURNING last_device`, user[:]).Scan(&id)
		if err != nil {
			return notFound(err)
		}
		if id > math.MaxUint32 {
			return fmt.Errorf("user has used all device ids")
		}
		now := d.now()
		_, err = tx.Exec(ctx, `INSERT INTO devices (user_id, id, name, cred_hash, created_ns, last_seen_ns, inbox_offset)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, user[:], id, name, credHash, ns(now), ns(directory.Day(now)), offset)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("add device: %w", err)
	}
	return wire.DeviceID(id), nil
}

const deviceColumns = `id, name, cred_hash, created_ns, last_seen_ns, inbox_offset`

func scanDevice(user wire.UserID, row pgx.Row) (directory.Device, error) {
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
	row := d.pool.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = $1 AND id = $2`, user[:], int64(id))
	dev, err := scanDevice(user, row)
	if err != nil {
		return directory.Device{}, fmt.Errorf("device: %w", notFound(err))
	}
	return dev, nil
}

// Devices lists user's devices in ID order.
func (d *Directory) Devices(ctx context.Context, user wire.UserID) ([]directory.Device, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+deviceColumns+` FROM devices WHERE user_id = $1 ORDER BY id`, user[:])
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	devs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.Device, error) {
		return scanDevice(user, row)
	})
	if err != nil {
		return nil, fmt.Errorf("devices: %w", err)
	}
	return devs, nil
}

// RemoveDevice deletes a device; its prekeys go with it.
func (d *Directory) RemoveDevice(ctx context.Context, user wire.UserID, id wire.DeviceID) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM devices WHERE user_id = $1 AND id = $2`, user[:], int64(id))
	if err != nil {
		return fmt.Errorf("remove device: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("remove device: %w", directory.ErrNotFound)
	}
	return nil
}

// CommitOffsets moves the offsets and last-seen times of several devices
// forward. The updates go in one batch, which runs as one implicit
// transaction, in (user, device) order so that concurrent batches lock rows
// in the same order and cannot deadlock.
func (d *Directory) CommitOffsets(ctx context.Context, offsets []directory.DeviceOffset) error {
	if len(offsets) == 0 {
		return nil
	}
	var b pgx.Batch
	for _, o := range directory.MergeOffsets(offsets) {
		b.Queue(`UPDATE devices SET inbox_offset = GREATEST(inbox_offset, $1), last_seen_ns = GREATEST(last_seen_ns, $2)
			WHERE user_id = $3 AND id = $4`, o.Offset, ns(directory.Day(o.Seen)), o.User[:], int64(o.Device))
	}
	if err := d.pool.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("commit offsets: %w", err)
	}
	return nil
}
