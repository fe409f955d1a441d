package attack_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/mutualcoop/mutual/internal/attack"
	"github.com/mutualcoop/mutual/internal/loadgen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDefencesHold runs every attack against a relay with its limits as
// deployed and checks that each met its defence: what the attacker got is
// what the limits allow, and the victim of the sign-in attack still signs
// in.
func TestDefencesHold(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	relay, err := loadgen.StartEmbedded(ctx, loadgen.EmbeddedOptions{Dir: t.TempDir(), Stock: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := relay.Close(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	run, err := attack.Start(ctx, attack.Config{URL: relay.URL, Codes: relay.Codes, Unauth: 100})
	if err != nil {
		t.Fatal(err)
	}
	defer run.Stop()
	type bound struct {
		outcome  string
		min, max int64 // max < 0: no upper bound
	}
	checks := map[string][]bound{
		// One account: the burst of 60, however often it reconnects (and
		// a few more refilled at 2 a second while the run lasts).
		"lookups": {{"rate_limited", 1, -1}},
		// Two one-time prekeys a day from one device to one account.
		"drain": {{"ok", 1, -1}, {"one-time prekey", 1, 2}},
		// 32 unauthenticated connections from one network, no more.
		"unauth": {{"refused", 1, -1}},
		// Strangers never accepted the flooder: nothing is stored.
		"flood": {{"ok", 0, 0}, {"not_accepted", 1, -1}},
		// The stranger's guesses are limited; the victim always signs in.
		"verify": {{"rate_limited", 1, -1}, {"victim signed in", 1, -1}, {"victim locked out", 0, 0}},
		// 20 lists, then one per 10 s (below, with what came back).
		"contacts": {{"not_found", 1, -1}, {"ok", 0, 20}},
		"keys":     {{"ok", 1, 20}, {"rate_limited", 1, -1}},
		// 30 contact requests from one network, then one per 2 minutes.
		"requests": {{"ok", 1, 30}, {"rate_limited", 1, -1}},
	}
	// Every attack runs until it has met its defence (and the victim of
	// the code guessing has signed in); the counts do not depend on time.
	met := func() bool {
		for name, bounds := range checks {
			counts := run.Counts(name)
			for _, b := range bounds {
				if counts[b.outcome] < b.min {
					return false
				}
			}
		}
		return true
	}
	waitFor(t, ctx, met)
	run.Stop()
	// What the buckets gave back while the attacks ran.
	elapsed := time.Since(start)
	for _, c := range []struct {
		attack string
		every  time.Duration
	}{{"contacts", 10 * time.Second}, {"keys", 10 * time.Second}, {"requests", 2 * time.Minute}} {
		for i := range checks[c.attack] {
			if b := &checks[c.attack][i]; b.outcome == "ok" {
				b.max += int64(elapsed/c.every) + 1
			}
		}
	}

	for name, bounds := range checks {
		counts := run.Counts(name)
		for _, b := range bounds {
			n := counts[b.outcome]
			if n < b.min || (b.max >= 0 && n > b.max) {
				t.Errorf("attack %s: %s %d times (all: %v), want %d to %d", name, b.outcome, n, counts, b.min, b.max)
			}
		}
	}
	if n := run.Counts("lookups")["not_found"]; n > 60+2*int64(elapsed/time.Second)+1 {
		t.Errorf("attack lookups: %d answered, more than the burst and its refill", n)
	}
	if n := run.Counts("unauth")["opened"] - run.Counts("unauth")["closed by the relay"]; n > 32 {
		t.Errorf("attack unauth: %d held open at once, want at most 32", n)
	}
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatal("the attacks never all met their defences")
		case <-tick.C:
		}
	}
}
