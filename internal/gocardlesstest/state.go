package gocardlesstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The resources, as GoCardless returns them (the fields Mutual reads and
// a few more).
type (
	billingRequest struct {
		ID             string            `json:"id"`
		CreatedAt      string            `json:"created_at"`
		Status         string            `json:"status"` // pending, fulfilled
		MandateRequest mandateRequest    `json:"mandate_request"`
		Metadata       map[string]string `json:"metadata"`
		Links          struct {
			Customer              string `json:"customer,omitempty"`
			MandateRequest        string `json:"mandate_request"`
			MandateRequestMandate string `json:"mandate_request_mandate,omitempty"`
		} `json:"links"`
	}
	mandateRequest struct {
		Scheme   string            `json:"scheme"`
		Currency string            `json:"currency"`
		Metadata map[string]string `json:"metadata"`
		Links    struct {
			Mandate string `json:"mandate,omitempty"`
		} `json:"links"`
	}
	billingRequestFlow struct {
		ID               string `json:"id"`
		CreatedAt        string `json:"created_at"`
		AuthorisationURL string `json:"authorisation_url"`
		RedirectURI      string `json:"redirect_uri"`
		ExitURI          string `json:"exit_uri,omitempty"`
		Links            struct {
			BillingRequest string `json:"billing_request"`
		} `json:"links"`
	}
	customer struct {
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
	}
	mandate struct {
		ID        string            `json:"id"`
		CreatedAt string            `json:"created_at"`
		Status    string            `json:"status"`
		Scheme    string            `json:"scheme"`
		Metadata  map[string]string `json:"metadata"`
		Links     struct {
			Customer string `json:"customer"`
		} `json:"links"`
		currency string
	}
	subscription struct {
		ID               string            `json:"id"`
		CreatedAt        string            `json:"created_at"`
		Status           string            `json:"status"`
		Amount           int64             `json:"amount"`
		Currency         string            `json:"currency"`
		IntervalUnit     string            `json:"interval_unit"`
		Interval         int               `json:"interval"`
		StartDate        string            `json:"start_date"`
		UpcomingPayments []upcomingPayment `json:"upcoming_payments"`
		Metadata         map[string]string `json:"metadata"`
		Links            struct {
			Mandate string `json:"mandate"`
		} `json:"links"`
		next time.Time // the next charge date
	}
	upcomingPayment struct {
		ChargeDate string `json:"charge_date"`
		Amount     int64  `json:"amount"`
	}
	payment struct {
		ID         string            `json:"id"`
		CreatedAt  string            `json:"created_at"`
		Status     string            `json:"status"`
		Amount     int64             `json:"amount"`
		Currency   string            `json:"currency"`
		ChargeDate string            `json:"charge_date"`
		Metadata   map[string]string `json:"metadata"`
		Links      struct {
			Mandate      string `json:"mandate"`
			Subscription string `json:"subscription"`
		} `json:"links"`
	}
)

// event is one webhook event.
type event struct {
	ID               string            `json:"id"`
	CreatedAt        string            `json:"created_at"`
	ResourceType     string            `json:"resource_type"`
	Action           string            `json:"action"`
	Links            map[string]string `json:"links"`
	Details          eventDetails      `json:"details"`
	Metadata         map[string]string `json:"metadata"`
	ResourceMetadata map[string]string `json:"resource_metadata,omitempty"`
}

type eventDetails struct {
	Origin      string `json:"origin"`
	Cause       string `json:"cause"`
	Description string `json:"description"`
}

// encodeEvents is a webhook's body.
func encodeEvents(evs []event) []byte {
	b, err := json.Marshal(struct {
		Events []event `json:"events"`
	}{evs})
	if err != nil {
		panic(err) // strings and maps of strings always encode
	}
	return b
}

// apiError is an error GoCardless answers with.
type apiError struct {
	status      int
	typ         string // invalid_api_usage, invalid_state, validation_failed
	reason      string
	message     string
	field       string
	conflicting string // idempotent_creation_conflict: the resource created
}

func (e *apiError) Error() string { return e.message }

func (e *apiError) write(w http.ResponseWriter) {
	detail := map[string]any{"reason": e.reason, "message": e.message}
	if e.field != "" {
		detail["field"] = e.field
	}
	if e.conflicting != "" {
		detail["links"] = map[string]string{"conflicting_resource_id": e.conflicting}
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{
		"message":           e.message,
		"type":              e.typ,
		"code":              e.status,
		"errors":            []any{detail},
		"documentation_url": "https://developer.gocardless.com/api-reference#" + e.reason,
		"request_id":        "stand-in",
	}})
}

func invalid(field, message string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, typ: "validation_failed", reason: "validation_failed", field: field, message: message}
}

func notFound(id string) *apiError {
	return &apiError{status: http.StatusNotFound, typ: "invalid_api_usage", reason: "resource_not_found", message: "Resource not found: " + id}
}

func badState(reason, message string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, typ: "invalid_state", reason: reason, message: message}
}

// schemes maps the Direct Debit schemes to their currencies.
var schemes = map[string]string{
	"bacs": "GBP", "sepa_core": "EUR", "ach": "USD", "becs": "AUD", "becs_nz": "NZD",
	"autogiro": "SEK", "betalingsservice": "DKK", "pad": "CAD",
}

// state is the stand-in's resources. Its methods are called with
// Server.mu held.
type state struct {
	now          func() time.Time
	resourceMeta bool // events carry resource_metadata
	seq          int64

	billingRequests map[string]*billingRequest
	flows           map[string]*billingRequestFlow
	customers       map[string]*customer
	mandates        map[string]*mandate
	subscriptions   map[string]*subscription
	payments        map[string]*payment
	order           map[string][]string // IDs of each kind, oldest first
	keys            map[string]string   // kind and Idempotency-Key: the ID created
}

func newState(now func() time.Time, resourceMeta bool) *state {
	return &state{
		now:             now,
		resourceMeta:    resourceMeta,
		billingRequests: map[string]*billingRequest{},
		flows:           map[string]*billingRequestFlow{},
		customers:       map[string]*customer{},
		mandates:        map[string]*mandate{},
		subscriptions:   map[string]*subscription{},
		payments:        map[string]*payment{},
		order:           map[string][]string{},
		keys:            map[string]string{},
	}
}

// newID returns a new ID of kind with GoCardless's prefix for it.
func (st *state) newID(kind, prefix string) string {
	st.seq++
	id := fmt.Sprintf("%s%010d", prefix, st.seq)
	st.order[kind] = append(st.order[kind], id)
	return id
}

func (st *state) timestamp() string {
	return st.now().UTC().Format("2006-01-02T15:04:05.000Z")
}

func (st *state) today() time.Time {
	y, m, d := st.now().UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// event returns a new event about a resource.
func (st *state) event(resourceType, action, cause string, links, meta map[string]string) event {
	ev := event{
		ID:           st.newID("events", "EV"),
		CreatedAt:    st.timestamp(),
		ResourceType: resourceType,
		Action:       action,
		Links:        links,
		Details:      eventDetails{Origin: "gocardless", Cause: cause, Description: resourceType + " " + action + "."},
		Metadata:     map[string]string{},
	}
	if st.resourceMeta {
		ev.ResourceMetadata = copyMeta(meta)
	}
	return ev
}

// used returns the resource an Idempotency-Key of kind created, as
// GoCardless's conflict error.
func (st *state) used(kind, key string) *apiError {
	id, ok := st.keys[kind+"\x00"+key]
	if !ok {
		return nil
	}
	return &apiError{
		status: http.StatusConflict, typ: "invalid_state", reason: "idempotent_creation_conflict",
		message:     "A resource has already been created with this idempotency key",
		conflicting: id,
	}
}

func checkMeta(field string, m map[string]string) *apiError {
	if len(m) > 3 {
		return invalid(field, "metadata has more than 3 keys")
	}
	for k, v := range m {
		if len(k) > 50 || len(v) > 500 {
			return invalid(field, "metadata key or value too long")
		}
	}
	return nil
}

func copyMeta(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

type billingRequestParams struct {
	MandateRequest *struct {
		Scheme   string            `json:"scheme"`
		Currency string            `json:"currency"`
		Metadata map[string]string `json:"metadata"`
	} `json:"mandate_request"`
	Metadata map[string]string `json:"metadata"`
}

func (st *state) createBillingRequest(key string, p billingRequestParams) (*billingRequest, *apiError) {
	if err := st.used("billing_requests", key); err != nil {
		return nil, err
	}
	mr := p.MandateRequest
	if mr == nil {
		return nil, invalid("mandate_request", "a billing request for a mandate needs mandate_request")
	}
	cur, ok := schemes[mr.Scheme]
	if mr.Scheme != "" && !ok {
		return nil, invalid("mandate_request.scheme", "unknown scheme "+mr.Scheme)
	}
	if mr.Currency == "" || (ok && mr.Currency != cur) {
		return nil, invalid("mandate_request.currency", "currency must be the scheme's")
	}
	if err := checkMeta("metadata", p.Metadata); err != nil {
		return nil, err
	}
	if err := checkMeta("mandate_request.metadata", mr.Metadata); err != nil {
		return nil, err
	}
	br := &billingRequest{
		ID:        st.newID("billing_requests", "BRQ"),
		CreatedAt: st.timestamp(),
		Status:    "pending",
		MandateRequest: mandateRequest{
			Scheme:   mr.Scheme,
			Currency: mr.Currency,
			Metadata: copyMeta(mr.Metadata),
		},
		Metadata: copyMeta(p.Metadata),
	}
	br.Links.MandateRequest = st.newID("mandate_requests", "MRQ")
	st.billingRequests[br.ID] = br
	st.keys["billing_requests\x00"+key] = br.ID
	return br, nil
}

type flowParams struct {
	RedirectURI string `json:"redirect_uri"`
	ExitURI     string `json:"exit_uri"`
	Links       struct {
		BillingRequest string `json:"billing_request"`
	} `json:"links"`
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

func (st *state) createFlow(key, base string, p flowParams) (*billingRequestFlow, *apiError) {
	if err := st.used("billing_request_flows", key); err != nil {
		return nil, err
	}
	br, ok := st.billingRequests[p.Links.BillingRequest]
	if !ok {
		return nil, invalid("links.billing_request", "billing request not found")
	}
	if br.Status != "pending" {
		return nil, badState("billing_request_not_pending", "the billing request is "+br.Status)
	}
	if !absoluteURL(p.RedirectURI) {
		return nil, invalid("redirect_uri", "redirect_uri must be an absolute URL")
	}
	if p.ExitURI != "" && !absoluteURL(p.ExitURI) {
		return nil, invalid("exit_uri", "exit_uri must be an absolute URL")
	}
	f := &billingRequestFlow{
		ID:          st.newID("billing_request_flows", "BRF"),
		CreatedAt:   st.timestamp(),
		RedirectURI: p.RedirectURI,
		ExitURI:     p.ExitURI,
	}
	f.AuthorisationURL = base + "/flow/" + f.ID
	f.Links.BillingRequest = br.ID
	st.flows[f.ID] = f
	st.keys["billing_request_flows\x00"+key] = f.ID
	return f, nil
}

// fulfil does what the payer's confirming a flow does: the billing
// request is fulfilled, with a new customer and an active mandate.
func (st *state) fulfil(flowID string) (*billingRequestFlow, []event, *apiError) {
	f, ok := st.flows[flowID]
	if !ok {
		return nil, nil, notFound(flowID)
	}
	br := st.billingRequests[f.Links.BillingRequest]
	if br.Status != "pending" {
		return nil, nil, badState("billing_request_not_pending", "this Direct Debit was set up already")
	}
	cu := &customer{ID: st.newID("customers", "CU"), CreatedAt: st.timestamp()}
	st.customers[cu.ID] = cu
	md := &mandate{
		ID:        st.newID("mandates", "MD"),
		CreatedAt: st.timestamp(),
		Status:    "active",
		Scheme:    br.MandateRequest.Scheme,
		Metadata:  copyMeta(br.MandateRequest.Metadata),
		currency:  br.MandateRequest.Currency,
	}
	if md.Scheme == "" {
		md.Scheme = "bacs"
	}
	md.Links.Customer = cu.ID
	st.mandates[md.ID] = md
	br.Status = "fulfilled"
	br.Links.Customer = cu.ID
	br.Links.MandateRequestMandate = md.ID
	br.MandateRequest.Links.Mandate = md.ID
	evs := []event{
		st.event("mandates", "created", "mandate_created", map[string]string{"mandate": md.ID}, md.Metadata),
		st.event("billing_requests", "fulfilled", "billing_request_fulfilled", map[string]string{
			"billing_request":         br.ID,
			"customer":                cu.ID,
			"mandate_request":         br.Links.MandateRequest,
			"mandate_request_mandate": md.ID,
		}, br.Metadata),
		st.event("mandates", "active", "mandate_activated", map[string]string{"mandate": md.ID}, md.Metadata),
	}
	return f, evs, nil
}

type subscriptionParams struct {
	Amount       int64             `json:"amount"`
	Currency     string            `json:"currency"`
	IntervalUnit string            `json:"interval_unit"`
	Interval     int               `json:"interval"`
	Name         string            `json:"name"`
	StartDate    string            `json:"start_date"`
	Metadata     map[string]string `json:"metadata"`
	Links        struct {
		Mandate string `json:"mandate"`
	} `json:"links"`
}

// addInterval is t plus n of unit.
func addInterval(t time.Time, unit string, n int) time.Time {
	switch unit {
	case "weekly":
		return t.AddDate(0, 0, 7*n)
	case "yearly":
		return t.AddDate(n, 0, 0)
	}
	return t.AddDate(0, n, 0)
}

func (st *state) createSubscription(key string, p subscriptionParams) (*subscription, []event, *apiError) {
	if err := st.used("subscriptions", key); err != nil {
		return nil, nil, err
	}
	md, ok := st.mandates[p.Links.Mandate]
	if !ok {
		return nil, nil, invalid("links.mandate", "mandate not found")
	}
	if over(md.Status) {
		return nil, nil, badState("mandate_is_inactive", "the mandate is "+md.Status)
	}
	if p.Amount <= 0 {
		return nil, nil, invalid("amount", "amount must be a positive number of minor units")
	}
	if p.Currency != md.currency {
		return nil, nil, invalid("currency", "currency must be the mandate's")
	}
	switch p.IntervalUnit {
	case "weekly", "monthly", "yearly":
	default:
		return nil, nil, invalid("interval_unit", "interval_unit must be weekly, monthly or yearly")
	}
	if p.Interval == 0 {
		p.Interval = 1
	}
	if p.Interval < 0 {
		return nil, nil, invalid("interval", "interval must be positive")
	}
	if err := checkMeta("metadata", p.Metadata); err != nil {
		return nil, nil, err
	}
	start := st.today()
	if p.StartDate != "" {
		d, err := time.Parse(time.DateOnly, p.StartDate)
		if err != nil || d.Before(start) {
			return nil, nil, invalid("start_date", "start_date must be a date from today on")
		}
		start = d
	}
	sub := &subscription{
		ID:           st.newID("subscriptions", "SB"),
		CreatedAt:    st.timestamp(),
		Status:       "active",
		Amount:       p.Amount,
		Currency:     p.Currency,
		IntervalUnit: p.IntervalUnit,
		Interval:     p.Interval,
		StartDate:    start.Format(time.DateOnly),
		Metadata:     copyMeta(p.Metadata),
		next:         start,
	}
	sub.Links.Mandate = md.ID
	st.upcoming(sub)
	st.subscriptions[sub.ID] = sub
	st.keys["subscriptions\x00"+key] = sub.ID
	ev := st.event("subscriptions", "created", "subscription_created", map[string]string{"subscription": sub.ID}, sub.Metadata)
	return sub, []event{ev}, nil
}

// upcoming sets sub's next three charge dates.
func (st *state) upcoming(sub *subscription) {
	sub.UpcomingPayments = nil
	if sub.Status != "active" {
		return
	}
	for i := range 3 {
		d := addInterval(sub.next, sub.IntervalUnit, i*sub.Interval)
		sub.UpcomingPayments = append(sub.UpcomingPayments, upcomingPayment{ChargeDate: d.Format(time.DateOnly), Amount: sub.Amount})
	}
}

func (st *state) cancelSubscription(id, origin string) ([]event, *apiError) {
	sub, ok := st.subscriptions[id]
	if !ok {
		return nil, notFound(id)
	}
	if sub.Status != "active" {
		return nil, badState("cancellation_failed", "the subscription is "+sub.Status)
	}
	sub.Status = "cancelled"
	st.upcoming(sub)
	ev := st.event("subscriptions", "cancelled", "subscription_cancelled", map[string]string{"subscription": sub.ID}, sub.Metadata)
	ev.Details.Origin = origin
	return []event{ev}, nil
}

// over says whether a mandate's status is final.
func over(status string) bool {
	switch status {
	case "cancelled", "failed", "expired", "consumed", "blocked":
		return true
	}
	return false
}

func (st *state) cancelMandate(id string) ([]event, *apiError) {
	md, ok := st.mandates[id]
	if !ok {
		return nil, notFound(id)
	}
	if over(md.Status) {
		return nil, badState("mandate_already_cancelled", "the mandate is "+md.Status)
	}
	md.Status = "cancelled"
	evs := []event{st.event("mandates", "cancelled", "mandate_cancelled", map[string]string{"mandate": md.ID}, md.Metadata)}
	for _, sid := range st.order["subscriptions"] {
		sub := st.subscriptions[sid]
		if sub.Links.Mandate == md.ID && sub.Status == "active" {
			sub.Status = "cancelled"
			st.upcoming(sub)
			ev := st.event("subscriptions", "cancelled", "mandate_cancelled", map[string]string{"subscription": sub.ID}, sub.Metadata)
			ev.Details.Origin = "api"
			evs = append(evs, ev)
		}
	}
	return evs, nil
}

// charge collects sub's next payment with outcome ("confirmed" or
// "failed").
func (st *state) charge(id, outcome string) (string, []event, error) {
	sub, ok := st.subscriptions[id]
	if !ok {
		return "", nil, fmt.Errorf("gocardlesstest: no subscription %q", id)
	}
	if sub.Status != "active" {
		return "", nil, fmt.Errorf("gocardlesstest: subscription %s is %s", id, sub.Status)
	}
	pm := &payment{
		ID:         st.newID("payments", "PM"),
		CreatedAt:  st.timestamp(),
		Status:     outcome,
		Amount:     sub.Amount,
		Currency:   sub.Currency,
		ChargeDate: sub.next.Format(time.DateOnly),
		Metadata:   map[string]string{},
	}
	pm.Links.Mandate = sub.Links.Mandate
	pm.Links.Subscription = sub.ID
	st.payments[pm.ID] = pm
	sub.next = addInterval(sub.next, sub.IntervalUnit, sub.Interval)
	st.upcoming(sub)
	links := map[string]string{"payment": pm.ID}
	created := st.event("payments", "created", "payment_created", links, pm.Metadata)
	cause := "payment_confirmed"
	if outcome == "failed" {
		cause = "insufficient_funds"
	}
	done := st.event("payments", outcome, cause, links, pm.Metadata)
	done.Details.Origin = "bank"
	return pm.ID, []event{created, done}, nil
}

func (st *state) status(id string) string {
	switch {
	case st.billingRequests[id] != nil:
		return st.billingRequests[id].Status
	case st.mandates[id] != nil:
		return st.mandates[id].Status
	case st.subscriptions[id] != nil:
		return st.subscriptions[id].Status
	case st.payments[id] != nil:
		return st.payments[id].Status
	}
	return ""
}

func (st *state) count(kind string) int { return len(st.order[kind]) }

// lookup returns the resource of kind and ID, or nil.
func (st *state) lookup(kind, id string) any {
	switch kind {
	case "billing_requests":
		if r, ok := st.billingRequests[id]; ok {
			return r
		}
	case "mandates":
		if r, ok := st.mandates[id]; ok {
			return r
		}
	case "subscriptions":
		if r, ok := st.subscriptions[id]; ok {
			return r
		}
	case "payments":
		if r, ok := st.payments[id]; ok {
			return r
		}
	}
	return nil
}
