package coop_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/wire"
)

// start is the tests' time: the co-op's clock starts here.
var start = time.Date(2026, time.March, 10, 12, 0, 0, 0, time.UTC)

// clock is a clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// fakeProvider is a payment provider that records what the service asks
// of it. Its webhooks are a JSON list of coop.Event, signed by a header
// "Signature: good".
type fakeProvider struct {
	mu         sync.Mutex
	checkouts  []string // references
	returnURLs []string
	activated  []string // references
	canceled   []string // subscriptions
	fail       error    // returned by Checkout, Activate and Cancel when set
}

func (p *fakeProvider) Name() coop.ProviderName { return coop.Stripe }

func (p *fakeProvider) Checkout(ctx context.Context, ref string, plan coop.Plan, returnURL, cancelURL string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return "", p.fail
	}
	p.checkouts = append(p.checkouts, ref)
	p.returnURLs = append(p.returnURLs, returnURL, cancelURL)
	return "https://pay.example/" + ref, nil
}

func (p *fakeProvider) Activate(ctx context.Context, m coop.Membership, plan coop.Plan) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return "", p.fail
	}
	p.activated = append(p.activated, m.Reference)
	return m.Subscription, nil
}

func (p *fakeProvider) Cancel(ctx context.Context, m coop.Membership) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.canceled = append(p.canceled, m.Subscription)
	return nil
}

func (p *fakeProvider) Events(h http.Header, body []byte, now time.Time) ([]coop.Event, error) {
	if h.Get("Signature") != "good" {
		return nil, coop.ErrBadSignature
	}
	var evs []coop.Event
	if err := json.Unmarshal(body, &evs); err != nil {
		return nil, fmt.Errorf("fake webhook: %w", err)
	}
	return evs, nil
}

func (p *fakeProvider) BadSignatureStatus() int { return http.StatusBadRequest }

func (p *fakeProvider) calls() (checkouts, activated, canceled []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.checkouts...), append([]string(nil), p.activated...), append([]string(nil), p.canceled...)
}

// recBus records what is appended.
type recBus struct {
	mu   sync.Mutex
	msgs []bus.Message
}

func (b *recBus) Append(ctx context.Context, msgs ...bus.Message) error {
	b.mu.Lock()
	b.msgs = append(b.msgs, msgs...)
	b.mu.Unlock()
	return nil
}

// accounts finds test accounts by address.
type accounts map[string]wire.UserID

func (a accounts) Lookup(ctx context.Context, addr string) (wire.UserID, error) {
	if u, ok := a[addr]; ok {
		return u, nil
	}
	return wire.UserID{}, fmt.Errorf("account: %w", coop.ErrNotFound)
}

// notice is a notice found on a user's inbox.
type notice struct {
	user wire.UserID
	n    *wire.CoopNotice
}

// directory is what the tests need of the directory: the co-op's store
// and accounts.
type directory interface {
	coop.Store
	CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (wire.UserID, bool, error)
}

// openDirectory opens a SQLite directory in a temporary directory.
func openDirectory(t *testing.T, now func() time.Time) directory {
	t.Helper()
	dir, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "directory.db"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	return dir
}

// harness is a Service over a real SQLite directory, a fake provider
// and a recording bus, with its webhook and public handlers served.
type harness struct {
	t     *testing.T
	ctx   context.Context
	dir   directory
	svc   *coop.Service
	prov  *fakeProvider
	bus   *recBus
	clock *clock
	accts accounts
	web   *httptest.Server
	// noteActive counts the service's calls of Store.NoteActive.
	noteActive atomic.Int64
	// metrics counts the service's metrics: "webhook applied",
	// "checkout true", "notice 1".
	metricsMu sync.Mutex
	metrics   map[string]int
}

// metric counts one of the service's metrics.
func (h *harness) metric(name string, v any) {
	h.metricsMu.Lock()
	h.metrics[fmt.Sprint(name, " ", v)]++
	h.metricsMu.Unlock()
}

// wantMetrics checks the counts of metrics so far.
func (h *harness) wantMetrics(want map[string]int) {
	h.t.Helper()
	h.metricsMu.Lock()
	defer h.metricsMu.Unlock()
	for k, v := range want {
		if h.metrics[k] != v {
			h.t.Errorf("metric %q: %d, want %d (all: %v)", k, h.metrics[k], v, h.metrics)
		}
	}
}

// countingStore counts the calls of NoteActive.
type countingStore struct {
	coop.Store
	noteActive *atomic.Int64
}

func (s *countingStore) NoteActive(ctx context.Context, user wire.UserID, month string) (bool, error) {
	s.noteActive.Add(1)
	return s.Store.NoteActive(ctx, user, month)
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := t.Context()
	h := &harness{t: t, ctx: ctx, prov: &fakeProvider{}, bus: &recBus{}, clock: &clock{now: start}, accts: accounts{}, metrics: map[string]int{}}
	h.dir = openDirectory(t, h.clock.Now)
	var err error
	h.svc, err = coop.New(ctx, &countingStore{Store: h.dir, noteActive: &h.noteActive}, h.bus, coop.Config{
		Name:      "Mutual Test Co-op",
		Currency:  "GBP",
		Plans:     []coop.Plan{{Name: "monthly", Amount: 1000, Currency: "GBP", Interval: "month"}},
		Providers: []coop.Provider{h.prov},
		PublicURL: "https://mutual.example/",
		Grace:     14 * 24 * time.Hour,
		Accounts:  h.accts,
		Now:       h.clock.Now,
		Metrics: coop.Metrics{
			Webhook:  func(p coop.ProviderName, outcome string) { h.metric("webhook", outcome) },
			Notice:   func(k wire.CoopNoticeKind) { h.metric("notice", uint32(k)) },
			Checkout: func(p coop.ProviderName, ok bool) { h.metric("checkout", ok) },
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("POST /v1/coop/webhooks/stripe", h.svc.Webhook(coop.Stripe))
	mux.Handle("/", h.svc.PublicHandler())
	h.web = httptest.NewServer(mux)
	t.Cleanup(h.web.Close)
	return h
}

// user makes an account with address addr.
func (h *harness) user(addr string) wire.UserID {
	h.t.Helper()
	hash := sha256.Sum256([]byte(addr))
	u, _, err := h.dir.CreateAccount(h.ctx, hash[:], wire.NewUserID())
	if err != nil {
		h.t.Fatal(err)
	}
	h.accts[addr] = u
	return u
}

// operator makes an account that holds the operator role.
func (h *harness) operator(addr string) wire.UserID {
	h.t.Helper()
	u := h.user(addr)
	if err := h.dir.SetRole(h.ctx, coop.RoleGrant{User: u, Role: wire.RoleOperator, Granted: start}, true); err != nil {
		h.t.Fatal(err)
	}
	return u
}

// do sends a Coop frame for user.
func (h *harness) do(user wire.UserID, req wire.Coop) (wire.Body, error) {
	return h.svc.Handle(h.ctx, user, &req)
}

// join starts user's membership and returns its reference.
func (h *harness) join(user wire.UserID) string {
	h.t.Helper()
	body, err := h.do(user, wire.Coop{Op: wire.CoopJoin, Provider: "stripe", Plan: "monthly"})
	if err != nil {
		h.t.Fatalf("join: %v", err)
	}
	co, ok := body.(*wire.CoopCheckout)
	if !ok {
		h.t.Fatalf("join answered %T", body)
	}
	ref := strings.TrimPrefix(co.URL, "https://pay.example/")
	if len(ref) != 28 || !strings.HasPrefix(ref, "m_") {
		h.t.Fatalf("reference %q: want m_ and 26 characters", ref)
	}
	return ref
}

// post sends a webhook of evs (signed unless bad) and returns its status.
func (h *harness) post(sig string, evs ...coop.Event) int {
	h.t.Helper()
	body, err := json.Marshal(evs)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.postBody(sig, body)
}

func (h *harness) postBody(sig string, body []byte) int {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, h.web.URL+"/v1/coop/webhooks/stripe", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// webhook posts evs, signed, and wants 200.
func (h *harness) webhook(evs ...coop.Event) {
	h.t.Helper()
	if code := h.post("good", evs...); code != http.StatusOK {
		h.t.Fatalf("webhook answered %d", code)
	}
}

// membership returns user's membership.
func (h *harness) membership(user wire.UserID) coop.Membership {
	h.t.Helper()
	m, err := h.dir.Membership(h.ctx, user)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// wantStatus checks user's membership status, in the store and in Info.
func (h *harness) wantStatus(user wire.UserID, want wire.MemberStatus) coop.Membership {
	h.t.Helper()
	m := h.membership(user)
	if m.Status != want {
		h.t.Fatalf("status %v, want %v", m.Status, want)
	}
	info, err := h.svc.Info(h.ctx, user)
	if err != nil {
		h.t.Fatal(err)
	}
	if info.Membership.Status != want {
		h.t.Fatalf("Info's status %v, want %v", info.Membership.Status, want)
	}
	member := false
	for _, r := range info.Roles {
		member = member || r == wire.RoleMember
	}
	if member != want.Paying() {
		h.t.Fatalf("Info's roles %v with status %v", info.Roles, want)
	}
	return m
}

// notices decodes every notice the bus got, checking each parcel and
// its signature.
func (h *harness) notices() []notice {
	h.t.Helper()
	h.bus.mu.Lock()
	defer h.bus.mu.Unlock()
	var out []notice
	for _, msg := range h.bus.msgs {
		user, err := wire.ParseUserID(strings.TrimPrefix(msg.Topic, "u."))
		if err != nil || bus.InboxTopic(user) != msg.Topic {
			h.t.Fatalf("notice on topic %q", msg.Topic)
		}
		p, err := bus.DecodeParcel(msg.Value)
		if err != nil {
			h.t.Fatal(err)
		}
		if p.Kind != wire.KindCoop || p.Conversation != wire.CoopConversation || !p.Sender.IsZero() {
			h.t.Fatalf("parcel kind %v conversation %x sender %v", p.Kind, p.Conversation, p.Sender)
		}
		body, sig, err := wire.DecodeSignedCoopNotice(p.Shared)
		if err != nil {
			h.t.Fatal(err)
		}
		if !ed25519.Verify(h.svc.Key(), wire.CoopSignedMessage(user, body), sig) {
			h.t.Fatal("a notice's signature does not verify")
		}
		n, err := wire.DecodeCoopNotice(body)
		if err != nil {
			h.t.Fatal(err)
		}
		if n.ID != p.MessageID {
			h.t.Fatal("parcel and notice IDs differ")
		}
		out = append(out, notice{user: user, n: n})
	}
	return out
}

// distinct is the notices as clients hold them: one per ID.
func distinct(ns []notice) []notice {
	seen := map[wire.MessageID]bool{}
	var out []notice
	for _, n := range ns {
		if !seen[n.n.ID] {
			seen[n.n.ID] = true
			out = append(out, n)
		}
	}
	return out
}

// month returns the figures of the month of t.
func (h *harness) month(t time.Time) wire.CoopMonth {
	h.t.Helper()
	months, err := h.svc.Figures(h.ctx, 12)
	if err != nil {
		h.t.Fatal(err)
	}
	want := t.UTC().Format("2006-01")
	for _, m := range months {
		if m.Month == want {
			return m
		}
	}
	h.t.Fatalf("no figures for %s", want)
	return wire.CoopMonth{}
}

func TestMembershipLifecycle(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	for _, u := range []wire.UserID{alice, h.user("bob@example.org"), h.user("carol@example.org")} {
		h.svc.Connected(h.ctx, u)
	}

	ref := h.join(alice)
	m := h.wantStatus(alice, wire.MemberPending)
	if m.Reference != ref || m.Plan != "monthly" || m.Amount != 1000 || m.Currency != "GBP" {
		t.Fatalf("pending membership %+v", m)
	}
	if _, err := h.do(alice, wire.Coop{Op: wire.CoopJoin, Provider: "stripe", Plan: "monthly"}); err != nil {
		t.Fatalf("joining again while pending: %v", err)
	}
	ref = h.membership(alice).Reference
	checkouts, _, _ := h.prov.calls()
	if len(checkouts) != 2 || checkouts[0] == checkouts[1] || checkouts[1] != ref {
		t.Fatalf("checkouts %v: want two with new references", checkouts)
	}
	if got := h.prov.returnURLs[:2]; got[0] != "https://mutual.example/co-op?checkout=done" || got[1] != "https://mutual.example/co-op?checkout=cancel" {
		t.Fatalf("return URLs %v", got)
	}

	at := start.Add(time.Minute)
	h.webhook(coop.Event{ID: "evt_1", Created: at, Type: coop.EventCheckoutCompleted, Reference: ref, Customer: "cus_1", Subscription: "sub_1"})
	m = h.wantStatus(alice, wire.MemberPending)
	if m.Customer != "cus_1" || m.Subscription != "sub_1" {
		t.Fatalf("checkout not linked: %+v", m)
	}
	if _, activated, _ := h.prov.calls(); len(activated) != 1 || activated[0] != ref {
		t.Fatalf("activated %v", activated)
	}

	h.webhook(coop.Event{ID: "evt_2", Created: at, Type: coop.EventSubscriptionActive, Subscription: "sub_1"})
	h.wantStatus(alice, wire.MemberActive)

	paidThrough := at.AddDate(0, 1, 0)
	h.webhook(coop.Event{ID: "evt_3", Created: at, Type: coop.EventPaymentSucceeded, Subscription: "sub_1", Payment: "in_1", Amount: 1000, Currency: "GBP", PeriodEnd: paidThrough})
	m = h.wantStatus(alice, wire.MemberActive)
	if !m.PaidThrough.Equal(paidThrough) {
		t.Fatalf("paid through %v, want %v", m.PaidThrough, paidThrough)
	}
	fig := h.month(at)
	if fig.Dues != 1000 || fig.Members != 1 || fig.ActiveUsers != 3 {
		t.Fatalf("figures %+v: want dues 1000, 1 member, 3 active users", fig)
	}
	ns := h.notices()
	if len(ns) != 1 || ns[0].user != alice || ns[0].n.Kind != wire.NoticeDues {
		t.Fatalf("notices %+v: want one dues notice to alice", ns)
	}
	dues := ns[0].n
	if dues.Amount != 1000 || dues.Currency != "GBP" || dues.Supports != fig.UsersPerMember() || dues.Supports != 3 ||
		dues.CostPerUser != fig.CostPerUser() || dues.Month != "2026-03" || dues.ID != coop.NoticeID(wire.NoticeDues, alice, "in_1") {
		t.Fatalf("dues notice %+v", dues)
	}
	if want := "Your £10.00 this month supports about 3 people on Mutual."; dues.Text != want {
		t.Fatalf("dues notice text %q, want %q", dues.Text, want)
	}

	failed := at.Add(30 * 24 * time.Hour)
	h.clock.Set(failed)
	h.webhook(coop.Event{ID: "evt_4", Created: failed, Type: coop.EventPaymentFailed, Subscription: "sub_1"})
	m = h.wantStatus(alice, wire.MemberGrace)
	graceUntil := failed.Add(14 * 24 * time.Hour)
	if !m.GraceUntil.Equal(graceUntil) {
		t.Fatalf("grace until %v, want %v", m.GraceUntil, graceUntil)
	}
	ns = h.notices()
	if last := ns[len(ns)-1].n; len(ns) != 2 || last.Kind != wire.NoticeMembership || last.Status != wire.MemberGrace || !strings.Contains(last.Text, "until 23 April 2026") {
		t.Fatalf("notices %d, last %+v: want a grace notice", len(ns), last)
	}

	if n, err := h.svc.SweepGrace(h.ctx, graceUntil.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("sweep within grace: %d, %v", n, err)
	}
	h.wantStatus(alice, wire.MemberGrace)
	after := graceUntil.Add(time.Minute)
	h.clock.Set(after)
	if n, err := h.svc.SweepGrace(h.ctx, after); err != nil || n != 1 {
		t.Fatalf("sweep after grace: %d, %v", n, err)
	}
	h.wantStatus(alice, wire.MemberLapsed)
	if n, err := h.svc.SweepGrace(h.ctx, after); err != nil || n != 0 {
		t.Fatalf("second sweep: %d, %v", n, err)
	}
	ns = h.notices()
	if last := ns[len(ns)-1].n; len(ns) != 3 || last.Kind != wire.NoticeMembership || last.Status != wire.MemberLapsed {
		t.Fatalf("notices %d, last %+v: want a lapsed notice", len(ns), last)
	}
	if fig := h.month(after); fig.Members != 0 {
		t.Fatalf("members %d after the lapse", fig.Members)
	}

	paid := after.Add(time.Hour)
	h.clock.Set(paid)
	h.webhook(coop.Event{ID: "evt_5", Created: paid, Type: coop.EventPaymentSucceeded, Subscription: "sub_1", Payment: "in_2", Amount: 1000, Currency: "GBP", PeriodEnd: paid.AddDate(0, 1, 0)})
	m = h.wantStatus(alice, wire.MemberActive)
	if !m.GraceUntil.IsZero() {
		t.Fatalf("grace until %v after a payment", m.GraceUntil)
	}
	ns = h.notices()
	if len(ns) != 5 {
		t.Fatalf("%d notices: want an active-again and a dues notice more", len(ns))
	}
	kinds := map[wire.CoopNoticeKind]*wire.CoopNotice{ns[3].n.Kind: ns[3].n, ns[4].n.Kind: ns[4].n}
	if n := kinds[wire.NoticeMembership]; n == nil || n.Status != wire.MemberActive {
		t.Fatalf("no active-again notice: %+v", kinds)
	}
	if n := kinds[wire.NoticeDues]; n == nil || n.Amount != 1000 {
		t.Fatalf("no dues notice: %+v", kinds)
	}
	if fig := h.month(paid); fig.Members != 1 || fig.Dues != 1000 {
		t.Fatalf("figures %+v: want 1 member and the new month's dues", fig)
	}
	if len(distinct(ns)) != len(ns) {
		t.Fatal("two notices share an ID")
	}
}

func TestJoinRefusals(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	for _, tc := range []struct {
		name     string
		provider string
		plan     string
		want     error
	}{
		{"unknown provider", "gocardless", "monthly", coop.ErrNotFound},
		{"unknown plan", "stripe", "weekly", coop.ErrNotFound},
		{"unprintable plan", "stripe", "month\x00ly", coop.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.do(alice, wire.Coop{Op: wire.CoopJoin, Provider: tc.provider, Plan: tc.plan}); !errors.Is(err, tc.want) {
				t.Fatalf("join: %v, want %v", err, tc.want)
			}
		})
	}
	if c, _, _ := h.prov.calls(); len(c) != 0 {
		t.Fatalf("checkouts %v after refusals", c)
	}

	t.Run("provider down", func(t *testing.T) {
		h.prov.mu.Lock()
		h.prov.fail = errors.New("connection refused")
		h.prov.mu.Unlock()
		defer func() {
			h.prov.mu.Lock()
			h.prov.fail = nil
			h.prov.mu.Unlock()
		}()
		if _, err := h.do(alice, wire.Coop{Op: wire.CoopJoin, Provider: "stripe", Plan: "monthly"}); !errors.Is(err, coop.ErrProvider) {
			t.Fatalf("join: %v, want ErrProvider", err)
		}
		if _, err := h.dir.Membership(h.ctx, alice); !errors.Is(err, coop.ErrNotFound) {
			t.Fatalf("a failed checkout left a membership: %v", err)
		}
	})

	t.Run("paying already", func(t *testing.T) {
		ref := h.join(alice)
		h.webhook(coop.Event{ID: "evt_paid", Created: start, Type: coop.EventCheckoutCompleted, Reference: ref, Customer: "cus_1", Subscription: "sub_1", Payment: "in_1"})
		h.wantStatus(alice, wire.MemberActive)
		if _, err := h.do(alice, wire.Coop{Op: wire.CoopJoin, Provider: "stripe", Plan: "monthly"}); !errors.Is(err, coop.ErrExists) {
			t.Fatalf("join: %v, want ErrExists", err)
		}
		if got := h.membership(alice).Reference; got != ref {
			t.Fatal("a refused join changed the membership")
		}
	})
}

func TestWebhookReplayed(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	ref := h.join(alice)
	evs := []coop.Event{
		{ID: "evt_1", Created: start, Type: coop.EventCheckoutCompleted, Reference: ref, Customer: "cus_1", Subscription: "sub_1"},
		{ID: "evt_2", Created: start, Type: coop.EventPaymentSucceeded, Subscription: "sub_1", Payment: "in_1", Amount: 1000, Currency: "GBP", PeriodEnd: start.AddDate(0, 1, 0)},
	}
	h.webhook(evs...)
	h.wantStatus(alice, wire.MemberActive)
	before := h.notices()
	for range 2 {
		h.webhook(evs...)
	}
	if got := h.notices(); len(got) != len(before) {
		t.Fatalf("%d notices after replays, want %d", len(got), len(before))
	}
	// The same payment under another event (Stripe's invoice.paid and
	// invoice.payment_succeeded) is counted once.
	h.webhook(coop.Event{ID: "evt_3", Created: start, Type: coop.EventPaymentSucceeded, Subscription: "sub_1", Payment: "in_1", Amount: 1000, Currency: "GBP"})
	if fig := h.month(start); fig.Dues != 1000 || fig.Members != 1 {
		t.Fatalf("figures %+v after replays: want dues 1000 and 1 member", fig)
	}
	if _, activated, _ := h.prov.calls(); len(activated) != 1 {
		t.Fatalf("activated %d times", len(activated))
	}
	after := h.notices()
	if len(before) != 1 || len(distinct(after)) != len(before) {
		t.Fatalf("%d notices, %d distinct after replays; want %d", len(after), len(distinct(after)), len(before))
	}
	h.wantMetrics(map[string]int{"webhook applied": 3, "webhook duplicate": 4, "checkout true": 1})

	// The same new event delivered at once by several connections.
	pay := coop.Event{ID: "evt_4", Created: start, Type: coop.EventPaymentSucceeded, Subscription: "sub_1", Payment: "in_4", Amount: 700, Currency: "GBP"}
	var wg sync.WaitGroup
	codes := make([]int, 8)
	for i := range codes {
		wg.Go(func() { codes[i] = h.post("good", pay) })
	}
	wg.Wait()
	for _, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("concurrent deliveries answered %v", codes)
		}
	}
	if fig := h.month(start); fig.Dues != 1700 {
		t.Fatalf("dues %d after concurrent deliveries, want 1700", fig.Dues)
	}
	if got := h.notices(); len(got) != len(after)+1 {
		t.Fatalf("%d notices after concurrent deliveries, want one more than %d", len(got), len(after))
	}
	h.wantMetrics(map[string]int{"webhook applied": 4, "webhook duplicate": 11, "notice 1": len(after) + 1})
}

func TestEventsOutOfOrder(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	ref := h.join(alice)
	h.webhook(coop.Event{ID: "evt_1", Created: start, Type: coop.EventCheckoutCompleted, Reference: ref, Customer: "cus_1", Subscription: "sub_1", Payment: "in_1"})
	h.wantStatus(alice, wire.MemberActive)

	// A retried payment succeeded (t2) is delivered before the failure
	// (t1 < t2) it followed.
	t1, t2 := start.Add(30*24*time.Hour), start.Add(31*24*time.Hour)
	h.clock.Set(t2)
	h.webhook(coop.Event{ID: "evt_ok", Created: t2, Type: coop.EventPaymentSucceeded, Subscription: "sub_1", Payment: "in_2", Amount: 1000, Currency: "GBP", PeriodEnd: t2.AddDate(0, 1, 0)})
	h.webhook(coop.Event{ID: "evt_fail", Created: t1, Type: coop.EventPaymentFailed, Subscription: "sub_1"})
	m := h.wantStatus(alice, wire.MemberActive)
	if !m.GraceUntil.IsZero() || !m.StatusAt.Equal(t2) {
		t.Fatalf("membership %+v: the older failure was applied", m)
	}
	// An older payment still counts: dues are facts.
	h.webhook(coop.Event{ID: "evt_old", Created: t1.Add(-time.Hour), Type: coop.EventPaymentSucceeded, Subscription: "sub_1", Payment: "in_3", Amount: 500, Currency: "GBP"})
	if fig := h.month(t2); fig.Dues != 1500 {
		t.Fatalf("dues %d, want 1500", fig.Dues)
	}
	for _, n := range h.notices() {
		if n.n.Kind == wire.NoticeMembership {
			t.Fatalf("membership notice %+v for a change not applied", n.n)
		}
	}
	// A cancellation older than the latest payment does not undo it
	// either; a newer one does.
	h.webhook(coop.Event{ID: "evt_cancel_old", Created: t1, Type: coop.EventSubscriptionCanceled, Subscription: "sub_1"})
	h.wantStatus(alice, wire.MemberActive)
	h.webhook(coop.Event{ID: "evt_cancel", Created: t2.Add(time.Hour), Type: coop.EventSubscriptionCanceled, Subscription: "sub_1"})
	h.wantStatus(alice, wire.MemberCanceled)
}

func TestWebhookRefused(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	ref := h.join(alice)
	before := h.membership(alice)
	ev := coop.Event{ID: "evt_1", Created: start, Type: coop.EventCheckoutCompleted, Reference: ref, Customer: "cus_1", Subscription: "sub_1", Payment: "in_1"}

	if code := h.post("forged", ev); code != http.StatusBadRequest {
		t.Fatalf("bad signature answered %d, want the provider's 400", code)
	}
	big := bytes.Repeat([]byte(" "), coop.MaxWebhookBody+1)
	if code := h.postBody("good", big); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a body over 1 MiB answered %d, want 413", code)
	}
	if code := h.postBody("good", []byte("not json")); code != http.StatusBadRequest {
		t.Fatalf("a malformed body answered %d, want 400", code)
	}
	if got := h.membership(alice); got != before {
		t.Fatalf("membership changed by refused webhooks: %+v", got)
	}
	h.wantMetrics(map[string]int{"webhook bad_signature": 1, "webhook malformed": 2, "webhook applied": 0})
	if _, activated, _ := h.prov.calls(); len(activated) != 0 || len(h.notices()) != 0 {
		t.Fatal("a refused webhook had an effect")
	}
	// The event was not recorded: signed, it applies.
	h.webhook(ev)
	h.wantStatus(alice, wire.MemberActive)
}

func TestWebhookActivationFails(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	ref := h.join(alice)
	ev := coop.Event{ID: "evt_1", Created: start, Type: coop.EventCheckoutCompleted, Reference: ref, Customer: "cus_1", Mandate: "MD1"}
	h.prov.mu.Lock()
	h.prov.fail = errors.New("provider unreachable")
	h.prov.mu.Unlock()
	if code := h.post("good", ev); code != http.StatusInternalServerError {
		t.Fatalf("webhook answered %d while activation fails, want 500", code)
	}
	if m := h.membership(alice); m.Mandate != "" {
		t.Fatal("the event was recorded though activation failed")
	}
	h.prov.mu.Lock()
	h.prov.fail = nil
	h.prov.mu.Unlock()
	h.webhook(ev)
	if m := h.membership(alice); m.Mandate != "MD1" {
		t.Fatalf("the retried event was not applied: %+v", m)
	}
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	if _, err := h.do(alice, wire.Coop{Op: wire.CoopCancel}); !errors.Is(err, coop.ErrNotFound) {
		t.Fatalf("cancel without a membership: %v", err)
	}
	ref := h.join(alice)
	if _, err := h.do(alice, wire.Coop{Op: wire.CoopCancel}); !errors.Is(err, coop.ErrNotFound) {
		t.Fatalf("cancel of an unpaid checkout: %v", err)
	}
	h.webhook(coop.Event{ID: "evt_1", Created: start, Type: coop.EventCheckoutCompleted, Reference: ref, Customer: "cus_1", Subscription: "sub_1", Payment: "in_1"})
	h.clock.Set(start.Add(time.Hour))
	body, err := h.do(alice, wire.Coop{Op: wire.CoopCancel})
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := body.(*wire.CoopInfo); !ok || info.Membership.Status != wire.MemberCanceled {
		t.Fatalf("cancel answered %+v", body)
	}
	if _, _, canceled := h.prov.calls(); len(canceled) != 1 || canceled[0] != "sub_1" {
		t.Fatalf("canceled at the provider: %v", canceled)
	}
	h.wantStatus(alice, wire.MemberCanceled)
	ns := h.notices()
	if len(ns) != 1 || ns[0].n.Status != wire.MemberCanceled {
		t.Fatalf("notices %+v: want one cancellation", ns)
	}
	// The provider's own word follows: nothing more happens.
	h.webhook(coop.Event{ID: "evt_2", Created: start.Add(time.Hour + time.Second), Type: coop.EventSubscriptionCanceled, Subscription: "sub_1"})
	h.wantStatus(alice, wire.MemberCanceled)
	if got := h.notices(); len(got) != 1 {
		t.Fatalf("%d notices after the provider's cancellation, want 1", len(got))
	}
	if _, err := h.do(alice, wire.Coop{Op: wire.CoopCancel}); !errors.Is(err, coop.ErrNotFound) {
		t.Fatalf("second cancel: %v", err)
	}
	// Joining again makes a new membership.
	if again := h.join(alice); again == ref {
		t.Fatal("the reference was reused")
	}
	h.wantStatus(alice, wire.MemberPending)
}

func TestOperatorOps(t *testing.T) {
	h := newHarness(t)
	op := h.operator("op@example.org")
	alice := h.user("alice@example.org")
	bob := h.user("bob@example.org")

	for _, tc := range []struct {
		name string
		req  wire.Coop
	}{
		{"set cost", wire.Coop{Op: wire.CoopSetCost, Month: "2026-03", Category: "infrastructure", Amount: 5000}},
		{"grant", wire.Coop{Op: wire.CoopGrant, Address: "bob@example.org", Role: wire.RoleOperator}},
	} {
		t.Run(tc.name+" by a member", func(t *testing.T) {
			if _, err := h.do(alice, tc.req); !errors.Is(err, coop.ErrForbidden) {
				t.Fatalf("%v, want ErrForbidden", err)
			}
		})
	}
	if costs, err := h.dir.Costs(h.ctx, "2026-01", "2026-12"); err != nil || len(costs) != 0 {
		t.Fatalf("costs %v, %v after a refused SetCost", costs, err)
	}
	if roles, err := h.dir.Roles(h.ctx, bob); err != nil || len(roles) != 0 {
		t.Fatalf("bob's roles %v, %v after a refused grant", roles, err)
	}

	for _, tc := range []struct {
		name string
		req  wire.Coop
		want error
	}{
		{"month malformed", wire.Coop{Op: wire.CoopSetCost, Month: "2026-3", Category: "sms", Amount: 1}, coop.ErrInvalid},
		{"month thirteen", wire.Coop{Op: wire.CoopSetCost, Month: "2026-13", Category: "sms", Amount: 1}, coop.ErrInvalid},
		{"month too old", wire.Coop{Op: wire.CoopSetCost, Month: "2016-02", Category: "sms", Amount: 1}, coop.ErrInvalid},
		{"month too far", wire.Coop{Op: wire.CoopSetCost, Month: "2028-01", Category: "sms", Amount: 1}, coop.ErrInvalid},
		{"no category", wire.Coop{Op: wire.CoopSetCost, Month: "2026-03", Amount: 1}, coop.ErrInvalid},
		{"category with a newline", wire.Coop{Op: wire.CoopSetCost, Month: "2026-03", Category: "sms\n", Amount: 1}, coop.ErrInvalid},
		{"category too long", wire.Coop{Op: wire.CoopSetCost, Month: "2026-03", Category: strings.Repeat("c", 65), Amount: 1}, coop.ErrInvalid},
		{"negative amount", wire.Coop{Op: wire.CoopSetCost, Month: "2026-03", Category: "sms", Amount: -1}, coop.ErrInvalid},
		{"amount too large", wire.Coop{Op: wire.CoopSetCost, Month: "2026-03", Category: "sms", Amount: 1_000_000_000_001}, coop.ErrInvalid},
		{"note with a control character", wire.Coop{Op: wire.CoopSetCost, Month: "2026-03", Category: "sms", Amount: 1, Note: "a\x07"}, coop.ErrInvalid},
		{"grant member", wire.Coop{Op: wire.CoopGrant, Address: "bob@example.org", Role: wire.RoleMember}, coop.ErrInvalid},
		{"grant nobody", wire.Coop{Op: wire.CoopGrant, Address: "nobody@example.org", Role: wire.RoleContributor}, coop.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := h.do(op, tc.req); !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
		})
	}

	for _, c := range []wire.Coop{
		{Op: wire.CoopSetCost, Month: "2016-03", Category: "infrastructure", Amount: 1},
		{Op: wire.CoopSetCost, Month: "2027-12", Category: "infrastructure", Amount: 1},
		{Op: wire.CoopSetCost, Month: "2026-03", Category: "infrastructure", Amount: 1_000_000_000_000, Note: "servers, 3 × £x"},
	} {
		if _, err := h.do(op, c); err != nil {
			t.Fatalf("set cost %s: %v", c.Month, err)
		}
	}
	body, err := h.do(op, wire.Coop{Op: wire.CoopSetCost, Month: "2026-03", Category: "infrastructure", Amount: 5000, Note: "servers"})
	if err != nil {
		t.Fatal(err)
	}
	info := body.(*wire.CoopInfo)
	if got := info.Months[0].Costs; len(got) != 1 || got[0] != (wire.CoopCost{Category: "infrastructure", Amount: 5000, Note: "servers"}) {
		t.Fatalf("costs %+v", got)
	}

	if body, err := h.do(op, wire.Coop{Op: wire.CoopGrant, Address: "bob@example.org", Role: wire.RoleContributor}); err != nil {
		t.Fatal(err)
	} else if _, ok := body.(*wire.OK); !ok {
		t.Fatalf("grant answered %T", body)
	}
	if info, err := h.svc.Info(h.ctx, bob); err != nil || len(info.Roles) != 1 || info.Roles[0] != wire.RoleContributor {
		t.Fatalf("bob's roles %v, %v", info.Roles, err)
	}
	if _, err := h.do(op, wire.Coop{Op: wire.CoopGrant, Address: "bob@example.org", Role: wire.RoleContributor, Revoke: true}); err != nil {
		t.Fatal(err)
	}
	if info, err := h.svc.Info(h.ctx, bob); err != nil || len(info.Roles) != 0 {
		t.Fatalf("bob's roles %v, %v after the revocation", info.Roles, err)
	}
}

func TestContributorWindow(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	if err := h.dir.NoteContribution(h.ctx, alice, start.Add(-89*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	roles := func() []wire.CoopRole {
		info, err := h.svc.Info(h.ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		return info.Roles
	}
	if got := roles(); len(got) != 1 || got[0] != wire.RoleContributor {
		t.Fatalf("roles %v within the window", got)
	}
	h.clock.Set(start.Add(2 * 24 * time.Hour))
	if got := roles(); len(got) != 0 {
		t.Fatalf("roles %v past the window", got)
	}
}

func TestNoticesSetting(t *testing.T) {
	h := newHarness(t)
	alice := h.user("alice@example.org")
	body, err := h.do(alice, wire.Coop{Op: wire.CoopNotices, Off: true})
	if err != nil {
		t.Fatal(err)
	}
	if !body.(*wire.CoopInfo).NoticesOff {
		t.Fatal("notices still on")
	}
	if info, err := h.svc.Info(h.ctx, alice); err != nil || !info.NoticesOff {
		t.Fatalf("Info: notices off %v, %v", info.NoticesOff, err)
	}
}

func TestConnected(t *testing.T) {
	h := newHarness(t)
	alice, bob := h.user("alice@example.org"), h.user("bob@example.org")
	for range 3 {
		h.svc.Connected(h.ctx, alice)
	}
	h.svc.Connected(h.ctx, bob)
	if fig := h.month(start); fig.ActiveUsers != 2 {
		t.Fatalf("active users %d, want 2", fig.ActiveUsers)
	}
	if n := h.noteActive.Load(); n != 2 {
		t.Fatalf("the store was asked %d times, want once per user", n)
	}
	next := start.AddDate(0, 1, 0)
	h.clock.Set(next)
	h.svc.Connected(h.ctx, alice)
	if fig := h.month(next); fig.ActiveUsers != 1 {
		t.Fatalf("active users %d next month, want 1", fig.ActiveUsers)
	}
	if fig := h.month(start); fig.ActiveUsers != 2 {
		t.Fatalf("last month's active users %d, want 2", fig.ActiveUsers)
	}
	if n := h.noteActive.Load(); n != 3 {
		t.Fatalf("the store was asked %d times, want once more in the new month", n)
	}
}
