package wait

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestUntil(t *testing.T) {
	t.Run("holds at once", func(t *testing.T) {
		calls := 0
		if err := Until(context.Background(), func() bool { calls++; return true }); err != nil {
			t.Fatal(err)
		}
		if calls != 1 {
			t.Errorf("cond called %d times, want 1", calls)
		}
	})
	t.Run("holds later", func(t *testing.T) {
		var n atomic.Int32
		if err := Until(context.Background(), func() bool { return n.Add(1) == 3 }); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 3 {
			t.Errorf("cond called %d times, want 3", n.Load())
		}
	})
	t.Run("never holds", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := Until(ctx, func() bool { return false })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v, want the context's deadline", err)
		}
	})
}

// recorder is a testing.TB that records a failure instead of failing.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
}

func TestForPasses(t *testing.T) {
	r := &recorder{TB: t}
	var n atomic.Int32
	For(r, "the third call", func() bool { return n.Add(1) >= 3 })
	if r.failed != "" {
		t.Fatalf("For failed: %s", r.failed)
	}
}
