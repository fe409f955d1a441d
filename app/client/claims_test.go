//go:build !js

package client_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// person returns what d knows of peer, a contact or a request.
func (d *device) person(peer *device) client.Contact {
	d.t.Helper()
	ct, err := d.c.Contact(ctxT(d.t), peer.acct.User)
	if err != nil {
		d.t.Fatalf("%s: %s: %v", d.name, peer.name, err)
	}
	return ct
}

// waitVerified waits until d shows peer's address as addr, confirmed.
func (d *device) waitVerified(peer *device, addr string) {
	d.t.Helper()
	d.eventually(peer.name+"'s address "+addr, func() bool {
		ct, err := d.c.Contact(ctxT(d.t), peer.acct.User)
		return err == nil && ct.VerifiedAddress == addr && !ct.AddressPending()
	})
}

// TestAddressClaims: who writes is shown by the address their account is
// registered under, confirmed end to end. Ben finds Ann by her address
// in another case; his contact request says who he is, and Ann's device
// confirms it with a Lookup; a request that claims someone else's
// address (or one nobody has) is shown without it and marked; Ann's
// profile tells Ben her address as she spells it. (A forged request
// is the first request from its sender: the relay lets one a day
// through to Ann from each.)
func TestAddressClaims(t *testing.T) {
	r := startRelay(t)
	ann := r.newDevice("ann", "email:Ann-UX@Example.ORG")
	ben := r.newDevice("ben", "email:ben@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	eve := r.newDevice("eve", "email:eve@example.org")

	// The relay folds the local part's case: Ben finds Ann, and the
	// address he typed (the Lookup found her there) is verified.
	ct, err := ben.c.AddContact(ctxT(t), "email:ann-ux@example.org")
	if err != nil || ct.User != ann.acct.User {
		t.Fatalf("ben adds ann in lower case: %+v %v", ct, err)
	}
	if ct.VerifiedAddress != "email:ann-ux@example.org" || ct.DisplayAddress() != "ann-ux@example.org" {
		t.Fatalf("ben's contact ann: %+v", ct)
	}

	// Ben writes: a contact request that says who he is.
	ben.send(ann, "hi ann, it's ben")
	ann.waitVerified(ben, "email:ben@example.org")
	if rs, _ := ann.c.Requests(ctxT(t)); len(rs) != 1 || rs[0].User != ben.acct.User ||
		rs[0].DisplayAddress() != "ben@example.org" || rs[0].AddressMismatch {
		t.Fatalf("ann's requests: %+v", rs)
	}

	// Eve, with a client of her own making, claims Carol's address, and
	// Dan one nobody has: Ann's device shows neither, and marks them.
	dan := r.newDevice("dan", "email:dan@example.org")
	for _, f := range []struct {
		from  *device
		claim string
	}{{eve, carol.address}, {dan, "email:nobody@example.org"}} {
		f.from.stop()
		id := forge(t, f.from, ann, func(ctx context.Context, bundles []wire.Bundle) (*wire.Send, error) {
			return client.SealClaim(ctx, f.from.c, ann.acct.User, "it's carol, new address", f.claim, bundles)
		})
		ann.eventually(f.from.name+"'s claim refused", func() bool {
			if seen, err := client.Seen(ctxT(t), ann.c, f.from.acct.User, id); err != nil || !seen {
				return false
			}
			ct, err := ann.c.Contact(ctxT(t), f.from.acct.User)
			return err == nil && ct.AddressMismatch && !ct.AddressPending()
		})
		ct := ann.person(f.from)
		if ct.VerifiedAddress != "" || ct.DisplayAddress() != "" || ct.Name() != f.from.acct.User.String()[:8] || ct.State != client.ContactRequest {
			t.Fatalf("ann shows %s's false claim %s: %+v, called %q", f.from.name, f.claim, ct, ct.Name())
		}
		f.from.start()
	}

	// Ann accepts Ben; her profile tells him her name and her address as
	// she spells it, which is the one he typed (one account): it takes
	// its place, without a Lookup.
	if err := ann.c.SetProfileName(ctxT(t), "Ann"); err != nil {
		t.Fatal(err)
	}
	if err := ann.c.Accept(ctxT(t), ben.acct.User); err != nil {
		t.Fatal(err)
	}
	ben.waitProfileName(ann, "Ann")
	ben.waitVerified(ann, "email:Ann-UX@example.org")
	if ct := ben.person(ann); ct.DisplayAddress() != "Ann-UX@example.org" || ct.AddressMismatch || ct.Address != "email:ann-ux@example.org" {
		t.Fatalf("ben's contact ann: %+v", ct)
	}
	// What Ann knows survives a restart.
	ann.restart()
	if ct := ann.person(ben); ct.VerifiedAddress != "email:ben@example.org" || ct.State != client.ContactAllowed {
		t.Fatalf("after a restart, ann's contact ben: %+v", ct)
	}
	if ct := ann.person(eve); !ct.AddressMismatch || ct.VerifiedAddress != "" {
		t.Fatalf("after a restart, ann's request from eve: %+v", ct)
	}
}

// TestAddressClaimRetried: a Lookup the relay refuses (rate_limited)
// leaves the claim pending, not refused, and it is tried again until the
// relay answers. The relay's clock stands still until the test moves it,
// so its Lookup bucket, emptied by Ann, fills only then.
func TestAddressClaimRetried(t *testing.T) {
	var skew atomic.Int64
	start := time.Now()
	now := func() time.Time { return start.Add(time.Duration(skew.Load())) }
	r := startRelayWith(t, func(c *server.Config) {
		c.Gateway.Now = now
		c.Gateway.Rates.Lookup = limit.Rate{Every: time.Second, Burst: 3}
	})
	var refused atomic.Int32
	ann := r.newDeviceWith("ann", "email:ann@example.org", nil)
	ann.stop()
	client.SetAfterLookup(ann.c, func(err error) {
		var we *wire.Error
		if errors.As(err, &we) && we.Code == wire.CodeRateLimited {
			refused.Add(1)
		}
	})
	ann.start()
	ben := r.newDevice("ben", "email:ben@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")

	// Ben's Lookup of Ann and his fetch of her keys take two of his
	// account's three tokens; Ann's three Lookups take all of hers.
	if _, err := ben.c.AddContact(ctxT(t), ann.address); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := ann.c.AddContact(ctxT(t), carol.address); err != nil {
			t.Fatal(err)
		}
	}
	ben.send(ann, "hi ann")
	wait.For(t, "a Lookup refused as rate_limited", func() bool { return refused.Load() > 0 })
	if ct := ann.person(ben); !ct.AddressPending() || ct.AddressMismatch || ct.VerifiedAddress != "" {
		t.Fatalf("after the refused Lookup, ann's request from ben: %+v", ct)
	}
	skew.Store(int64(time.Minute))
	ann.waitVerified(ben, "email:ben@example.org")
	if ct := ann.person(ben); ct.AddressMismatch {
		t.Fatalf("ann's request from ben: %+v", ct)
	}
}
