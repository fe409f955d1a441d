// Package cooptest is the conformance suite every coop.Store passes: the
// same tests run against the directory's SQLite and PostgreSQL backends.
//
// Run calls open once per subtest and expects an empty store each time;
// open registers its own cleanup. The store must also be the directory
// it lives in (CreateAccount, SetContact): Users and MutualContacts read
// the directory's accounts and contact lists. Several subtests race
// goroutines on one store, as a relay's processes do: one provider event
// delivered many times at once, one user connecting from many devices at
// the start of a month, many processes starting at once and each asking
// for the signing key.
package cooptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Directory is what the suite needs of the directory a store lives in,
// to make accounts and contacts.
type Directory interface {
	CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (wire.UserID, bool, error)
	SetContact(ctx context.Context, owner, other wire.UserID, state directory.ContactState, max int) error
}

// Run runs the conformance suite.
func Run(t *testing.T, open func(t *testing.T) coop.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s coop.Store)
	}{
		{"Memberships", testMemberships},
		{"ReplaceMembership", testReplaceMembership},
		{"InvalidMembership", testInvalidMembership},
		{"EventLookup", testEventLookup},
		{"ReplayedEvent", testReplayedEvent},
		{"FailedEvent", testFailedEvent},
		{"DuesOnce", testDuesOnce},
		{"ConcurrentApplyEvent", testConcurrentApplyEvent},
		{"MemberCount", testMemberCount},
		{"GraceEnded", testGraceEnded},
		{"PayingMembers", testPayingMembers},
		{"Roles", testRoles},
		{"Contributions", testContributions},
		{"Costs", testCosts},
		{"NoteActive", testNoteActive},
		{"ConcurrentNoteActive", testConcurrentNoteActive},
		{"Months", testMonths},
		{"Notices", testNotices},
		{"Users", testUsers},
		{"MutualContacts", testMutualContacts},
		{"StreamStops", testStreamStops},
		{"CoopKey", testCoopKey},
		{"ConcurrentCoopKey", testConcurrentCoopKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// at is a time of the suite: day d of 2026, at noon UTC.
func at(d int) time.Time { return time.Date(2026, 1, d, 12, 0, 0, 0, time.UTC) }

func randomRef() string {
	b := make([]byte, 8)
	rand.Read(b)
	return fmt.Sprintf("m_%x", b)
}

// pending is a new pending membership of user through Stripe.
func pending(user wire.UserID) coop.Membership {
	return coop.Membership{
		User:      user,
		Reference: randomRef(),
		Provider:  coop.Stripe,
		Plan:      "monthly",
		Amount:    1000,
		Currency:  "GBP",
		Status:    wire.MemberPending,
	}
}

// create stores a membership of user with status st and returns it as
// stored.
func create(t *testing.T, s coop.Store, user wire.UserID, st wire.MemberStatus) coop.Membership {
	t.Helper()
	ctx := context.Background()
	m := pending(user)
	m.Customer, m.Subscription = "cus_"+m.Reference, "sub_"+m.Reference
	if err := s.CreateMembership(ctx, m); err != nil {
		t.Fatalf("CreateMembership: %v", err)
	}
	got, err := s.Membership(ctx, user)
	if err != nil {
		t.Fatalf("Membership: %v", err)
	}
	if st != wire.MemberPending {
		got.Status = st
		if err := s.UpdateMembership(ctx, got); err != nil {
			t.Fatalf("UpdateMembership: %v", err)
		}
		if got, err = s.Membership(ctx, user); err != nil {
			t.Fatalf("Membership: %v", err)
		}
	}
	return got
}

// sameMembership compares what a store keeps of a membership (Created
// and Updated are the store's).
func sameMembership(a, b coop.Membership) bool {
	return a.User == b.User && a.Reference == b.Reference && a.Provider == b.Provider && a.Plan == b.Plan &&
		a.Amount == b.Amount && a.Currency == b.Currency && a.Customer == b.Customer &&
		a.Subscription == b.Subscription && a.Mandate == b.Mandate && a.Status == b.Status &&
		a.StatusAt.Equal(b.StatusAt) && a.PaidThrough.Equal(b.PaidThrough) &&
		a.GraceUntil.Equal(b.GraceUntil) && a.NextPayment.Equal(b.NextPayment)
}

// directoryOf returns the directory s lives in.
func directoryOf(t *testing.T, s coop.Store) Directory {
	t.Helper()
	d, ok := s.(Directory)
	if !ok {
		t.Fatalf("%T is not a directory: it cannot make accounts and contacts", s)
	}
	return d
}

func newUser(t *testing.T, d Directory) wire.UserID {
	t.Helper()
	addr := make([]byte, 32)
	rand.Read(addr)
	u, _, err := d.CreateAccount(context.Background(), addr, wire.NewUserID())
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	return u
}

// latest returns the newest month's counts.
func latest(t *testing.T, s coop.Store) coop.MonthCounts {
	t.Helper()
	ms, err := s.Months(context.Background(), "2000-01", "2999-12")
	if err != nil {
		t.Fatalf("Months: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("no month has counts")
	}
	return ms[0]
}

func testMemberships(t *testing.T, s coop.Store) {
	ctx := context.Background()
	user := wire.NewUserID()
	if _, err := s.Membership(ctx, user); !errors.Is(err, coop.ErrNotFound) {
		t.Fatalf("Membership(unknown) = %v, want ErrNotFound", err)
	}
	m := pending(user)
	m.Status = wire.MemberNone // a new membership is pending
	if err := s.CreateMembership(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := s.Membership(ctx, user)
	m.Status = wire.MemberPending
	if err != nil || !sameMembership(got, m) {
		t.Fatalf("Membership = %+v, %v; want %+v", got, err, m)
	}
	if got.Created.IsZero() || got.Updated.IsZero() {
		t.Errorf("Created %v, Updated %v: want both set", got.Created, got.Updated)
	}

	m = got
	m.Customer, m.Subscription, m.Mandate = "cus_1", "sub_1", "MD1"
	m.Status, m.StatusAt = wire.MemberActive, at(2).Add(123*time.Nanosecond)
	m.PaidThrough, m.GraceUntil, m.NextPayment = at(33), at(40), at(32)
	m.Plan, m.Amount = "yearly", 10000
	if err := s.UpdateMembership(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err = s.Membership(ctx, user)
	if err != nil || !sameMembership(got, m) {
		t.Fatalf("Membership after update = %+v, %v; want %+v", got, err, m)
	}
	if !got.Created.Equal(m.Created) {
		t.Errorf("Created moved from %v to %v", m.Created, got.Created)
	}

	other := pending(wire.NewUserID())
	if err := s.UpdateMembership(ctx, other); !errors.Is(err, coop.ErrNotFound) {
		t.Errorf("UpdateMembership(unknown) = %v, want ErrNotFound", err)
	}
	other.Reference = m.Reference
	if err := s.CreateMembership(ctx, other); err == nil {
		t.Error("two memberships share a reference")
	}
}

func testReplaceMembership(t *testing.T, s coop.Store) {
	ctx := context.Background()
	user := wire.NewUserID()
	first := create(t, s, user, wire.MemberPending)
	second := pending(user)
	second.Provider = coop.GoCardless
	if err := s.CreateMembership(ctx, second); err != nil {
		t.Fatalf("CreateMembership over a pending one: %v", err)
	}
	if got, err := s.Membership(ctx, user); err != nil || !sameMembership(got, second) {
		t.Fatalf("Membership = %+v, %v; want %+v", got, err, second)
	}
	// The first checkout's reference leads nowhere now.
	var seen *coop.Membership
	if _, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.Stripe, ID: "evt_old", Reference: first.Reference},
		func(m *coop.Membership) (bool, *coop.Dues, error) { seen = m; return false, nil, nil }); err != nil {
		t.Fatal(err)
	}
	if seen != nil {
		t.Fatalf("the replaced reference found %+v", seen)
	}

	for _, st := range []wire.MemberStatus{wire.MemberActive, wire.MemberGrace} {
		u := wire.NewUserID()
		paying := create(t, s, u, st)
		if err := s.CreateMembership(ctx, pending(u)); !errors.Is(err, coop.ErrExists) {
			t.Errorf("CreateMembership over a %v one = %v, want ErrExists", st, err)
		}
		if got, err := s.Membership(ctx, u); err != nil || !sameMembership(got, paying) {
			t.Errorf("the %v membership changed: %+v, %v", st, got, err)
		}
	}
	for _, st := range []wire.MemberStatus{wire.MemberLapsed, wire.MemberCanceled} {
		u := wire.NewUserID()
		create(t, s, u, st)
		again := pending(u)
		if err := s.CreateMembership(ctx, again); err != nil {
			t.Errorf("CreateMembership over a %v one: %v", st, err)
		}
		if got, err := s.Membership(ctx, u); err != nil || !sameMembership(got, again) {
			t.Errorf("Membership after joining again = %+v, %v", got, err)
		}
	}
}

func testInvalidMembership(t *testing.T, s coop.Store) {
	ctx := context.Background()
	tests := []struct {
		name string
		edit func(m *coop.Membership)
	}{
		{"no user", func(m *coop.Membership) { m.User = wire.UserID{} }},
		{"no reference", func(m *coop.Membership) { m.Reference = "" }},
		{"no provider", func(m *coop.Membership) { m.Provider = "" }},
		{"negative amount", func(m *coop.Membership) { m.Amount = -1 }},
		{"unknown status", func(m *coop.Membership) { m.Status = 9 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := pending(wire.NewUserID())
			tt.edit(&m)
			if err := s.CreateMembership(ctx, m); !errors.Is(err, coop.ErrInvalid) {
				t.Fatalf("CreateMembership = %v, want ErrInvalid", err)
			}
		})
	}
	good := create(t, s, wire.NewUserID(), wire.MemberPending)
	good.Status = wire.MemberNone
	if err := s.UpdateMembership(ctx, good); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("UpdateMembership(status none) = %v, want ErrInvalid", err)
	}
}

func testEventLookup(t *testing.T, s coop.Store) {
	ctx := context.Background()
	m := pending(wire.NewUserID())
	m.Provider = coop.GoCardless
	m.Customer, m.Subscription, m.Mandate = "CU1", "SB1", "MD1"
	if err := s.CreateMembership(ctx, m); err != nil {
		t.Fatal(err)
	}
	decoy := pending(wire.NewUserID())
	decoy.Customer, decoy.Subscription = "CU2", "SB2"
	if err := s.CreateMembership(ctx, decoy); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ev   coop.Event
		want *coop.Membership
	}{
		{"reference", coop.Event{Provider: coop.GoCardless, Reference: m.Reference}, &m},
		{"reference first", coop.Event{Provider: coop.GoCardless, Reference: m.Reference, Subscription: "SB2", Customer: "CU2"}, &m},
		{"subscription", coop.Event{Provider: coop.GoCardless, Subscription: "SB1", Customer: "CU9"}, &m},
		{"mandate", coop.Event{Provider: coop.GoCardless, Mandate: "MD1"}, &m},
		{"customer", coop.Event{Provider: coop.GoCardless, Customer: "CU1"}, &m},
		{"unknown reference, known subscription", coop.Event{Provider: coop.GoCardless, Reference: "m_unknown", Subscription: "SB1"}, &m},
		{"other provider's subscription", coop.Event{Provider: coop.Stripe, Subscription: "SB1"}, nil},
		{"stripe subscription", coop.Event{Provider: coop.Stripe, Subscription: "SB2"}, &decoy},
		{"unknown", coop.Event{Provider: coop.GoCardless, Customer: "CU9"}, nil},
		{"nothing", coop.Event{Provider: coop.GoCardless}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.ev.ID = fmt.Sprintf("EV%d", i)
			called := false
			applied, err := s.ApplyEvent(ctx, tt.ev, func(got *coop.Membership) (bool, *coop.Dues, error) {
				called = true
				switch {
				case tt.want == nil && got != nil:
					t.Errorf("fn got %+v, want nil", got)
				case tt.want != nil && (got == nil || !sameMembership(*got, *tt.want)):
					t.Errorf("fn got %+v, want %+v", got, tt.want)
				}
				return false, nil, nil
			})
			if err != nil || !applied || !called {
				t.Fatalf("ApplyEvent = %v, %v; fn called %v", applied, err, called)
			}
		})
	}
	if _, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.Stripe}, func(*coop.Membership) (bool, *coop.Dues, error) {
		t.Error("fn called for an event without an ID")
		return false, nil, nil
	}); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("ApplyEvent(no ID) = %v, want ErrInvalid", err)
	}
}

// activate is an fn that makes a membership active, paid by payment.
func activate(payment string, amount int64) func(m *coop.Membership) (bool, *coop.Dues, error) {
	return func(m *coop.Membership) (bool, *coop.Dues, error) {
		if m == nil {
			return false, nil, errors.New("no membership")
		}
		m.Status, m.StatusAt, m.PaidThrough = wire.MemberActive, at(2), at(33)
		return true, &coop.Dues{Payment: payment, Amount: amount, Currency: "GBP", PaidAt: at(2)}, nil
	}
}

func testReplayedEvent(t *testing.T, s coop.Store) {
	ctx := context.Background()
	m := create(t, s, wire.NewUserID(), wire.MemberPending)
	ev := coop.Event{Provider: coop.Stripe, ID: "evt_1", Created: at(2), Type: coop.EventPaymentSucceeded,
		Subscription: m.Subscription, Payment: "in_1", Amount: 1000, Currency: "GBP", PeriodEnd: at(33)}
	applied, err := s.ApplyEvent(ctx, ev, activate("in_1", 1000))
	if err != nil || !applied {
		t.Fatalf("ApplyEvent = %v, %v", applied, err)
	}
	after, err := s.Membership(ctx, m.User)
	if err != nil || after.Status != wire.MemberActive || !after.PaidThrough.Equal(at(33)) {
		t.Fatalf("Membership = %+v, %v; want active, paid through %v", after, err, at(33))
	}
	// The same event again: fn is not called, nothing changes.
	applied, err = s.ApplyEvent(ctx, ev, func(m *coop.Membership) (bool, *coop.Dues, error) {
		t.Error("fn called for a replayed event")
		m.Status = wire.MemberCanceled
		return true, &coop.Dues{Payment: "in_2", Amount: 5000}, nil
	})
	if err != nil || applied {
		t.Fatalf("replayed ApplyEvent = %v, %v; want false, nil", applied, err)
	}
	if got, err := s.Membership(ctx, m.User); err != nil || !sameMembership(got, after) {
		t.Fatalf("Membership after replay = %+v, %v; want %+v", got, err, after)
	}
	jan, err := s.Months(ctx, "2026-01", "2026-01")
	if err != nil || len(jan) != 1 || jan[0].Dues != 1000 {
		t.Fatalf("Months(2026-01) = %+v, %v; want dues 1000", jan, err)
	}
	// The same ID from the other provider is another event.
	if applied, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.GoCardless, ID: "evt_1"},
		func(*coop.Membership) (bool, *coop.Dues, error) { return false, nil, nil }); err != nil || !applied {
		t.Fatalf("ApplyEvent(other provider) = %v, %v; want applied", applied, err)
	}
}

func testFailedEvent(t *testing.T, s coop.Store) {
	ctx := context.Background()
	m := create(t, s, wire.NewUserID(), wire.MemberPending)
	ev := coop.Event{Provider: coop.Stripe, ID: "evt_fail", Subscription: m.Subscription}
	boom := errors.New("boom")
	applied, err := s.ApplyEvent(ctx, ev, func(m *coop.Membership) (bool, *coop.Dues, error) {
		m.Status = wire.MemberActive
		return true, &coop.Dues{Payment: "in_1", Amount: 1000, PaidAt: at(3)}, boom
	})
	if !errors.Is(err, boom) || applied {
		t.Fatalf("ApplyEvent = %v, %v; want false, boom", applied, err)
	}
	if got, err := s.Membership(ctx, m.User); err != nil || !sameMembership(got, m) {
		t.Fatalf("Membership after a failed event = %+v, %v; want %+v", got, err, m)
	}
	// Nothing was recorded: the provider's retry applies it.
	applied, err = s.ApplyEvent(ctx, ev, activate("in_1", 1000))
	if err != nil || !applied {
		t.Fatalf("retried ApplyEvent = %v, %v", applied, err)
	}
	// Dues that fn leaves incomplete or invalid undo the event.
	m2 := create(t, s, wire.NewUserID(), wire.MemberPending)
	_, err = s.ApplyEvent(ctx, coop.Event{Provider: coop.Stripe, ID: "evt_bad", Subscription: m2.Subscription},
		func(m *coop.Membership) (bool, *coop.Dues, error) {
			m.Status = wire.MemberActive
			return true, &coop.Dues{Amount: 1000}, nil // no payment ID
		})
	if !errors.Is(err, coop.ErrInvalid) {
		t.Fatalf("ApplyEvent(dues without a payment) = %v, want ErrInvalid", err)
	}
	if got, err := s.Membership(ctx, m2.User); err != nil || got.Status != wire.MemberPending {
		t.Fatalf("Membership = %+v, %v; want it pending still", got, err)
	}
}

func testDuesOnce(t *testing.T, s coop.Store) {
	ctx := context.Background()
	m := create(t, s, wire.NewUserID(), wire.MemberPending)
	// Two events (a provider's invoice.paid and payment_intent.succeeded,
	// say) report one payment.
	for i, id := range []string{"evt_a", "evt_b"} {
		applied, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.Stripe, ID: id, Subscription: m.Subscription},
			activate("in_1", 1000))
		if err != nil || !applied {
			t.Fatalf("ApplyEvent %d = %v, %v", i, applied, err)
		}
	}
	// Another payment in another month, and one of the same ID at the
	// other provider.
	if _, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.Stripe, ID: "evt_c", Subscription: m.Subscription},
		func(m *coop.Membership) (bool, *coop.Dues, error) {
			return false, &coop.Dues{Payment: "in_2", Amount: 700, Currency: "GBP", PaidAt: at(40)}, nil
		}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.GoCardless, ID: "EV1", Created: at(5)},
		func(*coop.Membership) (bool, *coop.Dues, error) {
			return false, &coop.Dues{Payment: "in_1", User: m.User, Amount: 300, Currency: "GBP"}, nil
		}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Months(ctx, "2026-01", "2026-02")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"2026-01": 1300, "2026-02": 700}
	if len(ms) != 2 {
		t.Fatalf("Months = %+v; want 2026-02 and 2026-01", ms)
	}
	for _, mc := range ms {
		if mc.Dues != want[mc.Month] {
			t.Errorf("%s: dues %d, want %d", mc.Month, mc.Dues, want[mc.Month])
		}
	}
}

func testConcurrentApplyEvent(t *testing.T, s coop.Store) {
	ctx := context.Background()
	m := create(t, s, wire.NewUserID(), wire.MemberPending)
	ev := coop.Event{Provider: coop.Stripe, ID: "evt_race", Subscription: m.Subscription}
	const n = 16
	var (
		calls   atomic.Int32
		applied atomic.Int32
		wg      sync.WaitGroup
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			ok, err := s.ApplyEvent(ctx, ev, func(m *coop.Membership) (bool, *coop.Dues, error) {
				calls.Add(1)
				return activate("in_race", 1000)(m)
			})
			errs[i] = err
			if ok {
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if applied.Load() != 1 || calls.Load() != 1 {
		t.Fatalf("%d of %d deliveries applied, fn called %d times; want 1 and 1", applied.Load(), n, calls.Load())
	}
	jan, err := s.Months(ctx, "2026-01", "2026-01")
	if err != nil || len(jan) != 1 || jan[0].Dues != 1000 {
		t.Fatalf("Months(2026-01) = %+v, %v; want dues 1000", jan, err)
	}
}

func testMemberCount(t *testing.T, s coop.Store) {
	ctx := context.Background()
	var ms []coop.Membership
	for range 3 {
		ms = append(ms, create(t, s, wire.NewUserID(), wire.MemberPending))
	}
	if got := latest(t, s); got.Members != 0 {
		t.Fatalf("members %d with none paying", got.Members)
	}
	for i, m := range ms {
		if _, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.Stripe, ID: fmt.Sprint("pay", i), Subscription: m.Subscription},
			activate(fmt.Sprint("in_", i), 1000)); err != nil {
			t.Fatal(err)
		}
		if got := latest(t, s); got.Members != int64(i+1) {
			t.Fatalf("members %d after %d payments", got.Members, i+1)
		}
	}
	// Grace still pays; a cancellation does not.
	if _, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.Stripe, ID: "fail", Subscription: ms[0].Subscription},
		func(m *coop.Membership) (bool, *coop.Dues, error) {
			m.Status, m.GraceUntil = wire.MemberGrace, at(20)
			return true, nil, nil
		}); err != nil {
		t.Fatal(err)
	}
	if got := latest(t, s); got.Members != 3 {
		t.Fatalf("members %d with one in grace, want 3", got.Members)
	}
	m, err := s.Membership(ctx, ms[1].User)
	if err != nil {
		t.Fatal(err)
	}
	m.Status = wire.MemberCanceled
	if err := s.UpdateMembership(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := latest(t, s); got.Members != 2 {
		t.Fatalf("members %d after a cancellation, want 2", got.Members)
	}
	// A month counted first by a connection starts from the paying
	// members.
	if _, err := s.NoteActive(ctx, wire.NewUserID(), "2999-01"); err != nil {
		t.Fatal(err)
	}
	if got := latest(t, s); got.Month != "2999-01" || got.Members != 2 || got.ActiveUsers != 1 {
		t.Fatalf("newest month %+v; want 2999-01 with 2 members and 1 active user", got)
	}
}

func testGraceEnded(t *testing.T, s coop.Store) {
	ctx := context.Background()
	grace := func(until time.Time) coop.Membership {
		m := create(t, s, wire.NewUserID(), wire.MemberGrace)
		m.GraceUntil = until
		if err := s.UpdateMembership(ctx, m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := grace(at(5)), grace(at(3))
	grace(at(20))
	active := create(t, s, wire.NewUserID(), wire.MemberActive)
	active.GraceUntil = at(1)
	if err := s.UpdateMembership(ctx, active); err != nil {
		t.Fatal(err)
	}
	got, err := s.GraceEnded(ctx, at(10), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].User != b.User || got[1].User != a.User {
		t.Fatalf("GraceEnded = %+v; want the memberships whose grace ended on day 3 and day 5", got)
	}
	if got, err := s.GraceEnded(ctx, at(10), 1); err != nil || len(got) != 1 || got[0].User != b.User {
		t.Fatalf("GraceEnded(limit 1) = %+v, %v", got, err)
	}
	if got, err := s.GraceEnded(ctx, at(3), 10); err != nil || len(got) != 0 {
		t.Fatalf("GraceEnded(day 3) = %+v, %v; want none", got, err)
	}
}

func testPayingMembers(t *testing.T, s coop.Store) {
	ctx := context.Background()
	var want []wire.UserID
	for _, st := range []wire.MemberStatus{wire.MemberPending, wire.MemberActive, wire.MemberGrace, wire.MemberLapsed,
		wire.MemberCanceled, wire.MemberActive} {
		m := create(t, s, wire.NewUserID(), st)
		if st.Paying() {
			want = append(want, m.User)
		}
	}
	var got []wire.UserID
	if err := s.PayingMembers(ctx, func(u wire.UserID) error { got = append(got, u); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(want, func(a, b wire.UserID) int { return bytes.Compare(a[:], b[:]) })
	slices.SortFunc(got, func(a, b wire.UserID) int { return bytes.Compare(a[:], b[:]) })
	if !slices.Equal(got, want) {
		t.Fatalf("PayingMembers = %v, want %v", got, want)
	}
}

func testRoles(t *testing.T, s coop.Store) {
	ctx := context.Background()
	user, admin := wire.NewUserID(), wire.NewUserID()
	if gs, err := s.Roles(ctx, user); err != nil || len(gs) != 0 {
		t.Fatalf("Roles(new user) = %v, %v", gs, err)
	}
	op := coop.RoleGrant{User: user, Role: wire.RoleOperator, By: admin, Granted: at(1)}
	if err := s.SetRole(ctx, op, true); err != nil {
		t.Fatal(err)
	}
	// Granting again keeps the first grant.
	if err := s.SetRole(ctx, coop.RoleGrant{User: user, Role: wire.RoleOperator, Granted: at(9)}, true); err != nil {
		t.Fatal(err)
	}
	contrib := coop.RoleGrant{User: user, Role: wire.RoleContributor} // from the command line, now
	if err := s.SetRole(ctx, contrib, true); err != nil {
		t.Fatal(err)
	}
	gs, err := s.Roles(ctx, user)
	if err != nil || len(gs) != 2 {
		t.Fatalf("Roles = %+v, %v; want operator and contributor", gs, err)
	}
	if g := gs[0]; g.Role != wire.RoleOperator || g.User != user || g.By != admin || !g.Granted.Equal(at(1)) || !g.LastContributed.IsZero() {
		t.Errorf("operator grant %+v, want %+v", g, op)
	}
	if g := gs[1]; g.Role != wire.RoleContributor || !g.By.IsZero() || g.Granted.IsZero() || !g.LastContributed.IsZero() {
		t.Errorf("contributor grant %+v: want by no one, granted now, manual", g)
	}

	other := wire.NewUserID()
	if err := s.SetRole(ctx, coop.RoleGrant{User: other, Role: wire.RoleOperator, Granted: at(2)}, true); err != nil {
		t.Fatal(err)
	}
	holders, err := s.RoleHolders(ctx, wire.RoleOperator)
	if err != nil || len(holders) != 2 {
		t.Fatalf("RoleHolders(operator) = %+v, %v", holders, err)
	}
	if got := []wire.UserID{holders[0].User, holders[1].User}; !slices.Contains(got, user) || !slices.Contains(got, other) {
		t.Fatalf("operators %v, want %v and %v", got, user, other)
	}

	if err := s.SetRole(ctx, coop.RoleGrant{User: user, Role: wire.RoleOperator}, false); err != nil {
		t.Fatal(err)
	}
	if gs, err := s.Roles(ctx, user); err != nil || len(gs) != 1 || gs[0].Role != wire.RoleContributor {
		t.Fatalf("Roles after revoking operator = %+v, %v", gs, err)
	}
	if holders, err := s.RoleHolders(ctx, wire.RoleOperator); err != nil || len(holders) != 1 || holders[0].User != other {
		t.Fatalf("RoleHolders(operator) after revoking = %+v, %v", holders, err)
	}
	// Revoking what is not held changes nothing.
	if err := s.SetRole(ctx, coop.RoleGrant{User: wire.NewUserID(), Role: wire.RoleOperator}, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole(ctx, coop.RoleGrant{User: user, Role: wire.RoleMember}, true); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("SetRole(member) = %v, want ErrInvalid", err)
	}
	if err := s.SetRole(ctx, coop.RoleGrant{Role: wire.RoleOperator}, true); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("SetRole(no user) = %v, want ErrInvalid", err)
	}
	if _, err := s.RoleHolders(ctx, wire.RoleMember); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("RoleHolders(member) = %v, want ErrInvalid", err)
	}
}

func testContributions(t *testing.T, s coop.Store) {
	ctx := context.Background()
	user := wire.NewUserID()
	last := func() time.Time {
		t.Helper()
		gs, err := s.Roles(ctx, user)
		if err != nil || len(gs) != 1 || gs[0].Role != wire.RoleContributor {
			t.Fatalf("Roles = %+v, %v; want contributor", gs, err)
		}
		return gs[0].LastContributed
	}
	if err := s.NoteContribution(ctx, user, at(10)); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(at(10)) {
		t.Fatalf("LastContributed %v, want %v", got, at(10))
	}
	// An older commit does not move it back; a newer one moves it on.
	if err := s.NoteContribution(ctx, user, at(4)); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(at(10)) {
		t.Fatalf("LastContributed %v after an older commit, want %v", got, at(10))
	}
	if err := s.NoteContribution(ctx, user, at(20)); err != nil {
		t.Fatal(err)
	}
	if got := last(); !got.Equal(at(20)) {
		t.Fatalf("LastContributed %v, want %v", got, at(20))
	}
	// A manual grant does not expire, commits or not.
	manual := wire.NewUserID()
	if err := s.SetRole(ctx, coop.RoleGrant{User: manual, Role: wire.RoleContributor, Granted: at(1)}, true); err != nil {
		t.Fatal(err)
	}
	if err := s.NoteContribution(ctx, manual, at(20)); err != nil {
		t.Fatal(err)
	}
	if gs, err := s.Roles(ctx, manual); err != nil || len(gs) != 1 || !gs[0].LastContributed.IsZero() {
		t.Fatalf("Roles(manual) = %+v, %v; want a grant that does not expire", gs, err)
	}
	if err := s.NoteContribution(ctx, user, time.Time{}); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("NoteContribution(no time) = %v, want ErrInvalid", err)
	}
}

func testCosts(t *testing.T, s coop.Store) {
	ctx := context.Background()
	op := wire.NewUserID()
	lines := []coop.Cost{
		{Month: "2026-02", Category: "servers", Amount: 4000, Note: "two machines", By: op, Updated: at(3)},
		{Month: "2026-01", Category: "servers", Amount: 3000, Updated: at(2)},
		{Month: "2026-01", Category: "email", Amount: 500, Updated: at(2)},
		{Month: "2026-03", Category: "servers", Amount: 4000},
	}
	for _, c := range lines {
		if err := s.SetCost(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// A line set again is replaced.
	lines[0].Amount, lines[0].Note = 4500, "three machines"
	if err := s.SetCost(ctx, lines[0]); err != nil {
		t.Fatal(err)
	}
	got, err := s.Costs(ctx, "2026-01", "2026-02")
	if err != nil {
		t.Fatal(err)
	}
	want := []coop.Cost{lines[2], lines[1], lines[0]}
	if len(got) != len(want) {
		t.Fatalf("Costs = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Month != w.Month || g.Category != w.Category || g.Amount != w.Amount || g.Note != w.Note || g.By != w.By || !g.Updated.Equal(w.Updated) {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
	if got, err := s.Costs(ctx, "2026-03", "2026-03"); err != nil || len(got) != 1 || got[0].Updated.IsZero() {
		t.Fatalf("Costs(2026-03) = %+v, %v; want one line, updated now", got, err)
	}
	// An amount of 0 removes the line.
	if err := s.SetCost(ctx, coop.Cost{Month: "2026-01", Category: "email"}); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Costs(ctx, "2026-01", "2026-01"); err != nil || len(got) != 1 || got[0].Category != "servers" {
		t.Fatalf("Costs(2026-01) after removing email = %+v, %v", got, err)
	}
	for _, c := range []coop.Cost{
		{Month: "2026-13", Category: "servers", Amount: 1},
		{Month: "2026-1", Category: "servers", Amount: 1},
		{Month: "2026-01", Amount: 1},
		{Month: "2026-01", Category: "servers", Amount: -1},
	} {
		if err := s.SetCost(ctx, c); !errors.Is(err, coop.ErrInvalid) {
			t.Errorf("SetCost(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	if _, err := s.Costs(ctx, "2026", "2026-12"); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("Costs(2026, 2026-12) = %v, want ErrInvalid", err)
	}
}

func testNoteActive(t *testing.T, s coop.Store) {
	ctx := context.Background()
	a, b := wire.NewUserID(), wire.NewUserID()
	steps := []struct {
		user  wire.UserID
		month string
		first bool
	}{
		{a, "2026-01", true},
		{a, "2026-01", false},
		{b, "2026-01", true},
		{a, "2026-02", true},
		{a, "2026-01", false}, // a month already past for a
		{b, "2026-01", false},
		{a, "2026-02", false},
	}
	for i, st := range steps {
		first, err := s.NoteActive(ctx, st.user, st.month)
		if err != nil || first != st.first {
			t.Fatalf("step %d: NoteActive = %v, %v; want %v", i, first, err, st.first)
		}
	}
	ms, err := s.Months(ctx, "2026-01", "2026-12")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Month != "2026-02" || ms[0].ActiveUsers != 1 || ms[1].Month != "2026-01" || ms[1].ActiveUsers != 2 {
		t.Fatalf("Months = %+v; want 2026-02 with 1 active user, 2026-01 with 2", ms)
	}
	if _, err := s.NoteActive(ctx, a, "January"); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("NoteActive(bad month) = %v, want ErrInvalid", err)
	}
	// Turning notices off is no activity, and activity keeps the setting.
	c := wire.NewUserID()
	if err := s.SetNoticesOff(ctx, c, true); err != nil {
		t.Fatal(err)
	}
	if first, err := s.NoteActive(ctx, c, "2026-01"); err != nil || !first {
		t.Fatalf("NoteActive after SetNoticesOff = %v, %v; want first", first, err)
	}
	if off, err := s.NoticesOff(ctx, c); err != nil || !off {
		t.Fatalf("NoticesOff = %v, %v; want true", off, err)
	}
}

func testConcurrentNoteActive(t *testing.T, s coop.Store) {
	ctx := context.Background()
	user := wire.NewUserID()
	const n = 16
	var (
		firsts atomic.Int32
		wg     sync.WaitGroup
		errs   = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			first, err := s.NoteActive(ctx, user, "2026-05")
			errs[i] = err
			if first {
				firsts.Add(1)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Months(ctx, "2026-05", "2026-05")
	if err != nil {
		t.Fatal(err)
	}
	if firsts.Load() != 1 || len(ms) != 1 || ms[0].ActiveUsers != 1 {
		t.Fatalf("%d calls were first, months %+v; want 1 and 1 active user", firsts.Load(), ms)
	}
}

func testMonths(t *testing.T, s coop.Store) {
	ctx := context.Background()
	if ms, err := s.Months(ctx, "2026-01", "2026-12"); err != nil || len(ms) != 0 {
		t.Fatalf("Months(empty store) = %+v, %v", ms, err)
	}
	for _, month := range []string{"2025-11", "2026-03", "2025-12", "2026-01"} {
		if _, err := s.NoteActive(ctx, wire.NewUserID(), month); err != nil {
			t.Fatal(err)
		}
	}
	// Dues in a month nobody was counted active in still make it a
	// month with figures.
	if _, err := s.ApplyEvent(ctx, coop.Event{Provider: coop.Stripe, ID: "evt_1"}, func(*coop.Membership) (bool, *coop.Dues, error) {
		return false, &coop.Dues{Payment: "in_1", User: wire.NewUserID(), Amount: 1000, Currency: "GBP", PaidAt: time.Date(2026, 2, 28, 23, 59, 0, 0, time.UTC)}, nil
	}); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Months(ctx, "2025-12", "2026-03")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Month)
	}
	if want := []string{"2026-03", "2026-02", "2026-01", "2025-12"}; !slices.Equal(got, want) {
		t.Fatalf("Months = %v, want %v (newest first)", got, want)
	}
	if ms[1].Dues != 1000 || ms[1].ActiveUsers != 0 || ms[0].Dues != 0 || ms[0].ActiveUsers != 1 {
		t.Fatalf("Months = %+v", ms)
	}
	if _, err := s.Months(ctx, "2026-00", "2026-03"); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("Months(2026-00) = %v, want ErrInvalid", err)
	}
}

func testNotices(t *testing.T, s coop.Store) {
	ctx := context.Background()
	user := wire.NewUserID()
	if off, err := s.NoticesOff(ctx, user); err != nil || off {
		t.Fatalf("NoticesOff(new user) = %v, %v; want false", off, err)
	}
	for _, off := range []bool{true, true, false, true} {
		if err := s.SetNoticesOff(ctx, user, off); err != nil {
			t.Fatal(err)
		}
		if got, err := s.NoticesOff(ctx, user); err != nil || got != off {
			t.Fatalf("NoticesOff = %v, %v; want %v", got, err, off)
		}
	}

	if sent, err := s.YearlySent(ctx, user, 2026); err != nil || sent {
		t.Fatalf("YearlySent before = %v, %v", sent, err)
	}
	if first, err := s.NoteYearly(ctx, user, 2026, 2); err != nil || !first {
		t.Fatalf("NoteYearly = %v, %v; want first", first, err)
	}
	if first, err := s.NoteYearly(ctx, user, 2026, 1); err != nil || first {
		t.Fatalf("NoteYearly again = %v, %v; want not first", first, err)
	}
	if sent, err := s.YearlySent(ctx, user, 2026); err != nil || !sent {
		t.Fatalf("YearlySent = %v, %v; want true", sent, err)
	}
	if sent, err := s.YearlySent(ctx, user, 2027); err != nil || sent {
		t.Fatalf("YearlySent(next year) = %v, %v; want false", sent, err)
	}
	if first, err := s.NoteYearly(ctx, wire.NewUserID(), 2026, -1); err != nil || !first {
		t.Fatalf("NoteYearly(no path) = %v, %v; want first", first, err)
	}
}

func testUsers(t *testing.T, s coop.Store) {
	ctx := context.Background()
	d := directoryOf(t, s)
	var want []wire.UserID
	for range 5 {
		want = append(want, newUser(t, d))
	}
	slices.SortFunc(want, func(a, b wire.UserID) int { return bytes.Compare(a[:], b[:]) })
	var got []wire.UserID
	if err := s.Users(ctx, func(u wire.UserID) error { got = append(got, u); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b wire.UserID) int { return bytes.Compare(a[:], b[:]) })
	if !slices.Equal(got, want) {
		t.Fatalf("Users = %v, want %v", got, want)
	}
}

func testMutualContacts(t *testing.T, s coop.Store) {
	ctx := context.Background()
	d := directoryOf(t, s)
	var u [5]wire.UserID
	for i := range u {
		u[i] = newUser(t, d)
	}
	set := func(owner, other wire.UserID, st directory.ContactState) {
		t.Helper()
		if err := d.SetContact(ctx, owner, other, st, 100); err != nil {
			t.Fatal(err)
		}
	}
	set(u[0], u[1], directory.Allowed) // 0 and 1: mutual
	set(u[1], u[0], directory.Allowed)
	set(u[0], u[2], directory.Allowed) // 0 to 2: one-sided
	set(u[1], u[3], directory.Allowed) // 1 and 3: 3 blocked 1
	set(u[3], u[1], directory.Blocked)
	set(u[2], u[4], directory.Allowed) // 2 and 4: mutual
	set(u[4], u[2], directory.Allowed)
	set(u[3], u[4], directory.Blocked) // 3 and 4: both blocked
	set(u[4], u[3], directory.Blocked)

	var got [][2]wire.UserID
	if err := s.MutualContacts(ctx, func(a, b wire.UserID) error { got = append(got, [2]wire.UserID{a, b}); return nil }); err != nil {
		t.Fatal(err)
	}
	want := [][2]wire.UserID{{u[0], u[1]}, {u[1], u[0]}, {u[2], u[4]}, {u[4], u[2]}}
	cmp := func(x, y [2]wire.UserID) int {
		if c := bytes.Compare(x[0][:], y[0][:]); c != 0 {
			return c
		}
		return bytes.Compare(x[1][:], y[1][:])
	}
	slices.SortFunc(want, cmp)
	if !slices.Equal(got, want) {
		t.Fatalf("MutualContacts = %v, want %v (by a, then b)", got, want)
	}
}

func testStreamStops(t *testing.T, s coop.Store) {
	ctx := context.Background()
	d := directoryOf(t, s)
	a, b := newUser(t, d), newUser(t, d)
	for _, p := range [][2]wire.UserID{{a, b}, {b, a}} {
		if err := d.SetContact(ctx, p[0], p[1], directory.Allowed, 100); err != nil {
			t.Fatal(err)
		}
	}
	create(t, s, a, wire.MemberActive)
	create(t, s, b, wire.MemberActive)
	stop := errors.New("stop")
	streams := []struct {
		name string
		run  func(calls *int) error
	}{
		{"Users", func(calls *int) error {
			return s.Users(ctx, func(wire.UserID) error { *calls++; return stop })
		}},
		{"PayingMembers", func(calls *int) error {
			return s.PayingMembers(ctx, func(wire.UserID) error { *calls++; return stop })
		}},
		{"MutualContacts", func(calls *int) error {
			return s.MutualContacts(ctx, func(wire.UserID, wire.UserID) error { *calls++; return stop })
		}},
	}
	for _, st := range streams {
		t.Run(st.name, func(t *testing.T) {
			calls := 0
			if err := st.run(&calls); !errors.Is(err, stop) || calls != 1 {
				t.Fatalf("err %v after %d calls; want fn's error after 1", err, calls)
			}
		})
	}
}

func testCoopKey(t *testing.T, s coop.Store) {
	ctx := context.Background()
	boom := errors.New("no randomness")
	if _, err := s.CoopKey(ctx, func() ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("CoopKey(failing create) = %v, want its error", err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	got, err := s.CoopKey(ctx, func() ([]byte, error) { return key, nil })
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("CoopKey = %x, %v; want %x", got, err, key)
	}
	got, err = s.CoopKey(ctx, func() ([]byte, error) {
		t.Error("create called with a key stored")
		return bytes.Repeat([]byte{8}, 32), nil
	})
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("CoopKey again = %x, %v; want %x", got, err, key)
	}
}

func testConcurrentCoopKey(t *testing.T, s coop.Store) {
	ctx := context.Background()
	const n = 16
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			keys[i], errs[i] = s.CoopKey(ctx, func() ([]byte, error) {
				k := make([]byte, 32)
				rand.Read(k)
				return k, nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("process %d got key %x, process 0 %x", i, k, keys[0])
		}
	}
}
