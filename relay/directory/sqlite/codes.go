package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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
	_, err := d.w.ExecContext(ctx, `INSERT INTO codes (addr_hash, token_hash, code_hash, expires_ns, attempts) VALUES (?, ?, ?, ?, ?)
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
	err := d.r.QueryRowContext(ctx, `SELECT code_hash, expires_ns, attempts FROM codes WHERE addr_hash = ? AND token_hash = ?`, addrHash, token).
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
	err := d.w.QueryRowContext(ctx, `UPDATE codes SET attempts = attempts + 1 WHERE addr_hash = ? AND token_hash = ? RETURNING attempts`, addrHash, token).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("fail code: %w", notFound(err))
	}
	return n, nil
}

// DeleteCode removes the code pending for addrHash under token.
func (d *Directory) DeleteCode(ctx context.Context, addrHash, token []byte) error {
	res, err := d.w.ExecContext(ctx, `DELETE FROM codes WHERE addr_hash = ? AND token_hash = ?`, addrHash, token)
	if err != nil {
		return fmt.Errorf("delete code: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete code: %w", err)
	} else if n == 0 {
		return fmt.Errorf("delete code: %w", directory.ErrNotFound)
	}
	return nil
}

// CountCodeRequest records a code request and counts those within window.
func (d *Directory) CountCodeRequest(ctx context.Context, addrHash []byte, now time.Time, window time.Duration) (int, error) {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return 0, fmt.Errorf("count code request: %w", err)
	}
	if window <= 0 {
		return 0, fmt.Errorf("count code request: %w: window %v", directory.ErrInvalid, window)
	}
	t := ns(now)
	var n int
	err := d.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM code_requests WHERE rowid IN (
				SELECT rowid FROM code_requests WHERE at_ns <= ? LIMIT ?)`, t-int64(window), pruneBatch); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM codes WHERE (addr_hash, token_hash) IN (
				SELECT addr_hash, token_hash FROM codes WHERE expires_ns <= ? LIMIT ?)`, t, pruneBatch); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO code_requests (addr_hash, at_ns) VALUES (?, ?)`, addrHash, t); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM code_requests WHERE addr_hash = ? AND at_ns > ?`,
			addrHash, t-int64(window)).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count code request: %w", err)
	}
	return n, nil
}
