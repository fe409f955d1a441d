package gocardless_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/gocardlesstest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/coopharness"
	"github.com/mutualcoop/mutual/relay/coop/gocardless"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op's service over a SQLite directory, with this provider
// talking to the stand-in, whose webhooks reach the service's handler:
// the path a membership paid by Direct Debit takes in the relay.

type relay struct {
	*coopharness.Harness
	t *testing.T
	// clock is the time of the service, the directory and the stand-in,
	// which the test moves.
	clock *coopharness.Clock
	gc    *gocardlesstest.Server
}

func startRelay(t *testing.T) *relay {
	t.Helper()
	r := &relay{t: t, clock: coopharness.NewClock(start)}
	r.gc = gocardlesstest.Start(t, gocardlesstest.Options{AccessToken: token, WebhookSecret: whSecret, Now: r.clock.Now})
	p, err := gocardless.New(gocardless.Config{AccessToken: token, WebhookSecret: whSecret, API: r.gc.URL})
	if err != nil {
		t.Fatal(err)
	}
	r.Harness = coopharness.Start(t, coop.Config{
		Currency:  "GBP",
		Plans:     []coop.Plan{monthly},
		Providers: []coop.Provider{p},
		PublicURL: "https://mutual.example",
		Grace:     14 * 24 * time.Hour,
		Now:       r.clock.Now,
	})
	r.gc.SetWebhookURL(r.WebhookURL(coop.GoCardless))
	return r
}

// join has user join by Direct Debit: the Co-op screen's "Join", then
// "Confirm" on GoCardless's page. The membership is active once the
// subscription the relay creates on the mandate is.
func (r *relay) join(user wire.UserID) coop.Membership {
	r.t.Helper()
	co := r.Join(user, "gocardless", "monthly")
	if !strings.HasPrefix(co.URL, r.gc.URL+"/flow/") {
		r.t.Fatalf("join answered %+v, want the stand-in's flow page", co)
	}
	if err := r.gc.Confirm(co.URL); err != nil {
		r.t.Fatal(err)
	}
	return r.AwaitStatus(user, wire.MemberActive)
}

func TestServicePayFailLapse(t *testing.T) {
	r := startRelay(t)
	alice := r.User("alice@example.org")

	m := r.join(alice)
	if !strings.HasPrefix(m.Mandate, "MD") || !strings.HasPrefix(m.Customer, "CU") || !strings.HasPrefix(m.Subscription, "SB") {
		t.Fatalf("membership %+v: want the mandate, customer and subscription linked", m)
	}
	subs := r.gc.Subscriptions()
	if len(subs) != 1 || subs[0].ID != m.Subscription || subs[0].Metadata["membership"] != m.Reference || subs[0].Amount != 1000 {
		t.Fatalf("subscriptions at GoCardless %+v, want one of £10.00 for %s", subs, m.Reference)
	}

	r.clock.Add(time.Hour)
	payment, err := r.gc.PaymentConfirmed(m.Subscription)
	if err != nil {
		t.Fatal(err)
	}
	m = r.AwaitStatus(alice, wire.MemberActive)
	if want := time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC); !m.PaidThrough.Equal(want) {
		t.Fatalf("paid through %v, want %v", m.PaidThrough, want)
	}
	if got := r.Dues(); got != 1000 {
		t.Fatalf("dues %d, want 1000", got)
	}
	ns := r.NoticesTo(alice)
	if len(ns) != 1 || ns[0].Kind != wire.NoticeDues || ns[0].Amount != 1000 ||
		ns[0].ID != coop.NoticeID(wire.NoticeDues, alice, "gocardless:"+payment) {
		t.Fatalf("notices %+v, want one for the dues", ns)
	}
	paid := r.gc.Deliveries()
	paidCall := paid[len(paid)-1]

	// The next month's payment fails: grace, then lapsed once it ends.
	failedAt := r.clock.Add(30 * 24 * time.Hour)
	if _, err := r.gc.PaymentFailed(m.Subscription); err != nil {
		t.Fatal(err)
	}
	m = r.AwaitStatus(alice, wire.MemberGrace)
	if want := failedAt.Add(14 * 24 * time.Hour); !m.GraceUntil.Equal(want) {
		t.Fatalf("grace until %v, want %v", m.GraceUntil, want)
	}
	if n, err := r.Svc.SweepGrace(r.Ctx, r.clock.Add(13*24*time.Hour)); err != nil || n != 0 {
		t.Fatalf("sweep within grace: %d, %v", n, err)
	}
	if n, err := r.Svc.SweepGrace(r.Ctx, r.clock.Add(2*24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("sweep after grace: %d, %v", n, err)
	}
	r.AwaitStatus(alice, wire.MemberLapsed)
	ns = r.NoticesTo(alice)
	if len(ns) != 3 || ns[1].Status != wire.MemberGrace || ns[2].Status != wire.MemberLapsed {
		t.Fatalf("notices %+v, want dues, grace, lapsed", ns)
	}

	// GoCardless sends the paid webhook again: nothing changes.
	before := r.Membership(alice)
	if status, err := r.gc.Replay(paidCall); err != nil || status != http.StatusOK {
		t.Fatalf("replay answered %d, %v", status, err)
	}
	if got := r.Membership(alice); got != before || len(r.NoticesTo(alice)) != 3 {
		t.Fatalf("a replayed webhook changed the membership (%+v) or wrote a notice", got)
	}

	// A forged webhook, a payment confirmed under the old signature:
	// 498, and nothing changes.
	forged := []byte(strings.ReplaceAll(string(paidCall.Body), `"EV`, `"EVX`))
	if status, err := r.gc.Post(forged, paidCall.Signature); err != nil || status != 498 {
		t.Fatalf("forged webhook answered %d, %v; want 498", status, err)
	}
	if got := r.Membership(alice); got != before || len(r.NoticesTo(alice)) != 3 {
		t.Fatalf("a forged webhook changed the membership (%+v) or wrote a notice", got)
	}
}

func TestServiceCancel(t *testing.T) {
	r := startRelay(t)
	bob := r.User("bob@example.org")
	m := r.join(bob)
	r.clock.Add(time.Hour)
	body, err := r.Svc.Handle(r.Ctx, bob, &wire.Coop{Op: wire.CoopCancel})
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := body.(*wire.CoopInfo); !ok || info.Membership.Status != wire.MemberCanceled {
		t.Fatalf("cancel answered %+v", body)
	}
	if got := r.gc.Status(m.Subscription); got != "cancelled" {
		t.Fatalf("subscription %s at GoCardless, want cancelled", got)
	}
	// GoCardless's own word follows, and changes nothing more.
	wait.For(t, "the cancellation's webhook", func() bool {
		ds := r.gc.Deliveries()
		last := ds[len(ds)-1]
		return strings.Contains(string(last.Body), `"action":"cancelled"`) && last.Status == http.StatusOK
	})
	r.AwaitStatus(bob, wire.MemberCanceled)
	if ns := r.NoticesTo(bob); len(ns) != 1 || ns[0].Status != wire.MemberCanceled {
		t.Fatalf("notices %+v, want one cancellation", ns)
	}
	if _, err := r.Svc.Handle(r.Ctx, bob, &wire.Coop{Op: wire.CoopCancel}); !errors.Is(err, coop.ErrNotFound) {
		t.Fatalf("cancel again: %v, want ErrNotFound", err)
	}
}

// Many events in one webhook: each member's payment, and a
// cancellation by a bank, applied together.
func TestServiceBatch(t *testing.T) {
	r := startRelay(t)
	var users []wire.UserID
	var subs []string
	for _, addr := range []string{"carol@example.org", "dave@example.org", "erin@example.org"} {
		u := r.User(addr)
		users = append(users, u)
		subs = append(subs, r.join(u).Subscription)
	}
	r.clock.Add(time.Hour)
	calls := len(r.gc.Deliveries())
	r.gc.Hold()
	for _, sub := range subs[:2] {
		if _, err := r.gc.PaymentConfirmed(sub); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.gc.CancelSubscription(subs[2]); err != nil {
		t.Fatal(err)
	}
	if err := r.gc.SendBatch(); err != nil {
		t.Fatal(err)
	}
	ds := r.gc.Deliveries()
	if len(ds) != calls+1 || strings.Count(string(ds[calls].Body), `"id":"EV`) != 5 {
		t.Fatalf("%d webhooks, want one of 5 events", len(ds)-calls)
	}
	if got := r.Dues(); got != 2000 {
		t.Fatalf("dues %d, want 2000", got)
	}
	for _, u := range users[:2] {
		if ns := r.NoticesTo(u); len(ns) != 1 || ns[0].Kind != wire.NoticeDues {
			t.Fatalf("notices %+v, want a dues notice", ns)
		}
	}
	r.AwaitStatus(users[2], wire.MemberCanceled)
}
