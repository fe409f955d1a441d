package gateway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// fullKeys is a complete set of public keys with n one-time prekeys of
// each kind.
func fullKeys(n int) *wire.PublishKeys {
	pk := keys(n)
	for i := range n {
		pk.KEMOneTime = append(pk.KEMOneTime, prekey(uint32(1000+i), true))
	}
	return pk
}

// fetchOneTime fetches user's bundles n times as d and counts the
// one-time EC and KEM prekeys it got; every bundle without them must be
// the bundle of an empty pool.
func fetchOneTime(t *testing.T, d *device, user wire.UserID, n int) (ec, kem int) {
	t.Helper()
	for i := range n {
		b, ok := d.call(&wire.FetchBundles{User: user}).(*wire.Bundles)
		if !ok || len(b.Bundles) != 1 {
			t.Fatalf("fetch %d: %#v", i, b)
		}
		bd := b.Bundles[0]
		if bd.OneTime != nil {
			ec++
		}
		if !bd.KEMLastResort {
			kem++
		} else if bd.KEM.ID != 2 || len(bd.KEM.Signature) == 0 {
			t.Fatalf("fetch %d: KEM key %+v, want the last-resort one", i, bd.KEM)
		}
		if len(bd.Identity) == 0 || len(bd.Signed.Signature) == 0 {
			t.Fatalf("fetch %d: bundle %+v", i, bd)
		}
	}
	return ec, kem
}

// remaining returns how many one-time prekeys of each kind d has left.
func (h *harness) remaining(t *testing.T, d *device) directory.PrekeyCounts {
	t.Helper()
	c, err := h.dir.PrekeyCounts(context.Background(), d.user, d.id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPrekeyDrain: strangers fetching a device's bundles over and over
// take only the one-time prekeys the limits allow, whoever they are; past
// them the bundles are those of an empty pool, and the device is not
// asked to make more.
func TestPrekeyDrain(t *testing.T) {
	clk := &clock{now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)}
	h := newHarness(t, func(c *gateway.Config) {
		c.Now = clk.Now
		// The lookup limits are not what is tested.
		c.Rates.Lookup, c.Rates.LookupDaily = limit.PerSecond(2, 1000), limit.PerDay(100_000)
	})
	bob := h.register(t, "email:bob@example.org")
	if got := bob.call(fullKeys(100)); !isOK(got) {
		t.Fatalf("publish: %#v", got)
	}

	// One stranger: 101 fetches, as fast as the relay answers.
	mallory := h.register(t, "email:mallory@example.org")
	if ec, kem := fetchOneTime(t, mallory, bob.user, 101); ec != 2 || kem != 2 {
		t.Fatalf("one stranger took %d EC and %d KEM one-time prekeys, want 2 of each", ec, kem)
	}
	// Her second device is the same account.
	mallory2 := h.register(t, "email:mallory@example.org")
	if ec, kem := fetchOneTime(t, mallory2, bob.user, 5); ec != 0 || kem != 0 {
		t.Fatalf("the stranger's second device took %d EC and %d KEM", ec, kem)
	}

	// Many strangers: the device hands out at most 20 an hour in all.
	total := 2
	for i := range 12 {
		s := h.register(t, fmt.Sprintf("email:sybil%d@example.org", i))
		ec, _ := fetchOneTime(t, s, bob.user, 3)
		total += ec
	}
	if total != 20 {
		t.Fatalf("strangers took %d one-time prekeys in an hour, want 20", total)
	}
	if got := h.remaining(t, bob); got != (directory.PrekeyCounts{OneTime: 80, KEMOneTime: 80}) {
		t.Fatalf("bob has %+v left, want 80 of each", got)
	}
	// An hour later the device hands out some again.
	clk.advance(time.Hour)
	late := h.register(t, "email:late@example.org")
	if ec, kem := fetchOneTime(t, late, bob.user, 3); ec != 2 || kem != 2 {
		t.Fatalf("an hour later: %d EC and %d KEM, want 2 of each", ec, kem)
	}
	// None of this ran the pools low: bob was never asked for more.
	bob.quiet()
}

// TestPrekeyClaimsPerAccount: one account takes at most PrekeyClaimRate
// one-time prekeys in all, from however many devices.
func TestPrekeyClaimsPerAccount(t *testing.T) {
	h := newHarness(t, func(c *gateway.Config) { c.PrekeyClaimRate = limit.PerDay(5) })
	mallory := h.register(t, "email:mallory@example.org")
	total := 0
	for i := range 4 {
		v := h.register(t, fmt.Sprintf("email:victim%d@example.org", i))
		if got := v.call(fullKeys(10)); !isOK(got) {
			t.Fatalf("publish: %#v", got)
		}
		ec, _ := fetchOneTime(t, mallory, v.user, 2)
		total += ec
	}
	if total != 5 {
		t.Fatalf("one account took %d one-time prekeys from four devices, want 5", total)
	}
}

// TestPrekeysForBlocked: someone the user blocked gets the bundle of an
// empty pool, takes nothing, and cannot tell it from one.
func TestPrekeysForBlocked(t *testing.T) {
	h := newHarness(t, nil)
	carol := h.register(t, "email:carol@example.org")
	mallory := h.register(t, "email:mallory@example.org")
	alice := h.register(t, "email:alice@example.org")
	if got := carol.call(fullKeys(50)); !isOK(got) {
		t.Fatalf("publish: %#v", got)
	}
	if got := carol.call(&wire.SetContact{User: mallory.user, State: wire.ContactBlocked}); !isOK(got) {
		t.Fatalf("block: %#v", got)
	}
	blocked, ok := mallory.call(&wire.FetchBundles{User: carol.user}).(*wire.Bundles)
	if !ok || len(blocked.Bundles) != 1 {
		t.Fatalf("blocked fetch: %#v", blocked)
	}
	if ec, kem := fetchOneTime(t, mallory, carol.user, 5); ec != 0 || kem != 0 {
		t.Fatalf("a blocked stranger took %d EC and %d KEM one-time prekeys", ec, kem)
	}
	if got := h.remaining(t, carol); got != (directory.PrekeyCounts{OneTime: 50, KEMOneTime: 50}) {
		t.Fatalf("carol has %+v left, want all 50 of each", got)
	}
	// The bundle is the one an empty pool gives.
	if ec, kem := fetchOneTime(t, alice, carol.user, 1); ec != 1 || kem != 1 {
		t.Fatalf("someone not blocked took %d EC and %d KEM, want 1 of each", ec, kem)
	}
	for range 50 {
		if _, err := h.dir.ClaimBundle(context.Background(), carol.user, carol.id); err != nil {
			t.Fatal(err)
		}
	}
	empty, ok := alice.call(&wire.FetchBundles{User: carol.user}).(*wire.Bundles)
	if !ok || len(empty.Bundles) != 1 {
		t.Fatalf("fetch from an empty pool: %#v", empty)
	}
	if got, want := fmt.Sprintf("%+v", blocked), fmt.Sprintf("%+v", empty); got != want {
		t.Fatalf("the blocked stranger's bundle\n%s\ndiffers from an empty pool's\n%s", got, want)
	}
}
