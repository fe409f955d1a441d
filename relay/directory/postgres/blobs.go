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

const blobColumns = `id, owner, size, token_hash, token_expires_ns, created_ns, completed_ns, expires_ns, deleted_ns`

// blobLockClass is the first key of the advisory locks on owners'
// uploads: a key space of its own (see listLockClass).
const blobLockClass = 0x4d42 // "MB"

// CreateBlob records a new upload within lim. A transaction-level
// advisory lock keyed by the owner makes the checks and the insert atomic
// per owner, across processes.
func (d *Directory) CreateBlob(ctx context.Context, b directory.Blob, lim directory.BlobLimits) error {
	if err := b.Check(); err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	if err := lim.Validate(); err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`,
			int32(blobLockClass), int32(binary.BigEndian.Uint32(b.Owner[:4]))); err != nil {
			return err
		}
		if lim.Unfinished > 0 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM blobs WHERE owner = $1 AND completed_ns = 0 AND deleted_ns = 0`,
				b.Owner[:]).Scan(&n); err != nil {
				return err
			}
			if n >= lim.Unfinished {
				return directory.ErrFull
			}
		}
		if lim.Bytes > 0 {
			var used int64
			if err := tx.QueryRow(ctx, `SELECT coalesce(sum(size), 0)::bigint FROM blobs WHERE owner = $1 AND created_ns > $2`,
				b.Owner[:], ns(lim.Since)).Scan(&used); err != nil {
				return err
			}
			if used+b.Size > lim.Bytes {
				return directory.ErrQuota
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO blobs (id, owner, size, token_hash, token_expires_ns, created_ns, expires_ns)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			b.ID[:], b.Owner[:], b.Size, b.TokenHash, ns(b.TokenExpires), ns(b.Created), ns(b.Expires))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
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
	b, err := scanBlob(d.pool.QueryRow(ctx, `SELECT `+blobColumns+` FROM blobs WHERE id = $1`, id[:]))
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
	b, err := scanBlob(d.pool.QueryRow(ctx, `UPDATE blobs SET token_hash = $1, token_expires_ns = $2
		WHERE id = $3 AND owner = $4 AND completed_ns = 0 AND deleted_ns = 0 RETURNING `+blobColumns,
		tokenHash, ns(expires), id[:], owner[:]))
	if err != nil {
		return directory.Blob{}, fmt.Errorf("renew blob token: %w", notFound(err))
	}
	return b, nil
}

// CompleteBlob records that a blob's upload completed.
func (d *Directory) CompleteBlob(ctx context.Context, id wire.BlobID, at time.Time) error {
	var deleted int64
	err := d.pool.QueryRow(ctx, `UPDATE blobs SET completed_ns = CASE WHEN completed_ns = 0 THEN $1 ELSE completed_ns END
		WHERE id = $2 RETURNING deleted_ns`, ns(at), id[:]).Scan(&deleted)
	switch {
	case err != nil:
		return fmt.Errorf("complete blob: %w", notFound(err))
	case deleted != 0:
		return fmt.Errorf("complete blob: %w: deleted", directory.ErrNotFound)
	}
	return nil
}

// BlobUsage says what owner was granted since since, in one batch.
func (d *Directory) BlobUsage(ctx context.Context, owner wire.UserID, since time.Time) (directory.BlobUsage, error) {
	var u directory.BlobUsage
	var oldest int64
	var b pgx.Batch
	b.Queue(`SELECT coalesce(sum(size), 0)::bigint, coalesce(min(created_ns), 0) FROM blobs WHERE owner = $1 AND created_ns > $2`,
		owner[:], ns(since)).QueryRow(func(row pgx.Row) error { return row.Scan(&u.Bytes, &oldest) })
	b.Queue(`SELECT count(*) FROM blobs WHERE owner = $1 AND completed_ns = 0 AND deleted_ns = 0`,
		owner[:]).QueryRow(func(row pgx.Row) error { return row.Scan(&u.Unfinished) })
	if err := d.pool.SendBatch(ctx, &b).Close(); err != nil {
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
	rows, err := d.pool.Query(ctx, `SELECT id FROM blobs WHERE deleted_ns = 0 AND expires_ns <= $1
		UNION SELECT id FROM blobs WHERE completed_ns = 0 AND deleted_ns = 0 AND created_ns < $2
		LIMIT $3`, ns(now), ns(unfinishedBefore), int64(limit))
	if err != nil {
		return nil, fmt.Errorf("expired blobs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (wire.BlobID, error) {
		var raw []byte
		if err := row.Scan(&raw); err != nil {
			return wire.BlobID{}, err
		}
		return blobID(raw)
	})
	if err != nil {
		return nil, fmt.Errorf("expired blobs: %w", err)
	}
	return ids, nil
}

// DeleteBlob records that a blob's bytes were deleted.
func (d *Directory) DeleteBlob(ctx context.Context, id wire.BlobID, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("delete blob: %w: no time", directory.ErrInvalid)
	}
	if _, err := d.pool.Exec(ctx, `UPDATE blobs SET deleted_ns = $1 WHERE id = $2 AND deleted_ns = 0`, ns(at), id[:]); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}

// PurgeBlobs removes records of deleted blobs that expired before before.
// Concurrent purgers skip each other's rows.
func (d *Directory) PurgeBlobs(ctx context.Context, before time.Time, limit int) (int64, error) {
	if limit < 0 {
		return 0, fmt.Errorf("purge blobs: %w: limit %d", directory.ErrInvalid, limit)
	}
	tag, err := d.pool.Exec(ctx, `DELETE FROM blobs WHERE id IN (
		SELECT id FROM blobs WHERE deleted_ns <> 0 AND expires_ns < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ns(before), int64(limit))
	if err != nil {
		return 0, fmt.Errorf("purge blobs: %w", err)
	}
	return tag.RowsAffected(), nil
}

func scanBlob(r pgx.Row) (directory.Blob, error) {
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
