package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// startCoopServer runs a relay on the embedded parts with cc as its
// co-op (nil: none); before it starts, seed may write to its parts.
func startCoopServer(t *testing.T, cc *coop.Config, seed func(server.Parts)) (*server.Server, *httptest.Server, server.Parts) {
	t.Helper()
	ctx := context.Background()
	parts, err := server.OpenEmbedded(ctx, server.EmbeddedConfig{
		Dir:     t.TempDir(),
		Senders: auth.Senders{auth.SchemeEmail: auth.NewConsoleSender(io.Discard)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if seed != nil {
		seed(parts)
	}
	srv, err := server.New(ctx, server.Config{RunRouter: true, Coop: cc}, parts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, hs, parts
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestCoopServed: with a co-op the relay serves its public figures and
// takes its providers' webhooks; without one, neither.
func TestCoopServed(t *testing.T) {
	_, without, _ := startCoopServer(t, nil, nil)
	for _, path := range []string{"/coop", "/coop.json", "/v1/coop/webhooks/stripe"} {
		if code, _ := get(t, without.URL+path); code != http.StatusNotFound {
			t.Errorf("without a co-op, GET %s: %d", path, code)
		}
	}

	srv, hs, _ := startCoopServer(t, &coop.Config{Name: "Mutual Test", Currency: "EUR"}, nil)
	if srv.Coop() == nil {
		t.Fatal("no co-op")
	}
	code, page := get(t, hs.URL+"/coop")
	if code != http.StatusOK || !strings.Contains(page, "Mutual Test") {
		t.Fatalf("GET /coop: %d\n%s", code, page)
	}
	code, body := get(t, hs.URL+"/coop.json")
	var figures struct {
		Name, Currency string
		Months         []json.RawMessage
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &figures) != nil || figures.Name != "Mutual Test" || figures.Currency != "EUR" || len(figures.Months) == 0 {
		t.Fatalf("GET /coop.json: %d %s", code, body)
	}
	// The webhooks take POST only; a provider that is not configured is
	// not found.
	if code, _ := get(t, hs.URL+"/v1/coop/webhooks/stripe"); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET of the webhook: %d", code)
	}
	for _, p := range []string{"stripe", "gocardless"} {
		resp, err := http.Post(hs.URL+"/v1/coop/webhooks/"+p, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("POST to the %s webhook without the provider: %d", p, resp.StatusCode)
		}
	}
}

// TestCoopSweepsAtStart: the co-op's background work runs when the relay
// starts: a membership whose grace ended lapses, and its member gets the
// co-op's notice.
func TestCoopSweepsAtStart(t *testing.T) {
	ctx := context.Background()
	user := wire.NewUserID()
	var st coop.Store
	_, _, parts := startCoopServer(t, &coop.Config{}, func(p server.Parts) {
		var ok bool
		if st, ok = p.Directory.(coop.Store); !ok {
			t.Fatal("the embedded directory keeps no co-op records")
		}
		if err := p.Bus.CreateTopic(ctx, bus.InboxTopic(user), 1); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		m := coop.Membership{
			User: user, Reference: "m_aaaaaaaaaaaaaaaaaaaaaaaaaa", Provider: coop.Stripe, Plan: "monthly", Amount: 500, Currency: "GBP",
			Status: wire.MemberPending, Created: now.Add(-40 * 24 * time.Hour), Updated: now,
		}
		if err := st.CreateMembership(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.Status, m.StatusAt, m.GraceUntil = wire.MemberGrace, now.Add(-20*24*time.Hour), now.Add(-time.Hour)
		if err := st.UpdateMembership(ctx, m); err != nil {
			t.Fatal(err)
		}
	})
	wait.For(t, "the membership to lapse", func() bool {
		m, err := st.Membership(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return m.Status == wire.MemberLapsed
	})
	// The notice follows the change.
	wait.For(t, "the notice of the lapse", func() bool {
		_, next, err := parts.Bus.Bounds(ctx, bus.InboxTopic(user), 0)
		if err != nil {
			t.Fatal(err)
		}
		return next == 1
	})
}
