// Package stripetest runs Stripe for tests: localstripe (a stateful fake
// of Stripe's API, scripts/localstripe.sh) behind a stand-in for what
// localstripe lacks, Checkout.
//
// The stand-in is an HTTP server on 127.0.0.1 whose URL is the API URL a
// Stripe client is given (the relay's --stripe-api). It serves
//
//   - POST /v1/checkout/sessions: a Checkout Session, refused as Stripe
//     refuses one (a secret key other than the server's, a mode other
//     than subscription, no line items, a line item without price or
//     price_data, no success_url, a client_reference_id over 200
//     characters), whose url is the stand-in's hosted page;
//   - GET /pay/{session}: the hosted page, with a card number field
//     (4242 4242 4242 4242 by default) and a Pay button; paying creates
//     in localstripe the customer with the card, a plan of the session's
//     price, and the subscription with the session's subscription
//     metadata, whose first invoice localstripe charges; then it sends
//     checkout.session.completed to the webhook and redirects to the
//     session's success_url (Pay does the same from Go);
//   - every other /v1/ request: passed to localstripe unchanged, once
//     its key is checked.
//
// Webhooks: localstripe sends its events (customer.subscription.*,
// invoice.*) to the stand-in, which adds to invoices what Stripe's carry
// and localstripe's lack (the subscription's metadata, under
// parent.subscription_details), signs them as Stripe does (see
// relay/coop/stripe) with the secret given to RegisterWebhook, and posts
// them to its URL, as it does its own events. Deliveries lists what was
// sent, signed, so that a test can replay one.
//
// Start reads the localstripe to use from MUTUAL_TEST_LOCALSTRIPE: the
// localstripe command (each Server then starts its own, from scratch,
// on a free port; `scripts/localstripe.sh env` prints it), or the URL
// of a running one. A test without it skips, except in CI (CI set),
// where it fails.
package stripetest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Cards of Stripe's test mode.
const (
	// CardOK is paid.
	CardOK = "4242424242424242"
	// CardFailsLater attaches to a customer, but charging it fails.
	CardFailsLater = "4000000000000341"
	// CardDeclined is refused when it is attached.
	CardDeclined = "4000000000000002"
)

// EnvLocalstripe names the environment variable Start reads.
const EnvLocalstripe = "MUTUAL_TEST_LOCALSTRIPE"

// DefaultSecretKey is the secret key a Server accepts when Config does
// not give one.
const DefaultSecretKey = "sk_test_mutual"

// ErrDeclined is a payment refused: the hosted page shows it, and the
// session stays open.
var ErrDeclined = errors.New("stripetest: your card was declined")

// Config configures a Server.
type Config struct {
	// Localstripe is the localstripe command to start, or the URL
	// (http://...) of a running localstripe.
	Localstripe string
	// SecretKey is the only key the server accepts; DefaultSecretKey
	// when empty.
	SecretKey string
}

// Server is Stripe for a test: the stand-in and its localstripe.
type Server struct {
	key    string
	ls     *localstripe
	srv    *httptest.Server
	proxy  *httputil.ReverseProxy
	hc     *http.Client
	events string // the secret localstripe signs its events to the stand-in with

	mu         sync.Mutex
	sessions   map[string]*Session
	customers  map[string]bool
	metadata   map[string]map[string]string // a subscription's metadata
	hookURL    string
	hookSecret string
	sent       []Delivery
}

// Session is a Checkout Session as the stand-in keeps it.
type Session struct {
	ID                string
	URL               string // the hosted page
	Mode              string
	ClientReferenceID string
	SuccessURL        string
	CancelURL         string
	// The line item's price: Price (a plan ID) or the rest.
	Price       string
	Currency    string
	UnitAmount  int64
	Interval    string
	ProductName string
	Quantity    int64
	// Metadata is the session's subscription_data.metadata, which the
	// subscription gets.
	Metadata map[string]string
	Created  time.Time
	// Status is "open", then "complete" once paid, with the customer,
	// the subscription and its first invoice Stripe made.
	Status       string
	Customer     string
	Subscription string
	Invoice      string
}

// Delivery is a webhook the stand-in sent.
type Delivery struct {
	EventID string
	Type    string
	Header  http.Header // with its Stripe-Signature
	Body    []byte
	Status  int   // the webhook's answer
	Err     error // when there was none
}

// New starts a Server (and its localstripe, when cfg.Localstripe is a
// command).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Localstripe == "" {
		return nil, errors.New("stripetest: no localstripe command or URL")
	}
	s := &Server{
		key:       cfg.SecretKey,
		hc:        &http.Client{Timeout: 30 * time.Second},
		events:    "whsec_" + randomID(24),
		sessions:  map[string]*Session{},
		customers: map[string]bool{},
		metadata:  map[string]map[string]string{},
	}
	if s.key == "" {
		s.key = DefaultSecretKey
	}
	var err error
	if strings.HasPrefix(cfg.Localstripe, "http://") || strings.HasPrefix(cfg.Localstripe, "https://") {
		s.ls, err = runningLocalstripe(ctx, cfg.Localstripe, s.key, s.hc)
	} else {
		s.ls, err = startLocalstripe(ctx, cfg.Localstripe, s.key, s.hc)
	}
	if err != nil {
		return nil, err
	}
	s.proxy = httputil.NewSingleHostReverseProxy(s.ls.url)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/checkout/sessions", s.createSession)
	mux.HandleFunc("GET /v1/checkout/sessions/{id}", s.getSession)
	mux.HandleFunc("/v1/", s.pass)
	mux.HandleFunc("GET /pay/{id}", s.page)
	mux.HandleFunc("POST /pay/{id}", s.payForm)
	mux.HandleFunc("POST /_localstripe/events", s.fromLocalstripe)
	s.srv = httptest.NewServer(mux)
	// localstripe sends its events to the stand-in, which passes them
	// on. A name of its own, so that servers sharing one localstripe
	// keep theirs.
	form := url.Values{"url": {s.srv.URL + "/_localstripe/events"}, "secret": {s.events}}
	if err := s.call(ctx, http.MethodPost, "/_config/webhooks/mutual-"+randomID(12), form, nil); err != nil {
		s.Close()
		return nil, fmt.Errorf("stripetest: register localstripe's webhook: %w", err)
	}
	return s, nil
}

// Start starts a Server for t with the localstripe of
// MUTUAL_TEST_LOCALSTRIPE, and closes it when t ends (showing
// localstripe's log if t failed). Without the variable, t skips; in CI
// it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	ls := os.Getenv(EnvLocalstripe)
	if ls == "" {
		const how = `(eval "$(scripts/localstripe.sh env)"); scripts/test.sh does`
		if os.Getenv("CI") != "" {
			t.Fatal("no localstripe in CI: set " + EnvLocalstripe + " " + how)
		}
		t.Skip("no localstripe: set " + EnvLocalstripe + " " + how)
	}
	s, err := New(t.Context(), Config{Localstripe: ls})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("localstripe's log (its end):\n%s", s.ls.log.String())
		}
		s.Close()
	})
	return s
}

// URL is the stand-in's URL: Stripe's API URL for a client.
func (s *Server) URL() string { return s.srv.URL }

// SecretKey is the secret key the server accepts.
func (s *Server) SecretKey() string { return s.key }

// Close stops the stand-in and the localstripe it started.
func (s *Server) Close() error {
	s.srv.Close()
	s.ls.stop()
	return nil
}

// RegisterWebhook makes url the webhook endpoint: every event from now
// on is posted to it, signed with secret.
func (s *Server) RegisterWebhook(url, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hookURL, s.hookSecret = url, secret
}

// Deliveries returns the webhooks sent so far, in order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.sent...)
}

// Session returns a Checkout Session by ID.
func (s *Server) Session(id string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return Session{}, false
	}
	c := *ss
	c.Metadata = maps.Clone(ss.Metadata)
	return c, true
}

// Sign makes a Stripe-Signature header for body signed at t with
// secret, as Stripe does: "t=UNIX,v1=hex(HMAC-SHA256(secret, t.body))".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// authorized checks a request's secret key, as Stripe does (Bearer, or
// Basic with the key as the user name), answering 401 when it is not
// the server's.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		key, _, _ = r.BasicAuth()
	}
	if hmac.Equal([]byte(key), []byte(s.key)) {
		return true
	}
	writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided.")
	return false
}

// pass sends a request on to localstripe.
func (s *Server) pass(w http.ResponseWriter, r *http.Request) {
	if s.authorized(w, r) {
		s.proxy.ServeHTTP(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(encodeJSON(v))
}

// writeError answers as Stripe does when it refuses a request.
func writeError(w http.ResponseWriter, status int, typ, param, msg string) {
	e := map[string]string{"type": typ, "message": msg}
	if param != "" {
		e["param"] = param
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// createSession serves POST /v1/checkout/sessions.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "Invalid request body.")
		return
	}
	f := r.PostForm
	ss := &Session{
		ID:                "cs_test_" + randomID(24),
		Mode:              f.Get("mode"),
		ClientReferenceID: f.Get("client_reference_id"),
		SuccessURL:        f.Get("success_url"),
		CancelURL:         f.Get("cancel_url"),
		Price:             f.Get("line_items[0][price]"),
		Currency:          f.Get("line_items[0][price_data][currency]"),
		Interval:          f.Get("line_items[0][price_data][recurring][interval]"),
		ProductName:       f.Get("line_items[0][price_data][product_data][name]"),
		Metadata:          map[string]string{},
		Status:            "open",
		Created:           time.Now(),
		Quantity:          1,
	}
	ss.URL = s.srv.URL + "/pay/" + ss.ID
	for k, v := range f {
		if name, ok := strings.CutPrefix(k, "subscription_data[metadata]["); ok && strings.HasSuffix(name, "]") && len(v) > 0 {
			ss.Metadata[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	bad := func(param, msg string) {
		writeError(w, http.StatusBadRequest, "invalid_request_error", param, msg)
	}
	var err error
	if a := f.Get("line_items[0][price_data][unit_amount]"); a != "" {
		if ss.UnitAmount, err = strconv.ParseInt(a, 10, 64); err != nil || ss.UnitAmount < 0 {
			bad("line_items[0][price_data][unit_amount]", "Invalid integer: "+a)
			return
		}
	}
	if q := f.Get("line_items[0][quantity]"); q != "" {
		if ss.Quantity, err = strconv.ParseInt(q, 10, 64); err != nil || ss.Quantity < 1 {
			bad("line_items[0][quantity]", "Invalid integer: "+q)
			return
		}
	}
	switch {
	case ss.Mode != "subscription":
		bad("mode", "This stand-in only makes sessions in subscription mode.")
	case ss.SuccessURL == "":
		bad("success_url", "Missing required param: success_url.")
	case len(ss.ClientReferenceID) > 200:
		bad("client_reference_id", "client_reference_id must be at most 200 characters.")
	case f.Get("line_items[1][price]") != "" || f.Get("line_items[1][price_data][currency]") != "":
		bad("line_items", "This stand-in takes one line item.")
	case ss.Price == "" && ss.Currency == "":
		bad("line_items[0]", "You must specify either `price` or `price_data` in each line item.")
	case ss.Price == "" && (ss.UnitAmount <= 0 || len(ss.Currency) != 3):
		bad("line_items[0][price_data]", "price_data needs a currency and a unit_amount.")
	case ss.Price == "" && ss.Interval == "":
		bad("line_items[0][price_data][recurring]", "You must specify a recurring price in subscription mode.")
	case ss.Price == "" && ss.ProductName == "" && f.Get("line_items[0][price_data][product]") == "":
		bad("line_items[0][price_data]", "You must specify either `product` or `product_data`.")
	default:
		s.mu.Lock()
		s.sessions[ss.ID] = ss
		obj := ss.object()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, obj)
	}
}

// getSession serves GET /v1/checkout/sessions/{id}.
func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	s.mu.Lock()
	ss, ok := s.sessions[r.PathValue("id")]
	var obj map[string]any
	if ok {
		obj = ss.object()
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "invalid_request_error", "id", "No such checkout.session")
		return
	}
	writeJSON(w, http.StatusOK, obj)
}

// object is the session as Stripe's API shows it.
func (ss *Session) object() map[string]any {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	paid := "unpaid"
	if ss.Status == "complete" {
		paid = "paid"
	}
	var ref any = ss.ClientReferenceID
	if ss.ClientReferenceID == "" {
		ref = nil
	}
	return map[string]any{
		"id":                  ss.ID,
		"object":              "checkout.session",
		"url":                 ss.URL,
		"mode":                ss.Mode,
		"status":              ss.Status,
		"payment_status":      paid,
		"client_reference_id": ref,
		"success_url":         ss.SuccessURL,
		"cancel_url":          null(ss.CancelURL),
		"currency":            null(ss.Currency),
		"amount_total":        ss.UnitAmount * ss.Quantity,
		"customer":            null(ss.Customer),
		"subscription":        null(ss.Subscription),
		"invoice":             null(ss.Invoice),
		"metadata":            map[string]string{},
		"created":             ss.Created.Unix(),
		"expires_at":          ss.Created.Add(24 * time.Hour).Unix(),
		"livemode":            false,
	}
}

// randomID is n random letters and digits.
func randomID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

var pageTmpl = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Pay {{.Session.ProductName}}</title></head>
<body>
<h1>{{.Session.ProductName}}</h1>
<p id="price">{{.Price}}</p>
{{if .Error}}<p id="error" role="alert">{{.Error}}</p>{{end}}
{{if eq .Session.Status "open"}}
<form method="post" action="/pay/{{.Session.ID}}">
<label>Card number <input id="card" name="card" inputmode="numeric" autocomplete="off" value="{{.Card}}"></label>
<button id="pay" type="submit">Pay</button>
</form>
{{if .Session.CancelURL}}<p><a id="cancel" href="{{.Session.CancelURL}}">Cancel</a></p>{{end}}
{{else}}<p id="done">This checkout is complete.</p>{{end}}
</body></html>
`))

// page serves the hosted page GET /pay/{id}.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	s.render(w, r.PathValue("id"), http.StatusOK, CardOK, "")
}

func (s *Server) render(w http.ResponseWriter, id string, status int, card, msg string) {
	ss, ok := s.Session(id)
	if !ok {
		http.NotFound(w, nil)
		return
	}
	price := ss.Price
	if ss.Price == "" {
		price = fmt.Sprintf("%s %d.%02d a %s", strings.ToUpper(ss.Currency), ss.UnitAmount/100, ss.UnitAmount%100, ss.Interval)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	pageTmpl.Execute(w, map[string]any{"Session": ss, "Price": price, "Card": card, "Error": msg})
}

// payForm serves the hosted page's Pay button, POST /pay/{id}.
func (s *Server) payForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	card := strings.ReplaceAll(r.PostFormValue("card"), " ", "")
	next, _, err := s.pay(r.Context(), r.PathValue("id"), card)
	switch {
	case errors.Is(err, ErrDeclined):
		s.render(w, r.PathValue("id"), http.StatusPaymentRequired, card, "Your card was declined.")
	case err != nil:
		s.render(w, r.PathValue("id"), http.StatusBadRequest, card, err.Error())
	default:
		http.Redirect(w, r, next, http.StatusSeeOther)
	}
}

// Pay pays the Checkout Session of sessionURL (its hosted page) with
// card, as the page's Pay button does, and returns where the page sends
// the person next (the session's success_url). A card refused at once
// or at the first charge gives ErrDeclined; the session stays open.
// checkout.session.completed is sent before Pay returns; the webhook's
// refusal is an error (the payment stands).
func (s *Server) Pay(ctx context.Context, sessionURL, card string) (string, error) {
	u, err := url.Parse(sessionURL)
	if err != nil {
		return "", fmt.Errorf("stripetest: session URL: %w", err)
	}
	id, ok := strings.CutPrefix(u.Path, "/pay/")
	if !ok {
		return "", fmt.Errorf("stripetest: %s is not a checkout page", sessionURL)
	}
	next, d, err := s.pay(ctx, id, card)
	if err != nil {
		return "", err
	}
	if d.Err != nil || d.Status/100 != 2 {
		return next, fmt.Errorf("stripetest: checkout.session.completed not taken: %d %v", d.Status, d.Err)
	}
	return next, nil
}

// pay creates in localstripe what Stripe's checkout creates, then
// completes the session and sends checkout.session.completed.
func (s *Server) pay(ctx context.Context, id, card string) (string, Delivery, error) {
	ss, ok := s.Session(id)
	switch {
	case !ok:
		return "", Delivery{}, fmt.Errorf("stripetest: no checkout session %s", id)
	case ss.Status != "open":
		return "", Delivery{}, fmt.Errorf("stripetest: checkout session %s is %s", id, ss.Status)
	case len(card) != 16:
		return "", Delivery{}, fmt.Errorf("stripetest: card number %q: 16 digits", card)
	}
	var pm, cus, plan, sub struct {
		ID            string `json:"id"`
		Status        string `json:"status"`
		LatestInvoice string `json:"latest_invoice"`
	}
	if err := s.call(ctx, http.MethodPost, "/v1/payment_methods", cardForm(card), &pm); err != nil {
		return "", Delivery{}, err
	}
	err := s.call(ctx, http.MethodPost, "/v1/customers", url.Values{
		"payment_method": {pm.ID},
		"invoice_settings[default_payment_method]": {pm.ID},
	}, &cus)
	if declined(err) {
		return "", Delivery{}, ErrDeclined
	}
	if err != nil {
		return "", Delivery{}, err
	}
	s.mu.Lock()
	s.customers[cus.ID] = true
	s.mu.Unlock()
	plan.ID = ss.Price
	if plan.ID == "" {
		err := s.call(ctx, http.MethodPost, "/v1/plans", url.Values{
			"amount":        {strconv.FormatInt(ss.UnitAmount, 10)},
			"currency":      {ss.Currency},
			"interval":      {ss.Interval},
			"product[name]": {ss.ProductName},
		}, &plan)
		if err != nil {
			return "", Delivery{}, err
		}
	}
	form := url.Values{
		"customer":           {cus.ID},
		"items[0][plan]":     {plan.ID},
		"items[0][quantity]": {strconv.FormatInt(ss.Quantity, 10)},
	}
	for k, v := range ss.Metadata {
		form.Set("metadata["+k+"]", v)
	}
	if err := s.call(ctx, http.MethodPost, "/v1/subscriptions", form, &sub); err != nil {
		return "", Delivery{}, err
	}
	s.mu.Lock()
	s.metadata[sub.ID] = ss.Metadata
	s.mu.Unlock()
	if sub.Status != "active" {
		// The first invoice's charge failed: Stripe's page says so, and
		// the person may try another card.
		return "", Delivery{}, ErrDeclined
	}
	s.mu.Lock()
	cur := s.sessions[id]
	cur.Status, cur.Customer, cur.Subscription, cur.Invoice = "complete", cus.ID, sub.ID, sub.LatestInvoice
	obj := cur.object()
	s.mu.Unlock()
	d := s.send(ctx, "checkout.session.completed", obj)
	return strings.ReplaceAll(ss.SuccessURL, "{CHECKOUT_SESSION_ID}", id), d, nil
}

func cardForm(card string) url.Values {
	return url.Values{
		"type":            {"card"},
		"card[number]":    {card},
		"card[exp_month]": {"12"},
		"card[exp_year]":  {strconv.Itoa(time.Now().Year() + 5)},
		"card[cvc]":       {"123"},
	}
}

// SetCard makes card the customer's card for their next payments.
func (s *Server) SetCard(ctx context.Context, customer, card string) error {
	var pm struct {
		ID string `json:"id"`
	}
	if err := s.call(ctx, http.MethodPost, "/v1/payment_methods", cardForm(card), &pm); err != nil {
		return err
	}
	err := s.call(ctx, http.MethodPost, "/v1/payment_methods/"+pm.ID+"/attach", url.Values{"customer": {customer}}, nil)
	if declined(err) {
		return ErrDeclined
	}
	if err != nil {
		return err
	}
	return s.call(ctx, http.MethodPost, "/v1/customers/"+customer, url.Values{
		"invoice_settings[default_payment_method]": {pm.ID},
	}, nil)
}

// ChargeNow bills the customer's subscription for its next period now,
// as Stripe does at a renewal, and reports whether the charge went
// through. localstripe sends invoice.payment_succeeded when it does;
// when it is declined, the stand-in sends invoice.payment_failed (which
// localstripe does not) before ChargeNow returns.
func (s *Server) ChargeNow(ctx context.Context, customer string) (invoice string, paid bool, err error) {
	var subs struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := s.call(ctx, http.MethodGet, "/v1/subscriptions?customer="+url.QueryEscape(customer), nil, &subs); err != nil {
		return "", false, err
	}
	if len(subs.Data) == 0 {
		return "", false, fmt.Errorf("stripetest: customer %s has no subscription", customer)
	}
	var in struct {
		ID string `json:"id"`
	}
	form := url.Values{"customer": {customer}, "subscription": {subs.Data[0].ID}}
	if err := s.call(ctx, http.MethodPost, "/v1/invoices", form, &in); err != nil {
		return "", false, err
	}
	var after map[string]any
	if err := s.call(ctx, http.MethodPost, "/v1/invoices/"+in.ID+"/pay", url.Values{}, &after); err != nil {
		return "", false, err
	}
	if after["status"] == "paid" {
		return in.ID, true, nil
	}
	s.enrich(after)
	s.send(ctx, "invoice.payment_failed", after)
	return in.ID, false, nil
}

// FailPayment makes the customer's card one that is declined and bills
// their subscription now: the renewal fails, and invoice.payment_failed
// is sent before FailPayment returns.
func (s *Server) FailPayment(ctx context.Context, customer string) (invoice string, err error) {
	if err := s.SetCard(ctx, customer, CardFailsLater); err != nil {
		return "", err
	}
	invoice, paid, err := s.ChargeNow(ctx, customer)
	if err == nil && paid {
		err = fmt.Errorf("stripetest: invoice %s was paid with a card that fails", invoice)
	}
	return invoice, err
}

// Cancel cancels a subscription now, as the member or the co-op may at
// Stripe; localstripe sends customer.subscription.deleted.
func (s *Server) Cancel(ctx context.Context, subscription string) error {
	return s.call(ctx, http.MethodDelete, "/v1/subscriptions/"+subscription, nil, nil)
}

// fromLocalstripe receives localstripe's events, checks localstripe's
// signature, and passes those about this server's customers on to the
// webhook.
func (s *Server) fromLocalstripe(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if !s.signedByLocalstripe(r.Header.Get("Stripe-Signature"), body) {
		http.Error(w, "bad signature", http.StatusBadRequest)
		return
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object map[string]any `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.Object == nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	obj := ev.Data.Object
	cus, _ := obj["customer"].(string)
	if obj["object"] == "customer" {
		cus, _ = obj["id"].(string)
	}
	s.mu.Lock()
	ours := s.customers[cus]
	s.mu.Unlock()
	if !ours {
		w.WriteHeader(http.StatusOK)
		return
	}
	if obj["object"] == "invoice" {
		s.enrich(obj)
	}
	d := s.send(r.Context(), ev.Type, obj)
	if d.Err != nil {
		http.Error(w, d.Err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(d.Status)
}

// signedByLocalstripe checks the signature localstripe puts on the
// events it sends the stand-in.
func (s *Server) signedByLocalstripe(header string, body []byte) bool {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	got, err := hex.DecodeString(sig)
	if err != nil || ts == "" {
		return false
	}
	mac := hmac.New(sha256.New, []byte(s.events))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// enrich adds to an invoice of localstripe what Stripe's carry: its
// subscription's metadata under parent.subscription_details.
func (s *Server) enrich(in map[string]any) {
	sub, _ := in["subscription"].(string)
	if sub == "" {
		return
	}
	s.mu.Lock()
	md := s.metadata[sub]
	s.mu.Unlock()
	in["parent"] = map[string]any{
		"type": "subscription_details",
		"subscription_details": map[string]any{
			"subscription": sub,
			"metadata":     md,
		},
	}
}

// send posts an event of typ about obj to the webhook, signed, and
// records it.
func (s *Server) send(ctx context.Context, typ string, obj map[string]any) Delivery {
	now := time.Now()
	d := Delivery{EventID: "evt_" + randomID(24), Type: typ}
	d.Body = encodeJSON(map[string]any{
		"id":               d.EventID,
		"object":           "event",
		"api_version":      "2025-08-27.basil",
		"created":          now.Unix(),
		"livemode":         false,
		"pending_webhooks": 1,
		"type":             typ,
		"data":             map[string]any{"object": obj},
	})
	s.mu.Lock()
	hook, secret := s.hookURL, s.hookSecret
	s.mu.Unlock()
	if hook == "" {
		d.Err = errors.New("no webhook registered")
		return d
	}
	d.Header = http.Header{}
	d.Header.Set("Content-Type", "application/json; charset=utf-8")
	d.Header.Set("Stripe-Signature", Sign(secret, now, d.Body))
	d.Status, d.Err = s.post(ctx, hook, d.Header, d.Body)
	s.mu.Lock()
	s.sent = append(s.sent, d)
	s.mu.Unlock()
	return d
}

// post sends a webhook and returns its answer's status.
func (s *Server) post(ctx context.Context, hook string, h http.Header, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header = h.Clone()
	resp, err := s.hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
