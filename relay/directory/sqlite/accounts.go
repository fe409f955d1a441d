package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Account returns the user registered under addrHash.
func (d *Directory) Account(ctx context.Context, addrHash []byte) (wire.UserID, error) {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return wire.UserID{}, err
	}
	var b []byte
	err := d.r.QueryRowContext(ctx, `SELECT user_id FROM accounts WHERE addr_hash = ?`, addrHash).Scan(&b)
	if err != nil {
		return wire.UserID{}, fmt.Errorf("account: %w", notFound(err))
	}
	return userID(b)
}

// CreateAccount returns the user for addrHash, creating user id if there is
// none.
func (d *Directory) CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (wire.UserID, bool, error) {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return wire.UserID{}, false, err
	}
	if id.IsZero() {
		return wire.UserID{}, false, fmt.Errorf("%w: zero user id", directory.ErrInvalid)
	}
	user, created := id, false
	err := d.write(ctx, func(tx *sql.Tx) error {
		var b []byte
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM accounts WHERE addr_hash = ?`, addrHash).Scan(&b)
		if err == nil {
			user, err = userID(b)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, created_ns) VALUES (?, ?)`, id[:], ns(d.now())); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (addr_hash, user_id) VALUES (?, ?)`, addrHash, id[:]); err != nil {
			return err
		}
		created = true
		return nil
	})
	if err != nil {
		return wire.UserID{}, false, fmt.Errorf("create account: %w", err)
	}
	return user, created, nil
}

// MoveAccount returns the user registered under addrHash, first moving
// the account registered under from there when addrHash has none.
func (d *Directory) MoveAccount(ctx context.Context, from, addrHash []byte) (wire.UserID, error) {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return wire.UserID{}, err
	}
	if err := directory.CheckHash("old address hash", from); err != nil {
		return wire.UserID{}, err
	}
	var user wire.UserID
	err := d.write(ctx, func(tx *sql.Tx) error {
		var b []byte
		err := tx.QueryRowContext(ctx, `SELECT user_id FROM accounts WHERE addr_hash = ?`, addrHash).Scan(&b)
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `UPDATE accounts SET addr_hash = ? WHERE addr_hash = ? RETURNING user_id`, addrHash, from).Scan(&b)
		}
		if err != nil {
			return notFound(err)
		}
		user, err = userID(b)
		return err
	})
	if err != nil {
		return wire.UserID{}, fmt.Errorf("move account: %w", err)
	}
	return user, nil
}
