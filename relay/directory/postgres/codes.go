package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
)

// PutCode stores a pending code for addrHash under c.Token.
func (d *Directory) PutCode(ctx context.Context, addrHash []byte, c directory.Code) error {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return fmt.Errorf("put code: %w", err)
	}
	if err := directory.CheckHash("token hash", c.Token); err != nil {
		return fmt.Errorf("put code: %w", err)
	}
	if err := directory.CheckHash("code hash", c.Hash); err != nil {
		return fmt.Errorf("put code: %w", err)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO codes (addr_hash, token_hash, code_hash, expires_ns, attempts) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (addr_hash, token_hash) DO UPDATE SET code_hash = excluded.code_hash, expires_ns = excluded.expires_ns, attempts = excluded.attempts`,
		addrHash, c.Token, c.Hash, ns(c.Expires), c.Attempts)
	if err != nil {
		return fmt.Errorf("put code: %w", err)
	}
	return nil
}

// GetCode returns the code pending for addrHash under token.
func (d *Directory) GetCode(ctx context.Context, addrHash, token []byte) (directory.Code, error) {
	c := directory.Code{Token: append([]byte(nil), token...)}
	var expires int64
	err := d.pool.QueryRow(ctx, `SELECT code_hash, expires_ns, attempts FROM codes WHERE addr_hash = $1 AND token_hash = $2`, addrHash, token).
		Scan(&c.Hash, &expires, &c.Attempts)
	if err != nil {
		return directory.Code{}, fmt.Errorf("get code: %w", notFound(err))
	}
	c.Expires = fromNS(expires)
	return c, nil
}

// FailCode counts a failed attempt and returns the new count.
func (d *Directory) FailCode(ctx context.Context, addrHash, token []byte) (int, error) {
	var n int
	err := d.pool.QueryRow(ctx, `UPDATE codes SET attempts = attempts + 1 WHERE addr_hash = $1 AND token_hash = $2 RETURNING attempts`, addrHash, token).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("fail code: %w", notFound(err))
	}
	return n, nil
}

// DeleteCode removes the code pending for addrHash under token.
func (d *Directory) DeleteCode(ctx context.Context, addrHash, token []byte) error {
	tag, err := d.pool.Exec(ctx, `DELETE FROM codes WHERE addr_hash = $1 AND token_hash = $2`, addrHash, token)
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
	b.Queue(`DELETE FROM codes WHERE (addr_hash, token_hash) IN (
		SELECT addr_hash, token_hash FROM codes WHERE expires_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, t, pruneBatch)
	b.Queue(`INSERT INTO code_requests (addr_hash, at_ns) VALUES ($1, $2)`, addrHash, t)
	var n int
	b.Queue(`SELECT count(*) FROM code_requests WHERE addr_hash = $1 AND at_ns > $2`, addrHash, t-int64(window)).
		QueryRow(func(row pgx.Row) error { return row.Scan(&n) })
	if err := d.pool.SendBatch(ctx, &b).Close(); err != nil {
		return 0, fmt.Errorf("count code request: %w", err)
	}
	return n, nil
}
