// Package gocardless is the co-op's GoCardless provider: members pay
// their dues by Direct Debit, through GoCardless's API spoken over
// net/http (version 2015-07-06).
//
// Joining is a billing request for a Direct Debit mandate (carrying only
// the membership reference, in its metadata and the mandate's) and a
// billing request flow, GoCardless's hosted page where the person gives
// their bank details; its authorisation_url is the checkout's URL. Once
// the flow is done GoCardless sends "billing_requests fulfilled" with the
// new mandate, and Activate creates the subscription on it. The billing
// request and the subscription are created with an Idempotency-Key
// derived from the membership reference, so that a retry creates
// neither twice: when GoCardless answers that the key was used, the
// resource it created then is read instead. A flow, which GoCardless
// cannot read back and which is only a page, is made anew each time.
//
// Webhooks are verified before anything of their body is read: the
// Webhook-Signature header is the hex HMAC-SHA256 of the raw body under
// the webhook secret, compared in constant time. A body holds up to 250
// events; each becomes a coop.Event, looking up the payment (its amount,
// currency, charge date and subscription) and the subscription (its
// interval) for payment events.
package gocardless

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
)

// DefaultAPI is GoCardless's live API; its sandbox is
// https://api-sandbox.gocardless.com.
const DefaultAPI = "https://api.gocardless.com"

// Config configures a Provider. AccessToken and WebhookSecret are
// required; zero fields of the others take the defaults noted.
type Config struct {
	AccessToken   string // the API's access token (sent as a Bearer token)
	WebhookSecret string // the webhook endpoint's secret
	// API is the API's base URL; DefaultAPI.
	API string
	// Scheme is the Direct Debit scheme of mandates; "bacs" (the UK's).
	Scheme string
	// HTTPClient sends the API's requests; a client with a 30-second
	// timeout.
	HTTPClient *http.Client
}

// Provider is the GoCardless provider. It is safe for concurrent use.
type Provider struct {
	token  string
	secret []byte
	api    string
	scheme string
	http   *http.Client
}

var _ coop.Provider = (*Provider)(nil)

// New returns a Provider for cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.AccessToken == "" {
		return nil, errors.New("gocardless: no access token")
	}
	if cfg.WebhookSecret == "" {
		return nil, errors.New("gocardless: no webhook secret")
	}
	if cfg.API == "" {
		cfg.API = DefaultAPI
	}
	u, err := url.Parse(cfg.API)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("gocardless: API URL %q is not an http(s) URL", cfg.API)
	}
	if cfg.Scheme == "" {
		cfg.Scheme = "bacs"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Provider{
		token:  cfg.AccessToken,
		secret: []byte(cfg.WebhookSecret),
		api:    strings.TrimRight(cfg.API, "/"),
		scheme: cfg.Scheme,
		http:   cfg.HTTPClient,
	}, nil
}

// Name is coop.GoCardless.
func (p *Provider) Name() coop.ProviderName { return coop.GoCardless }

// BadSignatureStatus is 498, GoCardless's "token invalid".
func (p *Provider) BadSignatureStatus() int { return 498 }

// The idempotency keys of the resources a membership creates: one
// billing request and one subscription per membership reference.
func billingRequestKey(ref string) string { return "mutual-billing-request-" + ref }
func subscriptionKey(ref string) string   { return "mutual-subscription-" + ref }

// flowKey is the idempotency key of a billing request flow: the
// reference and a random part. GoCardless cannot read a flow back, so a
// key used before could not give the page; a flow is only a page, and
// a second one for the same billing request is harmless.
func flowKey(ref string) string { return "mutual-billing-request-flow-" + ref + "-" + rand.Text() }

// metadataKey is the metadata key that carries the membership reference.
const metadataKey = "membership"

// The resources, as far as they are read.
type (
	billingRequest struct {
		ID       string            `json:"id"`
		Status   string            `json:"status"`
		Metadata map[string]string `json:"metadata"`
		Links    struct {
			Customer              string `json:"customer"`
			MandateRequestMandate string `json:"mandate_request_mandate"`
		} `json:"links"`
	}
	billingRequestFlow struct {
		ID               string `json:"id"`
		AuthorisationURL string `json:"authorisation_url"`
	}
	subscription struct {
		ID               string            `json:"id"`
		Status           string            `json:"status"`
		IntervalUnit     string            `json:"interval_unit"`
		Interval         int               `json:"interval"`
		Metadata         map[string]string `json:"metadata"`
		UpcomingPayments []struct {
			ChargeDate string `json:"charge_date"`
		} `json:"upcoming_payments"`
		Links struct {
			Mandate string `json:"mandate"`
		} `json:"links"`
	}
	payment struct {
		ID         string            `json:"id"`
		Amount     int64             `json:"amount"`
		Currency   string            `json:"currency"`
		ChargeDate string            `json:"charge_date"`
		Status     string            `json:"status"`
		Metadata   map[string]string `json:"metadata"`
		Links      struct {
			Mandate      string `json:"mandate"`
			Subscription string `json:"subscription"`
		} `json:"links"`
	}
	mandate struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
)

// Checkout creates a billing request for a mandate in plan's currency,
// carrying ref, and a flow for it returning to returnURL (or cancelURL
// when the person leaves), and returns the flow's authorisation URL.
// Called again with ref, it makes a new flow for the same billing
// request.
func (p *Provider) Checkout(ctx context.Context, ref string, plan coop.Plan, returnURL, cancelURL string) (string, error) {
	if ref == "" || plan.Currency == "" || returnURL == "" {
		return "", fmt.Errorf("gocardless: checkout without a reference, currency or return URL: %w", coop.ErrInvalid)
	}
	meta := map[string]string{metadataKey: ref}
	var br billingRequest
	err := p.create(ctx, "billing_requests", billingRequestKey(ref), map[string]any{
		"mandate_request": map[string]any{
			"scheme":   p.scheme,
			"currency": plan.Currency,
			"metadata": meta,
		},
		"metadata": meta,
	}, &br)
	if err != nil {
		return "", fmt.Errorf("billing request: %w", err)
	}
	flow := map[string]any{
		"redirect_uri": returnURL,
		"links":        map[string]string{"billing_request": br.ID},
	}
	if cancelURL != "" {
		flow["exit_uri"] = cancelURL
	}
	var f billingRequestFlow
	if err := p.create(ctx, "billing_request_flows", flowKey(ref), flow, &f); err != nil {
		return "", fmt.Errorf("billing request flow: %w", err)
	}
	if f.AuthorisationURL == "" {
		return "", fmt.Errorf("%w: gocardless: billing request flow without an authorisation URL", coop.ErrProvider)
	}
	return f.AuthorisationURL, nil
}

// intervalUnit is GoCardless's interval_unit for a plan's interval.
func intervalUnit(interval string) (string, bool) {
	switch interval {
	case "month":
		return "monthly", true
	case "year":
		return "yearly", true
	}
	return "", false
}

// Activate creates the subscription of plan on m's mandate, carrying
// m's reference, and returns its ID. It is idempotent by the reference:
// called again, it returns the subscription created the first time.
func (p *Provider) Activate(ctx context.Context, m coop.Membership, plan coop.Plan) (string, error) {
	unit, ok := intervalUnit(plan.Interval)
	if !ok {
		return "", fmt.Errorf("gocardless: plan interval %q: %w", plan.Interval, coop.ErrInvalid)
	}
	if m.Mandate == "" || m.Reference == "" || plan.Amount <= 0 || plan.Currency == "" {
		return "", fmt.Errorf("gocardless: subscription without a mandate, reference, amount or currency: %w", coop.ErrInvalid)
	}
	var sub subscription
	err := p.create(ctx, "subscriptions", subscriptionKey(m.Reference), map[string]any{
		"amount":        plan.Amount,
		"currency":      plan.Currency,
		"interval_unit": unit,
		"interval":      1,
		"metadata":      map[string]string{metadataKey: m.Reference},
		"links":         map[string]string{"mandate": m.Mandate},
	}, &sub)
	if err != nil {
		return "", fmt.Errorf("subscription: %w", err)
	}
	if sub.ID == "" {
		return "", fmt.Errorf("%w: gocardless: subscription without an ID", coop.ErrProvider)
	}
	return sub.ID, nil
}

// Cancel cancels m's subscription, or its mandate when no subscription
// was created on it yet. One that is over already (cancelled, finished)
// counts as cancelled.
func (p *Provider) Cancel(ctx context.Context, m coop.Membership) error {
	switch {
	case m.Subscription != "":
		var sub subscription
		err := p.action(ctx, "subscriptions", m.Subscription, "cancel", &sub)
		if stateRefused(err) && p.get(ctx, "subscriptions", m.Subscription, &sub) == nil && subscriptionOver(sub.Status) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cancel subscription: %w", err)
		}
	case m.Mandate != "":
		var md mandate
		err := p.action(ctx, "mandates", m.Mandate, "cancel", &md)
		if stateRefused(err) && p.get(ctx, "mandates", m.Mandate, &md) == nil && mandateOver(md.Status) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cancel mandate: %w", err)
		}
	}
	return nil
}

// stateRefused says whether err is GoCardless refusing a request
// because of the resource's state.
func stateRefused(err error) bool {
	var re *requestError
	return errors.As(err, &re) && re.invalidState()
}

func subscriptionOver(status string) bool { return status == "cancelled" || status == "finished" }

func mandateOver(status string) bool {
	switch status {
	case "cancelled", "failed", "expired", "consumed", "blocked":
		return true
	}
	return false
}
