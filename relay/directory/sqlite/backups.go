package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// SetBackup makes b the account's backup. The writer's one connection
// and BEGIN IMMEDIATE make the check, the swap and the expiries one step.
func (d *Directory) SetBackup(ctx context.Context, b directory.Backup) (wire.BlobID, error) {
	if err := b.Check(); err != nil {
		return wire.BlobID{}, fmt.Errorf("set backup: %w", err)
	}
	var previous wire.BlobID
	err := d.write(ctx, func(tx *sql.Tx) error {
		var size int64
		err := tx.QueryRowContext(ctx, `SELECT size FROM blobs
			WHERE id = ? AND owner = ? AND completed_ns <> 0 AND deleted_ns = 0 AND expires_ns > ?`,
			b.Blob[:], b.User[:], ns(b.Created)).Scan(&size)
		if err != nil {
			return notFound(err)
		}
		var raw []byte
		switch err := tx.QueryRowContext(ctx, `SELECT blob FROM backups WHERE user_id = ?`, b.User[:]).Scan(&raw); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			if previous, err = blobID(raw); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO backups (user_id, blob, sealed, created_ns, size) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET blob = excluded.blob, sealed = excluded.sealed,
				created_ns = excluded.created_ns, size = excluded.size`,
			b.User[:], b.Blob[:], b.Sealed, ns(b.Created), size); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE blobs SET expires_ns = ? WHERE id = ?`, ns(directory.NeverExpires), b.Blob[:]); err != nil {
			return err
		}
		if previous == b.Blob || previous.IsZero() {
			previous = wire.BlobID{}
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE blobs SET expires_ns = ? WHERE id = ?`, ns(b.Created), previous[:])
		return err
	})
	if err != nil {
		return wire.BlobID{}, fmt.Errorf("set backup: %w", err)
	}
	return previous, nil
}

// Backup returns the account's backup.
func (d *Directory) Backup(ctx context.Context, user wire.UserID) (directory.Backup, error) {
	b := directory.Backup{User: user}
	var raw []byte
	var created int64
	err := d.r.QueryRowContext(ctx, `SELECT blob, sealed, created_ns, size FROM backups WHERE user_id = ?`, user[:]).
		Scan(&raw, &b.Sealed, &created, &b.Size)
	if err == nil {
		b.Blob, err = blobID(raw)
	}
	if err != nil {
		return directory.Backup{}, fmt.Errorf("backup: %w", notFound(err))
	}
	b.Created = fromNS(created)
	return b, nil
}

// DeleteBackup removes the account's backup; its blob expires at at.
func (d *Directory) DeleteBackup(ctx context.Context, user wire.UserID, at time.Time) (wire.BlobID, error) {
	if at.IsZero() {
		return wire.BlobID{}, fmt.Errorf("delete backup: %w: no time", directory.ErrInvalid)
	}
	var id wire.BlobID
	err := d.write(ctx, func(tx *sql.Tx) error {
		var raw []byte
		err := tx.QueryRowContext(ctx, `DELETE FROM backups WHERE user_id = ? RETURNING blob`, user[:]).Scan(&raw)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		if id, err = blobID(raw); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE blobs SET expires_ns = ? WHERE id = ?`, ns(at), id[:])
		return err
	})
	if err != nil {
		return wire.BlobID{}, fmt.Errorf("delete backup: %w", err)
	}
	return id, nil
}
