package gocardless_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/gocardlesstest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/gocardless"
)

const (
	token     = "sandbox_access_token"
	whSecret  = "sandbox_webhook_secret"
	returnURL = "https://mutual.example/co-op?checkout=done"
	cancelURL = "https://mutual.example/co-op?checkout=cancel"
)

var (
	monthly = coop.Plan{Name: "monthly", Amount: 1000, Currency: "GBP", Interval: "month"}
	yearly  = coop.Plan{Name: "yearly", Amount: 10000, Currency: "GBP", Interval: "year"}
	// start is the stand-in's clock: a subscription created then charges
	// first on 2026-03-02.
	start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
)

// receiver is a webhook endpoint that reads each call with the
// provider, as the relay does, and keeps the events of each call.
type receiver struct {
	p     *gocardless.Provider
	mu    sync.Mutex
	calls [][]coop.Event
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	evs, err := rc.p.Events(r.Header, b, time.Now())
	switch {
	case errors.Is(err, coop.ErrBadSignature):
		w.WriteHeader(rc.p.BadSignatureStatus())
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	rc.mu.Lock()
	rc.calls = append(rc.calls, evs)
	rc.mu.Unlock()
	w.Write([]byte("{}"))
}

// events returns every event received, in order.
func (rc *receiver) events() []coop.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []coop.Event
	for _, c := range rc.calls {
		out = append(out, c...)
	}
	return out
}

// await waits for an event of type typ after the first n received, and
// returns it.
func (rc *receiver) await(t *testing.T, n int, typ coop.EventType) coop.Event {
	t.Helper()
	var found coop.Event
	wait.For(t, "a webhook event", func() bool {
		evs := rc.events()
		for _, ev := range evs[min(n, len(evs)):] {
			if ev.Type == typ {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

type fixture struct {
	gc *gocardlesstest.Server
	p  *gocardless.Provider
	rc *receiver
}

func setup(t *testing.T, opts gocardlesstest.Options) fixture {
	t.Helper()
	opts.AccessToken, opts.WebhookSecret = token, whSecret
	if opts.Now == nil {
		opts.Now = func() time.Time { return start }
	}
	gc := gocardlesstest.Start(t, opts)
	p, err := gocardless.New(gocardless.Config{AccessToken: token, WebhookSecret: whSecret, API: gc.URL})
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{p: p}
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	gc.SetWebhookURL(hook.URL)
	return fixture{gc: gc, p: p, rc: rc}
}

// join checks out ref and confirms the flow, returning the membership
// as the relay links it on EventCheckoutCompleted.
func (f fixture) join(t *testing.T, ref string) coop.Membership {
	t.Helper()
	ctx := context.Background()
	u, err := f.p.Checkout(ctx, ref, monthly, returnURL, cancelURL)
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.rc.events())
	if err := f.gc.Confirm(u); err != nil {
		t.Fatal(err)
	}
	ev := f.rc.await(t, n, coop.EventCheckoutCompleted)
	return coop.Membership{Reference: ev.Reference, Customer: ev.Customer, Mandate: ev.Mandate, Provider: coop.GoCardless}
}

func TestCheckoutPayCancel(t *testing.T) {
	f := setup(t, gocardlesstest.Options{})
	ctx := context.Background()

	u, err := f.p.Checkout(ctx, ref, monthly, returnURL, cancelURL)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, f.gc.URL+"/flow/BRF") {
		t.Fatalf("checkout URL %q is not the stand-in's flow page", u)
	}
	again, err := f.p.Checkout(ctx, ref, monthly, returnURL, cancelURL)
	if err != nil || again == u || !strings.HasPrefix(again, f.gc.URL+"/flow/BRF") {
		t.Fatalf("checkout again = %q, %v; want a new flow", again, err)
	}
	if n, m := f.gc.Count("billing_requests"), f.gc.Count("billing_request_flows"); n != 1 || m != 2 {
		t.Fatalf("%d billing requests and %d flows after a retried checkout, want 1 and 2", n, m)
	}

	if err := f.gc.Confirm(u); err != nil {
		t.Fatal(err)
	}
	evs := f.rc.events()
	var done coop.Event
	for _, ev := range evs {
		if ev.Type == coop.EventCheckoutCompleted {
			done = ev
		} else if ev.Type != coop.EventIgnored {
			t.Errorf("event %+v, want only the checkout and ignored ones", ev)
		}
	}
	if done.Reference != ref || !strings.HasPrefix(done.Mandate, "MD") || !strings.HasPrefix(done.Customer, "CU") || done.ID == "" {
		t.Fatalf("checkout completed = %+v, want the reference, mandate and customer", done)
	}
	if err := f.gc.Confirm(again); err == nil {
		t.Error("the billing request fulfilled through a second flow, want it refused")
	}

	m := coop.Membership{Reference: ref, Customer: done.Customer, Mandate: done.Mandate}
	n := len(f.rc.events())
	sub, err := f.p.Activate(ctx, m, monthly)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.p.Activate(ctx, m, monthly); err != nil || again != sub {
		t.Fatalf("activate again = %q, %v; want the same subscription %q", again, err, sub)
	}
	subs := f.gc.Subscriptions()
	if len(subs) != 1 {
		t.Fatalf("%d subscriptions after a retried activate, want 1", len(subs))
	}
	if s := subs[0]; s.ID != sub || s.Amount != 1000 || s.Currency != "GBP" || s.IntervalUnit != "monthly" ||
		s.Mandate != m.Mandate || s.Metadata["membership"] != ref || len(s.Metadata) != 1 {
		t.Fatalf("subscription %+v, want £10.00 monthly on the mandate carrying the reference alone", s)
	}
	active := f.rc.await(t, n, coop.EventSubscriptionActive)
	if active.Subscription != sub || active.Reference != ref {
		t.Fatalf("subscription active = %+v", active)
	}

	n = len(f.rc.events())
	pm, err := f.gc.PaymentConfirmed(sub)
	if err != nil {
		t.Fatal(err)
	}
	paid := f.rc.await(t, n, coop.EventPaymentSucceeded)
	want := coop.Event{
		Provider: coop.GoCardless, ID: paid.ID, Created: start, Type: coop.EventPaymentSucceeded,
		Reference: ref, Subscription: sub, Mandate: m.Mandate, Payment: pm, Amount: 1000, Currency: "GBP",
		PeriodEnd:   time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC),
		NextPayment: time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC),
	}
	if paid != want {
		t.Fatalf("payment succeeded:\n got %+v\nwant %+v", paid, want)
	}

	n = len(f.rc.events())
	failed, err := f.gc.PaymentFailed(sub)
	if err != nil {
		t.Fatal(err)
	}
	ev := f.rc.await(t, n, coop.EventPaymentFailed)
	if ev.Payment != failed || ev.Subscription != sub || ev.Mandate != m.Mandate {
		t.Fatalf("payment failed = %+v", ev)
	}

	m.Subscription = sub
	n = len(f.rc.events())
	if err := f.p.Cancel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got := f.gc.Status(sub); got != "cancelled" {
		t.Fatalf("subscription %s after Cancel, want cancelled", got)
	}
	ev = f.rc.await(t, n, coop.EventSubscriptionCanceled)
	if ev.Subscription != sub || ev.Reference != ref {
		t.Fatalf("subscription canceled = %+v", ev)
	}
	if err := f.p.Cancel(ctx, m); err != nil {
		t.Fatalf("cancelling a cancelled subscription: %v, want nil", err)
	}
}

func TestYearlyPeriod(t *testing.T) {
	f := setup(t, gocardlesstest.Options{})
	ctx := context.Background()
	m := f.join(t, ref)
	sub, err := f.p.Activate(ctx, m, yearly)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.gc.Subscriptions(); s[0].IntervalUnit != "yearly" || s[0].Amount != 10000 {
		t.Fatalf("subscription %+v, want £100.00 yearly", s[0])
	}
	n := len(f.rc.events())
	if _, err := f.gc.PaymentConfirmed(sub); err != nil {
		t.Fatal(err)
	}
	paid := f.rc.await(t, n, coop.EventPaymentSucceeded)
	if want := time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC); !paid.PeriodEnd.Equal(want) {
		t.Fatalf("paid through %v, want %v", paid.PeriodEnd, want)
	}
}

func TestBankCancels(t *testing.T) {
	f := setup(t, gocardlesstest.Options{})
	m := f.join(t, ref)
	sub, err := f.p.Activate(context.Background(), m, monthly)
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.rc.events())
	if err := f.gc.CancelSubscription(sub); err != nil {
		t.Fatal(err)
	}
	ev := f.rc.await(t, n, coop.EventSubscriptionCanceled)
	if ev.Subscription != sub {
		t.Fatalf("canceled = %+v", ev)
	}
}

func TestCancelBeforeSubscription(t *testing.T) {
	f := setup(t, gocardlesstest.Options{})
	m := f.join(t, ref)
	n := len(f.rc.events())
	if err := f.p.Cancel(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := f.gc.Status(m.Mandate); got != "cancelled" {
		t.Fatalf("mandate %s after Cancel, want cancelled", got)
	}
	ev := f.rc.await(t, n, coop.EventSubscriptionCanceled)
	if ev.Mandate != m.Mandate || ev.Reference != ref {
		t.Fatalf("canceled = %+v", ev)
	}
	if err := f.p.Cancel(context.Background(), m); err != nil {
		t.Fatalf("cancelling a cancelled mandate: %v, want nil", err)
	}
	if err := f.p.Cancel(context.Background(), coop.Membership{Reference: "m_never_checked_out"}); err != nil {
		t.Fatalf("cancelling a membership with nothing at GoCardless: %v", err)
	}
}

// Without resource_metadata in events, the checkout's reference comes
// from the billing request, and a payment's from its subscription.
func TestEventsWithoutResourceMetadata(t *testing.T) {
	f := setup(t, gocardlesstest.Options{NoResourceMetadata: true})
	m := f.join(t, ref)
	if m.Reference != ref || m.Mandate == "" || m.Customer == "" {
		t.Fatalf("checkout completed = %+v, want the reference read from the billing request", m)
	}
	sub, err := f.p.Activate(context.Background(), m, monthly)
	if err != nil {
		t.Fatal(err)
	}
	n := len(f.rc.events())
	if _, err := f.gc.PaymentConfirmed(sub); err != nil {
		t.Fatal(err)
	}
	if paid := f.rc.await(t, n, coop.EventPaymentSucceeded); paid.Reference != ref || paid.Subscription != sub {
		t.Fatalf("payment succeeded = %+v", paid)
	}
}

func TestBatch(t *testing.T) {
	f := setup(t, gocardlesstest.Options{})
	m := f.join(t, ref)
	sub, err := f.p.Activate(context.Background(), m, monthly)
	if err != nil {
		t.Fatal(err)
	}
	// The checkout's webhook and the subscription's.
	wait.For(t, "two webhooks", func() bool { return len(f.gc.Deliveries()) == 2 })
	calls := len(f.gc.Deliveries())
	f.gc.Hold()
	const payments = 130 // 260 events: a webhook of 250 and one of 10
	for range payments {
		if _, err := f.gc.PaymentConfirmed(sub); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(f.gc.Deliveries()); got != calls {
		t.Fatalf("%d webhooks while holding, want none", got-calls)
	}
	if err := f.gc.SendBatch(); err != nil {
		t.Fatal(err)
	}
	f.rc.mu.Lock()
	last := f.rc.calls[len(f.rc.calls)-2:]
	f.rc.mu.Unlock()
	if len(last[0]) != gocardlesstest.MaxBatch || len(last[1]) != 2*payments-gocardlesstest.MaxBatch {
		t.Fatalf("webhooks of %d and %d events, want %d and %d", len(last[0]), len(last[1]), gocardlesstest.MaxBatch, 2*payments-gocardlesstest.MaxBatch)
	}
	seen := map[string]bool{}
	var succeeded int
	for _, ev := range append(last[0], last[1]...) {
		if ev.Type == coop.EventPaymentSucceeded {
			succeeded++
			seen[ev.Payment] = true
		}
	}
	if succeeded != payments || len(seen) != payments {
		t.Fatalf("%d payments succeeded (%d distinct), want %d", succeeded, len(seen), payments)
	}
}

func TestReplayAndForgery(t *testing.T) {
	f := setup(t, gocardlesstest.Options{})
	f.join(t, ref)
	ds := f.gc.Deliveries()
	d := ds[len(ds)-1]
	n := len(f.rc.events())
	if status, err := f.gc.Replay(d); err != nil || status != http.StatusOK {
		t.Fatalf("replay = %d, %v", status, err)
	}
	if evs := f.rc.events(); len(evs) != 2*n || evs[n].ID != evs[0].ID {
		t.Fatalf("a replay reads %d events, want the same %d again", len(evs)-n, n)
	}
	forged := []byte(strings.Replace(string(d.Body), ref, "m_someoneelsesmembershipref", 1))
	if status, err := f.gc.Post(forged, d.Signature); err != nil || status != 498 {
		t.Fatalf("forged body = %d, %v; want 498", status, err)
	}
	if status, err := f.gc.Post(d.Body, gocardless.Sign("a guessed secret", d.Body)); err != nil || status != 498 {
		t.Fatalf("body signed with another secret = %d, %v; want 498", status, err)
	}
	if got := len(f.rc.events()); got != 2*n {
		t.Fatalf("%d events after forgeries, want %d", got, 2*n)
	}
}

func TestProviderErrors(t *testing.T) {
	f := setup(t, gocardlesstest.Options{})
	ctx := context.Background()

	wrong, err := gocardless.New(gocardless.Config{AccessToken: "wrong", WebhookSecret: whSecret, API: f.gc.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.Checkout(ctx, ref, monthly, returnURL, cancelURL)
	if !errors.Is(err, coop.ErrProvider) || !strings.Contains(err.Error(), "Authentication failed") {
		t.Errorf("checkout with a wrong token: %v, want ErrProvider with GoCardless's message", err)
	}

	_, err = f.p.Activate(ctx, coop.Membership{Reference: ref, Mandate: "MD404"}, monthly)
	if !errors.Is(err, coop.ErrProvider) || !strings.Contains(err.Error(), "mandate not found") {
		t.Errorf("activate on an unknown mandate: %v, want ErrProvider with GoCardless's message", err)
	}
	_, err = f.p.Activate(ctx, coop.Membership{Reference: ref, Mandate: "MD1"}, coop.Plan{Amount: 1, Currency: "GBP", Interval: "fortnight"})
	if !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("activate a fortnightly plan: %v, want ErrInvalid", err)
	}
	if _, err := f.p.Checkout(ctx, "", monthly, returnURL, cancelURL); !errors.Is(err, coop.ErrInvalid) {
		t.Errorf("checkout without a reference: %v, want ErrInvalid", err)
	}
	_, err = f.p.Checkout(ctx, "m_euro", coop.Plan{Amount: 1000, Currency: "EUR", Interval: "month"}, returnURL, cancelURL)
	if !errors.Is(err, coop.ErrProvider) || !strings.Contains(err.Error(), "currency") {
		t.Errorf("checkout in euros on Bacs: %v, want ErrProvider about the currency", err)
	}
	err = f.p.Cancel(ctx, coop.Membership{Subscription: "SB404"})
	if !errors.Is(err, coop.ErrProvider) {
		t.Errorf("cancel an unknown subscription: %v, want ErrProvider", err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	gone, err := gocardless.New(gocardless.Config{AccessToken: token, WebhookSecret: whSecret, API: closed.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gone.Checkout(ctx, ref, monthly, returnURL, cancelURL); !errors.Is(err, coop.ErrProvider) {
		t.Errorf("checkout with GoCardless unreachable: %v, want ErrProvider", err)
	}
}

// An answer over the limit is refused rather than read whole.
func TestResponseLimit(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"billing_requests":{"id":"BRQ1","metadata":{"x":"`))
		w.Write([]byte(strings.Repeat("x", 2<<20)))
		w.Write([]byte(`"}}}`))
	}))
	defer big.Close()
	p, err := gocardless.New(gocardless.Config{AccessToken: token, WebhookSecret: whSecret, API: big.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Checkout(context.Background(), ref, monthly, returnURL, cancelURL)
	if !errors.Is(err, coop.ErrProvider) || !strings.Contains(err.Error(), "over") {
		t.Fatalf("checkout with a 2 MiB answer: %v, want ErrProvider", err)
	}
}

func TestNewConfig(t *testing.T) {
	for _, cfg := range []gocardless.Config{
		{WebhookSecret: whSecret},
		{AccessToken: token},
		{AccessToken: token, WebhookSecret: whSecret, API: "ftp://gocardless.example"},
		{AccessToken: token, WebhookSecret: whSecret, API: "api.gocardless.com"},
	} {
		if _, err := gocardless.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
	p, err := gocardless.New(gocardless.Config{AccessToken: token, WebhookSecret: whSecret})
	if err != nil || p.Name() != coop.GoCardless {
		t.Fatalf("New with defaults = %v, %v", p, err)
	}
}
