package coop

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Accounts finds accounts by address, for CoopGrant. The server's
// directory implements it with the relay's keyed address hash.
type Accounts interface {
	// Lookup returns the user of the account whose address is rawAddr
	// as the person typed it, or an error wrapping ErrNotFound. Its
	// errors must not hold the address: they may be logged.
	Lookup(ctx context.Context, rawAddr string) (wire.UserID, error)
}

// Bounds of what a Coop frame may carry, beyond the wire's.
const (
	maxCategory = 64                // bytes of a cost's category
	maxAmount   = 1_000_000_000_000 // minor units of one cost line
	pastMonths  = 120               // how far back a cost may be entered
)

// Handle answers a device's Coop frame for user: CoopInfo, CoopCheckout
// or OK. Its errors are the package's sentinels (ErrNotFound,
// ErrForbidden, ErrExists, ErrInvalid, ErrProvider), which the gateway
// maps to wire codes, or internal failures.
func (s *Service) Handle(ctx context.Context, user wire.UserID, req *wire.Coop) (wire.Body, error) {
	switch req.Op {
	case wire.CoopStatus:
		return s.Info(ctx, user)
	case wire.CoopJoin:
		return s.join(ctx, user, req)
	case wire.CoopCancel:
		return s.cancel(ctx, user)
	case wire.CoopSetCost:
		return s.setCost(ctx, user, req)
	case wire.CoopGrant:
		return s.grant(ctx, user, req)
	case wire.CoopNotices:
		if err := s.st.SetNoticesOff(ctx, user, req.Off); err != nil {
			return nil, fmt.Errorf("coop: notices: %w", err)
		}
		return s.Info(ctx, user)
	}
	return nil, fmt.Errorf("%w: op %d", ErrInvalid, req.Op)
}

// join starts a membership: the provider's checkout page for a new
// reference, and a new pending membership of it.
func (s *Service) join(ctx context.Context, user wire.UserID, req *wire.Coop) (wire.Body, error) {
	if !printable(req.Provider, wire.MaxCoopText) || !printable(req.Plan, wire.MaxCoopText) {
		return nil, fmt.Errorf("%w: provider or plan", ErrInvalid)
	}
	prov, ok := s.prov[ProviderName(req.Provider)]
	if !ok {
		return nil, fmt.Errorf("%w: provider", ErrNotFound)
	}
	plan, ok := s.plan(req.Plan)
	if !ok {
		return nil, fmt.Errorf("%w: plan", ErrNotFound)
	}
	prev, err := s.st.Membership(ctx, user)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("coop: membership: %w", err)
	case prev.Status.Paying():
		return nil, ErrExists
	}
	ref, err := newReference()
	if err != nil {
		return nil, err
	}
	// The checkout first: if the provider fails, the account keeps the
	// membership it had. Its page is paid only once the person has its
	// URL, after the membership is stored.
	back := strings.TrimSuffix(s.cfg.PublicURL, "/") + "/co-op?checkout="
	url, err := prov.Checkout(ctx, ref, plan, back+"done", back+"cancel")
	if f := s.cfg.Metrics.Checkout; f != nil {
		f(prov.Name(), err == nil)
	}
	if err != nil {
		if !errors.Is(err, ErrProvider) {
			err = fmt.Errorf("%w: %w", ErrProvider, err)
		}
		return nil, fmt.Errorf("coop: checkout at %s: %w", prov.Name(), err)
	}
	now := s.cfg.Now()
	m := Membership{
		User:      user,
		Reference: ref,
		Provider:  prov.Name(),
		Plan:      plan.Name,
		Amount:    plan.Amount,
		Currency:  plan.Currency,
		Status:    wire.MemberPending,
		Created:   now,
		Updated:   now,
	}
	if err := s.st.CreateMembership(ctx, m); err != nil {
		return nil, fmt.Errorf("coop: create membership: %w", err)
	}
	return &wire.CoopCheckout{URL: url}, nil
}

// cancel cancels the user's membership at its provider, then records it
// canceled: the provider's webhook that follows changes nothing more.
func (s *Service) cancel(ctx context.Context, user wire.UserID) (wire.Body, error) {
	m, err := s.st.Membership(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("coop: membership: %w", err)
	}
	// A pending membership with nothing at the provider yet is a
	// checkout page that may still be paid: there is nothing to cancel.
	if m.Status == wire.MemberNone || m.Status == wire.MemberCanceled || m.Subscription == "" && m.Mandate == "" {
		return nil, fmt.Errorf("%w: no membership to cancel", ErrNotFound)
	}
	prov, ok := s.prov[m.Provider]
	if !ok {
		return nil, fmt.Errorf("%w: provider %s is not configured", ErrProvider, m.Provider)
	}
	if err := prov.Cancel(ctx, m); err != nil {
		if !errors.Is(err, ErrProvider) {
			err = fmt.Errorf("%w: %w", ErrProvider, err)
		}
		return nil, fmt.Errorf("coop: cancel at %s: %w", m.Provider, err)
	}
	// The member's word is the latest, whatever the provider's clock.
	now := s.cfg.Now()
	if _, err := s.relayEvent(ctx, m, "cancel", now, func(m *Membership) bool {
		return m.Status != wire.MemberCanceled && m.setStatus(wire.MemberCanceled, latest(now, m.StatusAt))
	}); err != nil {
		return nil, err
	}
	return s.Info(ctx, user)
}

// setCost records a line of the co-op's costs (operators only).
func (s *Service) setCost(ctx context.Context, user wire.UserID, req *wire.Coop) (wire.Body, error) {
	if err := s.needOperator(ctx, user); err != nil {
		return nil, err
	}
	switch {
	case !s.validMonth(req.Month):
		return nil, fmt.Errorf("%w: month", ErrInvalid)
	case req.Category == "" || !printable(req.Category, maxCategory) || strings.TrimSpace(req.Category) != req.Category:
		return nil, fmt.Errorf("%w: category", ErrInvalid)
	case !printable(req.Note, wire.MaxCoopNote):
		return nil, fmt.Errorf("%w: note", ErrInvalid)
	case req.Amount < 0 || req.Amount > maxAmount:
		return nil, fmt.Errorf("%w: amount", ErrInvalid)
	}
	c := Cost{Month: req.Month, Category: req.Category, Amount: req.Amount, Note: req.Note, By: user, Updated: s.cfg.Now()}
	if err := s.st.SetCost(ctx, c); err != nil {
		return nil, fmt.Errorf("coop: set cost: %w", err)
	}
	return s.Info(ctx, user)
}

// grant grants or revokes the operator or contributor role (operators
// only). The address is looked up and never logged.
func (s *Service) grant(ctx context.Context, user wire.UserID, req *wire.Coop) (wire.Body, error) {
	if err := s.needOperator(ctx, user); err != nil {
		return nil, err
	}
	if req.Role != wire.RoleOperator && req.Role != wire.RoleContributor {
		return nil, fmt.Errorf("%w: only the operator and contributor roles are granted", ErrInvalid)
	}
	if req.Address == "" || !utf8.ValidString(req.Address) {
		return nil, fmt.Errorf("%w: address", ErrInvalid)
	}
	if s.cfg.Accounts == nil {
		return nil, fmt.Errorf("%w: no accounts to grant roles to", ErrNotFound)
	}
	to, err := s.cfg.Accounts.Lookup(ctx, req.Address)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: no such account", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("coop: look up the account: %w", err)
	}
	g := RoleGrant{User: to, Role: req.Role, By: user, Granted: s.cfg.Now()}
	if err := s.st.SetRole(ctx, g, !req.Revoke); err != nil {
		return nil, fmt.Errorf("coop: set role: %w", err)
	}
	return &wire.OK{}, nil
}

// needOperator returns ErrForbidden unless user holds the operator role.
func (s *Service) needOperator(ctx context.Context, user wire.UserID) error {
	roles, err := s.st.Roles(ctx, user)
	if err != nil {
		return fmt.Errorf("coop: roles: %w", err)
	}
	for _, g := range roles {
		if g.Role == wire.RoleOperator {
			return nil
		}
	}
	return fmt.Errorf("%w: operators only", ErrForbidden)
}

// latest returns the later of a and b.
func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// plan returns the configured plan of that name.
func (s *Service) plan(name string) (Plan, bool) {
	for _, p := range s.cfg.Plans {
		if p.Name == name {
			return p, true
		}
	}
	return Plan{}, false
}

// validMonth says whether month is "YYYY-MM" within the last ten years
// or up to the end of next year.
func (s *Service) validMonth(month string) bool {
	t, err := time.Parse(monthLayout, month)
	if err != nil || t.Format(monthLayout) != month {
		return false
	}
	now := s.cfg.Now().UTC()
	first := time.Date(now.Year(), now.Month()-pastMonths, 1, 0, 0, 0, 0, time.UTC)
	last := time.Date(now.Year()+1, time.December, 1, 0, 0, 0, 0, time.UTC)
	return !t.Before(first) && !t.After(last)
}

// monthLayout is the layout of a month: "2026-12", UTC.
const monthLayout = "2006-01"

// printable says whether s is valid UTF-8 of at most limit bytes, without
// control or other unprintable characters (spaces are printable).
func printable(s string, limit int) bool {
	if len(s) > limit || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return false
		}
	}
	return true
}

// referenceEncoding is base32 in lower case without padding.
var referenceEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newReference returns a new membership reference: "m_" and 26
// characters of 16 random bytes. It says nothing of the account.
func newReference() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("coop: reference: %w", err)
	}
	return "m_" + referenceEncoding.EncodeToString(b[:]), nil
}
