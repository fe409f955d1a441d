package stripe_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/stripetest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/coopharness"
	"github.com/mutualcoop/mutual/relay/coop/stripe"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op's Service with Stripe from end to end: the Service over a
// SQLite directory, its webhook handler on a real HTTP server, and
// Stripe as localstripe behind internal/stripetest's Checkout stand-in,
// whose webhooks (its own and localstripe's) reach the handler signed.

const hookSecret = "whsec_service_test"

type e2e struct {
	*coopharness.Harness
	t      *testing.T
	stripe *stripetest.Server
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	s := stripetest.Start(t)
	prov, err := stripe.New(stripe.Config{SecretKey: s.SecretKey(), WebhookSecrets: []string{"whsec_old", hookSecret}, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, stripe: s}
	e.Harness = coopharness.Start(t, coop.Config{
		Currency:  "GBP",
		Plans:     []coop.Plan{plan},
		Providers: []coop.Provider{prov},
		PublicURL: "https://mutual.example",
		Grace:     14 * 24 * time.Hour,
	})
	s.RegisterWebhook(e.WebhookURL(coop.Stripe), hookSecret)
	return e
}

// join starts u's membership and pays it on the hosted page with a good
// card; it returns the membership once Stripe's first invoice is paid
// and every event of the checkout has reached the webhook.
func (e *e2e) join(u wire.UserID) coop.Membership {
	e.t.Helper()
	co := e.Join(u, "stripe", "monthly")
	if !strings.HasPrefix(co.URL, e.stripe.URL()+"/pay/") {
		e.t.Fatalf("join answered %#v", co)
	}
	if m := e.Membership(u); m.Status != wire.MemberPending {
		e.t.Fatalf("before paying: %v", m.Status)
	}
	next, err := e.stripe.Pay(e.Ctx, co.URL, stripetest.CardOK)
	if err != nil {
		e.t.Fatal(err)
	}
	if next != "https://mutual.example/co-op?checkout=done" {
		e.t.Fatalf("the page returns to %s", next)
	}
	m := e.Membership(u)
	if m.Status != wire.MemberActive || m.Customer == "" || m.Subscription == "" {
		e.t.Fatalf("after paying: %+v", m)
	}
	e.waitDelivered(m.Customer, "customer.subscription.created", "invoice.payment_succeeded")
	return e.Membership(u)
}

// waitDelivered waits until the webhook took an event of each type about
// the customer.
func (e *e2e) waitDelivered(customer string, types ...string) {
	e.t.Helper()
	for _, typ := range types {
		wait.For(e.t, typ+" taken", func() bool {
			d, ok := e.delivery(customer, typ)
			return ok && d.Status == http.StatusOK
		})
	}
}

// delivery returns the latest webhook of typ about the customer.
func (e *e2e) delivery(customer, typ string) (stripetest.Delivery, bool) {
	ds := e.stripe.Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Type == typ && bytes.Contains(ds[i].Body, []byte(`"`+customer+`"`)) {
			return ds[i], true
		}
	}
	return stripetest.Delivery{}, false
}

func count(ns []*wire.CoopNotice, kind wire.CoopNoticeKind) int {
	c := 0
	for _, n := range ns {
		if n.Kind == kind {
			c++
		}
	}
	return c
}

// TestServiceMembership: a checkout makes an active member with their
// dues counted once, whatever is replayed or forged; a renewal declined
// puts them in grace, and the sweep after the grace period lapses them.
func TestServiceMembership(t *testing.T) {
	e := newE2E(t)
	u := e.User("email:alice@example.org")
	m := e.join(u)
	if m.PaidThrough.Before(time.Now()) {
		t.Fatalf("paid through %v", m.PaidThrough)
	}
	if got := e.Dues(); got != 1000 {
		t.Fatalf("dues %d, want 1000", got)
	}
	if n := count(e.NoticesTo(u), wire.NoticeDues); n != 1 {
		t.Fatalf("%d dues notices", n)
	}

	t.Run("replayed webhook", func(t *testing.T) {
		for _, typ := range []string{"checkout.session.completed", "invoice.payment_succeeded", "customer.subscription.created"} {
			d, _ := e.delivery(m.Customer, typ)
			if code := e.Post(coop.Stripe, d.Header, d.Body); code != http.StatusOK {
				t.Fatalf("%s replayed: %d", typ, code)
			}
		}
		if got := e.Dues(); got != 1000 {
			t.Fatalf("dues %d after a replay", got)
		}
		if n := count(e.NoticesTo(u), wire.NoticeDues); n != 1 {
			t.Fatalf("%d dues notices after a replay", n)
		}
		if got := e.Membership(u); got != m {
			t.Fatalf("a replay changed the membership:\n%+v\n%+v", got, m)
		}
	})

	t.Run("forged or stale webhooks", func(t *testing.T) {
		d, _ := e.delivery(m.Customer, "invoice.payment_succeeded")
		// Another event, of another invoice, of £90: applied, it would
		// count.
		forged := bytes.Replace(d.Body, []byte(`"id": "evt_`), []byte(`"id": "evt_forged`), 1)
		forged = bytes.ReplaceAll(forged, []byte(`"in_`), []byte(`"in_forged`))
		forged = bytes.ReplaceAll(forged, []byte("1000"), []byte("9000"))
		before := len(e.NoticesTo(u))
		for name, h := range map[string]string{
			"another secret":                stripetest.Sign("whsec_forger", time.Now(), forged),
			"the signature of another body": d.Header.Get(stripe.SignatureHeader),
			"stale":                         stripetest.Sign(hookSecret, time.Now().Add(-stripe.Tolerance-time.Minute), forged),
			"from the future":               stripetest.Sign(hookSecret, time.Now().Add(stripe.Tolerance+time.Minute), forged),
			"unsigned":                      "",
		} {
			hdr := http.Header{}
			if h != "" {
				hdr.Set(stripe.SignatureHeader, h)
			}
			if code := e.Post(coop.Stripe, hdr, forged); code != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", name, code)
			}
		}
		if got := e.Dues(); got != 1000 {
			t.Fatalf("dues %d after forgeries", got)
		}
		if got := e.Membership(u); got != m {
			t.Fatalf("a forgery changed the membership:\n%+v\n%+v", got, m)
		}
		if len(e.NoticesTo(u)) != before {
			t.Fatal("a forgery wrote a notice")
		}
	})

	t.Run("failed payment, grace, lapse", func(t *testing.T) {
		failedAt := time.Now()
		if _, err := e.stripe.FailPayment(e.Ctx, m.Customer); err != nil {
			t.Fatal(err)
		}
		g := e.Membership(u)
		if g.Status != wire.MemberGrace {
			t.Fatalf("after a declined renewal: %v", g.Status)
		}
		if until := g.GraceUntil.Sub(failedAt); until < 14*24*time.Hour-time.Minute || until > 14*24*time.Hour+time.Minute {
			t.Fatalf("grace until %v, %v after the failure", g.GraceUntil, until)
		}
		ns := e.NoticesTo(u)
		if last := ns[len(ns)-1]; last.Kind != wire.NoticeMembership || last.Status != wire.MemberGrace {
			t.Fatalf("notice %+v", last)
		}
		if n, err := e.Svc.SweepGrace(e.Ctx, time.Now()); err != nil || n != 0 {
			t.Fatalf("sweep within grace: %d, %v", n, err)
		}
		if n, err := e.Svc.SweepGrace(e.Ctx, g.GraceUntil.Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("sweep after grace: %d, %v", n, err)
		}
		if got := e.Membership(u).Status; got != wire.MemberLapsed {
			t.Fatalf("after the grace period: %v", got)
		}
		ns = e.NoticesTo(u)
		if last := ns[len(ns)-1]; last.Kind != wire.NoticeMembership || last.Status != wire.MemberLapsed {
			t.Fatalf("notice %+v", last)
		}
		if got := e.Dues(); got != 1000 {
			t.Fatalf("dues %d", got)
		}
	})
}

// TestServiceCancel: a member cancels in the app, and the subscription
// ends at Stripe; one canceled at Stripe ends the membership through
// the webhook.
func TestServiceCancel(t *testing.T) {
	e := newE2E(t)

	t.Run("in the app", func(t *testing.T) {
		u := e.User("email:bob@example.org")
		m := e.join(u)
		if _, err := e.Svc.Handle(e.Ctx, u, &wire.Coop{Op: wire.CoopCancel}); err != nil {
			t.Fatal(err)
		}
		if got := e.Membership(u).Status; got != wire.MemberCanceled {
			t.Fatalf("after cancelling: %v", got)
		}
		// Stripe's customer.subscription.deleted follows, and changes
		// nothing more.
		e.waitDelivered(m.Customer, "customer.subscription.deleted")
		if got := e.Membership(u).Status; got != wire.MemberCanceled {
			t.Fatalf("after Stripe's webhook: %v", got)
		}
		if n := count(e.NoticesTo(u), wire.NoticeMembership); n != 1 {
			t.Fatalf("%d membership notices", n)
		}
	})

	t.Run("at Stripe", func(t *testing.T) {
		u := e.User("email:carol@example.org")
		m := e.join(u)
		if err := e.stripe.Cancel(e.Ctx, m.Subscription); err != nil {
			t.Fatal(err)
		}
		e.waitDelivered(m.Customer, "customer.subscription.deleted")
		if got := e.Membership(u).Status; got != wire.MemberCanceled {
			t.Fatalf("after Stripe's webhook: %v", got)
		}
	})
}
