package stripe_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"reflect"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/stripetest"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/coop/stripe"
)

// These tests run against localstripe behind internal/stripetest's
// Checkout stand-in; they skip without MUTUAL_TEST_LOCALSTRIPE
// (eval "$(scripts/localstripe.sh env)"), which scripts/test.sh sets.

var plan = coop.Plan{Name: "monthly", Amount: 1000, Currency: "GBP", Interval: "month"}

const (
	ref       = "m_abcdefghijklmnopqrstuvwxyz"
	returnURL = "https://mutual.example/co-op?checkout=done"
	cancelURL = "https://mutual.example/co-op?checkout=cancel"
)

func newProvider(t *testing.T, s *stripetest.Server, key string) *stripe.Provider {
	t.Helper()
	p, err := stripe.New(stripe.Config{SecretKey: key, WebhookSecrets: []string{"whsec_unit"}, APIURL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckout: the session Stripe is asked for is in subscription
// mode, of the plan's price, and carries the membership reference and
// nothing else about the member.
func TestCheckout(t *testing.T) {
	s := stripetest.Start(t)
	p := newProvider(t, s, s.SecretKey())
	page, err := p.Checkout(t.Context(), ref, plan, returnURL, cancelURL)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := s.Session(path.Base(u.Path))
	if !ok {
		t.Fatalf("no session behind %s", page)
	}
	want := stripetest.Session{
		ID:                got.ID,
		URL:               page,
		Mode:              "subscription",
		ClientReferenceID: ref,
		SuccessURL:        returnURL,
		CancelURL:         cancelURL,
		Currency:          "gbp",
		UnitAmount:        1000,
		Interval:          "month",
		ProductName:       "Mutual membership (monthly)",
		Quantity:          1,
		Metadata:          map[string]string{"membership": ref},
		Created:           got.Created,
		Status:            "open",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("session\n%+v\nwant\n%+v", got, want)
	}
}

func TestCheckoutRefused(t *testing.T) {
	s := stripetest.Start(t)
	if _, err := newProvider(t, s, "sk_test_wrong").Checkout(t.Context(), ref, plan, returnURL, cancelURL); !errors.Is(err, coop.ErrProvider) {
		t.Fatalf("a wrong key: %v", err)
	}
	p := newProvider(t, s, s.SecretKey())
	for name, pl := range map[string]coop.Plan{
		"no interval": {Name: "odd", Amount: 1000, Currency: "GBP"},
		"no amount":   {Name: "free", Currency: "GBP", Interval: "month"},
		"no currency": {Name: "x", Amount: 1000, Interval: "month"},
	} {
		if _, err := p.Checkout(t.Context(), ref, pl, returnURL, cancelURL); !errors.Is(err, coop.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestCancel cancels a paid subscription at Stripe.
func TestCancel(t *testing.T) {
	s := stripetest.Start(t)
	p := newProvider(t, s, s.SecretKey())
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(hook.Close)
	s.RegisterWebhook(hook.URL, "whsec_unit")
	page, err := p.Checkout(t.Context(), ref, plan, returnURL, cancelURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pay(t.Context(), page, stripetest.CardOK); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(page)
	ss, _ := s.Session(path.Base(u.Path))
	m := coop.Membership{Reference: ref, Customer: ss.Customer, Subscription: ss.Subscription}
	if sub, err := p.Activate(t.Context(), m, plan); err != nil || sub != ss.Subscription {
		t.Fatalf("activate: %q, %v", sub, err)
	}
	if err := p.Cancel(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if err := p.Cancel(t.Context(), coop.Membership{Reference: ref}); !errors.Is(err, coop.ErrNotFound) {
		t.Fatalf("nothing to cancel: %v", err)
	}
	if err := p.Cancel(t.Context(), coop.Membership{Subscription: "sub_none"}); !errors.Is(err, coop.ErrProvider) {
		t.Fatalf("no such subscription: %v", err)
	}
}

// TestTimeout: a Stripe that does not answer is a provider error after
// the client's timeout, not a hung request.
func TestTimeout(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(stop) })
	p, err := stripe.New(stripe.Config{
		SecretKey: "sk_test_unit", WebhookSecrets: []string{"whsec_unit"}, APIURL: srv.URL,
		HTTPClient: &http.Client{Timeout: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Checkout(t.Context(), ref, plan, returnURL, cancelURL); !errors.Is(err, coop.ErrProvider) {
		t.Fatalf("got %v", err)
	}
}
