package dirtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// testUserCreated checks that an account's creation time is kept.
func testUserCreated(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	before := time.Now()
	u := newUser(t, d)
	after := time.Now()
	got, err := d.UserCreated(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if got.Before(before.Truncate(time.Microsecond)) || got.After(after) {
		t.Fatalf("UserCreated = %v, want between %v and %v", got, before, after)
	}
	if _, err := d.UserCreated(ctx, wire.NewUserID()); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("UserCreated(unknown) = %v, want ErrNotFound", err)
	}
}

// testLimits plays one script of Takes on the directory's store and on
// limit.Memory, the reference: every answer must be the same. The script
// goes through what a client meets: the burst, the wait, the refill, a
// clock that steps back, charges of several units, more than the burst, a
// rate that is off, an idle bucket pruned and full again.
func testLimits(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	store, ref := d.Limits(), limit.NewMemory(100)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	sec := limit.Rate{Every: time.Second, Burst: 3}
	day := limit.PerDay(500)
	steps := []struct {
		key string
		r   limit.Rate
		n   int64
		at  time.Duration
	}{
		{"a", sec, 1, 0}, {"a", sec, 1, 0}, {"a", sec, 1, 0}, {"a", sec, 1, 0}, // burst, then refused
		{"a", sec, 1, 250 * time.Millisecond},                  // a quarter of the way
		{"b", sec, 1, 0},                                       // another key
		{"a", sec, 1, time.Second}, {"a", sec, 1, time.Second}, // one back
		{"a", sec, 1, 0},                           // the clock steps back
		{"a", sec, 2, 2 * time.Second},             // all or nothing
		{"a", sec, 1, 2 * time.Second},             // the refused charge cost nothing
		{"a", sec, 4, 3 * time.Second},             // over the burst
		{"a", limit.Rate{}, 1000, 3 * time.Second}, // off
		{"d", day, 499, 0}, {"d", day, 2, 0}, {"d", day, 1, 0}, {"d", day, 1, 0},
		{"d", day, 1, time.Hour},
		{"a", sec, 3, time.Hour}, {"a", sec, 1, time.Hour}, // full again after an hour (and pruned), no more
		{"d", day, 25, 3 * time.Hour}, {"d", day, 1, 3 * time.Hour},
		{strings.Repeat("k", directory.MaxLimitKey), sec, 3, time.Hour},
		{strings.Repeat("k", directory.MaxLimitKey), sec, 1, time.Hour},
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		wantOK, wantRetry, _ := ref.Take(ctx, s.key, s.r, s.n, now)
		ok, retry, err := store.Take(ctx, s.key, s.r, s.n, now)
		if err != nil {
			t.Fatalf("step %d: Take(%.8s, %d at +%v) = %v", i, s.key, s.n, s.at, err)
		}
		if ok != wantOK || retry != wantRetry {
			t.Errorf("step %d: Take(%.8s, %d at +%v) = %v, %v; want %v, %v", i, s.key, s.n, s.at, ok, retry, wantOK, wantRetry)
		}
	}
	for _, bad := range []struct {
		key string
		n   int64
	}{{"", 1}, {strings.Repeat("k", directory.MaxLimitKey+1), 1}, {"a", -1}} {
		if _, _, err := store.Take(ctx, bad.key, sec, bad.n, t0); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("Take(key of %d bytes, %d) = %v, want ErrInvalid", len(bad.key), bad.n, err)
		}
	}
}

// testConcurrentLimits checks that racing Takes, through stores opened
// separately as different gateways would, never grant more than a bucket
// holds: on a new key (racing inserts) and on an existing one, with
// charges of one unit and of several.
func testConcurrentLimits(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	r := limit.Rate{Every: time.Hour, Burst: 100}
	race := func(key string, n int64, now time.Time) int64 {
		const workers, each = 16, 10
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			granted int64
			errs    []error
		)
		for range workers {
			store := d.Limits()
			wg.Go(func() {
				for range each {
					ok, _, err := store.Take(ctx, key, r, n, now)
					mu.Lock()
					if err != nil {
						errs = append(errs, err)
					}
					if ok {
						granted += n
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		return granted
	}
	for _, tt := range []struct {
		name string
		n    int64
		want int64
	}{{"one unit", 1, 100}, {"three units", 3, 99}} {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("race/%d", tt.n)
			first := race(key, tt.n, t0)
			if first != tt.want {
				t.Fatalf("racing Takes on a new key granted %d units of a burst of 100, want %d", first, tt.want)
			}
			// Ten units back after ten hours: racing again grants what
			// fits in those and what the first race left.
			free := r.Burst - first + 10
			if got, want := race(key, tt.n, t0.Add(10*time.Hour)), free/tt.n*tt.n; got != want {
				t.Fatalf("racing Takes on a drained key granted %d units, want %d", got, want)
			}
		})
	}
}
