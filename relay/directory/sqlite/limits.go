package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// UserCreated returns when user's account was created.
func (d *Directory) UserCreated(ctx context.Context, user wire.UserID) (time.Time, error) {
	var created int64
	err := d.r.QueryRowContext(ctx, `SELECT created_ns FROM users WHERE id = ?`, user[:]).Scan(&created)
	if err != nil {
		return time.Time{}, fmt.Errorf("user created: %w", notFound(err))
	}
	return fromNS(created), nil
}

// takeLimitQuery charges a bucket in one statement: ?1 key, ?2 now, ?3
// cost, ?4 window (directory.LimitCharge). A new key starts full, so its
// charge always fits (the caller refuses a cost over the window); an
// existing one is updated only when the charge fits, and then returns its
// new time. A refused charge returns no row and changes nothing.
const takeLimitQuery = `INSERT INTO rate_limits (key, tat_ns) VALUES (?1, ?2 + ?3)
	ON CONFLICT (key) DO UPDATE SET tat_ns = max(tat_ns, ?2) + ?3
		WHERE max(tat_ns, ?2) + ?3 - ?4 <= ?2
	RETURNING tat_ns`

// Limits returns the rate-limit store in this database. Every Take is a
// write on the one writer connection, one statement, so Takes are
// serialized.
func (d *Directory) Limits() limit.Store { return &limits{d: d} }

type limits struct {
	d     *Directory
	prune directory.PruneSchedule
}

// Take implements limit.Store.
func (l *limits) Take(ctx context.Context, key string, r limit.Rate, n int64, now time.Time) (bool, time.Duration, error) {
	c, done, ok, retry, err := directory.PlanTake(key, r, n, now)
	if err != nil || done {
		return ok, retry, err
	}
	if l.prune.Due(now) {
		res, err := l.d.w.ExecContext(ctx, `DELETE FROM rate_limits WHERE key IN (
				SELECT key FROM rate_limits WHERE tat_ns < ? LIMIT ?)`, directory.PruneBefore(now), directory.LimitPruneBatch)
		if err != nil {
			return false, 0, fmt.Errorf("prune rate limits: %w", err)
		}
		pruned, _ := res.RowsAffected()
		l.prune.Done(now, pruned)
	}
	var tat int64
	err = l.d.w.QueryRowContext(ctx, takeLimitQuery, key, c.Now, c.Cost, c.Window).Scan(&tat)
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, 0, fmt.Errorf("take rate limit: %w", err)
	}
	err = l.d.r.QueryRowContext(ctx, `SELECT tat_ns FROM rate_limits WHERE key = ?`, key).Scan(&tat)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, 0, fmt.Errorf("take rate limit: %w", err)
	}
	return false, directory.Refused(tat, err == nil, r, n, now), nil
}
