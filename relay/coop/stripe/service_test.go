package stripe_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/stripetest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/stripe"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The co-op's Service with Stripe from end to end: the Service over a
// SQLite directory, its webhook handler on a real HTTP server, and
// Stripe as localstripe behind internal/stripetest's Checkout stand-in,
// whose webhooks (its own and localstripe's) reach the handler signed.

const hookSecret = "whsec_service_test"

// recBus records the notices the Service appends.
type recBus struct {
	mu   sync.Mutex
	msgs []bus.Message
}

func (b *recBus) Append(ctx context.Context, msgs ...bus.Message) error {
	b.mu.Lock()
	b.msgs = append(b.msgs, msgs...)
	b.mu.Unlock()
	return nil
}

type directory interface {
	coop.Store
	CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (wire.UserID, bool, error)
}

type e2e struct {
	t      *testing.T
	ctx    context.Context
	stripe *stripetest.Server
	dir    directory
	svc    *coop.Service
	bus    *recBus
	hook   string // the webhook's URL
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	ctx := t.Context()
	s := stripetest.Start(t)
	prov, err := stripe.New(stripe.Config{SecretKey: s.SecretKey(), WebhookSecrets: []string{"whsec_old", hookSecret}, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "directory.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	e := &e2e{t: t, ctx: ctx, stripe: s, dir: dir, bus: &recBus{}}
	e.svc, err = coop.New(ctx, dir, e.bus, coop.Config{
		Currency:  "GBP",
		Plans:     []coop.Plan{plan},
		Providers: []coop.Provider{prov},
		PublicURL: "https://mutual.example",
		Grace:     14 * 24 * time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/coop/webhooks/stripe", e.svc.Webhook(coop.Stripe))
	web := httptest.NewServer(mux)
	t.Cleanup(web.Close)
	e.hook = web.URL + "/v1/coop/webhooks/stripe"
	s.RegisterWebhook(e.hook, hookSecret)
	return e
}

func (e *e2e) user(addr string) wire.UserID {
	e.t.Helper()
	hash := sha256.Sum256([]byte(addr))
	u, _, err := e.dir.CreateAccount(e.ctx, hash[:], wire.NewUserID())
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *e2e) membership(u wire.UserID) coop.Membership {
	e.t.Helper()
	m, err := e.dir.Membership(e.ctx, u)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// join starts u's membership and pays it on the hosted page with a good
// card; it returns the membership once Stripe's first invoice is paid
// and every event of the checkout has reached the webhook.
func (e *e2e) join(u wire.UserID) coop.Membership {
	e.t.Helper()
	body, err := e.svc.Handle(e.ctx, u, &wire.Coop{Op: wire.CoopJoin, Provider: "stripe", Plan: "monthly"})
	if err != nil {
		e.t.Fatal(err)
	}
	co, ok := body.(*wire.CoopCheckout)
	if !ok || !strings.HasPrefix(co.URL, e.stripe.URL()+"/pay/") {
		e.t.Fatalf("join answered %#v", body)
	}
	if m := e.membership(u); m.Status != wire.MemberPending {
		e.t.Fatalf("before paying: %v", m.Status)
	}
	next, err := e.stripe.Pay(e.ctx, co.URL, stripetest.CardOK)
	if err != nil {
		e.t.Fatal(err)
	}
	if next != "https://mutual.example/co-op?checkout=done" {
		e.t.Fatalf("the page returns to %s", next)
	}
	m := e.membership(u)
	if m.Status != wire.MemberActive || m.Customer == "" || m.Subscription == "" {
		e.t.Fatalf("after paying: %+v", m)
	}
	e.waitDelivered(m.Customer, "customer.subscription.created", "invoice.payment_succeeded")
	return e.membership(u)
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

// post sends a webhook and returns its status.
func (e *e2e) post(h http.Header, body []byte) int {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost, e.hook, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header = h.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// notices returns the notices written to u, checking their signatures.
func (e *e2e) notices(u wire.UserID) []*wire.CoopNotice {
	e.t.Helper()
	e.bus.mu.Lock()
	defer e.bus.mu.Unlock()
	var out []*wire.CoopNotice
	for _, msg := range e.bus.msgs {
		if msg.Topic != bus.InboxTopic(u) {
			continue
		}
		p, err := bus.DecodeParcel(msg.Value)
		if err != nil {
			e.t.Fatal(err)
		}
		body, sig, err := wire.DecodeSignedCoopNotice(p.Shared)
		if err != nil {
			e.t.Fatal(err)
		}
		if !ed25519.Verify(e.svc.Key(), wire.CoopSignedMessage(u, body), sig) {
			e.t.Fatal("a notice's signature does not verify")
		}
		n, err := wire.DecodeCoopNotice(body)
		if err != nil {
			e.t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
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

// dues is what the store counts of this month's dues.
func (e *e2e) dues() int64 {
	e.t.Helper()
	month := time.Now().UTC().Format("2006-01")
	ms, err := e.dir.Months(e.ctx, month, month)
	if err != nil {
		e.t.Fatal(err)
	}
	if len(ms) == 0 {
		return 0
	}
	return ms[0].Dues
}

// TestServiceMembership: a checkout makes an active member with their
// dues counted once, whatever is replayed or forged; a renewal declined
// puts them in grace, and the sweep after the grace period lapses them.
func TestServiceMembership(t *testing.T) {
	e := newE2E(t)
	u := e.user("email:alice@example.org")
	m := e.join(u)
	if m.PaidThrough.Before(time.Now()) {
		t.Fatalf("paid through %v", m.PaidThrough)
	}
	if got := e.dues(); got != 1000 {
		t.Fatalf("dues %d, want 1000", got)
	}
	if n := count(e.notices(u), wire.NoticeDues); n != 1 {
		t.Fatalf("%d dues notices", n)
	}

	t.Run("replayed webhook", func(t *testing.T) {
		for _, typ := range []string{"checkout.session.completed", "invoice.payment_succeeded", "customer.subscription.created"} {
			d, _ := e.delivery(m.Customer, typ)
			if code := e.post(d.Header, d.Body); code != http.StatusOK {
				t.Fatalf("%s replayed: %d", typ, code)
			}
		}
		if got := e.dues(); got != 1000 {
			t.Fatalf("dues %d after a replay", got)
		}
		if n := count(e.notices(u), wire.NoticeDues); n != 1 {
			t.Fatalf("%d dues notices after a replay", n)
		}
		if got := e.membership(u); got != m {
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
		before := len(e.notices(u))
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
			if code := e.post(hdr, forged); code != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", name, code)
			}
		}
		if got := e.dues(); got != 1000 {
			t.Fatalf("dues %d after forgeries", got)
		}
		if got := e.membership(u); got != m {
			t.Fatalf("a forgery changed the membership:\n%+v\n%+v", got, m)
		}
		if len(e.notices(u)) != before {
			t.Fatal("a forgery wrote a notice")
		}
	})

	t.Run("failed payment, grace, lapse", func(t *testing.T) {
		failedAt := time.Now()
		if _, err := e.stripe.FailPayment(e.ctx, m.Customer); err != nil {
			t.Fatal(err)
		}
		g := e.membership(u)
		if g.Status != wire.MemberGrace {
			t.Fatalf("after a declined renewal: %v", g.Status)
		}
		if until := g.GraceUntil.Sub(failedAt); until < 14*24*time.Hour-time.Minute || until > 14*24*time.Hour+time.Minute {
			t.Fatalf("grace until %v, %v after the failure", g.GraceUntil, until)
		}
		ns := e.notices(u)
		if last := ns[len(ns)-1]; last.Kind != wire.NoticeMembership || last.Status != wire.MemberGrace {
			t.Fatalf("notice %+v", last)
		}
		if n, err := e.svc.SweepGrace(e.ctx, time.Now()); err != nil || n != 0 {
			t.Fatalf("sweep within grace: %d, %v", n, err)
		}
		if n, err := e.svc.SweepGrace(e.ctx, g.GraceUntil.Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("sweep after grace: %d, %v", n, err)
		}
		if got := e.membership(u).Status; got != wire.MemberLapsed {
			t.Fatalf("after the grace period: %v", got)
		}
		ns = e.notices(u)
		if last := ns[len(ns)-1]; last.Kind != wire.NoticeMembership || last.Status != wire.MemberLapsed {
			t.Fatalf("notice %+v", last)
		}
		if got := e.dues(); got != 1000 {
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
		u := e.user("email:bob@example.org")
		m := e.join(u)
		if _, err := e.svc.Handle(e.ctx, u, &wire.Coop{Op: wire.CoopCancel}); err != nil {
			t.Fatal(err)
		}
		if got := e.membership(u).Status; got != wire.MemberCanceled {
			t.Fatalf("after cancelling: %v", got)
		}
		// Stripe's customer.subscription.deleted follows, and changes
		// nothing more.
		e.waitDelivered(m.Customer, "customer.subscription.deleted")
		if got := e.membership(u).Status; got != wire.MemberCanceled {
			t.Fatalf("after Stripe's webhook: %v", got)
		}
		if n := count(e.notices(u), wire.NoticeMembership); n != 1 {
			t.Fatalf("%d membership notices", n)
		}
	})

	t.Run("at Stripe", func(t *testing.T) {
		u := e.user("email:carol@example.org")
		m := e.join(u)
		if err := e.stripe.Cancel(e.ctx, m.Subscription); err != nil {
			t.Fatal(err)
		}
		e.waitDelivered(m.Customer, "customer.subscription.deleted")
		if got := e.membership(u).Status; got != wire.MemberCanceled {
			t.Fatalf("after Stripe's webhook: %v", got)
		}
	})
}
