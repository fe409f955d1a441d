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

const blobColumns = `id, owner, size, token_hash, token_expires_ns, created_ns, completed_ns, expires_ns, deleted_ns`

// CreateBlob records a new upload within lim. The writer's one
// connection and BEGIN IMMEDIATE make the checks and the insert one step.
func (d *Directory) CreateBlob(ctx context.Context, b directory.Blob, lim directory.BlobLimits) error {
	if err := b.Check(); err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	if err := lim.Validate(); err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	err := d.write(ctx, func(tx *sql.Tx) error {
		if lim.Unfinished > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM blobs WHERE owner = ? AND completed_ns = 0 AND deleted_ns = 0`,
				b.Owner[:]).Scan(&n); err != nil {
				return err
			}
			if n >= lim.Unfinished {
				return directory.ErrFull
			}
		}
		if lim.Bytes > 0 {
			var used int64
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM blobs WHERE owner = ? AND created_ns > ?`,
				b.Owner[:], ns(lim.Since)).Scan(&used); err != nil {
				return err
			}
			if used+b.Size > lim.Bytes {
				return directory.ErrQuota
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO blobs (id, owner, size, token_hash, token_expires_ns, created_ns, expires_ns)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			b.ID[:], b.Owner[:], b.Size, b.TokenHash, ns(b.TokenExpires), ns(b.Created), ns(b.Expires))
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
		return fmt.Errorf("create blob: %w", err)
	}
	return nil
}

// Blob returns a blob's record.
func (d *Directory) Blob(ctx context.Context, id wire.BlobID) (directory.Blob, error) {
	b, err := scanBlob(d.r.QueryRowContext(ctx, `SELECT `+blobColumns+` FROM blobs WHERE id = ?`, id[:]))
	if err != nil {
		return directory.Blob{}, fmt.Errorf("blob: %w", notFound(err))
	}
	return b, nil
}

// RenewBlobToken replaces the token of an unfinished upload of owner's.
func (d *Directory) RenewBlobToken(ctx context.Context, id wire.BlobID, owner wire.UserID, tokenHash []byte, expires time.Time) (directory.Blob, error) {
	if len(tokenHash) != 32 {
		return directory.Blob{}, fmt.Errorf("renew blob token: %w: token hash of %d bytes", directory.ErrInvalid, len(tokenHash))
	}
	b, err := scanBlob(d.w.QueryRowContext(ctx, `UPDATE blobs SET token_hash = ?, token_expires_ns = ?
		WHERE id = ? AND owner = ? AND completed_ns = 0 AND deleted_ns = 0 RETURNING `+blobColumns,
		tokenHash, ns(expires), id[:], owner[:]))
	if err != nil {
		return directory.Blob{}, fmt.Errorf("renew blob token: %w", notFound(err))
	}
	return b, nil
}

// CompleteBlob records that a blob's upload completed.
func (d *Directory) CompleteBlob(ctx context.Context, id wire.BlobID, at time.Time) error {
	var deleted int64
	err := d.w.QueryRowContext(ctx, `UPDATE blobs SET completed_ns = CASE WHEN completed_ns = 0 THEN ? ELSE completed_ns END
		WHERE id = ? RETURNING deleted_ns`, ns(at), id[:]).Scan(&deleted)
	switch {
	case err != nil:
		return fmt.Errorf("complete blob: %w", notFound(err))
	case deleted != 0:
		return fmt.Errorf("complete blob: %w: deleted", directory.ErrNotFound)
	}
	return nil
}

// BlobUsage says what owner was granted since since.
func (d *Directory) BlobUsage(ctx context.Context, owner wire.UserID, since time.Time) (directory.BlobUsage, error) {
	var u directory.BlobUsage
	var oldest int64
	err := d.r.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0), coalesce(min(created_ns), 0) FROM blobs WHERE owner = ? AND created_ns > ?`,
		owner[:], ns(since)).Scan(&u.Bytes, &oldest)
	if err == nil {
		err = d.r.QueryRowContext(ctx, `SELECT count(*) FROM blobs WHERE owner = ? AND completed_ns = 0 AND deleted_ns = 0`,
			owner[:]).Scan(&u.Unfinished)
	}
	if err != nil {
		return directory.BlobUsage{}, fmt.Errorf("blob usage: %w", err)
	}
	u.Oldest = fromNS(oldest)
	return u, nil
}

// ExpiredBlobs lists blobs whose bytes are to be deleted.
func (d *Directory) ExpiredBlobs(ctx context.Context, now, unfinishedBefore time.Time, limit int) ([]wire.BlobID, error) {
	if limit < 0 {
		return nil, fmt.Errorf("expired blobs: %w: limit %d", directory.ErrInvalid, limit)
	}
	rows, err := d.r.QueryContext(ctx, `SELECT id FROM blobs WHERE deleted_ns = 0 AND expires_ns <= ?
		UNION SELECT id FROM blobs WHERE completed_ns = 0 AND deleted_ns = 0 AND created_ns < ?
		LIMIT ?`, ns(now), ns(unfinishedBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("expired blobs: %w", err)
	}
	defer rows.Close()
	var ids []wire.BlobID
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("expired blobs: %w", err)
		}
		id, err := blobID(raw)
		if err != nil {
			return nil, fmt.Errorf("expired blobs: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("expired blobs: %w", err)
	}
	return ids, nil
}

// DeleteBlob records that a blob's bytes were deleted.
func (d *Directory) DeleteBlob(ctx context.Context, id wire.BlobID, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("delete blob: %w: no time", directory.ErrInvalid)
	}
	if _, err := d.w.ExecContext(ctx, `UPDATE blobs SET deleted_ns = ? WHERE id = ? AND deleted_ns = 0`, ns(at), id[:]); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// PurgeBlobs removes records of deleted blobs that expired before before.
func (d *Directory) PurgeBlobs(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit < 0 {
		return 0, fmt.Errorf("purge blobs: %w: limit %d", directory.ErrInvalid, limit)
	}
	res, err := d.w.ExecContext(ctx, `DELETE FROM blobs WHERE id IN (
		SELECT id FROM blobs WHERE deleted_ns <> 0 AND expires_ns < ? LIMIT ?)`, ns(before), limit)
	if err != nil {
		return 0, fmt.Errorf("purge blobs: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge blobs: %w", err)
	}
	return n, nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanBlob(r rowScanner) (directory.Blob, error) {
	var b directory.Blob
	var id, owner []byte
	var tokenExp, created, completed, expires, deleted int64
	if err := r.Scan(&id, &owner, &b.Size, &b.TokenHash, &tokenExp, &created, &completed, &expires, &deleted); err != nil {
		return directory.Blob{}, err
	}
	var err error
	if b.ID, err = blobID(id); err != nil {
		return directory.Blob{}, err
	}
	if b.Owner, err = userID(owner); err != nil {
		return directory.Blob{}, err
	}
	b.TokenExpires, b.Created, b.Completed, b.Expires, b.Deleted = fromNS(tokenExp), fromNS(created), fromNS(completed), fromNS(expires), fromNS(deleted)
	return b, nil
}

func blobID(raw []byte) (wire.BlobID, error) {
	var id wire.BlobID
	if len(raw) != len(id) {
		return id, errors.New("stored blob id of wrong length")
	}
	copy(id[:], raw)
	return id, nil
}
