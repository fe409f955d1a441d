// Package wait is how tests wait for state that no event announces: poll
// a condition until it holds, or give up at a deadline. A condition that
// already holds returns at once, so the deadline can be generous enough
// for a loaded machine without slowing a passing test.
package wait

import (
	"context"
	"testing"
	"time"
)

// Timeout is how long For waits before failing the test.
const Timeout = 60 * time.Second

// Interval is how often a condition is checked.
const Interval = 5 * time.Millisecond

// For polls cond until it holds, failing t after Timeout. Call it from the
// test's goroutine; what names the awaited state in the failure.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	if err := Until(ctx, cond); err != nil {
		t.Fatalf("timed out after %v waiting for %s", Timeout, what)
	}
}

// Until polls cond every Interval until it holds, or returns ctx's error
// when ctx ends first. It is for callers that own their deadline, or that
// run outside the test's goroutine and so cannot fail the test.
func Until(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(Interval)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
