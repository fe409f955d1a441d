//go:build !js

package client_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// clock is a test clock that runs with real time plus an offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *clock) tune(cfg *client.Config) { cfg.Now = c.now }

// TestSignedPreKeyRotation: at a connection, a signed prekey older than
// a week is replaced (with the last-resort KEM prekey) and published;
// the old one still opens sessions started with it during the grace
// period, and is deleted after.
func TestSignedPreKeyRotation(t *testing.T) {
	r := startRelay(t)
	var clk clock
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDeviceWith("bob", "email:bob@example.org", clk.tune)
	ids := func() []uint32 {
		got, err := client.SignedPreKeyIDs(context.Background(), bob.c)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := ids(); !slices.Equal(got, []uint32{1}) {
		t.Fatalf("signed prekeys %v", got)
	}

	// Alice starts a session from Bob's current bundle while he is away.
	bob.stop()
	if _, err := alice.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	id := alice.send(bob, "written to the old signed prekey")
	alice.waitState(bob, id, client.StateSent)

	// A week later Bob comes back: the key is replaced, and Alice's
	// message, set up with the old one, still opens.
	clk.advance(8 * 24 * time.Hour)
	bob.start()
	bob.waitText(alice, "written to the old signed prekey")
	wait.For(t, "the rotated signed prekey", func() bool { return slices.Equal(ids(), []uint32{1, 2}) })
	spy := r.rawDevice("email:carol@example.org")
	wait.For(t, "the new signed prekey published", func() bool {
		b, err := transport.Call[*wire.Bundles](ctxT(t), spy, &wire.FetchBundles{User: bob.acct.User})
		return err == nil && len(b.Bundles) == 1 && b.Bundles[0].Signed.ID == 2
	})

	// Five weeks later the retired key is gone (and the current one, two
	// weeks old by then, is replaced in turn).
	clk.advance(36 * 24 * time.Hour)
	bob.restart()
	wait.For(t, "the retired signed prekey deleted", func() bool { return slices.Equal(ids(), []uint32{2, 3}) })
	if err := bob.c.Accept(ctxT(t), alice.acct.User); err != nil {
		t.Fatal(err)
	}
	bob.send(alice, "still fine")
	alice.waitText(bob, "still fine")
}

// TestPrekeyRefill: when others have taken nearly all of a device's
// one-time prekeys, the relay says so and the device publishes more.
func TestPrekeyRefill(t *testing.T) {
	r := startRelayWith(t, openPrekeyLimits)
	bob := r.newDevice("bob", "email:bob@example.org")
	ec, kem, err := client.OneTimePrekeys(context.Background(), bob.c)
	if err != nil || ec != 100 || kem != 100 {
		t.Fatalf("prekeys after registration: %d EC, %d KEM, %v", ec, kem, err)
	}
	// Two accounts take 91 of each kind (each account may fetch 60
	// bundles at once), leaving 9: below the relay's mark of 10.
	spies := []*transport.Conn{r.rawDevice("email:carol@example.org"), r.rawDevice("email:dave@example.org")}
	for i := range 91 {
		b, err := transport.Call[*wire.Bundles](ctxT(t), spies[i%2], &wire.FetchBundles{User: bob.acct.User})
		if err != nil || len(b.Bundles) != 1 || b.Bundles[0].OneTime == nil || b.Bundles[0].KEMLastResort {
			t.Fatalf("fetch %d: %+v %v", i, b, err)
		}
	}
	// Bob refills both pools to 100: 91 new keys of each kind beside the
	// 100 he still keeps (taken keys stay until a session uses them).
	wait.For(t, "the refill", func() bool {
		ec, kem, err := client.OneTimePrekeys(context.Background(), bob.c)
		return err == nil && ec == 191 && kem == 191
	})
	// The relay hands out one-time keys again beyond the nine left.
	for i := range 20 {
		b, err := transport.Call[*wire.Bundles](ctxT(t), spies[i%2], &wire.FetchBundles{User: bob.acct.User})
		if err != nil || b.Bundles[0].OneTime == nil || b.Bundles[0].KEMLastResort {
			t.Fatalf("fetch %d after the refill: %+v %v", i, b, err)
		}
	}
}

// openPrekeyLimits lets anyone take every one-time prekey at once, as a
// relay without limits would: the device must defend itself.
func openPrekeyLimits(c *server.Config) {
	wide := limit.Rate{Every: time.Microsecond, Burst: 1 << 20}
	c.Gateway.PrekeyPairRate, c.Gateway.PrekeyClaimRate, c.Gateway.PrekeyDeviceRate = wide, wide, wide
	c.Gateway.Rates.Lookup, c.Gateway.Rates.LookupDaily = limit.PerSecond(2, 1000), limit.PerDay(100_000)
}

// TestPrekeyFlood: someone emptying a device's pools over and over, each
// time setting off a stream of prekeys-low notices, makes the device
// refill at most once an hour and keep at most 200 one-time prekeys of
// each kind; keys long replaced are deleted, and sessions still start.
func TestPrekeyFlood(t *testing.T) {
	r := startRelayWith(t, openPrekeyLimits)
	var clk clock
	bob := r.newDeviceWith("bob", "email:bob@example.org", clk.tune)
	stored := func() (int, int) {
		t.Helper()
		ec, kem, err := client.OneTimePrekeys(context.Background(), bob.c)
		if err != nil {
			t.Fatal(err)
		}
		return ec, kem
	}
	spy := r.rawDevice("email:mallory@example.org")
	drain := func(n int) (taken int) {
		t.Helper()
		for i := range n {
			b, err := transport.Call[*wire.Bundles](ctxT(t), spy, &wire.FetchBundles{User: bob.acct.User})
			if err != nil || len(b.Bundles) != 1 {
				t.Fatalf("fetch %d: %+v %v", i, b, err)
			}
			if b.Bundles[0].OneTime != nil {
				taken++
			}
		}
		return taken
	}

	// Three hundred fetches: the pool runs low, the relay says so after
	// each of the last claims, and Bob refills once (91 keys) however
	// many notices come. The restart waits for him to have read them.
	if taken := drain(300); taken < 100 || taken > 191 {
		t.Fatalf("%d one-time prekeys taken, want 100 and at most one refill of 91", taken)
	}
	bob.restart()
	if ec, kem := stored(); ec != 191 || kem != 191 {
		t.Fatalf("bob keeps %d EC and %d KEM one-time prekeys, want 191: 100 at registration and one refill", ec, kem)
	}

	// Two hours later he refills again, and keeps the newest 200.
	clk.advance(2 * time.Hour)
	bob.restart()
	wait.For(t, "the second refill", func() bool { ec, kem := stored(); return ec == 200 && kem == 200 })
	wait.For(t, "the second refill published", func() bool { return drain(1) == 1 })

	// Five weeks on, what was replaced long ago is gone: the newest batch
	// is all he keeps.
	clk.advance(36 * 24 * time.Hour)
	bob.restart()
	wait.For(t, "stale one-time prekeys deleted", func() bool { ec, kem := stored(); return ec == 100 && kem == 100 })

	// Sessions still start.
	alice := r.newDevice("alice", "email:alice@example.org")
	if _, err := alice.c.AddContact(ctxT(t), bob.address); err != nil {
		t.Fatal(err)
	}
	alice.send(bob, "hello after the flood")
	bob.waitText(alice, "hello after the flood")
}
