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

// pruneBatch bounds how many expired rows one call deletes, so that pruning
// costs each call little and still keeps up (each call adds one row).
const pruneBatch = 100

const contactStateQuery = `SELECT state FROM contacts WHERE owner = ? AND other = ?`

// SetContact records owner's decision about other; None removes the
// entry. One write transaction holds the checks and the write.
func (d *Directory) SetContact(ctx context.Context, owner, other wire.UserID, state directory.ContactState, max int) error {
	if !state.Valid() || max < 0 {
		return fmt.Errorf("set contact: %w: state %v, max %d", directory.ErrInvalid, state, max)
	}
	var err error
	if state == directory.None {
		_, err = d.w.ExecContext(ctx, `DELETE FROM contacts WHERE owner = ? AND other = ?`, owner[:], other[:])
	} else {
		err = d.write(ctx, func(tx *sql.Tx) error {
			// The WHERE clause also keeps SQLite from reading ON CONFLICT
			// as part of the SELECT.
			res, err := tx.ExecContext(ctx, `INSERT INTO contacts (owner, other, state, updated_ns)
				SELECT ?1, ?2, ?3, ?4
				WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2)
					AND (EXISTS (SELECT 1 FROM contacts WHERE owner = ?1 AND other = ?2)
						OR (SELECT count(*) FROM contacts WHERE owner = ?1) < ?5)
				ON CONFLICT (owner, other) DO UPDATE SET state = excluded.state, updated_ns = excluded.updated_ns`,
				owner[:], other[:], int(state), ns(d.now()), max)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n > 0 {
				return err
			}
			var exists int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM users WHERE id = ?`, other[:]).Scan(&exists); err != nil {
				return err
			}
			if exists == 0 {
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

// ContactState returns owner's decision about other.
func (d *Directory) ContactState(ctx context.Context, owner, other wire.UserID) (directory.ContactState, error) {
	var s int
	err := d.contactState.QueryRowContext(ctx, owner[:], other[:]).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := d.r.QueryContext(ctx, `SELECT other, state, updated_ns FROM contacts WHERE owner = ? ORDER BY other LIMIT ?`, owner[:], max)
	if err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	defer rows.Close()
	var cs []directory.Contact
	for rows.Next() {
		var (
			other   []byte
			c       directory.Contact
			updated int64
		)
		if err := rows.Scan(&other, &c.State, &updated); err != nil {
			return nil, fmt.Errorf("contacts: %w", err)
		}
		if c.User, err = userID(other); err != nil {
			return nil, fmt.Errorf("contacts: %w", err)
		}
		c.Updated = fromNS(updated)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	return cs, nil
}

// NoteRequest records a contact request if it is within the limits, or
// finds it already recorded. The checks and the insert share one write
// transaction.
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
	err := d.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM contact_requests WHERE rowid IN (
				SELECT rowid FROM contact_requests WHERE at_ns <= ? LIMIT ?)`, t-int64(keep), pruneBatch); err != nil {
			return err
		}
		// The same request seen again: it was counted the first time.
		var seen int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM contact_requests
				WHERE from_user = ? AND to_user = ? AND message_id = ? AND at_ns > ? LIMIT 1)`,
			from[:], to[:], id[:], t-int64(keep)).Scan(&seen); err != nil {
			return err
		}
		if seen > 0 {
			ok = true
			return nil
		}
		if pair {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM contact_requests
					WHERE from_user = ? AND to_user = ? AND at_ns > ? LIMIT 1)`,
				from[:], to[:], t-int64(lim.PairWindow)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		if sender {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM contact_requests WHERE from_user = ? AND at_ns > ?`,
				from[:], t-int64(lim.SenderWindow)).Scan(&n); err != nil {
				return err
			}
			if n >= lim.PerSender {
				return nil
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO contact_requests (from_user, to_user, message_id, at_ns) VALUES (?, ?, ?, ?)`,
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
