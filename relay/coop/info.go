package coop

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// infoMonths is how many months of figures a CoopInfo carries.
const infoMonths = 12

// membersTTL is how long the live count of paying members is kept
// before it is counted again; this process's own changes recount it at
// once.
const membersTTL = 30 * time.Second

// Info returns what the co-op tells user: its figures, plans and
// providers, the user's membership and the roles that count now.
func (s *Service) Info(ctx context.Context, user wire.UserID) (*wire.CoopInfo, error) {
	months, err := s.Figures(ctx, infoMonths)
	if err != nil {
		return nil, err
	}
	info := &wire.CoopInfo{
		Name:     s.cfg.Name,
		Currency: s.cfg.Currency,
		Plans:    s.cfg.Plans,
		Months:   months,
	}
	for _, p := range s.cfg.Providers {
		info.Providers = append(info.Providers, string(p.Name()))
	}
	m, err := s.st.Membership(ctx, user)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("coop: membership: %w", err)
	default:
		info.Membership = wire.CoopMembership{
			Status:        m.Status,
			Provider:      string(m.Provider),
			Plan:          m.Plan,
			Amount:        m.Amount,
			Currency:      m.Currency,
			NextPaymentMS: unixMS(m.NextPayment),
			PaidThroughMS: unixMS(m.PaidThrough),
			GraceUntilMS:  unixMS(m.GraceUntil),
		}
		if m.Status.Paying() {
			info.Roles = append(info.Roles, wire.RoleMember)
		}
	}
	grants, err := s.st.Roles(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("coop: roles: %w", err)
	}
	now := s.cfg.Now()
	for _, g := range grants {
		if g.Role == wire.RoleContributor && !g.LastContributed.IsZero() && now.Sub(g.LastContributed) > s.cfg.ContributorWindow {
			continue
		}
		info.Roles = append(info.Roles, g.Role)
	}
	if info.NoticesOff, err = s.st.NoticesOff(ctx, user); err != nil {
		return nil, fmt.Errorf("coop: notices: %w", err)
	}
	return info, nil
}

// Figures returns the co-op's figures for the last n months (1 to
// wire.MaxCoopMonths), newest first, the current month first: every
// month is there, with zeros where nothing was counted. The current
// month's Members is the live count of paying members.
func (s *Service) Figures(ctx context.Context, n int) ([]wire.CoopMonth, error) {
	n = min(max(n, 1), wire.MaxCoopMonths)
	now := s.cfg.Now().UTC()
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	months := make([]wire.CoopMonth, n)
	index := make(map[string]int, n)
	for i := range months {
		months[i].Month = first.AddDate(0, -i, 0).Format(monthLayout)
		index[months[i].Month] = i
	}
	from, to := months[n-1].Month, months[0].Month
	counts, err := s.st.Months(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("coop: months: %w", err)
	}
	for _, c := range counts {
		if i, ok := index[c.Month]; ok {
			months[i].ActiveUsers, months[i].Members, months[i].Dues = c.ActiveUsers, c.Members, c.Dues
		}
	}
	costs, err := s.st.Costs(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("coop: costs: %w", err)
	}
	for _, c := range costs {
		if i, ok := index[c.Month]; ok && len(months[i].Costs) < wire.MaxCoopItems {
			months[i].Costs = append(months[i].Costs, wire.CoopCost{Category: c.Category, Amount: c.Amount, Note: c.Note})
		}
	}
	if months[0].Members, err = s.liveMembers(ctx, now); err != nil {
		return nil, err
	}
	return months, nil
}

// liveMembers counts the paying members, or returns the count made less
// than membersTTL ago.
func (s *Service) liveMembers(ctx context.Context, now time.Time) (int64, error) {
	s.membersMu.Lock()
	defer s.membersMu.Unlock()
	if !s.membersAt.IsZero() && now.Sub(s.membersAt) < membersTTL && !now.Before(s.membersAt) {
		return s.members, nil
	}
	var n int64
	err := s.st.PayingMembers(ctx, func(wire.UserID) error {
		n++
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("coop: count members: %w", err)
	}
	s.members, s.membersAt = n, now
	return n, nil
}

// membersChanged makes the next Figures count the members again.
func (s *Service) membersChanged() {
	s.membersMu.Lock()
	s.membersAt = time.Time{}
	s.membersMu.Unlock()
}

// unixMS is t in milliseconds since the epoch, 0 for the zero time.
func unixMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
