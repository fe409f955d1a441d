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

// pruneBatch bounds how many expired rows one call deletes, so that pruning
// costs each call little and still keeps up (each call adds one row).
const pruneBatch = 100

// SetContact records owner's decision about other; None removes the
// entry. A transaction-level advisory lock keyed by the owner makes the
// bound on the list hold against concurrent calls from other processes.
func (d *Directory) SetContact(ctx context.Context, owner, other wire.UserID, state directory.ContactState, max int) error {
	if !state.Valid() || max < 0 {
		return fmt.Errorf("set contact: %w: state %v, max %d", directory.ErrInvalid, state, max)
	}
	var err error
	if state == directory.None {
		_, err = d.pool.Exec(ctx, `DELETE FROM contacts WHERE owner = $1 AND other = $2`, owner[:], other[:])
	} else {
		err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, contactLockKey(owner)); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `INSERT INTO contacts (owner, other, state, updated_ns)
				SELECT $1, $2, $3, $4
				WHERE EXISTS (SELECT 1 FROM users WHERE id = $2)
					AND (EXISTS (SELECT 1 FROM contacts WHERE owner = $1 AND other = $2)
						OR (SELECT count(*) FROM contacts WHERE owner = $1) < $5)
				ON CONFLICT (owner, other) DO UPDATE SET state = excluded.state, updated_ns = excluded.updated_ns`,
				owner[:], other[:], int16(state), ns(d.now()), int64(max))
			if err != nil || tag.RowsAffected() > 0 {
				return err
			}
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, other[:]).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return directory.ErrNotFound
			}
			return directory.ErrFull
		})
	}
	if err != nil {
		return fmt.Errorf("set contact: %w", err)
	}
	return nil
}

// contactLockKey is the advisory lock of owner's contact list. It differs
// from the lock NoteRequest takes for the same user (the key is flipped),
// so that the two never wait for each other; two owners sharing a key
// only wait for each other.
func contactLockKey(owner wire.UserID) int64 {
	return ^int64(binary.BigEndian.Uint64(owner[:8]))
}

// ContactState returns owner's decision about other.
func (d *Directory) ContactState(ctx context.Context, owner, other wire.UserID) (directory.ContactState, error) {
	var s int16
	err := d.pool.QueryRow(ctx, `SELECT state FROM contacts WHERE owner = $1 AND other = $2`, owner[:], other[:]).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return directory.None, nil
	}
	if err != nil {
		return directory.None, fmt.Errorf("contact state: %w", err)
	}
	return directory.ContactState(s), nil
}

// Contacts lists at most max of owner's contact entries in order of
// user ID.
func (d *Directory) Contacts(ctx context.Context, owner wire.UserID, max int) ([]directory.Contact, error) {
	if max < 0 {
		return nil, fmt.Errorf("contacts: %w: max %d", directory.ErrInvalid, max)
	}
	rows, err := d.pool.Query(ctx, `SELECT other, state, updated_ns FROM contacts WHERE owner = $1 ORDER BY other LIMIT $2`, owner[:], int64(max))
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (directory.Contact, error) {
		var (
			other   []byte
			state   int16
			updated int64
		)
		if err := row.Scan(&other, &state, &updated); err != nil {
			return directory.Contact{}, err
		}
		u, err := userID(other)
		return directory.Contact{User: u, State: directory.ContactState(state), Updated: fromNS(updated)}, err
	})
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return cs, nil
}

// NoteRequest records a contact request if it is within the limits, or
// finds it already recorded. A transaction-level advisory lock keyed by the
// sender makes the checks and the insert atomic against other processes.
func (d *Directory) NoteRequest(ctx context.Context, from, to wire.UserID, id wire.MessageID, now time.Time, lim directory.RequestLimits) (bool, error) {
	if err := lim.Validate(); err != nil {
		return false, fmt.Errorf("note request: %w", err)
	}
	pair := lim.PairWindow > 0
	sender := lim.PerSender > 0 && lim.SenderWindow > 0
	if !pair && !sender {
		return true, nil
	}
	var keep time.Duration
	if pair {
		keep = lim.PairWindow
	}
	if sender {
		keep = max(keep, lim.SenderWindow)
	}
	t := ns(now)
	ok := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// User IDs are random: their first 8 bytes make a good lock key.
		// Two senders sharing a key only wait for each other.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(binary.BigEndian.Uint64(from[:8]))); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM contact_requests WHERE seq IN (
				SELECT seq FROM contact_requests WHERE at_ns <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
			t-int64(keep), pruneBatch); err != nil {
			return err
		}
		// The same request seen again: it was counted the first time.
		var seen bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contact_requests
				WHERE from_user = $1 AND to_user = $2 AND message_id = $3 AND at_ns > $4)`,
			from[:], to[:], id[:], t-int64(keep)).Scan(&seen); err != nil {
			return err
		}
		if seen {
			ok = true
			return nil
		}
		if pair {
			var recent bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contact_requests
					WHERE from_user = $1 AND to_user = $2 AND at_ns > $3)`,
				from[:], to[:], t-int64(lim.PairWindow)).Scan(&recent); err != nil {
				return err
			}
			if recent {
				return nil
			}
		}
		if sender {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM contact_requests WHERE from_user = $1 AND at_ns > $2`,
				from[:], t-int64(lim.SenderWindow)).Scan(&n); err != nil {
				return err
			}
			if n >= lim.PerSender {
				return nil
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contact_requests (from_user, to_user, message_id, at_ns) VALUES ($1, $2, $3, $4)`,
			from[:], to[:], id[:], t); err != nil {
			return err
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("note request: %w", err)
	}
	return ok, nil
}
