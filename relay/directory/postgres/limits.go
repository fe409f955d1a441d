package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// UserCreated returns when user's account was created.
func (d *Directory) UserCreated(ctx context.Context, user wire.UserID) (time.Time, error) {
	var created int64
	if err := d.pool.QueryRow(ctx, `SELECT created_ns FROM users WHERE id = $1`, user[:]).Scan(&created); err != nil {
		return time.Time{}, fmt.Errorf("user created: %w", notFound(err))
	}
	return fromNS(created), nil
}

// takeLimitQuery charges a bucket in one statement: $1 key, $2 now, $3
// cost, $4 window (directory.LimitCharge). A new key starts full, so its
// charge always fits (the caller refuses a cost over the window); an
// existing one is updated only when the charge fits, and then returns its
// new time. A refused charge returns no row and changes nothing.
//
// Of concurrent charges to one key, the upsert's row lock lets one at a
// time decide, each on the time the one before it committed (ON CONFLICT
// DO UPDATE sees the latest version of the row, even under READ
// COMMITTED), so they never grant more than the bucket holds.
const takeLimitQuery = `INSERT INTO rate_limits (key, tat_ns) VALUES ($1, $2::bigint + $3::bigint)
	ON CONFLICT (key) DO UPDATE SET tat_ns = GREATEST(rate_limits.tat_ns, $2::bigint) + $3::bigint
		WHERE GREATEST(rate_limits.tat_ns, $2::bigint) + $3::bigint - $4::bigint <= $2::bigint
	RETURNING tat_ns`

// pruneLimitsQuery deletes up to $2 buckets full since before $1. The
// outer condition is checked again on a row a Take changed meanwhile, so
// a bucket charged while being pruned is kept.
const pruneLimitsQuery = `DELETE FROM rate_limits WHERE tat_ns < $1 AND key IN (
	SELECT key FROM rate_limits WHERE tat_ns < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`

// Limits returns the rate-limit store in this database, shared by every
// process using it.
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
		tag, err := l.d.pool.Exec(ctx, pruneLimitsQuery, directory.PruneBefore(now), directory.LimitPruneBatch)
		if err != nil {
			return false, 0, fmt.Errorf("prune rate limits: %w", err)
		}
		l.prune.Done(now, tag.RowsAffected())
	}
	var tat int64
	err = l.d.pool.QueryRow(ctx, takeLimitQuery, key, c.Now, c.Cost, c.Window).Scan(&tat)
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return false, 0, fmt.Errorf("take rate limit: %w", err)
	}
	err = l.d.pool.QueryRow(ctx, `SELECT tat_ns FROM rate_limits WHERE key = $1`, key).Scan(&tat)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, 0, fmt.Errorf("take rate limit: %w", err)
	}
	return false, directory.Refused(tat, err == nil, r, n, now), nil
}
