package stripe

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
)

// SignatureHeader is the header of Stripe's webhook signature:
// "t=UNIX_SECONDS,v1=HEX,v1=HEX...".
const SignatureHeader = "Stripe-Signature"

// Tolerance is how far a webhook's signed time may be from now, either
// way: an older signature is a replay, a later one a forgery or a
// clock gone wrong.
const Tolerance = 5 * time.Minute

// MetadataMembership is the subscription's metadata key that carries
// the membership reference.
const MetadataMembership = "membership"

// Bounds of a signature header, so that a hostile one costs little.
const (
	maxSignatureHeader = 4096
	maxSignatures      = 16
)

// Events verifies a webhook's Stripe-Signature against the configured
// secrets before parsing anything of body (coop.ErrBadSignature), then
// reads its event. A checkout.session.completed whose payment_status is
// "paid" (the first payment was taken on the page) carries a Payment:
// the session's first invoice, or the session when it names none.
func (p *Provider) Events(h http.Header, body []byte, now time.Time) ([]coop.Event, error) {
	if err := p.verify(h.Values(SignatureHeader), body, now); err != nil {
		return nil, err
	}
	return parseEvent(body)
}

// verify checks a Stripe-Signature header: its t within Tolerance of
// now, and one of its v1 signatures the HMAC-SHA256 of t + "." + body
// under one of the secrets. Every pair is compared, in constant time.
func (p *Provider) verify(headers []string, body []byte, now time.Time) error {
	if len(headers) != 1 {
		return fmt.Errorf("%w: %d %s headers", coop.ErrBadSignature, len(headers), SignatureHeader)
	}
	header := headers[0]
	if len(header) > maxSignatureHeader {
		return fmt.Errorf("%w: %s header too long", coop.ErrBadSignature, SignatureHeader)
	}
	var (
		ts   string
		sigs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: two timestamps", coop.ErrBadSignature)
			}
			ts = v
		case "v1":
			sig, err := hex.DecodeString(v)
			if err != nil || len(sig) != sha256.Size {
				continue
			}
			if len(sigs) == maxSignatures {
				return fmt.Errorf("%w: too many signatures", coop.ErrBadSignature)
			}
			sigs = append(sigs, sig)
		}
	}
	if ts == "" {
		return fmt.Errorf("%w: no timestamp", coop.ErrBadSignature)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: no v1 signature", coop.ErrBadSignature)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", coop.ErrBadSignature, ts)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("%w: timestamp %v from now", coop.ErrBadSignature, d.Round(time.Second))
	}
	match := false
	for _, secret := range p.secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(body)
		want := mac.Sum(nil)
		for _, sig := range sigs {
			if hmac.Equal(want, sig) {
				match = true
			}
		}
	}
	if !match {
		return fmt.Errorf("%w: no signature matches", coop.ErrBadSignature)
	}
	return nil
}

// event is what is read of a Stripe event.
type event struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Created int64  `json:"created"`
	Data    struct {
		Object json.RawMessage `json:"object"`
	} `json:"data"`
}

// id is an object's ID where Stripe gives either the ID or, expanded,
// the object.
type id string

func (i *id) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*i = ""
		return nil
	case len(b) > 0 && b[0] == '{':
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &o); err != nil {
			return err
		}
		*i = id(o.ID)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*i = id(s)
	return nil
}

type checkoutSession struct {
	ID                string            `json:"id"`
	ClientReferenceID string            `json:"client_reference_id"`
	Customer          id                `json:"customer"`
	Subscription      id                `json:"subscription"`
	PaymentStatus     string            `json:"payment_status"`
	Invoice           id                `json:"invoice"`
	Metadata          map[string]string `json:"metadata"`
}

type subscription struct {
	ID       string            `json:"id"`
	Customer id                `json:"customer"`
	Status   string            `json:"status"`
	Metadata map[string]string `json:"metadata"`
	// CurrentPeriodEnd is the subscription's before API version
	// 2025-03-31, its items' since.
	CurrentPeriodEnd int64 `json:"current_period_end"`
	Items            struct {
		Data []struct {
			CurrentPeriodEnd int64 `json:"current_period_end"`
		} `json:"data"`
	} `json:"items"`
}

type subscriptionDetails struct {
	Subscription id                `json:"subscription"`
	Metadata     map[string]string `json:"metadata"`
}

type invoice struct {
	ID                 string `json:"id"`
	Customer           id     `json:"customer"`
	AmountPaid         int64  `json:"amount_paid"`
	Currency           string `json:"currency"`
	PeriodEnd          int64  `json:"period_end"`
	NextPaymentAttempt int64  `json:"next_payment_attempt"`
	// Subscription and SubscriptionDetails are the invoice's before API
	// version 2025-03-31, Parent.SubscriptionDetails since.
	Subscription        id                   `json:"subscription"`
	SubscriptionDetails *subscriptionDetails `json:"subscription_details"`
	Parent              struct {
		SubscriptionDetails *subscriptionDetails `json:"subscription_details"`
	} `json:"parent"`
	Lines struct {
		Data []struct {
			Period struct {
				End int64 `json:"end"`
			} `json:"period"`
		} `json:"data"`
	} `json:"lines"`
}

// subscription returns the invoice's subscription and the membership
// reference in its metadata, from whichever API version wrote it.
func (in *invoice) subscription() (sub, ref string) {
	sub = string(in.Subscription)
	for _, d := range []*subscriptionDetails{in.Parent.SubscriptionDetails, in.SubscriptionDetails} {
		if d == nil {
			continue
		}
		if sub == "" {
			sub = string(d.Subscription)
		}
		if ref == "" {
			ref = d.Metadata[MetadataMembership]
		}
	}
	return sub, ref
}

// periodEnd is the latest end of the invoice's lines' periods (what the
// payment covers), or the invoice's period_end when it has no lines.
func (in *invoice) periodEnd() time.Time {
	var end int64
	for _, l := range in.Lines.Data {
		end = max(end, l.Period.End)
	}
	if end == 0 {
		end = in.PeriodEnd
	}
	return unix(end)
}

// parseEvent reads a verified webhook body.
func parseEvent(body []byte) ([]coop.Event, error) {
	var e event
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("%w: stripe event: %v", coop.ErrInvalid, err)
	}
	if e.ID == "" || e.Type == "" || e.Created <= 0 {
		return nil, fmt.Errorf("%w: stripe event without id, type or time", coop.ErrInvalid)
	}
	ev := coop.Event{Provider: coop.Stripe, ID: e.ID, Created: time.Unix(e.Created, 0).UTC()}
	object := func(v any) error {
		if err := json.Unmarshal(e.Data.Object, v); err != nil {
			return fmt.Errorf("%w: stripe %s %s: %v", coop.ErrInvalid, e.Type, e.ID, err)
		}
		return nil
	}
	switch e.Type {
	case "checkout.session.completed":
		var s checkoutSession
		if err := object(&s); err != nil {
			return nil, err
		}
		ev.Type = coop.EventCheckoutCompleted
		ev.Reference = s.ClientReferenceID
		if ev.Reference == "" {
			ev.Reference = s.Metadata[MetadataMembership]
		}
		ev.Customer = string(s.Customer)
		ev.Subscription = string(s.Subscription)
		if s.PaymentStatus == "paid" {
			ev.Payment = cmp.Or(string(s.Invoice), s.ID)
		}

	case "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted":
		var s subscription
		if err := object(&s); err != nil {
			return nil, err
		}
		ev.Subscription = s.ID
		ev.Customer = string(s.Customer)
		ev.Reference = s.Metadata[MetadataMembership]
		end := s.CurrentPeriodEnd
		for _, it := range s.Items.Data {
			end = max(end, it.CurrentPeriodEnd)
		}
		ev.NextPayment = unix(end)
		switch {
		case e.Type == "customer.subscription.deleted" || s.Status == "canceled":
			ev.Type = coop.EventSubscriptionCanceled
			ev.NextPayment = time.Time{}
		case s.Status == "active" || s.Status == "trialing":
			ev.Type = coop.EventSubscriptionActive
		case s.Status == "past_due" || s.Status == "unpaid":
			ev.Type = coop.EventPaymentFailed
		default:
			// incomplete (the first payment is not through yet),
			// incomplete_expired (it never was), paused.
			ev.Type = coop.EventIgnored
		}

	case "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed":
		var in invoice
		if err := object(&in); err != nil {
			return nil, err
		}
		ev.Customer = string(in.Customer)
		ev.Subscription, ev.Reference = in.subscription()
		ev.Payment = in.ID
		if e.Type == "invoice.payment_failed" {
			ev.Type = coop.EventPaymentFailed
			ev.NextPayment = unix(in.NextPaymentAttempt)
			break
		}
		if in.AmountPaid <= 0 {
			// Nothing was paid (a trial, a credit): no dues.
			ev.Type = coop.EventIgnored
			break
		}
		ev.Type = coop.EventPaymentSucceeded
		ev.Amount = in.AmountPaid
		ev.Currency = strings.ToUpper(in.Currency)
		ev.PeriodEnd = in.periodEnd()

	default:
		ev.Type = coop.EventIgnored
	}
	return []coop.Event{ev}, nil
}

// unix is the time of Unix seconds, zero for 0.
func unix(secs int64) time.Time {
	if secs <= 0 {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}
