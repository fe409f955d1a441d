// Package stripe is the co-op's Stripe provider (coop.Provider): it
// creates Checkout Sessions in subscription mode and cancels
// subscriptions through Stripe's API (with stripe-go, against a
// configurable API URL), and verifies and reads Stripe's webhooks.
//
// What Stripe is told about a member is the membership reference alone
// (the session's client_reference_id and the subscription's metadata
// "membership"), never their address or account; the person gives
// their card to Stripe's page, which the relay never sees.
//
// A webhook's Stripe-Signature header is checked before anything of its
// body is parsed: HMAC-SHA256 of "t.body" under each configured secret
// (several during a rotation), compared in constant time with every v1
// signature, and a timestamp within five minutes of now.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	stripeapi "github.com/stripe/stripe-go/v82"

	"github.com/mutualcoop/mutual/relay/coop"
)

// DefaultAPIURL is Stripe's API.
const DefaultAPIURL = "https://api.stripe.com"

// defaultTimeout bounds each request to Stripe when Config.HTTPClient is
// not set.
const defaultTimeout = 30 * time.Second

// Config configures a Provider.
type Config struct {
	// SecretKey is the account's secret API key (sk_live_..., or
	// sk_test_... in test mode).
	SecretKey string
	// WebhookSecrets are the signing secrets of the webhook endpoint
	// (whsec_...): a signature under any of them is accepted, so that
	// a secret can be rolled with the old one still listed.
	WebhookSecrets []string
	// APIURL is where Stripe's API is; DefaultAPIURL when empty. Tests
	// point it at a stand-in.
	APIURL string
	// HTTPClient makes the API requests; when nil, a client with a
	// 30-second timeout.
	HTTPClient *http.Client
}

// Validate says whether c can make a Provider.
func (c *Config) Validate() error {
	if c.SecretKey == "" {
		return errors.New("stripe: no secret key")
	}
	if len(c.WebhookSecrets) == 0 {
		return errors.New("stripe: no webhook secret")
	}
	for _, s := range c.WebhookSecrets {
		if s == "" {
			return errors.New("stripe: an empty webhook secret")
		}
	}
	if c.APIURL != "" && !strings.HasPrefix(c.APIURL, "https://") && !strings.HasPrefix(c.APIURL, "http://") {
		return errors.New("stripe: the API URL is not an http(s) URL")
	}
	return nil
}

// Provider is the co-op's Stripe provider.
type Provider struct {
	api     *stripeapi.Client
	secrets [][]byte
}

var _ coop.Provider = (*Provider)(nil)

// New returns a Provider for cfg.
func New(cfg Config) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	url := cfg.APIURL
	if url == "" {
		url = DefaultAPIURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: defaultTimeout}
	}
	backend := stripeapi.GetBackendWithConfig(stripeapi.APIBackend, &stripeapi.BackendConfig{
		URL:        stripeapi.String(url),
		HTTPClient: hc,
		// stripe-go logs to stderr by default; the relay reports errors
		// itself, where it handles them.
		LeveledLogger: &stripeapi.LeveledLogger{Level: stripeapi.LevelNull},
	})
	api := stripeapi.NewClient(cfg.SecretKey, stripeapi.WithBackends(&stripeapi.Backends{API: backend}))
	p := &Provider{api: api}
	for _, s := range cfg.WebhookSecrets {
		p.secrets = append(p.secrets, []byte(s))
	}
	return p, nil
}

// Name is coop.Stripe.
func (*Provider) Name() coop.ProviderName { return coop.Stripe }

// ProductName is the name of what the member pays for on Stripe's page
// and in their receipts.
func ProductName(plan coop.Plan) string { return "Mutual membership (" + plan.Name + ")" }

// Checkout creates a Checkout Session in subscription mode for plan,
// with the membership reference as its client_reference_id and as the
// subscription's metadata "membership", and returns the page's URL.
func (p *Provider) Checkout(ctx context.Context, ref string, plan coop.Plan, returnURL, cancelURL string) (string, error) {
	switch plan.Interval {
	case "day", "week", "month", "year":
	default:
		return "", fmt.Errorf("%w: stripe: plan %q: interval %q", coop.ErrInvalid, plan.Name, plan.Interval)
	}
	if plan.Amount <= 0 || len(plan.Currency) != 3 {
		return "", fmt.Errorf("%w: stripe: plan %q: amount or currency", coop.ErrInvalid, plan.Name)
	}
	params := &stripeapi.CheckoutSessionCreateParams{
		Mode: stripeapi.String(string(stripeapi.CheckoutSessionModeSubscription)),
		LineItems: []*stripeapi.CheckoutSessionCreateLineItemParams{{
			Quantity: stripeapi.Int64(1),
			PriceData: &stripeapi.CheckoutSessionCreateLineItemPriceDataParams{
				Currency:   stripeapi.String(strings.ToLower(plan.Currency)),
				UnitAmount: stripeapi.Int64(plan.Amount),
				Recurring: &stripeapi.CheckoutSessionCreateLineItemPriceDataRecurringParams{
					Interval: stripeapi.String(plan.Interval),
				},
				ProductData: &stripeapi.CheckoutSessionCreateLineItemPriceDataProductDataParams{
					Name: stripeapi.String(ProductName(plan)),
				},
			},
		}},
		ClientReferenceID: stripeapi.String(ref),
		SubscriptionData: &stripeapi.CheckoutSessionCreateSubscriptionDataParams{
			Metadata: map[string]string{MetadataMembership: ref},
		},
		SuccessURL: stripeapi.String(returnURL),
		CancelURL:  stripeapi.String(cancelURL),
	}
	s, err := p.api.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return "", fmt.Errorf("%w: stripe: create checkout session: %w", coop.ErrProvider, apiError(err))
	}
	if s.URL == "" {
		return "", fmt.Errorf("%w: stripe: checkout session %s has no URL", coop.ErrProvider, s.ID)
	}
	return s.URL, nil
}

// Activate returns m.Subscription: Stripe's checkout creates the
// subscription itself.
func (*Provider) Activate(_ context.Context, m coop.Membership, _ coop.Plan) (string, error) {
	return m.Subscription, nil
}

// Cancel cancels m's subscription now.
func (p *Provider) Cancel(ctx context.Context, m coop.Membership) error {
	if m.Subscription == "" {
		return fmt.Errorf("%w: stripe: no subscription to cancel", coop.ErrNotFound)
	}
	if _, err := p.api.V1Subscriptions.Cancel(ctx, m.Subscription, nil); err != nil {
		return fmt.Errorf("%w: stripe: cancel subscription: %w", coop.ErrProvider, apiError(err))
	}
	return nil
}

// BadSignatureStatus is 400, which Stripe retries like any failure.
func (*Provider) BadSignatureStatus() int { return http.StatusBadRequest }

// apiError keeps what is useful of a Stripe error (its status, type,
// code and message) without the request it came from.
func apiError(err error) error {
	var se *stripeapi.Error
	if errors.As(err, &se) {
		return fmt.Errorf("%d %s %s: %s", se.HTTPStatusCode, se.Type, se.Code, se.Msg)
	}
	return err
}
