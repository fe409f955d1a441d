package auth_test

import (
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/wire"
)

const strangerIP = "203.0.113.66"

// TestStrangerCannotSpendCode: guesses without the token of the request
// that issued a code, however many, leave the code to its owner.
func TestStrangerCannotSpendCode(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.VerifyNetBurst = 1000 })
	ctx := t.Context()
	victimTok, err := f.svc.Request(ctx, "victim@example.org", ip)
	if err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "victim@example.org")
	for i := range 300 {
		var tok []byte
		switch i % 3 {
		case 1:
			tok = make([]byte, auth.TokenLen)
			rand.Read(tok)
		case 2:
			tok = victimTok[:auth.TokenLen-1]
		}
		if _, _, err := f.svc.Verify(ctx, "Victim@example.org", wrong(code, i), tok, strangerIP); !errors.Is(err, auth.ErrNoCode) {
			t.Fatalf("guess %d without the token: %v, want a wrong code that touched nothing", i, err)
		}
	}
	// The right code without the token is as wrong.
	if _, _, err := f.svc.Verify(ctx, "victim@example.org", code, nil, strangerIP); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("right code without the token: %v, want ErrBadCode", err)
	}
	// The stranger's own request gives the stranger a token for a code
	// mailed to the victim, and leaves the victim's code alone.
	f.clock.Add(time.Minute)
	strangerTok, err := f.svc.Request(ctx, "victim@example.org", strangerIP)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		f.svc.Verify(ctx, "victim@example.org", wrong(code, i), strangerTok, strangerIP)
	}
	if _, created, err := f.svc.Verify(ctx, "victim@example.org", code, victimTok, ip); err != nil || !created {
		t.Fatalf("the victim's code after 305 stranger guesses: %v, %v", created, err)
	}
}

// TestVerifyNetworkLimit: verifications are limited per client network.
func TestVerifyNetworkLimit(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.VerifyNetBurst = 3; c.VerifyNetRefill = time.Minute })
	ctx := t.Context()
	for i := range 3 {
		if _, _, err := f.svc.Verify(ctx, "a@example.org", "12345678", nil, "2001:db8:7::1"); !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	_, _, err := f.svc.Verify(ctx, "a@example.org", "12345678", nil, "[2001:db8:7::2]:443")
	if wait := retryAfter(t, err); wait != time.Minute {
		t.Fatalf("same /64: retry after %s, want 1m", wait)
	}
	if _, _, err := f.svc.Verify(ctx, "a@example.org", "12345678", nil, "2001:db8:8::1"); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("another /64: %v", err)
	}
}

// TestStrangerCannotLockOut: a stranger's network that keeps asking for
// codes for an address is refused, and the owner, on their own network,
// still gets codes.
func TestStrangerCannotLockOut(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	for round := range 4 {
		for range 4 {
			f.svc.Request(ctx, "victim@example.org", strangerIP)
			f.clock.Add(30 * time.Second)
		}
		f.clock.Add(13 * time.Minute)
		tok, err := f.svc.Request(ctx, "victim@example.org", ip)
		if err != nil {
			t.Fatalf("round %d: the owner's request: %v", round, err)
		}
		if _, _, err := f.svc.Verify(ctx, "victim@example.org", f.box.code(t, "victim@example.org"), tok, ip); err != nil {
			t.Fatalf("round %d: the owner's code: %v", round, err)
		}
		f.clock.Add(time.Minute)
	}
}

// TestCaseFolded: the local part's case makes no other account, and no
// other limit.
func TestCaseFolded(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	var user wire.UserID
	for i, spelling := range []string{"U1@example.org", "u1@example.org", "u1@EXAMPLE.ORG"} {
		if i > 0 {
			f.clock.Add(30 * time.Second)
		}
		tok, err := f.svc.Request(ctx, spelling, ip)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i+1, spelling, err)
		}
		u, created, err := f.svc.Verify(ctx, spelling, f.box.code(t, spelling), tok, ip)
		if err != nil || created != (i == 0) || i > 0 && u != user {
			t.Fatalf("verify %s = %v, %v, %v; want one account", spelling, u, created, err)
		}
		user = u
	}
	f.clock.Add(30 * time.Second)
	if _, err := f.svc.Request(ctx, "U1@Example.org", ip); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("fourth request in another case: %v, want ErrRateLimited", err)
	}
	// The mail goes to the local part as typed.
	f.box.mu.Lock()
	_, asTyped := f.box.codes["email:U1@example.org"]
	f.box.mu.Unlock()
	if !asTyped {
		t.Fatal("no code was mailed to the address as typed")
	}
}

// TestLegacyAccountMoved: an account made when addresses were matched
// case-sensitively is stored under the hash of the address as typed. The
// first Verify or Lookup with that spelling moves it to the folded hash,
// in a real directory.
func TestLegacyAccountMoved(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	box := newInbox()
	dir, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "directory.db"), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	svc, err := auth.New(auth.Config{Secret: testSecret, Now: clk.Now}, dir, auth.Senders{auth.SchemeEmail: box})
	if err != nil {
		t.Fatal(err)
	}
	legacy := func(addr string) wire.UserID {
		t.Helper()
		a, err := auth.ParseAddress(addr)
		if err != nil {
			t.Fatal(err)
		}
		u, created, err := dir.CreateAccount(ctx, svc.HashLegacy(a), wire.NewUserID())
		if err != nil || !created {
			t.Fatal(created, err)
		}
		return u
	}
	signIn := func(addr string) (wire.UserID, bool) {
		t.Helper()
		clk.Add(time.Minute)
		tok, err := svc.Request(ctx, addr, ip)
		if err != nil {
			t.Fatal(err)
		}
		u, created, err := svc.Verify(ctx, addr, box.code(t, addr), tok, ip)
		if err != nil {
			t.Fatal(err)
		}
		return u, created
	}

	// Signing in with the spelling the account was made with moves it.
	u1 := legacy("U1@example.org")
	if u, created := signIn("U1@example.org"); u != u1 || created {
		t.Fatalf("sign-in with the old spelling = %v, created %v; want %v", u, created, u1)
	}
	if u, err := svc.Lookup(ctx, "u1@example.org"); err != nil || u != u1 {
		t.Fatalf("Lookup in lower case after the move = %v, %v; want %v", u, err, u1)
	}
	a, _ := auth.ParseAddress("U1@example.org")
	if _, err := dir.Account(ctx, svc.HashLegacy(a)); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("the old key still leads to an account: %v", err)
	}

	// A Lookup with the old spelling moves it too.
	u2 := legacy("Bob.Smith@example.org")
	if u, err := svc.Lookup(ctx, "bob.smith@example.org"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Lookup in another spelling before the move = %v, %v: only the old spelling finds it", u, err)
	}
	if u, err := svc.Lookup(ctx, "Bob.Smith@example.org"); err != nil || u != u2 {
		t.Fatalf("Lookup with the old spelling = %v, %v; want %v", u, err, u2)
	}
	if u, created := signIn("BOB.SMITH@example.org"); u != u2 || created {
		t.Fatalf("sign-in in upper case after the move = %v, created %v; want %v", u, created, u2)
	}

	// Two old accounts that differ only in case: the one already at the
	// folded key (all lower case) wins; the other keeps its key.
	lower, upper := legacy("carol@example.org"), legacy("Carol@example.org")
	if u, _ := signIn("Carol@example.org"); u != lower {
		t.Fatalf("Carol@ signs in to %v, want carol@'s %v", u, lower)
	}
	c, _ := auth.ParseAddress("Carol@example.org")
	if u, err := dir.Account(ctx, svc.HashLegacy(c)); err != nil || u != upper {
		t.Fatalf("Carol@'s old account = %v, %v; want it left in place as %v", u, err, upper)
	}
	// Two mixed-case ones: the first reached is moved.
	first, second := legacy("Dan@example.org"), legacy("dAN@example.org")
	if u, _ := signIn("Dan@example.org"); u != first {
		t.Fatalf("Dan@ signs in to %v, want %v", u, first)
	}
	if u, _ := signIn("dAN@example.org"); u != first {
		t.Fatalf("dAN@ signs in to %v, want the moved %v", u, first)
	}
	d, _ := auth.ParseAddress("dAN@example.org")
	if u, err := dir.Account(ctx, svc.HashLegacy(d)); err != nil || u != second {
		t.Fatalf("dAN@'s old account = %v, %v; want it left in place as %v", u, err, second)
	}
}
