package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

var _ coop.Store = (*Directory)(nil)

// streamPage is how many rows Users, PayingMembers and MutualContacts
// read at a time: each page is its own short read, so no read
// transaction stays open while fn runs (fn may write, and a long read
// would keep the WAL from being checkpointed).
const streamPage = 1000

const membershipColumns = `user_id, reference, provider, plan, amount, currency, customer, subscription, mandate,
	status, status_ns, paid_through_ns, grace_until_ns, next_payment_ns, created_ns, updated_ns`

// payingStatuses matches the statuses of paying memberships (Paying).
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
	err := d.write(ctx, func(tx *sql.Tx) error {
		var status int
		err := tx.QueryRowContext(ctx, `SELECT status FROM coop_memberships WHERE user_id = ?`, m.User[:]).Scan(&status)
		switch {
		case err == nil && wire.MemberStatus(status).Paying():
			return coop.ErrExists
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM coop_memberships WHERE user_id = ?`, m.User[:]); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO coop_memberships (`+membershipColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, membershipArgs(m)...); err != nil {
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
	m, err := scanMembership(d.r.QueryRowContext(ctx, `SELECT `+membershipColumns+` FROM coop_memberships WHERE user_id = ?`, user[:]))
	if err != nil {
		return coop.Membership{}, fmt.Errorf("membership: %w", coopNotFound(err))
	}
	return m, nil
}

// ApplyEvent applies ev once: recording it, finding its membership,
// calling fn and storing what fn changed are one write transaction. fn
// runs inside it, on the writer's one connection: it must not call the
// directory.
func (d *Directory) ApplyEvent(ctx context.Context, ev coop.Event, fn func(m *coop.Membership) (bool, *coop.Dues, error)) (bool, error) {
	if ev.Provider == "" || ev.ID == "" {
		return false, fmt.Errorf("apply event: %w: event without a provider or ID", coop.ErrInvalid)
	}
	applied := false
	err := d.write(ctx, func(tx *sql.Tx) error {
		now := d.now()
		res, err := tx.ExecContext(ctx, `INSERT INTO coop_events (provider, event_id, applied_ns) VALUES (?, ?, ?)
			ON CONFLICT (provider, event_id) DO NOTHING`, string(ev.Provider), ev.ID, ns(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
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
			if _, err := tx.ExecContext(ctx, `INSERT INTO coop_dues (provider, payment, user_id, month, amount, currency, paid_ns)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (provider, payment) DO NOTHING`,
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

// eventMembership finds the membership ev is about: by its reference,
// else its subscription, mandate or customer at the provider. None: nil.
func eventMembership(ctx context.Context, tx *sql.Tx, ev coop.Event) (*coop.Membership, error) {
	lookups := []struct {
		key   string
		where string
	}{
		{ev.Reference, `reference = ?2`},
		{ev.Subscription, `provider = ?1 AND subscription = ?2`},
		{ev.Mandate, `provider = ?1 AND mandate = ?2`},
		{ev.Customer, `provider = ?1 AND customer = ?2`},
	}
	for _, l := range lookups {
		if l.key == "" {
			continue
		}
		m, err := scanMembership(tx.QueryRowContext(ctx, `SELECT `+membershipColumns+` FROM coop_memberships
			WHERE `+l.where+` ORDER BY updated_ns DESC LIMIT 1`, string(ev.Provider), l.key))
		if err == nil {
			return &m, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
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
	err := d.write(ctx, func(tx *sql.Tx) error { return updateMembership(ctx, tx, m, d.now()) })
	if err != nil {
		return fmt.Errorf("update membership: %w", err)
	}
	return nil
}

// updateMembership stores m (by user) and the month's count of paying
// members.
func updateMembership(ctx context.Context, tx *sql.Tx, m coop.Membership, now time.Time) error {
	if err := directory.CheckMembership(m); err != nil {
		return err
	}
	m.Updated = now
	res, err := tx.ExecContext(ctx, `UPDATE coop_memberships SET reference = ?2, provider = ?3, plan = ?4, amount = ?5,
			currency = ?6, customer = ?7, subscription = ?8, mandate = ?9, status = ?10, status_ns = ?11,
			paid_through_ns = ?12, grace_until_ns = ?13, next_payment_ns = ?14, updated_ns = ?16
		WHERE user_id = ?1`, membershipArgs(m)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return coop.ErrNotFound
	}
	return noteMembers(ctx, tx, now)
}

// noteMembers sets the count of paying members of now's month.
func noteMembers(ctx context.Context, tx *sql.Tx, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO coop_months (month, members)
		VALUES (?, (SELECT count(*) FROM coop_memberships WHERE `+payingStatuses+`))
		ON CONFLICT (month) DO UPDATE SET members = excluded.members`, directory.Month(now))
	return err
}

// GraceEnded returns up to limit memberships in grace whose grace ended
// before now, the longest ended first.
func (d *Directory) GraceEnded(ctx context.Context, now time.Time, limit int) ([]coop.Membership, error) {
	if limit < 0 {
		return nil, fmt.Errorf("grace ended: %w: limit %d", coop.ErrInvalid, limit)
	}
	rows, err := d.r.QueryContext(ctx, `SELECT `+membershipColumns+` FROM coop_memberships
		WHERE status = 3 AND grace_until_ns < ? ORDER BY grace_until_ns LIMIT ?`, ns(now), limit) // 3: wire.MemberGrace
	if err != nil {
		return nil, fmt.Errorf("grace ended: %w", err)
	}
	defer rows.Close()
	var ms []coop.Membership
	for rows.Next() {
		m, err := scanMembership(rows)
		if err != nil {
			return nil, fmt.Errorf("grace ended: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("grace ended: %w", err)
	}
	return ms, nil
}

// PayingMembers calls fn with the user of every paying membership, in
// order of user ID, a page at a time.
func (d *Directory) PayingMembers(ctx context.Context, fn func(wire.UserID) error) error {
	err := d.userPages(ctx, `SELECT user_id FROM coop_memberships WHERE user_id > ? AND `+payingStatuses+`
		ORDER BY user_id LIMIT ?`, fn)
	if err != nil {
		return fmt.Errorf("paying members: %w", err)
	}
	return nil
}

// Users calls fn with every account's user ID, in order, a page at a
// time.
func (d *Directory) Users(ctx context.Context, fn func(wire.UserID) error) error {
	if err := d.userPages(ctx, `SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ?`, fn); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	return nil
}

// userPages runs query (arguments: the last user ID seen, the page size)
// page after page, calling fn with each user after its page is read.
func (d *Directory) userPages(ctx context.Context, query string, fn func(wire.UserID) error) error {
	var last wire.UserID // the zero ID is no one's
	for {
		page, err := d.readUsers(ctx, query, last)
		if err != nil {
			return err
		}
		for _, u := range page {
			if err := fn(u); err != nil {
				return err
			}
		}
		if len(page) < streamPage {
			return nil
		}
		last = page[len(page)-1]
	}
}

func (d *Directory) readUsers(ctx context.Context, query string, after wire.UserID) ([]wire.UserID, error) {
	rows, err := d.r.QueryContext(ctx, query, after[:], streamPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := make([]wire.UserID, 0, streamPage)
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		u, err := userID(b)
		if err != nil {
			return nil, err
		}
		page = append(page, u)
	}
	return page, rows.Err()
}

// MutualContacts calls fn with every pair of users who allowed each
// other, in the contacts' primary key order, a page at a time.
func (d *Directory) MutualContacts(ctx context.Context, fn func(a, b wire.UserID) error) error {
	var last [2]wire.UserID
	for {
		page, err := d.readPairs(ctx, last)
		if err != nil {
			return fmt.Errorf("mutual contacts: %w", err)
		}
		for _, p := range page {
			if err := fn(p[0], p[1]); err != nil {
				return fmt.Errorf("mutual contacts: %w", err)
			}
		}
		if len(page) < streamPage {
			return nil
		}
		last = page[len(page)-1]
	}
}

func (d *Directory) readPairs(ctx context.Context, after [2]wire.UserID) ([][2]wire.UserID, error) {
	rows, err := d.r.QueryContext(ctx, `SELECT a.owner, a.other FROM contacts a
		JOIN contacts b ON b.owner = a.other AND b.other = a.owner
		WHERE (a.owner, a.other) > (?, ?) AND a.state = ? AND b.state = ?
		ORDER BY a.owner, a.other LIMIT ?`,
		after[0][:], after[1][:], int(directory.Allowed), int(directory.Allowed), streamPage)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	page := make([][2]wire.UserID, 0, streamPage)
	for rows.Next() {
		var a, b []byte
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		var p [2]wire.UserID
		if p[0], err = userID(a); err != nil {
			return nil, err
		}
		if p[1], err = userID(b); err != nil {
			return nil, err
		}
		page = append(page, p)
	}
	return page, rows.Err()
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
		_, err = d.w.ExecContext(ctx, `INSERT INTO coop_roles (user_id, role, by_user, granted_ns, last_contributed_ns)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, role) DO NOTHING`,
			g.User[:], int(g.Role), optUser(g.By), ns(g.Granted), ns(g.LastContributed))
	} else {
		_, err = d.w.ExecContext(ctx, `DELETE FROM coop_roles WHERE user_id = ? AND role = ?`, g.User[:], int(g.Role))
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
	_, err := d.w.ExecContext(ctx, `INSERT INTO coop_roles (user_id, role, granted_ns, last_contributed_ns)
		VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id, role) DO UPDATE
		SET last_contributed_ns = max(last_contributed_ns, excluded.last_contributed_ns) WHERE last_contributed_ns <> 0`,
		user[:], int(wire.RoleContributor), ns(d.now()), ns(at))
	if err != nil {
		return fmt.Errorf("note contribution: %w", err)
	}
	return nil
}

const roleColumns = `user_id, role, by_user, granted_ns, last_contributed_ns`

// Roles returns the roles user holds, by role.
func (d *Directory) Roles(ctx context.Context, user wire.UserID) ([]coop.RoleGrant, error) {
	gs, err := d.roles(ctx, `SELECT `+roleColumns+` FROM coop_roles WHERE user_id = ? ORDER BY role`, user[:])
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
	gs, err := d.roles(ctx, `SELECT `+roleColumns+` FROM coop_roles WHERE role = ? ORDER BY user_id`, int(role))
	if err != nil {
		return nil, fmt.Errorf("role holders: %w", err)
	}
	return gs, nil
}

func (d *Directory) roles(ctx context.Context, query string, args ...any) ([]coop.RoleGrant, error) {
	rows, err := d.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var gs []coop.RoleGrant
	for rows.Next() {
		var (
			user, by             []byte
			role                 int
			granted, lastContrib int64
		)
		if err := rows.Scan(&user, &role, &by, &granted, &lastContrib); err != nil {
			return nil, err
		}
		g := coop.RoleGrant{Role: wire.CoopRole(role), Granted: fromNS(granted), LastContributed: fromNS(lastContrib)}
		if g.User, err = userID(user); err != nil {
			return nil, err
		}
		if g.By, err = optUserID(by); err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, rows.Err()
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
		_, err = d.w.ExecContext(ctx, `DELETE FROM coop_costs WHERE month = ? AND category = ?`, c.Month, c.Category)
	} else {
		_, err = d.w.ExecContext(ctx, `INSERT INTO coop_costs (month, category, amount, note, by_user, updated_ns)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (month, category) DO UPDATE SET amount = excluded.amount,
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
	rows, err := d.r.QueryContext(ctx, `SELECT month, category, amount, note, by_user, updated_ns FROM coop_costs
		WHERE month BETWEEN ? AND ? ORDER BY month, category`, from, to)
	if err != nil {
		return nil, fmt.Errorf("costs: %w", err)
	}
	defer rows.Close()
	var cs []coop.Cost
	for rows.Next() {
		var (
			c       coop.Cost
			by      []byte
			updated int64
		)
		if err := rows.Scan(&c.Month, &c.Category, &c.Amount, &c.Note, &by, &updated); err != nil {
			return nil, fmt.Errorf("costs: %w", err)
		}
		if c.By, err = optUserID(by); err != nil {
			return nil, fmt.Errorf("costs: %w", err)
		}
		c.Updated = fromNS(updated)
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("costs: %w", err)
	}
	return cs, nil
}

// NoteActive records user as active in month: the account's last active
// month moves forward, and the month's count goes up when it does. A
// month earlier than the last one recorded is not counted again.
func (d *Directory) NoteActive(ctx context.Context, user wire.UserID, month string) (bool, error) {
	if user.IsZero() {
		return false, fmt.Errorf("note active: %w: no user", coop.ErrInvalid)
	}
	if err := directory.CheckMonth(month); err != nil {
		return false, fmt.Errorf("note active: %w", err)
	}
	first := false
	err := d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO coop_accounts (user_id, last_active) VALUES (?, ?)
			ON CONFLICT (user_id) DO UPDATE SET last_active = excluded.last_active WHERE last_active < excluded.last_active`,
			user[:], month)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		first = true
		_, err = tx.ExecContext(ctx, `INSERT INTO coop_months (month, active_users, members)
			VALUES (?, 1, (SELECT count(*) FROM coop_memberships WHERE `+payingStatuses+`))
			ON CONFLICT (month) DO UPDATE SET active_users = active_users + 1`, month)
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
	rows, err := d.r.QueryContext(ctx, `SELECT month, sum(active_users), sum(members), sum(dues) FROM (
			SELECT month, active_users, members, 0 AS dues FROM coop_months WHERE month BETWEEN ?1 AND ?2
			UNION ALL
			SELECT month, 0, 0, amount FROM coop_dues WHERE month BETWEEN ?1 AND ?2
		) GROUP BY month ORDER BY month DESC`, from, to)
	if err != nil {
		return nil, fmt.Errorf("months: %w", err)
	}
	defer rows.Close()
	var ms []coop.MonthCounts
	for rows.Next() {
		var m coop.MonthCounts
		if err := rows.Scan(&m.Month, &m.ActiveUsers, &m.Members, &m.Dues); err != nil {
			return nil, fmt.Errorf("months: %w", err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("months: %w", err)
	}
	return ms, nil
}

// SetNoticesOff records whether user turned the yearly notices off.
func (d *Directory) SetNoticesOff(ctx context.Context, user wire.UserID, off bool) error {
	if user.IsZero() {
		return fmt.Errorf("set notices off: %w: no user", coop.ErrInvalid)
	}
	_, err := d.w.ExecContext(ctx, `INSERT INTO coop_accounts (user_id, notices_off) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET notices_off = excluded.notices_off`, user[:], off)
	if err != nil {
		return fmt.Errorf("set notices off: %w", err)
	}
	return nil
}

// NoticesOff says whether user turned the yearly notices off.
func (d *Directory) NoticesOff(ctx context.Context, user wire.UserID) (bool, error) {
	var off bool
	err := d.r.QueryRowContext(ctx, `SELECT notices_off FROM coop_accounts WHERE user_id = ?`, user[:]).Scan(&off)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("notices off: %w", err)
	}
	return off, nil
}

// NoteYearly records user's notice of year, once.
func (d *Directory) NoteYearly(ctx context.Context, user wire.UserID, year int, distance int) (bool, error) {
	if user.IsZero() {
		return false, fmt.Errorf("note yearly: %w: no user", coop.ErrInvalid)
	}
	res, err := d.w.ExecContext(ctx, `INSERT INTO coop_yearly (user_id, year, distance, sent_ns) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, year) DO NOTHING`, user[:], year, distance, ns(d.now()))
	if err != nil {
		return false, fmt.Errorf("note yearly: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("note yearly: %w", err)
	}
	return n > 0, nil
}

// YearlySent says whether user's notice of year was recorded.
func (d *Directory) YearlySent(ctx context.Context, user wire.UserID, year int) (bool, error) {
	var n int
	err := d.r.QueryRowContext(ctx, `SELECT count(*) FROM coop_yearly WHERE user_id = ? AND year = ?`, user[:], year).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("yearly sent: %w", err)
	}
	return n > 0, nil
}

// CoopKey returns the stored signing key, storing the one create makes
// when there is none: of processes starting together, the first insert
// wins and all read its key.
func (d *Directory) CoopKey(ctx context.Context, create func() ([]byte, error)) ([]byte, error) {
	var seed []byte
	err := d.r.QueryRowContext(ctx, `SELECT seed FROM coop_key WHERE id = 1`).Scan(&seed)
	if err == nil {
		return seed, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("coop key: %w", err)
	}
	fresh, err := create()
	if err != nil {
		return nil, fmt.Errorf("coop key: %w", err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("coop key: %w: empty key", coop.ErrInvalid)
	}
	err = d.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO coop_key (id, seed, created_ns) VALUES (1, ?, ?)
			ON CONFLICT (id) DO NOTHING`, fresh, ns(d.now())); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT seed FROM coop_key WHERE id = 1`).Scan(&seed)
	})
	if err != nil {
		return nil, fmt.Errorf("coop key: %w", err)
	}
	return seed, nil
}

// membershipArgs are m's columns in membershipColumns' order.
func membershipArgs(m coop.Membership) []any {
	return []any{m.User[:], m.Reference, string(m.Provider), m.Plan, m.Amount, m.Currency, m.Customer, m.Subscription, m.Mandate,
		int(m.Status), ns(m.StatusAt), ns(m.PaidThrough), ns(m.GraceUntil), ns(m.NextPayment), ns(m.Created), ns(m.Updated)}
}

func scanMembership(r rowScanner) (coop.Membership, error) {
	var (
		m                                                         coop.Membership
		user                                                      []byte
		provider                                                  string
		status                                                    int
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
func optUser(u wire.UserID) any {
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

// coopNotFound maps sql.ErrNoRows to coop.ErrNotFound.
func coopNotFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return coop.ErrNotFound
	}
	return err
}
