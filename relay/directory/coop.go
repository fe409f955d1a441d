package directory

import (
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op's records (coop.Store) live in the directory's database: both
// implementations check what they store with these, so that they refuse
// the same things. The errors wrap coop.ErrInvalid.

// Month is the co-op's name of t's month in UTC, "2026-12".
func Month(t time.Time) string { return t.UTC().Format("2006-01") }

// CheckMonth reports whether s names a month as Month writes it.
func CheckMonth(s string) error {
	if t, err := time.Parse("2006-01", s); err != nil || Month(t) != s {
		return fmt.Errorf("%w: month %q (want YYYY-MM)", coop.ErrInvalid, s)
	}
	return nil
}

// CheckMonths reports whether from..to is a range of months.
func CheckMonths(from, to string) error {
	if err := CheckMonth(from); err != nil {
		return err
	}
	return CheckMonth(to)
}

// CheckMembership reports whether m can be stored: it names its user,
// reference and provider, and its status is one a membership has.
func CheckMembership(m coop.Membership) error {
	switch {
	case m.User.IsZero():
		return fmt.Errorf("%w: membership of no user", coop.ErrInvalid)
	case m.Reference == "":
		return fmt.Errorf("%w: membership without a reference", coop.ErrInvalid)
	case m.Provider == "":
		return fmt.Errorf("%w: membership without a provider", coop.ErrInvalid)
	case m.Amount < 0:
		return fmt.Errorf("%w: membership of a negative amount", coop.ErrInvalid)
	case m.Status < wire.MemberPending || m.Status > wire.MemberCanceled:
		return fmt.Errorf("%w: membership status %d", coop.ErrInvalid, m.Status)
	}
	return nil
}

// PrepareDues completes a payment that ApplyEvent's fn returned for ev
// and m (m nil: the event's membership is unknown): the provider of the
// event, the membership's user, the time of the event (or now), the month
// of that time, the membership's currency; then checks it.
func PrepareDues(d coop.Dues, ev coop.Event, m *coop.Membership, now time.Time) (coop.Dues, error) {
	if d.Provider == "" {
		d.Provider = ev.Provider
	}
	if d.User.IsZero() && m != nil {
		d.User = m.User
	}
	if d.PaidAt.IsZero() {
		d.PaidAt = ev.Created
	}
	if d.PaidAt.IsZero() {
		d.PaidAt = now
	}
	if d.Month == "" {
		d.Month = Month(d.PaidAt)
	}
	if d.Currency == "" && m != nil {
		d.Currency = m.Currency
	}
	switch {
	case d.Provider == "" || d.Payment == "":
		return d, fmt.Errorf("%w: dues without a provider or payment ID", coop.ErrInvalid)
	case d.User.IsZero():
		return d, fmt.Errorf("%w: dues of no user", coop.ErrInvalid)
	case d.Amount < 0:
		return d, fmt.Errorf("%w: dues of a negative amount", coop.ErrInvalid)
	}
	return d, CheckMonth(d.Month)
}

// CheckRole reports whether r is a role that is granted (operator,
// contributor); the member role comes from the membership.
func CheckRole(r wire.CoopRole) error {
	if r != wire.RoleOperator && r != wire.RoleContributor {
		return fmt.Errorf("%w: role %d is not granted", coop.ErrInvalid, r)
	}
	return nil
}

// CheckCost reports whether c can be stored (an Amount of 0 removes the
// line).
func CheckCost(c coop.Cost) error {
	if c.Category == "" {
		return fmt.Errorf("%w: cost without a category", coop.ErrInvalid)
	}
	if c.Amount < 0 {
		return fmt.Errorf("%w: negative cost", coop.ErrInvalid)
	}
	return CheckMonth(c.Month)
}
