package limit_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/limit"
)

var t0 = time.Unix(1_700_000_000, 0)

func at(d time.Duration) time.Time { return t0.Add(d) }

// TestMemory drives the bucket through what a client meets: the burst,
// the wait, the refill, a clock that steps back, and charges of more than
// one unit.
func TestMemory(t *testing.T) {
	ctx := context.Background()
	s := limit.NewMemory(100)
	r := limit.Rate{Every: time.Second, Burst: 3}
	take := func(key string, n int64, now time.Time) (bool, time.Duration) {
		t.Helper()
		ok, retry, err := s.Take(ctx, key, r, n, now)
		if err != nil {
			t.Fatal(err)
		}
		return ok, retry
	}
	for i := range 3 {
		if ok, _ := take("a", 1, t0); !ok {
			t.Fatalf("take %d of a burst of 3 refused", i+1)
		}
	}
	if ok, retry := take("a", 1, t0); ok || retry != time.Second {
		t.Fatalf("past the burst: %v, retry %s; want refused, 1s", ok, retry)
	}
	if ok, retry := take("a", 1, at(250*time.Millisecond)); ok || retry != 750*time.Millisecond {
		t.Fatalf("a quarter in: %v, retry %s; want refused, 750ms", ok, retry)
	}
	if ok, _ := take("b", 1, t0); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := take("a", 1, at(time.Second)); !ok {
		t.Fatal("no unit back after 1s")
	}
	if ok, _ := take("a", 1, at(time.Second)); ok {
		t.Fatal("two units back after 1s")
	}
	if ok, _ := take("a", 1, t0); ok {
		t.Fatal("a unit from a clock going backwards")
	}
	// All or nothing: 2 units when 1 is there are refused and cost nothing.
	if ok, retry := take("a", 2, at(2*time.Second)); ok || retry != time.Second {
		t.Fatalf("2 of 1: %v, retry %s; want refused, 1s", ok, retry)
	}
	if ok, _ := take("a", 1, at(2*time.Second)); !ok {
		t.Fatal("the refused charge was spent")
	}
	// More than the burst never fits.
	if ok, retry := take("a", 4, at(time.Hour)); ok || retry != 24*time.Hour {
		t.Fatalf("over the burst: %v, retry %s", ok, retry)
	}
	// Idle refills to the burst, no more.
	if ok, _ := take("a", 3, at(time.Hour)); !ok {
		t.Fatal("not full after an hour")
	}
	if ok, _ := take("a", 1, at(time.Hour)); ok {
		t.Fatal("over the burst after an hour")
	}
}

func TestMemoryBounded(t *testing.T) {
	ctx := context.Background()
	s := limit.NewMemory(2)
	r := limit.Rate{Every: time.Hour, Burst: 1}
	for _, k := range []string{"a", "b", "c"} {
		if ok, _, _ := s.Take(ctx, k, r, 1, t0); !ok {
			t.Fatalf("%s refused", k)
		}
	}
	if s.Len() != 2 {
		t.Fatalf("holds %d keys, want 2", s.Len())
	}
	if ok, _, _ := s.Take(ctx, "c", r, 1, t0); ok {
		t.Fatal("the most recent key was dropped")
	}
}

func TestOff(t *testing.T) {
	s := limit.NewMemory(1)
	for range 10 {
		if ok, _, _ := s.Take(context.Background(), "a", limit.Rate{}, 1, t0); !ok {
			t.Fatal("a zero rate limits")
		}
	}
	if s.Len() != 0 {
		t.Fatal("a zero rate keeps a key")
	}
}

func TestPerDay(t *testing.T) {
	r := limit.PerDay(500)
	if r.Burst != 500 || r.Every != 24*time.Hour/500 {
		t.Fatalf("PerDay(500) = %+v", r)
	}
	if r := limit.PerSecond(2, 60); r.Every != 500*time.Millisecond || r.Burst != 60 {
		t.Fatalf("PerSecond(2, 60) = %+v", r)
	}
}

func TestNetwork(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1/32"},
		{"192.0.2.1:443", "192.0.2.1/32"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"2001:db8::1", "2001:db8::/64"},
		{"[2001:db8::1:2]:443", "2001:db8::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	}
	for _, tt := range tests {
		if got := limit.Network(tt.in); got != netip.MustParsePrefix(tt.want) {
			t.Errorf("Network(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	if got := limit.Network("not an address"); got.IsValid() {
		t.Errorf("Network of garbage = %s", got)
	}
}

// TestHashed: the inner store sees hashed keys that keep what is counted
// and whose kind, and nothing of the ID; the buckets work the same.
func TestHashed(t *testing.T) {
	ctx := context.Background()
	seen := &recorder{Store: limit.NewMemory(10)}
	h, err := limit.NewHashed(seen, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	r := limit.Rate{Every: time.Hour, Burst: 1}
	if ok, _, _ := h.Take(ctx, "lookup/net/192.0.2.1/32", r, 1, t0); !ok {
		t.Fatal("first take refused")
	}
	if ok, _, _ := h.Take(ctx, "lookup/net/192.0.2.1/32", r, 1, t0); ok {
		t.Fatal("the same key took twice")
	}
	if ok, _, _ := h.Take(ctx, "lookup/net/192.0.2.2/32", r, 1, t0); !ok {
		t.Fatal("another network shares the bucket")
	}
	other, err := limit.NewHashed(seen, []byte("another secret, just as long...."))
	if err != nil {
		t.Fatal(err)
	}
	other.Take(ctx, "lookup/net/192.0.2.1/32", r, 1, t0)
	if len(seen.keys) != 4 || seen.keys[0] != seen.keys[1] || seen.keys[0] == seen.keys[2] || seen.keys[0] == seen.keys[3] {
		t.Fatalf("inner keys %q", seen.keys)
	}
	for _, k := range seen.keys {
		if !strings.HasPrefix(k, "lookup/net/") || len(k) != len("lookup/net/")+32 || strings.Contains(k, "192.0.2") {
			t.Fatalf("inner key %q", k)
		}
	}
}

type recorder struct {
	limit.Store
	keys []string
}

func (r *recorder) Take(ctx context.Context, key string, rate limit.Rate, n int64, now time.Time) (bool, time.Duration, error) {
	r.keys = append(r.keys, key)
	return r.Store.Take(ctx, key, rate, n, now)
}

// countingStore counts the Takes that reach a Memory.
type countingStore struct {
	*limit.Memory
	takes int
}

func (s *countingStore) Take(ctx context.Context, key string, r limit.Rate, n int64, now time.Time) (bool, time.Duration, error) {
	s.takes++
	return s.Memory.Take(ctx, key, r, n, now)
}

// TestLeased: an idle key is counted in the shared store as it is; a busy
// one takes growing leases, so that few Takes reach the shared store; and
// however the units are leased, no more are granted than the bucket
// holds, and unused leased units are forfeited after a second.
func TestLeased(t *testing.T) {
	ctx := context.Background()
	shared := &countingStore{Memory: limit.NewMemory(100)}
	l := limit.NewLeased(shared, 100)
	r := limit.Rate{Every: time.Millisecond, Burst: 1000} // 1,000 a second

	// Idle: one request a second, each counted in the shared store.
	for i := range 3 {
		if ok, _, _ := l.Take(ctx, "idle", r, 1, at(time.Duration(i)*2*time.Second)); !ok {
			t.Fatal("idle key refused")
		}
	}
	if shared.takes != 3 {
		t.Fatalf("%d shared takes for 3 idle requests, want 3", shared.takes)
	}

	// Busy: the whole burst at one instant, in far fewer shared Takes,
	// and not one unit more.
	shared.takes = 0
	granted := 0
	for range 2000 {
		if ok, _, _ := l.Take(ctx, "busy", r, 1, t0); ok {
			granted++
		}
	}
	if granted != 1000 {
		t.Fatalf("granted %d of a burst of 1,000", granted)
	}
	if shared.takes > 1000/8 {
		t.Fatalf("%d shared takes for a burst of 1,000", shared.takes)
	}
	// What a lease left unused is gone after a second: the shared bucket
	// decides again.
	if ok, _, _ := l.Take(ctx, "busy", r, 1, at(500*time.Millisecond)); !ok {
		t.Fatal("no unit back after refilling half a second")
	}
}
