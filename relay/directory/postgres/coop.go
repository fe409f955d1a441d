package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

var _ coop.Store = (*Directory)(nil)

// membersLock is the advisory lock (two-key form, a class of its own)
// that a transaction changing memberships holds while it counts the
// paying members: the last to count sees every change committed before
// it, so the month's count is never a stale one.
const membersLock = `SELECT pg_advisory_xact_lock(1668247408, 1)` // 'coop'

const membershipColumns = `user_id, reference, provider, plan, amount, currency, customer, subscription, mandate,
	status, status_ns, paid_through_ns, grace_until_ns, next_payment_ns, created_ns, updated_ns`

// payingStatuses matches the statuses of paying memberships (Paying); a
// constant, so that the planner uses the partial index of paying members.
const payingStatuses = `status IN (2, 3)` // wire.MemberActive, wire.MemberGrace

// CreateMembership stores a new membership (pending unless m says
// otherwise), replacing the user's membership unless that one is paying
// (coop.ErrExists).
func (d *Directory) CreateMembership(ctx context.Context, m coop.Membership) error {
	if m.Status == wire.MemberNone {
		m.Status = wire.MemberPending
	}
	if err := directory.CheckMembership(m); err != nil {
		return fmt.Errorf("create membership: %w", err)
	}
	now := d.now()
	if m.Created.IsZero() {
		m.Created = now
	}
	m.Updated = now
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var status int16
		err := tx.QueryRow(ctx, `SELECT status FROM coop_memberships WHERE user_id = $1 FOR UPDATE`, m.User[:]).Scan(&status)
		switch {
		case err == nil && wire.MemberStatus(status).Paying():
			return coop.ErrExists
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM coop_memberships WHERE user_id = $1`, m.User[:]); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO coop_memberships (`+membershipColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			m.User[:], m.Reference, string(m.Provider), m.Plan, m.Amount, m.Currency, m.Customer, m.Subscription, m.Mandate,
			int16(m.Status), ns(m.StatusAt), ns(m.PaidThrough), ns(m.GraceUntil), ns(m.NextPayment), ns(m.Created), ns(m.Updated)); err != nil {
			return err
		}
		return noteMembers(ctx, tx, now)
	})
	if err != nil {
		return fmt.Errorf("create membership: %w", err)
	}
	return nil
}

// Membership returns the user's membership.
func (d *Directory) Membership(ctx context.Context, user wire.UserID) (coop.Membership, error) {
	m, err := scanMembership(d.pool.QueryRow(ctx, `SELECT `+membershipColumns+` FROM coop_memberships WHERE user_id = $1`, user[:]))
	if err != nil {
		return coop.Membership{}, fmt.Errorf("membership: %w", coopNotFound(err))
	}
	return m, nil
}

// ApplyEvent applies ev once: recording it, finding its membership,
// calling fn and storing what fn changed are one transaction. A second
// delivery of ev racing the first waits on the first's insert of the
// event's ID, then finds it recorded (or, if the first rolled back,
// applies it). fn runs inside the transaction and must not call the
// directory.
func (d *Directory) ApplyEvent(ctx context.Context, ev coop.Event, fn func(m *coop.Membership) (bool, *coop.Dues, error)) (bool, error) {
	if ev.Provider == "" || ev.ID == "" {
		return false, fmt.Errorf("apply event: %w: event without a provider or ID", coop.ErrInvalid)
	}
	applied := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		now := d.now()
		tag, err := tx.Exec(ctx, `INSERT INTO coop_events (provider, event_id, applied_ns) VALUES ($1, $2, $3)
			ON CONFLICT (provider, event_id) DO NOTHING`, string(ev.Provider), ev.ID, ns(now))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		m, err := eventMembership(ctx, tx, ev)
		if err != nil {
			return err
		}
		var user wire.UserID
		if m != nil {
			user = m.User
		}
		changed, dues, err := fn(m)
		if err != nil {
			return err
		}
		if changed && m != nil {
			m.User = user
			if err := updateMembership(ctx, tx, *m, now); err != nil {
				return err
			}
		}
		if dues != nil {
			dd, err := directory.PrepareDues(*dues, ev, m, now)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO coop_dues (provider, payment, user_id, month, amount, currency, paid_ns)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (provider, payment) DO NOTHING`,
				string(dd.Provider), dd.Payment, dd.User[:], dd.Month, dd.Amount, dd.Currency, ns(dd.PaidAt)); err != nil {
				return err
			}
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("apply event: %w", err)
	}
	return applied, nil
}

// eventMembership finds (and locks) the membership ev is about: by its
// reference, else its subscription, mandate or customer at the provider.
// None: nil.
func eventMembership(ctx context.Context, tx pgx.Tx, ev coop.Event) (*coop.Membership, error) {
	provider := string(ev.Provider)
	lookups := []struct {
		key   string
		where string
		args  []any
	}{
		{ev.Reference, `reference = $1`, []any{ev.Reference}},
		{ev.Subscription, `provider = $1 AND subscription = $2`, []any{provider, ev.Subscription}},
		{ev.Mandate, `provider = $1 AND mandate = $2`, []any{provider, ev.Mandate}},
		{ev.Customer, `provider = $1 AND customer = $2`, []any{provider, ev.Customer}},
	}
	for _, l := range lookups {
		if l.key == "" {
			continue
		}
		m, err := scanMembership(tx.QueryRow(ctx, `SELECT `+membershipColumns+` FROM coop_memberships
			WHERE `+l.where+` ORDER BY updated_ns DESC LIMIT 1 FOR UPDATE`, l.args...))
		if err == nil {
			return &m, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	return nil, nil
}

// UpdateMembership stores m over the user's membership.
func (d *Directory) UpdateMembership(ctx context.Context, m coop.Membership) error {
	if err := directory.CheckMembership(m); err != nil {
		return fmt.Errorf("update membership: %w", err)
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return updateMembership(ctx, tx, m, d.now()) })
	if err != nil {
		return fmt.Errorf("update membership: %w", err)
	}
	return nil
}

// updateMembership stores m (by user) and the month's count of paying
// members.
func updateMembership(ctx context.Context, tx pgx.Tx, m coop.Membership, now time.Time) error {
	if err := directory.CheckMembership(m); err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `UPDATE coop_memberships SET reference = $2, provider = $3, plan = $4, amount = $5,
			currency = $6, customer = $7, subscription = $8, mandate = $9, status = $10, status_ns = $11,
			paid_through_ns = $12, grace_until_ns = $13, next_payment_ns = $14, updated_ns = $15
		WHERE user_id = $1`,
		m.User[:], m.Reference, string(m.Provider), m.Plan, m.Amount, m.Currency, m.Customer, m.Subscription, m.Mandate,
		int16(m.Status), ns(m.StatusAt), ns(m.PaidThrough), ns(m.GraceUntil), ns(m.NextPayment), ns(now))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return coop.ErrNotFound
	}
	return noteMembers(ctx, tx, now)
}

// noteMembers sets the count of paying members of now's month, under
// membersLock.
func noteMembers(ctx context.Context, tx pgx.Tx, now time.Time) error {
	if _, err := tx.Exec(ctx, membersLock); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO coop_months (month, members)
		VALUES ($1, (SELECT count(*) FROM coop_memberships WHERE `+payingStatuses+`))
		ON CONFLICT (month) DO UPDATE SET members = excluded.members`, directory.Month(now))
	return err
}

// GraceEnded returns up to limit memberships in grace whose grace ended
// before now, the longest ended first.
func (d *Directory) GraceEnded(ctx context.Context, now time.Time, limit int) ([]coop.Membership, error) {
	if limit < 0 {
		return nil, fmt.Errorf("grace ended: %w: limit %d", coop.ErrInvalid, limit)
	}
	rows, err := d.pool.Query(ctx, `SELECT `+membershipColumns+` FROM coop_memberships
		WHERE status = 3 AND grace_until_ns < $1 ORDER BY grace_until_ns LIMIT $2`, ns(now), int64(limit)) // 3: wire.MemberGrace
	if err != nil {
		return nil, fmt.Errorf("grace ended: %w", err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (coop.Membership, error) { return scanMembership(row) })
	if err != nil {
		return nil, fmt.Errorf("grace ended: %w", err)
	}
	return ms, nil
}

// PayingMembers calls fn with the user of every paying membership, in
// order of user ID, through a cursor.
func (d *Directory) PayingMembers(ctx context.Context, fn func(wire.UserID) error) error {
	if err := d.streamUsers(ctx, `SELECT user_id FROM coop_memberships WHERE `+payingStatuses+` ORDER BY user_id`, fn); err != nil {
		return fmt.Errorf("paying members: %w", err)
	}
	return nil
}

// Users calls fn with every account's user ID, in order, through a
// cursor.
func (d *Directory) Users(ctx context.Context, fn func(wire.UserID) error) error {
	if err := d.streamUsers(ctx, `SELECT id FROM users ORDER BY id`, fn); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	return nil
}

func (d *Directory) streamUsers(ctx context.Context, query string, fn func(wire.UserID) error) error {
	var b []byte
	return d.stream(ctx, query, []any{&b}, func() error {
		u, err := userID(b)
		if err != nil {
			return err
		}
		return fn(u)
	})
}

// MutualContacts calls fn with every pair of users who allowed each
// other, in the contacts' primary key order, through a cursor.
func (d *Directory) MutualContacts(ctx context.Context, fn func(a, b wire.UserID) error) error {
	var ra, rb []byte
	err := d.stream(ctx, `SELECT a.owner, a.other FROM contacts a
		JOIN contacts b ON b.owner = a.other AND b.other = a.owner
		WHERE a.state = 1 AND b.state = 1
		ORDER BY a.owner, a.other`, // 1: directory.Allowed
		[]any{&ra, &rb}, func() error {
			a, err := userID(ra)
			if err != nil {
				return err
			}
			b, err := userID(rb)
			if err != nil {
				return err
			}
			return fn(a, b)
		})
	if err != nil {
		return fmt.Errorf("mutual contacts: %w", err)
	}
	return nil
}

// cursorPage is how many rows stream fetches at a time.
const cursorPage = 1000

// stream runs query (without parameters) through a server-side cursor,
// in a read-only transaction of its own, fetching cursorPage rows at a
// time, and calls fn after scanning each row into dest. A cursor makes
// the planner prefer a plan that yields rows at once in the query's
// order (down the primary key) over one that first gathers the table:
// neither the server nor this process holds more than a page. fn's own
// calls go through other connections of the pool, outside this
// transaction.
func (d *Directory) stream(ctx context.Context, query string, dest []any, fn func() error) error {
	return pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DECLARE coop_stream NO SCROLL CURSOR FOR `+query); err != nil {
			return err
		}
		for {
			// Described each time: the statement cache would keep the
			// columns of the first cursor fetched on this connection.
			rows, err := tx.Query(ctx, `FETCH `+strconv.Itoa(cursorPage)+` FROM coop_stream`, pgx.QueryExecModeDescribeExec)
			if err != nil {
				return err
			}
			tag, err := pgx.ForEachRow(rows, dest, fn)
			if err != nil {
				return err
			}
			if tag.RowsAffected() < cursorPage {
				return nil
			}
		}
	})
}

// SetRole grants or revokes g.Role of g.User.
func (d *Directory) SetRole(ctx context.Context, g coop.RoleGrant, on bool) error {
	if err := directory.CheckRole(g.Role); err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	if g.User.IsZero() {
		return fmt.Errorf("set role: %w: no user", coop.ErrInvalid)
	}
	var err error
	if on {
		if g.Granted.IsZero() {
			g.Granted = d.now()
		}
		_, err = d.pool.Exec(ctx, `INSERT INTO coop_roles (user_id, role, by_user, granted_ns, last_contributed_ns)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, role) DO NOTHING`,
			g.User[:], int16(g.Role), optUser(g.By), ns(g.Granted), ns(g.LastContributed))
	} else {
		_, err = d.pool.Exec(ctx, `DELETE FROM coop_roles WHERE user_id = $1 AND role = $2`, g.User[:], int16(g.Role))
	}
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	return nil
}

// NoteContribution makes user a contributor who last contributed at at,
// unless they contributed later. A manual grant (no last contribution)
// stays one: it does not expire.
func (d *Directory) NoteContribution(ctx context.Context, user wire.UserID, at time.Time) error {
	if user.IsZero() || at.IsZero() {
		return fmt.Errorf("note contribution: %w: no user or time", coop.ErrInvalid)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO coop_roles (user_id, role, granted_ns, last_contributed_ns)
		VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, role) DO UPDATE
		SET last_contributed_ns = GREATEST(coop_roles.last_contributed_ns, excluded.last_contributed_ns)
		WHERE coop_roles.last_contributed_ns <> 0`,
		user[:], int16(wire.RoleContributor), ns(d.now()), ns(at))
	if err != nil {
		return fmt.Errorf("note contribution: %w", err)
	}
	return nil
}

const roleColumns = `user_id, role, by_user, granted_ns, last_contributed_ns`

// Roles returns the roles user holds, by role.
func (d *Directory) Roles(ctx context.Context, user wire.UserID) ([]coop.RoleGrant, error) {
	gs, err := d.roles(ctx, `SELECT `+roleColumns+` FROM coop_roles WHERE user_id = $1 ORDER BY role`, user[:])
	if err != nil {
		return nil, fmt.Errorf("roles: %w", err)
	}
	return gs, nil
}

// RoleHolders returns every grant of role, by user.
func (d *Directory) RoleHolders(ctx context.Context, role wire.CoopRole) ([]coop.RoleGrant, error) {
	if err := directory.CheckRole(role); err != nil {
		return nil, fmt.Errorf("role holders: %w", err)
	}
	gs, err := d.roles(ctx, `SELECT `+roleColumns+` FROM coop_roles WHERE role = $1 ORDER BY user_id`, int16(role))
	if err != nil {
		return nil, fmt.Errorf("role holders: %w", err)
	}
	return gs, nil
}

func (d *Directory) roles(ctx context.Context, query string, args ...any) ([]coop.RoleGrant, error) {
	rows, err := d.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (coop.RoleGrant, error) {
		var (
			user, by             []byte
			role                 int16
			granted, lastContrib int64
		)
		if err := row.Scan(&user, &role, &by, &granted, &lastContrib); err != nil {
			return coop.RoleGrant{}, err
		}
		g := coop.RoleGrant{Role: wire.CoopRole(role), Granted: fromNS(granted), LastContributed: fromNS(lastContrib)}
		var err error
		if g.User, err = userID(user); err != nil {
			return coop.RoleGrant{}, err
		}
		g.By, err = optUserID(by)
		return g, err
	})
}

// SetCost stores c, or removes its line when its amount is 0.
func (d *Directory) SetCost(ctx context.Context, c coop.Cost) error {
	if err := directory.CheckCost(c); err != nil {
		return fmt.Errorf("set cost: %w", err)
	}
	if c.Updated.IsZero() {
		c.Updated = d.now()
	}
	var err error
	if c.Amount == 0 {
		_, err = d.pool.Exec(ctx, `DELETE FROM coop_costs WHERE month = $1 AND category = $2`, c.Month, c.Category)
	} else {
		_, err = d.pool.Exec(ctx, `INSERT INTO coop_costs (month, category, amount, note, by_user, updated_ns)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (month, category) DO UPDATE SET amount = excluded.amount,
				note = excluded.note, by_user = excluded.by_user, updated_ns = excluded.updated_ns`,
			c.Month, c.Category, c.Amount, c.Note, optUser(c.By), ns(c.Updated))
	}
	if err != nil {
		return fmt.Errorf("set cost: %w", err)
	}
	return nil
}

// Costs returns the cost lines of the months from..to, by month then
// category.
func (d *Directory) Costs(ctx context.Context, from, to string) ([]coop.Cost, error) {
	if err := directory.CheckMonths(from, to); err != nil {
		return nil, fmt.Errorf("costs: %w", err)
	}
	rows, err := d.pool.Query(ctx, `SELECT month, category, amount, note, by_user, updated_ns FROM coop_costs
		WHERE month BETWEEN $1 AND $2 ORDER BY month, category`, from, to)
	if err != nil {
		return nil, fmt.Errorf("costs: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (coop.Cost, error) {
		var (
			c       coop.Cost
			by      []byte
			updated int64
		)
		if err := row.Scan(&c.Month, &c.Category, &c.Amount, &c.Note, &by, &updated); err != nil {
			return coop.Cost{}, err
		}
		c.Updated = fromNS(updated)
		var err error
		c.By, err = optUserID(by)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("costs: %w", err)
	}
	return cs, nil
}

// NoteActive records user as active in month: the account's last active
// month moves forward, and the month's count goes up when it does. The
// upsert decides on the row's latest version, so of concurrent calls for
// one user and month exactly one moves it. A month earlier than the last
// one recorded is not counted again.
func (d *Directory) NoteActive(ctx context.Context, user wire.UserID, month string) (bool, error) {
	if user.IsZero() {
		return false, fmt.Errorf("note active: %w: no user", coop.ErrInvalid)
	}
	if err := directory.CheckMonth(month); err != nil {
		return false, fmt.Errorf("note active: %w", err)
	}
	first := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO coop_accounts (user_id, last_active) VALUES ($1, $2)
			ON CONFLICT (user_id) DO UPDATE SET last_active = excluded.last_active
			WHERE coop_accounts.last_active < excluded.last_active`, user[:], month)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		first = true
		_, err = tx.Exec(ctx, `INSERT INTO coop_months (month, active_users, members)
			VALUES ($1, 1, (SELECT count(*) FROM coop_memberships WHERE `+payingStatuses+`))
			ON CONFLICT (month) DO UPDATE SET active_users = coop_months.active_users + 1`, month)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("note active: %w", err)
	}
	return first, nil
}

// Months returns the counts of the months from..to that have any, the
// newest first; a month's dues are the sum of the payments made in it.
func (d *Directory) Months(ctx context.Context, from, to string) ([]coop.MonthCounts, error) {
	if err := directory.CheckMonths(from, to); err != nil {
		return nil, fmt.Errorf("months: %w", err)
	}
	rows, err := d.pool.Query(ctx, `SELECT month, sum(active_users)::bigint, sum(members)::bigint, sum(dues)::bigint FROM (
			SELECT month, active_users, members, 0::bigint AS dues FROM coop_months WHERE month BETWEEN $1 AND $2
			UNION ALL
			SELECT month, 0, 0, amount FROM coop_dues WHERE month BETWEEN $1 AND $2
		) AS m GROUP BY month ORDER BY month DESC`, from, to)
	if err != nil {
		return nil, fmt.Errorf("months: %w", err)
	}
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (coop.MonthCounts, error) {
		var m coop.MonthCounts
		err := row.Scan(&m.Month, &m.ActiveUsers, &m.Members, &m.Dues)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("months: %w", err)
	}
	return ms, nil
}

// SetNoticesOff records whether user turned the yearly notices off.
func (d *Directory) SetNoticesOff(ctx context.Context, user wire.UserID, off bool) error {
	if user.IsZero() {
		return fmt.Errorf("set notices off: %w: no user", coop.ErrInvalid)
	}
	_, err := d.pool.Exec(ctx, `INSERT INTO coop_accounts (user_id, notices_off) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET notices_off = excluded.notices_off`, user[:], off)
	if err != nil {
		return fmt.Errorf("set notices off: %w", err)
	}
	return nil
}

// NoticesOff says whether user turned the yearly notices off.
func (d *Directory) NoticesOff(ctx context.Context, user wire.UserID) (bool, error) {
	var off bool
	err := d.pool.QueryRow(ctx, `SELECT notices_off FROM coop_accounts WHERE user_id = $1`, user[:]).Scan(&off)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("notices off: %w", err)
	}
	return off, nil
}

// NoteYearly records user's notice of year, once.
func (d *Directory) NoteYearly(ctx context.Context, user wire.UserID, year int, distance int) (bool, error) {
	if user.IsZero() {
		return false, fmt.Errorf("note yearly: %w: no user", coop.ErrInvalid)
	}
	tag, err := d.pool.Exec(ctx, `INSERT INTO coop_yearly (user_id, year, distance, sent_ns) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, year) DO NOTHING`, user[:], year, distance, ns(d.now()))
	if err != nil {
		return false, fmt.Errorf("note yearly: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// YearlySent says whether user's notice of year was recorded.
func (d *Directory) YearlySent(ctx context.Context, user wire.UserID, year int) (bool, error) {
	var sent bool
	err := d.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM coop_yearly WHERE user_id = $1 AND year = $2)`,
		user[:], year).Scan(&sent)
	if err != nil {
		return false, fmt.Errorf("yearly sent: %w", err)
	}
	return sent, nil
}

// CoopKey returns the stored signing key, storing the one create makes
// when there is none: of processes starting together, the first insert
// wins (a later one waits for it on the primary key) and all read its
// key.
func (d *Directory) CoopKey(ctx context.Context, create func() ([]byte, error)) ([]byte, error) {
	var seed []byte
	err := d.pool.QueryRow(ctx, `SELECT seed FROM coop_key WHERE id = 1`).Scan(&seed)
	if err == nil {
		return seed, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("coop key: %w", err)
	}
	fresh, err := create()
	if err != nil {
		return nil, fmt.Errorf("coop key: %w", err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("coop key: %w: empty key", coop.ErrInvalid)
	}
	if _, err := d.pool.Exec(ctx, `INSERT INTO coop_key (id, seed, created_ns) VALUES (1, $1, $2)
		ON CONFLICT (id) DO NOTHING`, fresh, ns(d.now())); err != nil {
		return nil, fmt.Errorf("coop key: %w", err)
	}
	if err := d.pool.QueryRow(ctx, `SELECT seed FROM coop_key WHERE id = 1`).Scan(&seed); err != nil {
		return nil, fmt.Errorf("coop key: %w", err)
	}
	return seed, nil
}

func scanMembership(r pgx.Row) (coop.Membership, error) {
	var (
		m                                                         coop.Membership
		user                                                      []byte
		provider                                                  string
		status                                                    int16
		statusAt, paidThrough, graceUntil, next, created, updated int64
	)
	if err := r.Scan(&user, &m.Reference, &provider, &m.Plan, &m.Amount, &m.Currency, &m.Customer, &m.Subscription, &m.Mandate,
		&status, &statusAt, &paidThrough, &graceUntil, &next, &created, &updated); err != nil {
		return coop.Membership{}, err
	}
	var err error
	if m.User, err = userID(user); err != nil {
		return coop.Membership{}, err
	}
	m.Provider, m.Status = coop.ProviderName(provider), wire.MemberStatus(status)
	m.StatusAt, m.PaidThrough, m.GraceUntil, m.NextPayment = fromNS(statusAt), fromNS(paidThrough), fromNS(graceUntil), fromNS(next)
	m.Created, m.Updated = fromNS(created), fromNS(updated)
	return m, nil
}

// optUser is how an optional user is stored: NULL for none.
func optUser(u wire.UserID) []byte {
	if u.IsZero() {
		return nil
	}
	return u[:]
}

func optUserID(b []byte) (wire.UserID, error) {
	if b == nil {
		return wire.UserID{}, nil
	}
	return userID(b)
}

// coopNotFound maps pgx.ErrNoRows to coop.ErrNotFound.
func coopNotFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return coop.ErrNotFound
	}
	return err
}
