package coop

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// The status machine. Each provider event is applied once, through
// Store.ApplyEvent, in the transaction that records it:
//
//   - CheckoutCompleted links the customer, subscription and mandate;
//     Provider.Activate (called before, outside the transaction) creates
//     the subscription where the provider needs it. The membership stays
//     pending until the first payment, unless the event carries a
//     Payment: the checkout was paid, and the membership is active.
//   - SubscriptionActive: pending, grace or lapsed → active.
//   - PaymentSucceeded: the dues are recorded (always, once per
//     payment); → active, paid through the period's end, grace cleared;
//     then a NoticeDues.
//   - PaymentFailed: active → grace until the event's time + Config.Grace.
//   - SubscriptionCanceled: → canceled.
//
// A status change from an event older than the membership's StatusAt is
// not applied, so an event delivered late does not undo a newer one. A
// canceled membership stays canceled: joining again makes a new one.
// The relay's own changes (a member cancels, the grace sweep) go through
// ApplyEvent too, as events with IDs of the relay's (relayEvent), so
// that they are atomic with the provider's. Notices are written after
// the commit, with IDs derived from what they are about: an event
// retried after a crash writes notices clients drop as duplicates.

// note is a notice to write once the change that causes it is
// committed.
type note struct {
	user wire.UserID
	n    wire.CoopNotice
}

// errPeek rolls back the transaction in which activate looks at a
// membership.
var errPeek = errors.New("coop: look only")

// apply applies one of prov's events, and reports whether it was new.
func (s *Service) apply(ctx context.Context, prov Provider, ev Event) (applied bool, err error) {
	if ev.Created.IsZero() {
		ev.Created = s.cfg.Now()
	}
	if ev.Type == EventCheckoutCompleted {
		if ev.Subscription, err = s.activate(ctx, prov, ev); err != nil {
			return false, err
		}
	}
	var notes []note
	applied, err = s.st.ApplyEvent(ctx, ev, func(m *Membership) (bool, *Dues, error) {
		notes = notes[:0]
		if m == nil || m.Provider != ev.Provider {
			return false, nil, nil
		}
		var changed bool
		var dues *Dues
		changed, dues, notes = s.transition(m, ev, notes)
		return changed, dues, nil
	})
	if err != nil {
		return false, fmt.Errorf("coop: apply %s event: %w", ev.Provider, err)
	}
	if applied {
		s.membersChanged()
		s.notify(ctx, notes)
	}
	return applied, nil
}

// activate completes a checkout at the provider before its event is
// applied, and returns the subscription to link. It looks at the
// membership in a transaction it rolls back, so that the provider is
// never called while the directory is locked; a failure leaves the
// event unrecorded, and the provider retries it (Activate is
// idempotent).
func (s *Service) activate(ctx context.Context, prov Provider, ev Event) (string, error) {
	var found *Membership
	_, err := s.st.ApplyEvent(ctx, ev, func(m *Membership) (bool, *Dues, error) {
		if m != nil {
			c := *m
			found = &c
		}
		return false, nil, errPeek
	})
	switch {
	case err != nil && !errors.Is(err, errPeek):
		return "", fmt.Errorf("coop: find membership: %w", err)
	case err == nil, found == nil, found.Provider != ev.Provider, found.Status != wire.MemberPending:
		// Applied before, of no membership, or too late to activate.
		return ev.Subscription, nil
	}
	found.link(ev)
	sub, err := prov.Activate(ctx, *found, s.planOf(*found))
	if err != nil {
		if !errors.Is(err, ErrProvider) {
			err = fmt.Errorf("%w: %w", ErrProvider, err)
		}
		return "", fmt.Errorf("coop: activate at %s: %w", ev.Provider, err)
	}
	return sub, nil
}

// planOf is the plan a membership pays: the configured plan of its name,
// or, if the co-op removed it since, a monthly plan of its amount.
func (s *Service) planOf(m Membership) Plan {
	if p, ok := s.plan(m.Plan); ok {
		return p
	}
	return Plan{Name: m.Plan, Amount: m.Amount, Currency: m.Currency, Interval: "month"}
}

// transition applies ev to m, returning whether m changed, the dues to
// record and the notices to write after the commit (appended to notes).
func (s *Service) transition(m *Membership, ev Event, notes []note) (bool, *Dues, []note) {
	before := *m
	from := m.Status
	var dues *Dues
	m.link(ev)
	if !ev.NextPayment.IsZero() && !ev.Created.Before(m.StatusAt) {
		m.NextPayment = ev.NextPayment
	}
	switch ev.Type {
	case EventCheckoutCompleted:
		if ev.Payment != "" && m.Status == wire.MemberPending {
			m.setStatus(wire.MemberActive, ev.Created)
			m.paidThrough(ev.PeriodEnd)
		}
	case EventSubscriptionActive:
		switch m.Status {
		case wire.MemberPending, wire.MemberGrace, wire.MemberLapsed:
			m.setStatus(wire.MemberActive, ev.Created)
		}
	case EventPaymentSucceeded:
		if ev.Amount > 0 && ev.Payment != "" {
			dues = &Dues{
				Provider: ev.Provider,
				Payment:  ev.Payment,
				User:     m.User,
				Month:    ev.Created.UTC().Format(monthLayout),
				Amount:   ev.Amount,
				Currency: cmp.Or(ev.Currency, m.Currency),
				PaidAt:   ev.Created,
			}
			notes = append(notes, note{user: m.User, n: wire.CoopNotice{
				ID:       NoticeID(wire.NoticeDues, m.User, ev.Payment),
				Kind:     wire.NoticeDues,
				Amount:   dues.Amount,
				Currency: dues.Currency,
			}})
		}
		m.paidThrough(ev.PeriodEnd)
		if m.Status != wire.MemberCanceled && m.setStatus(wire.MemberActive, ev.Created) {
			m.GraceUntil = time.Time{}
		}
	case EventPaymentFailed:
		if m.Status == wire.MemberActive && m.setStatus(wire.MemberGrace, ev.Created) {
			m.GraceUntil = ev.Created.Add(s.cfg.Grace)
		}
	case EventSubscriptionCanceled:
		m.setStatus(wire.MemberCanceled, ev.Created)
	}
	if n, ok := s.statusNotice(m, from, string(ev.Provider)+":"+ev.ID); ok {
		notes = append(notes, n)
	}
	changed := *m != before
	if changed {
		m.Updated = s.cfg.Now()
	}
	return changed || dues != nil, dues, notes
}

// relayEvent applies a change the relay makes itself to m (what: the
// kind of change; at: its time) through Store.ApplyEvent, as an event of
// m's provider with an ID of the relay's, so that it is atomic with the
// provider's events and happens once however many processes try. change
// says whether it changed m's status; the status's notice follows the
// commit. It reports whether the change was applied.
func (s *Service) relayEvent(ctx context.Context, m Membership, what string, at time.Time, change func(*Membership) bool) (bool, error) {
	ev := Event{
		Provider:  m.Provider,
		ID:        fmt.Sprintf("mutual:%s:%s:%d", what, m.Reference, at.UnixNano()),
		Created:   at,
		Type:      EventIgnored,
		Reference: m.Reference,
	}
	var notes []note
	var moved bool
	applied, err := s.st.ApplyEvent(ctx, ev, func(cur *Membership) (bool, *Dues, error) {
		notes, moved = notes[:0], false
		if cur == nil || cur.User != m.User {
			return false, nil, nil
		}
		from := cur.Status
		if moved = change(cur); !moved {
			return false, nil, nil
		}
		cur.Updated = s.cfg.Now()
		if n, ok := s.statusNotice(cur, from, ev.ID); ok {
			notes = append(notes, n)
		}
		return true, nil, nil
	})
	if err != nil {
		return false, fmt.Errorf("coop: %s: %w", what, err)
	}
	if applied {
		s.membersChanged()
		s.notify(ctx, notes)
	}
	return applied && moved, nil
}

// statusNotice is the NoticeMembership of a status change from from to
// m.Status, if it deserves one: to grace or lapsed, to canceled from
// anything but pending, and back to active from grace or lapsed. key
// identifies the change.
func (s *Service) statusNotice(m *Membership, from wire.MemberStatus, key string) (note, bool) {
	to := m.Status
	switch {
	case to == from:
		return note{}, false
	case to == wire.MemberGrace, to == wire.MemberLapsed:
	case to == wire.MemberCanceled && from != wire.MemberPending:
	case to == wire.MemberActive && (from == wire.MemberGrace || from == wire.MemberLapsed):
	default:
		return note{}, false
	}
	return note{user: m.User, n: wire.CoopNotice{
		ID:     NoticeID(wire.NoticeMembership, m.User, key),
		Kind:   wire.NoticeMembership,
		Status: to,
		Text:   membershipText(to, m.GraceUntil),
	}}, true
}

// notify writes notes, after their change was committed. A failure is
// logged: the change stands, and the member sees it in the app.
func (s *Service) notify(ctx context.Context, notes []note) {
	for i := range notes {
		n := &notes[i].n
		if n.Kind == wire.NoticeDues {
			s.duesFigures(ctx, n)
		}
		if err := s.Notify(ctx, notes[i].user, n); err != nil {
			s.cfg.Logger.Warn("coop: notice not written", "kind", n.Kind, "err", err)
		}
	}
}

// duesFigures fills a NoticeDues with what dues support this month.
func (s *Service) duesFigures(ctx context.Context, n *wire.CoopNotice) {
	months, err := s.Figures(ctx, 1)
	if err != nil {
		s.cfg.Logger.Warn("coop: figures for a dues notice", "err", err)
	} else {
		n.Month = months[0].Month
		n.Supports = months[0].UsersPerMember()
		n.CostPerUser = months[0].CostPerUser()
	}
	n.Text = duesText(n.Amount, n.Currency, n.Supports)
}

// link records the provider's IDs an event carries.
func (m *Membership) link(ev Event) {
	if ev.Customer != "" {
		m.Customer = ev.Customer
	}
	if ev.Subscription != "" {
		m.Subscription = ev.Subscription
	}
	if ev.Mandate != "" {
		m.Mandate = ev.Mandate
	}
}

// setStatus moves m to status to because of something that happened at
// at, unless a newer event set its status already. It reports whether
// it was applied: an applied event advances StatusAt even when the
// status stays, so that an older event cannot undo it.
func (m *Membership) setStatus(to wire.MemberStatus, at time.Time) bool {
	if at.Before(m.StatusAt) {
		return false
	}
	m.Status = to
	m.StatusAt = at
	return true
}

// paidThrough extends PaidThrough to end.
func (m *Membership) paidThrough(end time.Time) {
	if end.After(m.PaidThrough) {
		m.PaidThrough = end
	}
}
