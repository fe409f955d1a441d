//go:build postgres

package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/limit"
)

// TestLimitsPrune: buckets full again are deleted as Takes go, a batch at
// a time, and at once again while a batch comes back full.
func TestLimitsPrune(t *testing.T) {
	d := openFresh(t)
	ctx := context.Background()
	s := d.Limits()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	r := limit.Rate{Every: time.Second, Burst: 10}
	rows := func() int {
		var n int
		if err := d.pool.QueryRow(ctx, `SELECT count(*) FROM rate_limits`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const keys = directory.LimitPruneBatch + 10
	for i := range keys {
		if ok, _, err := s.Take(ctx, fmt.Sprintf("k/%d", i), r, 1, t0); !ok || err != nil {
			t.Fatalf("take %d: %v, %v", i, ok, err)
		}
	}
	if n := rows(); n != keys {
		t.Fatalf("%d rows, want %d", n, keys)
	}
	// Not yet past the slack: nothing goes.
	s.Take(ctx, "k/0", r, 1, t0.Add(directory.LimitPruneEvery))
	if n := rows(); n != keys {
		t.Fatalf("%d rows before the slack, want %d", n, keys)
	}
	later := t0.Add(time.Hour)
	s.Take(ctx, "fresh/1", r, 1, later)
	if n := rows(); n != keys-directory.LimitPruneBatch+1 {
		t.Fatalf("%d rows after one prune, want %d", n, keys-directory.LimitPruneBatch+1)
	}
	s.Take(ctx, "fresh/2", r, 1, later)
	if n := rows(); n != 2 {
		t.Fatalf("%d rows after the second prune, want 2 (the fresh keys)", n)
	}
}
