package gocardless

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mutualcoop/mutual/relay/coop"
)

// SignatureHeader is the header of a webhook's signature.
const SignatureHeader = "Webhook-Signature"

// MaxEvents is the most events GoCardless puts in one webhook; a body
// with more is malformed.
const MaxEvents = 250

// maxField bounds an event's IDs and reference.
const maxField = 200

// lookups is how many API requests the events of one webhook make at
// once.
const lookups = 8

// webhookEvent is one event of a webhook's body, as far as it is read.
type webhookEvent struct {
	ID               string            `json:"id"`
	CreatedAt        string            `json:"created_at"`
	ResourceType     string            `json:"resource_type"`
	Action           string            `json:"action"`
	Links            map[string]string `json:"links"`
	ResourceMetadata map[string]string `json:"resource_metadata"`
}

// Sign returns the Webhook-Signature of body under secret: the hex
// HMAC-SHA256 of the raw body.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// verify checks h's Webhook-Signature against body in constant time.
func (p *Provider) verify(h http.Header, body []byte) error {
	got, err := hex.DecodeString(strings.TrimSpace(h.Get(SignatureHeader)))
	if err != nil || len(got) != sha256.Size {
		return coop.ErrBadSignature
	}
	mac := hmac.New(sha256.New, p.secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return coop.ErrBadSignature
	}
	return nil
}

// Events verifies a webhook's signature (coop.ErrBadSignature, before
// anything of body is parsed) and returns its events, in order. A body
// that is not GoCardless's {"events": [...]} of at most MaxEvents events,
// each with an ID and a creation time, is malformed (coop.ErrInvalid).
// Payment events look up the payment and its subscription; when that
// fails the error wraps coop.ErrProvider and the webhook should be
// answered so that GoCardless sends it again. now is not used:
// GoCardless's signatures carry no time, and a replayed event is one
// whose ID was applied already.
func (p *Provider) Events(h http.Header, body []byte, now time.Time) ([]coop.Event, error) {
	if err := p.verify(h, body); err != nil {
		return nil, err
	}
	var w struct {
		Events []webhookEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("gocardless: webhook body: %w", coop.ErrInvalid)
	}
	if len(w.Events) > MaxEvents {
		return nil, fmt.Errorf("gocardless: webhook of %d events, over %d: %w", len(w.Events), MaxEvents, coop.ErrInvalid)
	}
	out := make([]coop.Event, len(w.Events))
	for i, we := range w.Events {
		ev, err := parseEvent(we)
		if err != nil {
			return nil, err
		}
		out[i] = ev
	}
	g, ctx := errgroup.WithContext(context.Background())
	g.SetLimit(lookups)
	for i, we := range w.Events {
		g.Go(func() error { return p.complete(ctx, &out[i], we) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseEvent reads what an event says by itself: its ID, time, type,
// links and reference.
func parseEvent(we webhookEvent) (coop.Event, error) {
	if we.ID == "" || len(we.ID) > maxField {
		return coop.Event{}, fmt.Errorf("gocardless: event without an ID: %w", coop.ErrInvalid)
	}
	for _, v := range we.Links {
		if len(v) > maxField {
			return coop.Event{}, fmt.Errorf("gocardless: event %s: link over %d bytes: %w", we.ID, maxField, coop.ErrInvalid)
		}
	}
	ref := we.ResourceMetadata[metadataKey]
	if len(ref) > maxField {
		return coop.Event{}, fmt.Errorf("gocardless: event %s: reference over %d bytes: %w", we.ID, maxField, coop.ErrInvalid)
	}
	created, err := time.Parse(time.RFC3339Nano, we.CreatedAt)
	if err != nil {
		return coop.Event{}, fmt.Errorf("gocardless: event %s: created_at: %w", we.ID, coop.ErrInvalid)
	}
	ev := coop.Event{
		Provider:  coop.GoCardless,
		ID:        we.ID,
		Created:   created.UTC(),
		Type:      coop.EventIgnored,
		Reference: ref,
	}
	switch we.ResourceType + " " + we.Action {
	case "billing_requests fulfilled":
		ev.Type = coop.EventCheckoutCompleted
		ev.Customer = we.Links["customer"]
		ev.Mandate = we.Links["mandate_request_mandate"]
	case "subscriptions created":
		ev.Type = coop.EventSubscriptionActive
		ev.Subscription = we.Links["subscription"]
	case "subscriptions cancelled", "subscriptions finished":
		ev.Type = coop.EventSubscriptionCanceled
		ev.Subscription = we.Links["subscription"]
	case "mandates cancelled", "mandates failed", "mandates expired":
		ev.Type = coop.EventSubscriptionCanceled
		ev.Mandate = we.Links["mandate"]
	case "payments confirmed", "payments paid_out":
		ev.Type = coop.EventPaymentSucceeded
		ev.Payment = we.Links["payment"]
	case "payments failed":
		ev.Type = coop.EventPaymentFailed
		ev.Payment = we.Links["payment"]
	}
	switch {
	case ev.Type == coop.EventCheckoutCompleted && we.Links["billing_request"] == "",
		ev.Type == coop.EventSubscriptionActive && ev.Subscription == "",
		ev.Type == coop.EventSubscriptionCanceled && ev.Subscription == "" && ev.Mandate == "",
		(ev.Type == coop.EventPaymentSucceeded || ev.Type == coop.EventPaymentFailed) && ev.Payment == "":
		return coop.Event{}, fmt.Errorf("gocardless: event %s (%s %s) without its resource: %w", we.ID, we.ResourceType, we.Action, coop.ErrInvalid)
	}
	return ev, nil
}

// complete fills in what ev needs from the API: the billing request's
// mandate, customer and reference when the event lacks them, and a
// payment's amount, currency, subscription and period.
func (p *Provider) complete(ctx context.Context, ev *coop.Event, we webhookEvent) error {
	switch ev.Type {
	case coop.EventCheckoutCompleted:
		if ev.Mandate != "" && ev.Customer != "" && ev.Reference != "" {
			return nil
		}
		var br billingRequest
		if err := p.get(ctx, "billing_requests", we.Links["billing_request"], &br); err != nil {
			return fmt.Errorf("event %s: billing request: %w", ev.ID, err)
		}
		ev.Mandate = first(ev.Mandate, br.Links.MandateRequestMandate)
		ev.Customer = first(ev.Customer, br.Links.Customer)
		ev.Reference = first(ev.Reference, br.Metadata[metadataKey])
	case coop.EventPaymentSucceeded, coop.EventPaymentFailed:
		var pm payment
		if err := p.get(ctx, "payments", ev.Payment, &pm); err != nil {
			return fmt.Errorf("event %s: payment: %w", ev.ID, err)
		}
		ev.Reference = first(ev.Reference, pm.Metadata[metadataKey])
		ev.Subscription = pm.Links.Subscription
		ev.Mandate = pm.Links.Mandate
		if ev.Type == coop.EventPaymentFailed {
			return nil
		}
		ev.Amount = pm.Amount
		ev.Currency = pm.Currency
		if pm.Links.Subscription == "" {
			return nil
		}
		var sub subscription
		if err := p.get(ctx, "subscriptions", pm.Links.Subscription, &sub); err != nil {
			return fmt.Errorf("event %s: subscription: %w", ev.ID, err)
		}
		ev.Reference = first(ev.Reference, sub.Metadata[metadataKey])
		charged, err := time.Parse(time.DateOnly, pm.ChargeDate)
		if err != nil {
			return fmt.Errorf("%w: gocardless: payment %s: charge date %q", coop.ErrProvider, pm.ID, pm.ChargeDate)
		}
		ev.PeriodEnd = addInterval(charged, sub.IntervalUnit, sub.Interval)
		if len(sub.UpcomingPayments) > 0 {
			if next, err := time.Parse(time.DateOnly, sub.UpcomingPayments[0].ChargeDate); err == nil && next.After(charged) {
				ev.NextPayment = next
			}
		}
	}
	return nil
}

// addInterval returns t plus n (at least 1) of unit ("weekly",
// "monthly", "yearly"): the end of the period a payment charged on t
// covers.
func addInterval(t time.Time, unit string, n int) time.Time {
	n = max(n, 1)
	switch unit {
	case "weekly":
		return t.AddDate(0, 0, 7*n)
	case "yearly":
		return t.AddDate(n, 0, 0)
	}
	return t.AddDate(0, n, 0)
}

// first returns a, or b when a is empty.
func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
