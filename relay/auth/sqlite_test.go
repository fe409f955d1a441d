package auth_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
)

var _ auth.Store = (*sqlite.Directory)(nil)

// TestServiceOverSQLite runs the flow over the real directory: attempts,
// single use, and the per-address limit surviving a restart of both the
// Service and the database.
func TestServiceOverSQLite(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "directory.db")
	clk := newClock()
	box := newInbox()
	open := func() (*sqlite.Directory, *auth.Service) {
		t.Helper()
		dir, err := sqlite.Open(ctx, sqlite.Config{Path: path, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := auth.New(auth.Config{Secret: testSecret, Now: clk.Now}, dir, auth.Senders{auth.SchemeEmail: box})
		if err != nil {
			t.Fatal(err)
		}
		return dir, svc
	}
	dir, svc := open()

	tok, err := svc.Request(ctx, "alice@example.org", ip)
	if err != nil {
		t.Fatal(err)
	}
	code := box.code(t, "alice@example.org")
	for i := range 4 {
		if _, _, err := svc.Verify(ctx, "alice@example.org", wrong(code, i), tok, ip); !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	user, created, err := svc.Verify(ctx, "alice@example.org", code, tok, ip)
	if err != nil || !created {
		t.Fatalf("Verify after four wrong codes = %v, %v", created, err)
	}
	if _, _, err := svc.Verify(ctx, "alice@example.org", code, tok, ip); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("reused code: %v", err)
	}

	// The right code through two Services (relays) on one database at
	// once: exactly one wins, and gets the same account.
	clk.Add(30 * time.Second)
	if tok, err = svc.Request(ctx, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	code = box.code(t, "alice@example.org")
	svc2, err := auth.New(auth.Config{Secret: testSecret, Now: clk.Now}, dir, auth.Senders{auth.SchemeEmail: box})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make(chan error, 2)
	for _, s := range []*auth.Service{svc, svc2} {
		wg.Go(func() {
			u, created, err := s.Verify(ctx, "alice@example.org", code, tok, ip)
			if err == nil && (u != user || created) {
				t.Errorf("Verify = %v, %v; want the existing account", u, created)
			}
			results <- err
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		if err == nil {
			ok++
		} else if !errors.Is(err, auth.ErrBadCode) {
			t.Fatal(err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of 2 concurrent verifications through two relays succeeded, want 1", ok)
	}

	// Two of three requests used; one more, then the limit, also after a
	// restart.
	clk.Add(30 * time.Second)
	if _, err := svc.Request(ctx, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Second)
	if _, err := svc.Request(ctx, "alice@example.org", ip); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("fourth request: %v", err)
	}
	if err := dir.Close(); err != nil {
		t.Fatal(err)
	}
	dir, svc = open()
	defer dir.Close()
	clk.Add(30 * time.Second)
	if _, err := svc.Request(ctx, "alice@example.org", ip); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("after a restart: %v", err)
	}
	if got, err := svc.Lookup(ctx, "alice@example.org"); err != nil || got != user {
		t.Fatalf("Lookup after a restart = %v, %v", got, err)
	}
	clk.Add(15 * time.Minute)
	if tok, err = svc.Request(ctx, "alice@example.org", ip); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	if _, _, err := svc.Verify(ctx, "alice@example.org", box.code(t, "alice@example.org"), tok, ip); err != nil {
		t.Fatal(err)
	}
}
