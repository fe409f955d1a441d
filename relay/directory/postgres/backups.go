package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// lockOwnerBlobs takes the transaction-level advisory lock on user's
// blobs (the one CreateBlob takes): of concurrent changes of an
// account's backup, each sees the one before it.
func lockOwnerBlobs(ctx context.Context, tx pgx.Tx, user wire.UserID) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`,
		int32(blobLockClass), int32(binary.BigEndian.Uint32(user[:4])))
	return err
}

// SetBackup makes b the account's backup, under the lock on the
// account's blobs.
func (d *Directory) SetBackup(ctx context.Context, b directory.Backup) (wire.BlobID, error) {
	if err := b.Check(); err != nil {
		return wire.BlobID{}, fmt.Errorf("set backup: %w", err)
	}
	var previous wire.BlobID
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		previous = wire.BlobID{}
		if err := lockOwnerBlobs(ctx, tx, b.User); err != nil {
			return err
		}
		var size int64
		err := tx.QueryRow(ctx, `SELECT size FROM blobs
			WHERE id = $1 AND owner = $2 AND completed_ns <> 0 AND deleted_ns = 0 AND expires_ns > $3`,
			b.Blob[:], b.User[:], ns(b.Created)).Scan(&size)
		if err != nil {
			return notFound(err)
		}
		var raw []byte
		switch err := tx.QueryRow(ctx, `SELECT blob FROM backups WHERE user_id = $1`, b.User[:]).Scan(&raw); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			if previous, err = blobID(raw); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO backups (user_id, blob, sealed, created_ns, size) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (user_id) DO UPDATE SET blob = excluded.blob, sealed = excluded.sealed,
				created_ns = excluded.created_ns, size = excluded.size`,
			b.User[:], b.Blob[:], b.Sealed, ns(b.Created), size); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE blobs SET expires_ns = $1 WHERE id = $2`, ns(directory.NeverExpires), b.Blob[:]); err != nil {
			return err
		}
		if previous == b.Blob || previous.IsZero() {
			previous = wire.BlobID{}
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE blobs SET expires_ns = $1 WHERE id = $2`, ns(b.Created), previous[:])
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
	err := d.pool.QueryRow(ctx, `SELECT blob, sealed, created_ns, size FROM backups WHERE user_id = $1`, user[:]).
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
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		id = wire.BlobID{}
		if err := lockOwnerBlobs(ctx, tx, user); err != nil {
			return err
		}
		var raw []byte
		err := tx.QueryRow(ctx, `DELETE FROM backups WHERE user_id = $1 RETURNING blob`, user[:]).Scan(&raw)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		if id, err = blobID(raw); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE blobs SET expires_ns = $1 WHERE id = $2`, ns(at), id[:])
		return err
	})
	if err != nil {
		return wire.BlobID{}, fmt.Errorf("delete backup: %w", err)
	}
	return id, nil
}
