package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Account returns the user registered under addrHash.
func (d *Directory) Account(ctx context.Context, addrHash []byte) (wire.UserID, error) {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return wire.UserID{}, err
	}
	var b []byte
	if err := d.pool.QueryRow(ctx, `SELECT user_id FROM accounts WHERE addr_hash = $1`, addrHash).Scan(&b); err != nil {
		return wire.UserID{}, fmt.Errorf("account: %w", notFound(err))
	}
	return userID(b)
}

// errRaced says that another process registered the address first.
var errRaced = errors.New("address registered concurrently")

// CreateAccount returns the user for addrHash, creating user id if there is
// none. When two processes race, the address's primary key picks one.
func (d *Directory) CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (wire.UserID, bool, error) {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return wire.UserID{}, false, err
	}
	if id.IsZero() {
		return wire.UserID{}, false, fmt.Errorf("%w: zero user id", directory.ErrInvalid)
	}
	if u, err := d.Account(ctx, addrHash); err == nil {
		return u, false, nil
	} else if !errors.Is(err, directory.ErrNotFound) {
		return wire.UserID{}, false, fmt.Errorf("create account: %w", err)
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, created_ns) VALUES ($1, $2)`, id[:], ns(d.now())); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO accounts (addr_hash, user_id) VALUES ($1, $2) ON CONFLICT (addr_hash) DO NOTHING`, addrHash, id[:])
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errRaced // rolls back the user row
		}
		return nil
	})
	if errors.Is(err, errRaced) {
		u, err := d.Account(ctx, addrHash)
		if err != nil {
			return wire.UserID{}, false, fmt.Errorf("create account: %w", err)
		}
		return u, false, nil
	}
	if err != nil {
		return wire.UserID{}, false, fmt.Errorf("create account: %w", err)
	}
	return id, true, nil
}

// uniqueViolation is PostgreSQL's SQLSTATE for a duplicate key.
const uniqueViolation = "23505"

// MoveAccount returns the user registered under addrHash, first moving
// the account registered under from there when addrHash has none. When a
// concurrent CreateAccount or MoveAccount takes addrHash first, the
// address's primary key refuses the move and the winner's user is
// returned.
func (d *Directory) MoveAccount(ctx context.Context, from, addrHash []byte) (wire.UserID, error) {
	if err := directory.CheckHash("address hash", addrHash); err != nil {
		return wire.UserID{}, err
	}
	if err := directory.CheckHash("old address hash", from); err != nil {
		return wire.UserID{}, err
	}
	if u, err := d.Account(ctx, addrHash); !errors.Is(err, directory.ErrNotFound) {
		return u, err
	}
	var b []byte
	err := d.pool.QueryRow(ctx, `UPDATE accounts SET addr_hash = $1 WHERE addr_hash = $2 RETURNING user_id`, addrHash, from).Scan(&b)
	var pgErr *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		// Nothing to move, or it raced with another move or creation.
		return d.Account(ctx, addrHash)
	}
	if err != nil {
		return wire.UserID{}, fmt.Errorf("move account: %w", err)
	}
	return userID(b)
}
