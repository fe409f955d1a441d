package stripetest_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/stripetest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/stripe"
)

const webhookSecret = "whsec_stripetest_hook"

// hook is a webhook endpoint that reads what it receives with the
// relay's Stripe provider: every event it took was signed.
type hook struct {
	p   *stripe.Provider
	mu  sync.Mutex
	evs []coop.Event
	bad int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	evs, err := h.p.Events(r.Header, body, time.Now())
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.bad++
		http.Error(w, err.Error(), h.p.BadSignatureStatus())
		return
	}
	h.evs = append(h.evs, evs...)
	w.Write([]byte("{}"))
}

func (h *hook) find(typ coop.EventType, f func(coop.Event) bool) (coop.Event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.evs {
		if e.Type == typ && f(e) {
			return e, true
		}
	}
	return coop.Event{}, false
}

// start starts a stand-in, a webhook endpoint it posts to, and a
// provider that uses both.
func start(t *testing.T) (*stripetest.Server, *stripe.Provider, *hook) {
	t.Helper()
	s := stripetest.Start(t)
	p, err := stripe.New(stripe.Config{SecretKey: s.SecretKey(), WebhookSecrets: []string{webhookSecret}, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	h := &hook{p: p}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.RegisterWebhook(srv.URL, webhookSecret)
	return s, p, h
}

var plan = coop.Plan{Name: "monthly", Amount: 1000, Currency: "GBP", Interval: "month"}

const ref = "m_abcdefghijklmnopqrstuvwxyz"

func checkout(t *testing.T, p *stripe.Provider) string {
	t.Helper()
	u, err := p.Checkout(t.Context(), ref, plan, "https://mutual.example/co-op?checkout=done", "https://mutual.example/co-op?checkout=cancel")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestSessionRefusals(t *testing.T) {
	s := stripetest.Start(t)
	good := url.Values{
		"mode":                                   {"subscription"},
		"success_url":                            {"https://mutual.example/done"},
		"client_reference_id":                    {ref},
		"line_items[0][price_data][currency]":    {"gbp"},
		"line_items[0][price_data][unit_amount]": {"1000"},
		"line_items[0][price_data][recurring][interval]": {"month"},
		"line_items[0][price_data][product_data][name]":  {"Mutual membership (monthly)"},
		"line_items[0][quantity]":                        {"1"},
		"subscription_data[metadata][membership]":        {ref},
	}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for kk, vv := range good {
			f[kk] = vv
		}
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
		return f
	}
	tests := []struct {
		name   string
		key    string
		form   url.Values
		status int
	}{
		{"good", s.SecretKey(), good, http.StatusOK},
		{"wrong key", "sk_test_other", good, http.StatusUnauthorized},
		{"no key", "", good, http.StatusUnauthorized},
		{"payment mode", s.SecretKey(), with("mode", "payment"), http.StatusBadRequest},
		{"no success_url", s.SecretKey(), with("success_url", ""), http.StatusBadRequest},
		{"long reference", s.SecretKey(), with("client_reference_id", strings.Repeat("m", 201)), http.StatusBadRequest},
		{"no price", s.SecretKey(), with("line_items[0][price_data][currency]", ""), http.StatusBadRequest},
		{"not recurring", s.SecretKey(), with("line_items[0][price_data][recurring][interval]", ""), http.StatusBadRequest},
		{"no product", s.SecretKey(), with("line_items[0][price_data][product_data][name]", ""), http.StatusBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/checkout/sessions", strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.key != "" {
				req.Header.Set("Authorization", "Bearer "+tc.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
		})
	}
	// The rest of the API is localstripe's, behind the same key.
	req, _ := http.NewRequest(http.MethodGet, s.URL()+"/v1/customers", nil)
	req.SetBasicAuth("sk_test_other", "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong key passed to localstripe: %d", resp.StatusCode)
	}
}

// TestPay: paying a session sends checkout.session.completed, and
// localstripe's subscription and first invoice follow as Stripe's
// would, each carrying the membership reference.
func TestPay(t *testing.T) {
	s, p, h := start(t)
	page := checkout(t, p)
	next, err := s.Pay(t.Context(), page, stripetest.CardOK)
	if err != nil {
		t.Fatal(err)
	}
	if next != "https://mutual.example/co-op?checkout=done" {
		t.Fatalf("sent to %s", next)
	}
	done, ok := h.find(coop.EventCheckoutCompleted, func(coop.Event) bool { return true })
	if !ok || done.Reference != ref || done.Customer == "" || done.Subscription == "" || done.Payment == "" {
		t.Fatalf("checkout event %+v", done)
	}
	wait.For(t, "the subscription's creation", func() bool {
		_, ok := h.find(coop.EventSubscriptionActive, func(e coop.Event) bool {
			return e.Subscription == done.Subscription && e.Reference == ref
		})
		return ok
	})
	wait.For(t, "the first invoice's payment", func() bool {
		e, ok := h.find(coop.EventPaymentSucceeded, func(e coop.Event) bool { return e.Subscription == done.Subscription })
		return ok && e.Reference == ref && e.Amount == 1000 && e.Currency == "GBP" && e.Payment == done.Payment && !e.PeriodEnd.IsZero()
	})
	if _, err := s.Pay(t.Context(), page, stripetest.CardOK); err == nil {
		t.Fatal("a session paid twice")
	}
}

// TestHostedPage drives the hosted page as a browser does: a declined
// card leaves the session open, a good one goes to success_url.
func TestHostedPage(t *testing.T) {
	_, p, h := start(t)
	page := checkout(t, p)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`id="pay"`, `value="4242424242424242"`, "Mutual membership (monthly)", "GBP 10.00 a month", "checkout=cancel"} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("the page lacks %s:\n%s", want, body)
		}
	}
	for _, card := range []string{stripetest.CardDeclined, stripetest.CardFailsLater} {
		resp, err := client.PostForm(page, url.Values{"card": {card}})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusPaymentRequired || !strings.Contains(string(body), "declined") {
			t.Fatalf("card %s: %d\n%s", card, resp.StatusCode, body)
		}
	}
	if _, ok := h.find(coop.EventCheckoutCompleted, func(coop.Event) bool { return true }); ok {
		t.Fatal("a declined card completed the checkout")
	}
	resp, err = client.PostForm(page, url.Values{"card": {"4242 4242 4242 4242"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://mutual.example/co-op?checkout=done" {
		t.Fatalf("pay: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, ok := h.find(coop.EventCheckoutCompleted, func(e coop.Event) bool { return e.Reference == ref }); !ok {
		t.Fatal("no checkout.session.completed")
	}
}

// TestRenewals: a renewal declined sends invoice.payment_failed, one
// paid invoice.payment_succeeded; a cancellation
// customer.subscription.deleted.
func TestRenewals(t *testing.T) {
	s, p, h := start(t)
	ctx := t.Context()
	if _, err := s.Pay(ctx, checkout(t, p), stripetest.CardOK); err != nil {
		t.Fatal(err)
	}
	done, _ := h.find(coop.EventCheckoutCompleted, func(coop.Event) bool { return true })

	failed, err := s.FailPayment(ctx, done.Customer)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := h.find(coop.EventPaymentFailed, func(e coop.Event) bool { return e.Payment == failed }); !ok || e.Reference != ref || e.Subscription != done.Subscription {
		t.Fatalf("payment failed event %+v", e)
	}

	if err := s.SetCard(ctx, done.Customer, stripetest.CardOK); err != nil {
		t.Fatal(err)
	}
	paid, ok, err := s.ChargeNow(ctx, done.Customer)
	if err != nil || !ok {
		t.Fatalf("renewal: %v, paid %v", err, ok)
	}
	wait.For(t, "the renewal's payment", func() bool {
		e, ok := h.find(coop.EventPaymentSucceeded, func(e coop.Event) bool { return e.Payment == paid })
		return ok && e.Reference == ref && e.Amount == 1000
	})

	if err := s.SetCard(ctx, done.Customer, stripetest.CardDeclined); !errors.Is(err, stripetest.ErrDeclined) {
		t.Fatalf("a declined card attached: %v", err)
	}

	if err := p.Cancel(ctx, coop.Membership{Subscription: done.Subscription}); err != nil {
		t.Fatal(err)
	}
	wait.For(t, "the subscription's end", func() bool {
		_, ok := h.find(coop.EventSubscriptionCanceled, func(e coop.Event) bool { return e.Subscription == done.Subscription })
		return ok
	})
	h.mu.Lock()
	bad := h.bad
	h.mu.Unlock()
	if bad != 0 {
		t.Fatalf("%d webhooks refused", bad)
	}
	ds := s.Deliveries()
	if len(ds) == 0 || ds[0].Type != "checkout.session.completed" || ds[0].Header.Get("Stripe-Signature") == "" {
		t.Fatalf("deliveries %+v", ds)
	}
}
