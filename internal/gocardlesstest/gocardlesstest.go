// Package gocardlesstest runs a stand-in for GoCardless's API on
// 127.0.0.1, for tests of the co-op's GoCardless provider and of the
// relay end to end. It keeps its resources in memory and serves only
// what Mutual uses: billing requests (create, get), billing request
// flows (create), the hosted flow page, subscriptions (create, get, the
// cancel action), mandates (get, the cancel action) and payments (get).
//
// It checks what GoCardless checks that a client could get wrong: the
// Authorization: Bearer access token, the GoCardless-Version header,
// bodies wrapped in the resource's name, the fields, and an
// Idempotency-Key on every create (the stand-in demands one); a key used
// before answers 409 idempotent_creation_conflict naming the resource it
// created, as GoCardless does.
//
// A flow's authorisation_url is the stand-in's page GET /flow/{id}, with
// a "Confirm" button: confirming fulfils the billing request, creates the
// customer and an active mandate, sends the webhook of those events and
// redirects to the flow's redirect_uri. Creating or cancelling a
// subscription through the API sends its event after answering, as
// GoCardless does. PaymentConfirmed, PaymentFailed and
// CancelSubscription act for the payer's bank and GoCardless. Webhooks
// go to Options.WebhookURL (or SetWebhookURL's) in order, one at a time,
// as GoCardless sends them: {"events": [...]} signed with the
// Webhook-Signature header (hex HMAC-SHA256 of the body under the
// webhook secret). Between Hold and SendBatch, events are kept and then
// sent together, up to 250 in one webhook.
//
// New starts a server, which serves until Close; Start wraps it for
// tests. It takes any TB so that the package does not link the testing
// package into programs.
package gocardlesstest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Version is the GoCardless-Version the stand-in accepts.
const Version = "2015-07-06"

// MaxBatch is the most events GoCardless sends in one webhook.
const MaxBatch = 250

// Options configure a Server.
type Options struct {
	AccessToken   string // required: the Bearer token the API accepts
	WebhookSecret string // required: the secret webhooks are signed with
	// WebhookURL is where webhooks go; SetWebhookURL sets it later.
	WebhookURL string
	// Now is the stand-in's clock (events' times, charge dates);
	// time.Now.
	Now func() time.Time
	// NoResourceMetadata leaves resource_metadata out of events, as
	// GoCardless did before it added it: the reader must look the
	// resource up.
	NoResourceMetadata bool
}

// Server is a running stand-in. Its methods are safe for concurrent use.
type Server struct {
	// URL is the API's base URL, http://127.0.0.1:port.
	URL string

	opts   Options
	srv    *httptest.Server
	client *http.Client // sends webhooks

	mu         sync.Mutex
	webhookURL string
	state      *state
	held       []event
	holding    bool
	queue      []*batch
	deliveries []Delivery

	wake     chan struct{}
	stop     chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	loopDone chan struct{}
	once     sync.Once
}

// Delivery is one webhook call the stand-in made: the body and the
// signature it sent, and the status it got back (0 when the call
// failed: Err).
type Delivery struct {
	Body      []byte
	Signature string
	Status    int
	Err       error
}

// batch is one webhook to send; done, when set, receives its outcome.
type batch struct {
	events []event
	done   chan error
}

// New starts a stand-in on 127.0.0.1 at a free port.
func New(opts Options) (*Server, error) {
	if opts.AccessToken == "" || opts.WebhookSecret == "" {
		return nil, errors.New("gocardlesstest: an access token and a webhook secret are required")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:       opts,
		client:     &http.Client{Timeout: time.Minute},
		webhookURL: opts.WebhookURL,
		state:      newState(opts.Now, !opts.NoResourceMetadata),
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		ctx:        ctx,
		cancel:     cancel,
		loopDone:   make(chan struct{}),
	}
	s.srv = httptest.NewUnstartedServer(s.routes())
	s.URL = "http://" + s.srv.Listener.Addr().String()
	s.srv.Start()
	go s.deliverLoop()
	return s, nil
}

// TB is the part of testing.TB that Start uses.
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// Start starts a stand-in for a test and closes it when the test ends.
func Start(tb TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatal(err)
		return nil // for a TB whose Fatal returns
	}
	tb.Cleanup(s.Close)
	return s
}

// Close stops the server and its webhooks; a webhook being sent is cut
// short, and those waiting fail.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.stop)
		s.cancel()
		<-s.loopDone
		s.srv.Close()
	})
}

// SetWebhookURL sets where webhooks go (the relay's
// /v1/coop/webhooks/gocardless, once it listens).
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = u
}

// Sign returns the Webhook-Signature of body under the webhook secret.
func (s *Server) Sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(s.opts.WebhookSecret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Hold keeps the events of what follows, instead of sending each
// action's events at once, until SendBatch.
func (s *Server) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holding = true
}

// SendBatch sends the events kept since Hold in one webhook (several
// when there are more than MaxBatch), waits until they were answered,
// and stops holding.
func (s *Server) SendBatch() error {
	s.mu.Lock()
	evs := s.held
	s.held, s.holding = nil, false
	s.mu.Unlock()
	var errs []error
	for len(evs) > 0 {
		n := min(len(evs), MaxBatch)
		errs = append(errs, s.send(evs[:n]))
		evs = evs[n:]
	}
	return errors.Join(errs...)
}

// Deliveries returns the webhook calls made so far, oldest first.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Delivery, len(s.deliveries))
	copy(out, s.deliveries)
	return out
}

// Post sends body with signature to the webhook URL as one webhook call
// (a replay, a forgery), records it, and returns the status it got.
func (s *Server) Post(body []byte, signature string) (int, error) {
	s.mu.Lock()
	u := s.webhookURL
	s.mu.Unlock()
	d := s.post(u, body, signature)
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
	return d.Status, d.Err
}

// Replay sends d's body and signature again.
func (s *Server) Replay(d Delivery) (int, error) { return s.Post(d.Body, d.Signature) }

// emit sends evs as one webhook, or keeps them while holding. When wait,
// it returns once the webhook was answered, with its outcome.
func (s *Server) emit(evs []event, wait bool) error {
	if len(evs) == 0 {
		return nil
	}
	s.mu.Lock()
	if s.holding {
		s.held = append(s.held, evs...)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	if !wait {
		s.enqueue(&batch{events: evs})
		return nil
	}
	return s.send(evs)
}

// send queues evs as one webhook and waits for its outcome.
func (s *Server) send(evs []event) error {
	b := &batch{events: evs, done: make(chan error, 1)}
	s.enqueue(b)
	select {
	case err := <-b.done:
		return err
	case <-s.stop:
		return errors.New("gocardlesstest: closed")
	}
}

func (s *Server) enqueue(b *batch) {
	s.mu.Lock()
	s.queue = append(s.queue, b)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// deliverLoop sends the queued webhooks one at a time, in order, until
// Close.
func (s *Server) deliverLoop() {
	defer close(s.loopDone)
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				return
			}
		}
		b := s.queue[0]
		s.queue = s.queue[1:]
		u := s.webhookURL
		s.mu.Unlock()

		body := encodeEvents(b.events)
		d := s.post(u, body, s.Sign(body))
		s.mu.Lock()
		s.deliveries = append(s.deliveries, d)
		s.mu.Unlock()
		err := d.Err
		if err == nil && (d.Status < 200 || d.Status > 299) {
			err = fmt.Errorf("gocardlesstest: webhook answered %d", d.Status)
		}
		if b.done != nil {
			b.done <- err
		}
	}
}

// post makes one webhook call as GoCardless does.
func (s *Server) post(u string, body []byte, signature string) Delivery {
	d := Delivery{Body: body, Signature: signature}
	if u == "" {
		d.Err = errors.New("gocardlesstest: no webhook URL")
		return d
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		d.Err = fmt.Errorf("gocardlesstest: webhook: %w", err)
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gocardless-webhook-service/1.1")
	req.Header.Set("Webhook-Signature", signature)
	resp, err := s.client.Do(req)
	if err != nil {
		d.Err = fmt.Errorf("gocardlesstest: webhook: %w", err)
		return d
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d.Status = resp.StatusCode
	return d
}

// Confirm does what the payer does on the flow page at flowURL (an
// authorisation_url): opens it, and presses "Confirm". It returns once
// the webhook of the flow's events was answered (or kept, while
// holding), and fails unless the page redirects to the flow's
// redirect_uri.
func (s *Server) Confirm(flowURL string) error {
	u, err := url.Parse(flowURL)
	if err != nil || !strings.HasPrefix(flowURL, s.URL+"/flow/") {
		return fmt.Errorf("gocardlesstest: %q is not a flow of this server", flowURL)
	}
	noRedirect := &http.Client{
		Timeout:       time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := noRedirect.Get(u.String())
	if err != nil {
		return fmt.Errorf("gocardlesstest: flow page: %w", err)
	}
	page, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(page, []byte(">Confirm<")) {
		return fmt.Errorf("gocardlesstest: flow page answered %d", resp.StatusCode)
	}
	resp, err = noRedirect.PostForm(u.String(), url.Values{})
	if err != nil {
		return fmt.Errorf("gocardlesstest: confirm: %w", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") == "" {
		return fmt.Errorf("gocardlesstest: confirm answered %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// PaymentConfirmed charges subscription's next payment and has it
// confirmed: the events payments created and confirmed, in one webhook,
// sent before it returns. It returns the payment's ID.
func (s *Server) PaymentConfirmed(subscription string) (string, error) {
	return s.charge(subscription, "confirmed")
}

// PaymentFailed charges subscription's next payment and has it fail
// (insufficient funds): the events payments created and failed.
func (s *Server) PaymentFailed(subscription string) (string, error) {
	return s.charge(subscription, "failed")
}

func (s *Server) charge(subscription, outcome string) (string, error) {
	s.mu.Lock()
	pm, evs, err := s.state.charge(subscription, outcome)
	s.mu.Unlock()
	if err != nil {
		return "", err
	}
	return pm, s.emit(evs, true)
}

// CancelSubscription cancels subscription as the payer's bank or
// GoCardless's dashboard would: the event subscriptions cancelled, sent
// before it returns.
func (s *Server) CancelSubscription(id string) error {
	s.mu.Lock()
	evs, err := s.state.cancelSubscription(id, "bank")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.emit(evs, true)
}

// Status returns the status of the resource of ID id (a billing
// request, mandate, subscription or payment), or "" when there is none.
func (s *Server) Status(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.status(id)
}

// Count returns how many resources of a kind ("billing_requests",
// "billing_request_flows", "customers", "mandates", "subscriptions",
// "payments") exist.
func (s *Server) Count(resource string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.count(resource)
}

// Subscription is what a test may want to see of a subscription.
type Subscription struct {
	ID           string
	Status       string
	Amount       int64
	Currency     string
	IntervalUnit string
	Mandate      string
	Metadata     map[string]string
}

// Subscriptions returns the subscriptions, oldest first.
func (s *Server) Subscriptions() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Subscription
	for _, id := range s.state.order["subscriptions"] {
		sub := s.state.subscriptions[id]
		meta := make(map[string]string, len(sub.Metadata))
		for k, v := range sub.Metadata {
			meta[k] = v
		}
		out = append(out, Subscription{
			ID: sub.ID, Status: sub.Status, Amount: sub.Amount, Currency: sub.Currency,
			IntervalUnit: sub.IntervalUnit, Mandate: sub.Links.Mandate, Metadata: meta,
		})
	}
	return out
}
