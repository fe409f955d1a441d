package auth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

var testSecret = []byte("test secret: 32 bytes or more, never use it")

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// inbox is a Sender that keeps the last code per address, and can be told
// to fail.
type inbox struct {
	mu    sync.Mutex
	codes map[string]auth.Message
	sent  int
	fail  error
}

func newInbox() *inbox { return &inbox{codes: make(map[string]auth.Message)} }

func (b *inbox) Send(_ context.Context, to auth.Address, m auth.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.codes[to.String()] = m
	b.sent++
	return nil
}

func (b *inbox) code(t *testing.T, addr string) string {
	t.Helper()
	a, err := auth.ParseAddress(addr)
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	m, ok := b.codes[a.String()]
	if !ok {
		t.Fatal("no code sent")
	}
	return m.Code
}

func (b *inbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent
}

type fixture struct {
	svc   *auth.Service
	store *memStore
	box   *inbox
	clock *clock

	mu     sync.Mutex
	tokens map[string][]byte // by folded address: the last request's token
}

func newFixture(t *testing.T, mod func(*auth.Config)) *fixture {
	t.Helper()
	f := &fixture{store: newMemStore(), box: newInbox(), clock: newClock(), tokens: make(map[string][]byte)}
	f.svc = f.service(t, mod)
	return f
}

// foldedKey is the key of addr in fixture.tokens.
func foldedKey(addr string) string {
	a, err := auth.ParseAddress(addr)
	if err != nil {
		return addr
	}
	return strings.ToLower(a.String())
}

// request asks svc for a code for addr from client address ip and keeps
// the token, as a client does.
func (f *fixture) request(svc *auth.Service, addr, ip string) error {
	tok, err := svc.Request(context.Background(), addr, ip)
	if err == nil {
		f.mu.Lock()
		f.tokens[foldedKey(addr)] = tok
		f.mu.Unlock()
	}
	return err
}

// verify tries code for addr through svc with the token of the last
// request for addr, from ip.
func (f *fixture) verify(svc *auth.Service, addr, code string) (wire.UserID, bool, error) {
	f.mu.Lock()
	tok := f.tokens[foldedKey(addr)]
	f.mu.Unlock()
	return svc.Verify(context.Background(), addr, code, tok, ip)
}

// service returns another Service over the fixture's store: a second relay,
// or the same one after a restart.
func (f *fixture) service(t *testing.T, mod func(*auth.Config)) *auth.Service {
	t.Helper()
	cfg := auth.Config{Secret: testSecret, Now: f.clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := auth.New(cfg, f.store, auth.Senders{auth.SchemeEmail: f.box})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// wrong returns a code of n digits that differs from code.
func wrong(code string, i int) string {
	w := fmt.Sprintf("%0*d", len(code), i)
	if w == code {
		w = fmt.Sprintf("%0*d", len(code), i+1)
	}
	return w
}

const ip = "192.0.2.10"

func TestRequestVerify(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	if _, err := f.svc.Lookup(ctx, "alice@example.org"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Lookup before sign-up: %v, want ErrNotFound", err)
	}
	if err := f.request(f.svc, "Alice@Example.ORG", ip); err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "Alice@example.org")
	if len(code) != 8 {
		t.Fatalf("default code %q, want 8 digits", code)
	}
	f.box.mu.Lock()
	ttl := f.box.codes["email:Alice@example.org"].TTL
	f.box.mu.Unlock()
	if ttl != 10*time.Minute {
		t.Fatalf("message TTL %s, want 10m", ttl)
	}
	// Typed with a space, for another spelling of the same address.
	user, created, err := f.verify(f.svc, "email:Alice@example.org", code[:4]+" "+code[4:])
	if err != nil || !created || user.IsZero() {
		t.Fatalf("Verify = %v, %v, %v; want a new account", user, created, err)
	}
	for _, spelling := range []string{"Alice@example.org", "alice@EXAMPLE.org", "ALICE@example.org"} {
		if got, err := f.svc.Lookup(ctx, spelling); err != nil || got != user {
			t.Fatalf("Lookup(%s) = %v, %v; want %v: one mailbox, one account", spelling, got, err, user)
		}
	}

	// Signing in again, on another device, finds the same account.
	f.clock.Add(time.Minute)
	if err := f.request(f.svc, "Alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	again, created, err := f.verify(f.svc, "Alice@example.org", f.box.code(t, "Alice@example.org"))
	if err != nil || created || again != user {
		t.Fatalf("second Verify = %v, %v, %v; want %v, not created", again, created, err, user)
	}
	if f.store.accountCount() != 1 || f.store.codeCount() != 0 {
		t.Fatalf("%d accounts, %d codes left; want 1, 0", f.store.accountCount(), f.store.codeCount())
	}
}

func TestVerifySingleUse(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "alice@example.org")
	if _, _, err := f.verify(f.svc, "alice@example.org", code); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.verify(f.svc, "alice@example.org", code); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("reused code: %v, want ErrBadCode", err)
	}
}

func TestVerifyConcurrentRightCode(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "alice@example.org")
	// Two relays on one directory, each with several tries of the right
	// code at once: exactly one succeeds.
	svcs := []*auth.Service{f.svc, f.service(t, nil)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range 16 {
		wg.Go(func() {
			_, _, err := f.verify(svcs[i%2], "alice@example.org", code)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else if !errors.Is(err, auth.ErrBadCode) {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("%d successes, want 1", ok)
	}
}

func TestVerifyAttempts(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "alice@example.org")
	for i := range 4 {
		_, _, err := f.verify(f.svc, "alice@example.org", wrong(code, i))
		if !errors.Is(err, auth.ErrBadCode) || errors.Is(err, auth.ErrNoCode) {
			t.Fatalf("wrong code %d: %v, want ErrBadCode", i+1, err)
		}
	}
	// A code that differs only in its last digit is as wrong as any.
	last := code[:7] + string('0'+(code[7]-'0'+1)%10)
	if _, _, err := f.verify(f.svc, "alice@example.org", last); !errors.Is(err, auth.ErrTooManyAttempts) {
		t.Fatalf("fifth wrong code: %v, want ErrTooManyAttempts", err)
	}
	if _, _, err := f.verify(f.svc, "alice@example.org", code); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("right code after five wrong ones: %v, want ErrBadCode", err)
	}
	if f.store.codeCount() != 0 {
		t.Fatal("code kept after too many attempts")
	}
	// A new code can be asked for once the gap has passed.
	f.clock.Add(30 * time.Second)
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.verify(f.svc, "alice@example.org", f.box.code(t, "alice@example.org")); err != nil {
		t.Fatalf("new code: %v", err)
	}
}

func TestVerifyMalformedCode(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "alice@example.org")
	for _, bad := range []string{"", "1234567", "123456789", "abcdefgh", code + "0", code[:7] + "x"} {
		_, _, err := f.verify(f.svc, "alice@example.org", bad)
		if !errors.Is(err, auth.ErrBadCode) {
			t.Fatalf("Verify(%q): %v, want ErrBadCode", bad, err)
		}
		if strings.Contains(err.Error(), code[:6]) {
			t.Fatal("error mentions the code")
		}
	}
	if _, _, err := f.verify(f.svc, "alice@example.org", code[:4]+"-"+code[4:]); err != nil {
		t.Fatalf("right code with a hyphen: %v", err)
	}
}

// TestVerifyConcurrentGuesses: however many guesses arrive at once through
// however many relays, at most MaxAttempts are compared with the code.
func TestVerifyConcurrentGuesses(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "alice@example.org")
	svcs := []*auth.Service{f.svc, f.service(t, nil), f.service(t, nil)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	compared, tooMany := 0, 0
	for i := range 60 {
		wg.Go(func() {
			_, _, err := f.verify(svcs[i%len(svcs)], "alice@example.org", wrong(code, i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, auth.ErrTooManyAttempts):
				tooMany++
			case errors.Is(err, auth.ErrNoCode):
			case errors.Is(err, auth.ErrBadCode):
				compared++
			default:
				t.Errorf("wrong guess: %v", err)
			}
		})
	}
	wg.Wait()
	if compared > 4 || tooMany < 1 {
		t.Fatalf("%d guesses answered 'wrong code' and %d 'too many'; want at most 4 and at least 1", compared, tooMany)
	}
	if _, _, err := f.verify(f.svc, "alice@example.org", code); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("right code after a flood of guesses: %v, want ErrBadCode", err)
	}
}

func TestVerifyExpired(t *testing.T) {
	f := newFixture(t, nil)
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "alice@example.org")
	f.clock.Add(10*time.Minute - time.Nanosecond)
	if err := f.request(f.svc, "bob@example.org", ip); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.verify(f.svc, "bob@example.org", f.box.code(t, "bob@example.org")); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Nanosecond)
	if _, _, err := f.verify(f.svc, "alice@example.org", code); !errors.Is(err, auth.ErrCodeExpired) {
		t.Fatalf("code at its expiry: %v, want ErrCodeExpired", err)
	}
	if _, _, err := f.verify(f.svc, "alice@example.org", code); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("expired code again: %v, want ErrBadCode", err)
	}
}

func TestVerifyOneLessBeforeExpiry(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.CodeTTL = 2 * time.Minute; c.CodeDigits = 6 })
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatal(err)
	}
	code := f.box.code(t, "alice@example.org")
	if len(code) != 6 {
		t.Fatalf("code %q, want 6 digits", code)
	}
	f.clock.Add(2*time.Minute - time.Nanosecond)
	if _, _, err := f.verify(f.svc, "alice@example.org", code); err != nil {
		t.Fatalf("code just before expiry: %v", err)
	}
}

func TestCodeBoundToAddress(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	for _, a := range []string{"alice@example.org", "bob@example.org"} {
		if err := f.request(f.svc, a, ip); err != nil {
			t.Fatal(err)
		}
	}
	ca, cb := f.box.code(t, "alice@example.org"), f.box.code(t, "bob@example.org")
	if ca == cb {
		t.Fatal("two addresses got the same code") // once in 10^8 runs
	}
	if _, _, err := f.verify(f.svc, "bob@example.org", ca); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("alice's code for bob: %v, want ErrBadCode", err)
	}
	// The stored code hash is useless under another address: copy alice's
	// record to bob and alice's code still fails for bob.
	a, _ := auth.ParseAddress("alice@example.org")
	b, _ := auth.ParseAddress("bob@example.org")
	f.mu.Lock()
	tokA := f.tokens[foldedKey("alice@example.org")]
	f.mu.Unlock()
	c, err := f.store.GetCode(ctx, f.svc.HashAddress(a), auth.HashToken(tokA))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutCode(ctx, f.svc.HashAddress(b), c); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Verify(ctx, "bob@example.org", ca, tokA, ip); !errors.Is(err, auth.ErrBadCode) {
		t.Fatalf("alice's code hash moved to bob: %v, want ErrBadCode", err)
	}
	if _, _, err := f.verify(f.svc, "alice@example.org", ca); err != nil {
		t.Fatal(err)
	}
}

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	var rl *auth.RateLimitError
	if !errors.Is(err, auth.ErrRateLimited) || !errors.As(err, &rl) {
		t.Fatalf("got %v, want a *RateLimitError", err)
	}
	// The gateway reads it through an interface.
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() != rl.RetryAfter() {
		t.Fatal("RetryAfter not reachable through an interface")
	}
	return rl.RetryAfter()
}

func TestRequestAddressLimits(t *testing.T) {
	f := newFixture(t, nil)
	req := func() error { return f.request(f.svc, "alice@example.org", ip) }
	if err := req(); err != nil {
		t.Fatal(err)
	}
	// The gap: 30 s between two codes; refusals for the gap do not count.
	for range 5 {
		if wait := retryAfter(t, req()); wait != 30*time.Second {
			t.Fatalf("retry after %s, want 30s", wait)
		}
	}
	f.clock.Add(12*time.Second + 300*time.Millisecond)
	if wait := retryAfter(t, req()); wait != 18*time.Second {
		t.Fatalf("retry after %s, want 18s (rounded up)", wait)
	}
	f.clock.Add(17*time.Second + 700*time.Millisecond)
	if err := req(); err != nil {
		t.Fatalf("second request after the gap: %v", err)
	}
	f.clock.Add(30 * time.Second)
	if err := req(); err != nil {
		t.Fatalf("third request: %v", err)
	}
	// The window: three codes per 15 minutes from one network.
	f.clock.Add(30 * time.Second)
	if wait := retryAfter(t, req()); wait != 15*time.Minute {
		t.Fatalf("fourth request: retry after %s, want 15m", wait)
	}
	if f.box.count() != 3 {
		t.Fatalf("%d codes sent, want 3", f.box.count())
	}
	// Another address is not affected.
	if err := f.request(f.svc, "bob@example.org", ip); err != nil {
		t.Fatal(err)
	}
	// The limit holds across a restart and on another relay.
	other := f.service(t, nil)
	f.clock.Add(30 * time.Second)
	if err := f.request(other, "alice@example.org", ip); !errors.Is(err, auth.ErrRateLimited) {
		t.Fatalf("on another relay: %v, want ErrRateLimited", err)
	}
	// Another network still gets codes for the address: three of them,
	// which make the six an address gets from all networks together.
	for i := range 3 {
		if err := f.request(other, "alice@example.org", "203.0.113.9"); err != nil {
			t.Fatalf("request %d from another network: %v", i+1, err)
		}
		f.clock.Add(30 * time.Second)
	}
	if wait := retryAfter(t, f.request(other, "alice@example.org", "198.51.100.7")); wait != 15*time.Minute {
		t.Fatalf("seventh code for the address: retry after %s, want 15m", wait)
	}
	if f.box.count() != 7 {
		t.Fatalf("%d codes sent, want 7 (6 for alice, 1 for bob)", f.box.count())
	}
	// After waiting the window it is open again.
	f.clock.Add(15 * time.Minute)
	if err := f.request(other, "alice@example.org", ip); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestRequestNetworkLimit(t *testing.T) {
	f := newFixture(t, func(c *auth.Config) { c.NetBurst = 3; c.NetRefill = time.Minute })
	for i := range 3 {
		if err := f.request(f.svc, fmt.Sprintf("user%d@example.org", i), "2001:db8:5::1"); err != nil {
			t.Fatal(err)
		}
	}
	err := f.request(f.svc, "user9@example.org", "[2001:db8:5::ffff]:4433")
	if wait := retryAfter(t, err); wait != time.Minute {
		t.Fatalf("same /64: retry after %s, want 1m", wait)
	}
	if err := f.request(f.svc, "user9@example.org", "2001:db8:6::1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	f.clock.Add(time.Minute)
	if err := f.request(f.svc, "user10@example.org", "2001:db8:5::1"); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	// Bad addresses cost no token.
	for range 10 {
		if err := f.request(f.svc, "not an address", "198.51.100.1"); !errors.Is(err, auth.ErrBadAddress) {
			t.Fatal(err)
		}
	}
	if err := f.request(f.svc, "x@example.org", "198.51.100.1"); err != nil {
		t.Fatalf("first good request after bad ones: %v", err)
	}
}

func TestRequestUnsupported(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	for _, a := range []string{"tel:+447700900123", "+447700900123", "irc:alice@libera.chat"} {
		if err := f.request(f.svc, a, ip); !errors.Is(err, auth.ErrUnsupportedScheme) {
			t.Fatalf("Request(%q): %v, want ErrUnsupportedScheme", a, err)
		}
		if _, _, err := f.verify(f.svc, a, "12345678"); !errors.Is(err, auth.ErrUnsupportedScheme) {
			t.Fatalf("Verify(%q): %v, want ErrUnsupportedScheme", a, err)
		}
		if _, err := f.svc.Lookup(ctx, a); !errors.Is(err, auth.ErrUnsupportedScheme) {
			t.Fatalf("Lookup(%q): %v, want ErrUnsupportedScheme", a, err)
		}
	}
	if f.box.count() != 0 || f.store.codeCount() != 0 {
		t.Fatal("a code was issued")
	}
	if _, err := f.svc.Lookup(ctx, "nope"); !errors.Is(err, auth.ErrBadAddress) {
		t.Fatalf("Lookup(bad): %v", err)
	}
}

func TestRequestDeliveryFailure(t *testing.T) {
	f := newFixture(t, nil)
	f.box.fail = errors.New("connect: connection refused")
	if err := f.request(f.svc, "alice@example.org", ip); !errors.Is(err, auth.ErrDelivery) {
		t.Fatalf("Request: %v, want ErrDelivery", err)
	}
	if f.store.codeCount() != 0 {
		t.Fatal("undelivered code kept")
	}
	// The request holds the gap like any other; then a retry goes out.
	f.box.fail = nil
	f.clock.Add(30 * time.Second)
	if err := f.request(f.svc, "alice@example.org", ip); err != nil {
		t.Fatalf("retry: %v", err)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*auth.Config)
		ok   bool
	}{
		{"defaults", func(*auth.Config) {}, true},
		{"short secret", func(c *auth.Config) { c.Secret = c.Secret[:31] }, false},
		{"no secret", func(c *auth.Config) { c.Secret = nil }, false},
		{"5 digits", func(c *auth.Config) { c.CodeDigits = 5 }, false},
		{"6 digits", func(c *auth.Config) { c.CodeDigits = 6 }, true},
		{"9 digits", func(c *auth.Config) { c.CodeDigits = 9 }, false},
		{"short ttl", func(c *auth.Config) { c.CodeTTL = time.Second }, false},
		{"negative attempts", func(c *auth.Config) { c.MaxAttempts = -1 }, false},
		{"negative refill", func(c *auth.Config) { c.NetRefill = -1 }, false},
		{"gap over ttl", func(c *auth.Config) { c.RequestGap = time.Hour }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := auth.Config{Secret: testSecret}
			tt.mod(&cfg)
			err := cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
			_, err = auth.New(cfg, newMemStore(), auth.Senders{auth.SchemeEmail: newInbox()})
			if (err == nil) != tt.ok {
				t.Fatalf("New = %v, want ok %v", err, tt.ok)
			}
		})
	}
	cfg := auth.Config{Secret: testSecret}
	if _, err := auth.New(cfg, newMemStore(), nil); err == nil {
		t.Fatal("New without senders")
	}
	if _, err := auth.New(cfg, newMemStore(), auth.Senders{"sms": newInbox()}); err == nil {
		t.Fatal("New with a sender for an unknown scheme")
	}
	if _, err := auth.New(cfg, nil, auth.Senders{auth.SchemeEmail: newInbox()}); err == nil {
		t.Fatal("New without a store")
	}
}

func TestHashAddressStable(t *testing.T) {
	f := newFixture(t, nil)
	a, _ := auth.ParseAddress("alice@example.org")
	b, _ := auth.ParseAddress("EMAIL:alice@EXAMPLE.org")
	h := f.svc.HashAddress(a)
	if len(h) != 32 || string(h) != string(f.svc.HashAddress(b)) || string(h) != string(f.service(t, nil).HashAddress(a)) {
		t.Fatal("address hash not stable across spellings and Services")
	}
	other, err := auth.New(auth.Config{Secret: []byte(strings.Repeat("x", 32))}, f.store, auth.Senders{auth.SchemeEmail: f.box})
	if err != nil {
		t.Fatal(err)
	}
	if string(other.HashAddress(a)) == string(h) {
		t.Fatal("address hash does not depend on the secret")
	}
}

func TestCredential(t *testing.T) {
	cred, hash := auth.NewCredential()
	if len(cred) != 32 || len(hash) != 32 {
		t.Fatalf("credential %d bytes, hash %d bytes", len(cred), len(hash))
	}
	if !auth.CheckCredential(cred, hash) {
		t.Fatal("credential does not check")
	}
	cred2, hash2 := auth.NewCredential()
	if string(cred2) == string(cred) || string(hash2) == string(hash) {
		t.Fatal("two credentials alike")
	}
	for i := range cred {
		bad := append([]byte(nil), cred...)
		bad[i] ^= 1
		if auth.CheckCredential(bad, hash) {
			t.Fatalf("credential with byte %d flipped checks", i)
		}
	}
	for _, tc := range []struct{ cred, hash []byte }{
		{nil, hash}, {cred[:31], hash}, {cred, hash[:31]}, {cred, nil}, {hash, cred2},
	} {
		if auth.CheckCredential(tc.cred, tc.hash) {
			t.Fatal("malformed credential checks")
		}
	}
	svc := newFixture(t, nil).svc
	c3, h3 := svc.NewCredential()
	if !svc.CheckCredential(c3, h3) || svc.CheckCredential(cred, h3) {
		t.Fatal("Service credential methods disagree")
	}
}

// BenchmarkRequestVerify is one sign-in: Request and Verify, over an
// in-memory store and sender.
func BenchmarkRequestVerify(b *testing.B) {
	store := newMemStore()
	box := newInbox()
	svc, err := auth.New(auth.Config{Secret: testSecret, NetBurst: 1 << 30, VerifyNetBurst: 1 << 30}, store, auth.Senders{auth.SchemeEmail: box})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		addr := fmt.Sprintf("user%d@example.org", i)
		i++
		tok, err := svc.Request(ctx, addr, ip)
		if err != nil {
			b.Fatal(err)
		}
		box.mu.Lock()
		code := box.codes["email:"+addr].Code
		box.mu.Unlock()
		if _, _, err := svc.Verify(ctx, addr, code, tok, ip); err != nil {
			b.Fatal(err)
		}
	}
}
