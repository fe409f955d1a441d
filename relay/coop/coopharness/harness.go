package coopharness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Directory is what the tests need of the directory the co-op's store
// lives in: the store, and the accounts and contacts it reads.
type Directory interface {
	coop.Store
	CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (wire.UserID, bool, error)
	SetContact(ctx context.Context, owner, other wire.UserID, state directory.ContactState, max int) error
}

// OpenSQLite opens a SQLite directory in t's temporary directory, with
// now as its clock (nil: the time of day), and closes it when t ends.
func OpenSQLite(t *testing.T, now func() time.Time) Directory {
	t.Helper()
	d, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "directory.db"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// NewService makes a Service over st that appends to b, failing t if it
// cannot.
func NewService(t *testing.T, st coop.Store, b coop.Bus, cfg coop.Config) *coop.Service {
	t.Helper()
	s, err := coop.New(context.Background(), st, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Harness is a Service over a SQLite directory, appending to a recording
// Bus, with the webhook handler of each of its providers (POST
// /v1/coop/webhooks/NAME) and its public pages served by Server.
type Harness struct {
	// Ctx is the test's context.
	Ctx context.Context
	// Dir is the directory; the Service's store is Dir itself unless
	// StartWrapped wrapped it.
	Dir Directory
	// Svc is the Service.
	Svc *coop.Service
	// Bus records what Svc appends.
	Bus *Bus
	// Server serves Svc's webhooks and public pages.
	Server *httptest.Server

	t   *testing.T
	now func() time.Time

	mu    sync.Mutex
	accts map[string]wire.UserID
}

// Start starts a Harness whose Service has cfg; the directory's clock is
// cfg.Now. Unless cfg sets its own, the Service's Accounts are those User
// makes. Everything is closed when t ends.
func Start(t *testing.T, cfg coop.Config) *Harness {
	t.Helper()
	return StartWrapped(t, cfg, func(d coop.Store) coop.Store { return d })
}

// StartWrapped is Start with wrap(Dir) as the Service's store: a test's
// wrapper that counts or changes the calls of the directory.
func StartWrapped(t *testing.T, cfg coop.Config, wrap func(coop.Store) coop.Store) *Harness {
	t.Helper()
	h := &Harness{Ctx: t.Context(), Bus: &Bus{}, t: t, now: cfg.Now, accts: map[string]wire.UserID{}}
	if h.now == nil {
		h.now = time.Now
	}
	if cfg.Accounts == nil {
		cfg.Accounts = accounts{h}
	}
	h.Dir = OpenSQLite(t, cfg.Now)
	h.Svc = NewService(t, wrap(h.Dir), h.Bus, cfg)
	mux := http.NewServeMux()
	for _, p := range cfg.Providers {
		mux.Handle("POST "+webhookPath(p.Name()), h.Svc.Webhook(p.Name()))
	}
	mux.Handle("/", h.Svc.PublicHandler())
	h.Server = httptest.NewServer(mux)
	t.Cleanup(h.Server.Close)
	return h
}

func webhookPath(name coop.ProviderName) string {
	return "/v1/coop/webhooks/" + string(name)
}

// WebhookURL returns the URL of the webhook handler of the provider name.
func (h *Harness) WebhookURL(name coop.ProviderName) string {
	return h.Server.URL + webhookPath(name)
}

// accounts finds the accounts a Harness made by their address.
type accounts struct{ h *Harness }

// Lookup returns the account User made with addr.
func (a accounts) Lookup(ctx context.Context, addr string) (wire.UserID, error) {
	a.h.mu.Lock()
	defer a.h.mu.Unlock()
	if u, ok := a.h.accts[addr]; ok {
		return u, nil
	}
	return wire.UserID{}, fmt.Errorf("account: %w", coop.ErrNotFound)
}

// User makes an account with address addr.
func (h *Harness) User(addr string) wire.UserID {
	h.t.Helper()
	hash := sha256.Sum256([]byte(addr))
	u, _, err := h.Dir.CreateAccount(h.Ctx, hash[:], wire.NewUserID())
	if err != nil {
		h.t.Fatal(err)
	}
	h.mu.Lock()
	h.accts[addr] = u
	h.mu.Unlock()
	return u
}

// Join has user ask to join with plan through provider, and returns the
// checkout the Service answers.
func (h *Harness) Join(user wire.UserID, provider, plan string) *wire.CoopCheckout {
	h.t.Helper()
	body, err := h.Svc.Handle(h.Ctx, user, &wire.Coop{Op: wire.CoopJoin, Provider: provider, Plan: plan})
	if err != nil {
		h.t.Fatalf("join: %v", err)
	}
	co, ok := body.(*wire.CoopCheckout)
	if !ok {
		h.t.Fatalf("join answered %#v", body)
	}
	return co
}

// Membership returns user's membership as the directory has it.
func (h *Harness) Membership(user wire.UserID) coop.Membership {
	h.t.Helper()
	m, err := h.Dir.Membership(h.Ctx, user)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// WantStatus checks that user's membership has status want now, in the
// directory and in Info, where the roles hold member exactly when want
// is a paying status; it returns the membership.
func (h *Harness) WantStatus(user wire.UserID, want wire.MemberStatus) coop.Membership {
	h.t.Helper()
	m := h.Membership(user)
	if m.Status != want {
		h.t.Fatalf("status %v, want %v", m.Status, want)
	}
	info, err := h.Svc.Info(h.Ctx, user)
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

// AwaitStatus waits until user's membership has status want, for events
// a provider sends after answering its API, then checks it as WantStatus
// does and returns it.
func (h *Harness) AwaitStatus(user wire.UserID, want wire.MemberStatus) coop.Membership {
	h.t.Helper()
	wait.For(h.t, "membership "+want.String(), func() bool {
		return h.Membership(user).Status == want
	})
	return h.WantStatus(user, want)
}

// Post sends body with header to the webhook handler of the provider
// name, and returns the status it answers.
func (h *Harness) Post(name coop.ProviderName, header http.Header, body []byte) int {
	h.t.Helper()
	req, err := http.NewRequestWithContext(h.Ctx, http.MethodPost, h.WebhookURL(name), bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header = header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Notices returns every notice the Service wrote, in order, checked as
// Bus.Notices checks them with the Service's key.
func (h *Harness) Notices() []Notice {
	h.t.Helper()
	return h.Bus.Notices(h.t, h.Svc.Key())
}

// NoticesTo returns the notices the Service wrote to user, in order.
func (h *Harness) NoticesTo(user wire.UserID) []*wire.CoopNotice {
	h.t.Helper()
	var out []*wire.CoopNotice
	for _, n := range h.Notices() {
		if n.User == user {
			out = append(out, n.CoopNotice)
		}
	}
	return out
}

// Month returns the Service's figures of the month of t.
func (h *Harness) Month(t time.Time) wire.CoopMonth {
	h.t.Helper()
	months, err := h.Svc.Figures(h.Ctx, 12)
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

// Dues returns the dues of this month by the Service's clock.
func (h *Harness) Dues() int64 {
	h.t.Helper()
	return h.Month(h.now()).Dues
}
