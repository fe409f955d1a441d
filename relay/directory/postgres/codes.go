package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
)

// PutCode stores (replacing) the pending code for addrHash.
func (d *Directory) PutCode(ctx context.Context, addrHash []byte, c directory.Code) error {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return fmt.Errorf("put code: %w", err)
	}
	if err := directory.CheckHash("code hash", c.Hash); err != nil {
		return fmt.Errorf("put code: %w", err)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO codes (addr_hash, code_hash, expires_ns, attempts) VALUES ($1, $2, $3, $4)
		ON CONFLICT (addr_hash) DO UPDATE SET code_hash = excluded.code_hash, expires_ns = excluded.expires_ns, attempts = excluded.attempts`,
		addrHash, c.Hash, ns(c.Expires), c.Attempts)
	if err != nil {
		return fmt.Errorf("put code: %w", err)
	}
	return nil
}

// GetCode returns the pending code for addrHash.
func (d *Directory) GetCode(ctx context.Context, addrHash []byte) (directory.Code, error) {
	var (
		c       directory.Code
		expires int64
	)
	err := d.pool.QueryRow(ctx, `SELECT code_hash, expires_ns, attempts FROM codes WHERE addr_hash = $1`, addrHash).
		Scan(&c.Hash, &expires, &c.Attempts)
	if err != nil {
		return directory.Code{}, fmt.Errorf("get code: %w", notFound(err))
	}
	c.Expires = fromNS(expires)
	return c, nil
}

// FailCode counts a failed attempt and returns the new count.
func (d *Directory) FailCode(ctx context.Context, addrHash []byte) (int, error) {
	var n int
	err := d.pool.QueryRow(ctx, `UPDATE codes SET attempts = attempts + 1 WHERE addr_hash = $1 RETURNING attempts`, addrHash).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("fail code: %w", notFound(err))
	}
	return n, nil
}

// DeleteCode removes the pending code for addrHash, if any.
func (d *Directory) DeleteCode(ctx context.Context, addrHash []byte) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM codes WHERE addr_hash = $1`, addrHash)
	if err != nil {
		return fmt.Errorf("delete code: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete code: %w", directory.ErrNotFound)
	}
	return nil
}

// CountCodeRequest records a code request and counts those within window.
// The statements go in one batch: one round trip, one implicit transaction.
func (d *Directory) CountCodeRequest(ctx context.Context, addrHash []byte, now time.Time, window time.Duration) (int, error) {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return 0, fmt.Errorf("count code request: %w", err)
	}
	if window <= 0 {
		return 0, fmt.Errorf("count code request: %w: window %v", directory.ErrInvalid, window)
	}
	t := ns(now)
	var b pgx.Batch
	b.Queue(`DELETE FROM code_requests WHERE seq IN (
		SELECT seq FROM code_requests WHERE at_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, t-int64(window), pruneBatch)
	b.Queue(`DELETE FROM codes WHERE addr_hash IN (
		SELECT addr_hash FROM codes WHERE expires_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, t, pruneBatch)
	b.Queue(`INSERT INTO code_requests (addr_hash, at_ns) VALUES ($1, $2)`, addrHash, t)
	var n int
	b.Queue(`SELECT count(*) FROM code_requests WHERE addr_hash = $1 AND at_ns > $2`, addrHash, t-int64(window)).
		QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
	if err := d.pool.SendBatch(ctx, &b).Close(); err != nil {
		return 0, fmt.Errorf("count code request: %w", err)
	}
	return n, nil
}
