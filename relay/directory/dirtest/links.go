package dirtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// testHeldDevices checks account protection: a device signed in by code
// to an account in use is held, left out of DeviceIDs and the inbox
// floors, and approved once.
func testHeldDevices(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	now := time.Now()
	hold := directory.NewDevice{Name: "laptop", CredHash: randomBytes(32), Offset: 5,
		HoldUntil: now.Add(7 * 24 * time.Hour), ActiveSince: now.Add(-30 * 24 * time.Hour)}

	// The first device of an account is never held.
	u := newUser(t, d)
	first, err := d.AddVerifiedDevice(ctx, u, hold)
	if err != nil || first.Held() || first.ID == 0 || first.Name != "laptop" || first.Offset != 5 || first.Linked {
		t.Fatalf("first AddVerifiedDevice = %+v, %v", first, err)
	}
	if err := d.CommitOffsets(ctx, []directory.DeviceOffset{{User: u, Device: first.ID, Offset: 20}}); err != nil {
		t.Fatal(err)
	}
	// The second is, and is left out of what senders and the sweeper see.
	hold.CredHash = randomBytes(32)
	held, err := d.AddVerifiedDevice(ctx, u, hold)
	if err != nil || !held.Held() || !held.PendingUntil.Equal(hold.HoldUntil.Truncate(time.Nanosecond)) || held.ID != first.ID+1 {
		t.Fatalf("second AddVerifiedDevice = %+v, %v; want held until %v", held, err, hold.HoldUntil)
	}
	if !bytes.Equal(held.CredHash, hold.CredHash) || held.Offset != 5 {
		t.Fatalf("held device = %+v", held)
	}
	if got, err := d.Device(ctx, u, held.ID); err != nil || !got.PendingUntil.Equal(held.PendingUntil) {
		t.Fatalf("Device(held) = %+v, %v", got, err)
	}
	if devs, err := d.Devices(ctx, u); err != nil || len(devs) != 2 || devs[0].Held() || !devs[1].Held() {
		t.Fatalf("Devices = %+v, %v", devs, err)
	}
	if ids, err := d.DeviceIDs(ctx, []wire.UserID{u}); err != nil || !slices.Equal(ids[u], []wire.DeviceID{first.ID}) {
		t.Fatalf("DeviceIDs with a held device = %v, %v", ids, err)
	}
	if f := floorOf(t, d, u); f.Devices != 1 || f.Offset != 20 {
		t.Fatalf("InboxFloor with a held device = %+v; want the approved device's alone", f)
	}
	// An approved device, an unknown one, another user's: none is held.
	for _, id := range []wire.DeviceID{first.ID, held.ID + 1} {
		if err := d.ApproveDevice(ctx, u, id, 30); !errors.Is(err, directory.ErrNotFound) {
			t.Fatalf("ApproveDevice(%d) = %v, want ErrNotFound", id, err)
		}
	}
	if err := d.ApproveDevice(ctx, wire.NewUserID(), held.ID, 30); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ApproveDevice(another user) = %v, want ErrNotFound", err)
	}
	if err := d.ApproveDevice(ctx, u, held.ID, 30); err != nil {
		t.Fatalf("ApproveDevice = %v", err)
	}
	if got, err := d.Device(ctx, u, held.ID); err != nil || got.Held() || got.Offset != 30 {
		t.Fatalf("approved device = %+v, %v; want at offset 30, not held", got, err)
	}
	if err := d.ApproveDevice(ctx, u, held.ID, 40); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ApproveDevice twice = %v, want ErrNotFound", err)
	}
	if ids, err := d.DeviceIDs(ctx, []wire.UserID{u}); err != nil || !slices.Equal(ids[u], []wire.DeviceID{first.ID, held.ID}) {
		t.Fatalf("DeviceIDs once approved = %v, %v", ids, err)
	}

	// An account whose devices were last seen before ActiveSince: the
	// new device is approved at once.
	stale := hold
	stale.ActiveSince = now.Add(48 * time.Hour)
	if dev, err := d.AddVerifiedDevice(ctx, u, stale); err != nil || dev.Held() {
		t.Fatalf("AddVerifiedDevice to an unused account = %+v, %v", dev, err)
	}
	// A held device does not make the account in use.
	u2 := newUser(t, d)
	if _, err := d.AddVerifiedDevice(ctx, u2, hold); err != nil {
		t.Fatal(err)
	}
	h2, err := d.AddVerifiedDevice(ctx, u2, hold)
	if err != nil || !h2.Held() {
		t.Fatalf("held = %+v, %v", h2, err)
	}
	if err := d.RemoveDevice(ctx, u2, h2.ID-1); err != nil {
		t.Fatal(err)
	}
	if dev, err := d.AddVerifiedDevice(ctx, u2, hold); err != nil || dev.Held() {
		t.Fatalf("AddVerifiedDevice beside held devices alone = %+v, %v; want approved", dev, err)
	}
	// No hold asked: approved.
	if dev, err := d.AddVerifiedDevice(ctx, u, directory.NewDevice{Name: "x", CredHash: randomBytes(32)}); err != nil || dev.Held() {
		t.Fatalf("AddVerifiedDevice without a hold = %+v, %v", dev, err)
	}
	if _, err := d.AddVerifiedDevice(ctx, wire.NewUserID(), hold); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("AddVerifiedDevice(unknown user) = %v, want ErrNotFound", err)
	}
	if _, err := d.AddVerifiedDevice(ctx, u, directory.NewDevice{Name: "x"}); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("AddVerifiedDevice(no credential) = %v, want ErrInvalid", err)
	}
}

// floorOf returns u's inbox floor.
func floorOf(t *testing.T, d directory.Directory, u wire.UserID) directory.InboxFloor {
	t.Helper()
	before := u
	for i := len(before) - 1; i >= 0; i-- { // the ID just before u
		if before[i] > 0 {
			before[i]--
			break
		}
		before[i] = 0xff
	}
	page, err := d.InboxFloors(context.Background(), before, 1)
	if err != nil || len(page) != 1 || page[0].User != u {
		t.Fatalf("InboxFloors = %+v, %v", page, err)
	}
	return page[0]
}

func newLink(now time.Time) directory.Link {
	key, identity := randomBytes(1216), randomBytes(33)
	return directory.Link{Code: wire.LinkCode(key, identity), Key: key, Identity: identity,
		DeviceName: "tablet", CredHash: randomBytes(32), Expires: now.Add(10 * time.Minute)}
}

func testLinks(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	now := time.Now()
	u, phone := newDevice(t, d)
	l := newLink(now)
	if _, err := d.Link(ctx, l.Code); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Link(unknown) = %v, want ErrNotFound", err)
	}
	if err := d.CreateLink(ctx, l, now); err != nil {
		t.Fatalf("CreateLink = %v", err)
	}
	if err := d.CreateLink(ctx, l, now); !errors.Is(err, directory.ErrExists) {
		t.Fatalf("CreateLink twice = %v, want ErrExists", err)
	}
	got, err := d.Link(ctx, l.Code)
	if err != nil || !sameLink(got, l) || got.Claimed() {
		t.Fatalf("Link = %+v, %v; want %+v", got, err, l)
	}
	if _, err := d.ClaimLink(ctx, "0000000000ZZ", u, []byte("sealed"), 9, now); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ClaimLink(unknown code) = %v, want ErrNotFound", err)
	}
	if _, err := d.ClaimLink(ctx, l.Code, u, []byte("sealed"), 9, l.Expires); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ClaimLink at expiry = %v, want ErrNotFound", err)
	}
	if _, err := d.ClaimLink(ctx, l.Code, wire.NewUserID(), []byte("sealed"), 9, now); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ClaimLink(unknown user) = %v, want ErrNotFound", err)
	}
	dev, err := d.ClaimLink(ctx, l.Code, u, []byte("sealed"), 9, now)
	if err != nil || dev != phone+1 {
		t.Fatalf("ClaimLink = %v, %v; want device %d", dev, err, phone+1)
	}
	added, err := d.Device(ctx, u, dev)
	if err != nil || !added.Linked || added.Held() || added.Name != "tablet" || !bytes.Equal(added.CredHash, l.CredHash) || added.Offset != 9 {
		t.Fatalf("linked device = %+v, %v", added, err)
	}
	if ids, err := d.DeviceIDs(ctx, []wire.UserID{u}); err != nil || !slices.Equal(ids[u], []wire.DeviceID{phone, dev}) {
		t.Fatalf("DeviceIDs = %v, %v", ids, err)
	}
	if _, err := d.ClaimLink(ctx, l.Code, u, []byte("again"), 9, now); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ClaimLink twice = %v, want ErrNotFound", err)
	}
	claimed := l
	claimed.User, claimed.Device, claimed.Provision = u, dev, []byte("sealed")
	if got, err := d.Link(ctx, l.Code); err != nil || !sameLink(got, claimed) {
		t.Fatalf("claimed Link = %+v, %v; want %+v", got, err, claimed)
	}
	if err := d.CreateLink(ctx, l, now); !errors.Is(err, directory.ErrExists) {
		t.Fatalf("CreateLink over a claimed link = %v, want ErrExists", err)
	}
	if got, err := d.DeleteLink(ctx, l.Code); err != nil || !sameLink(got, claimed) {
		t.Fatalf("DeleteLink = %+v, %v", got, err)
	}
	if _, err := d.DeleteLink(ctx, l.Code); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("DeleteLink twice = %v, want ErrNotFound", err)
	}
	if _, err := d.Link(ctx, l.Code); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Link after DeleteLink = %v, want ErrNotFound", err)
	}

	// An expired link is replaced by a new one with its code.
	old := newLink(now.Add(-time.Hour))
	if err := d.CreateLink(ctx, old, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	renewed := old
	renewed.CredHash, renewed.Expires = randomBytes(32), now.Add(10*time.Minute)
	if err := d.CreateLink(ctx, renewed, now); err != nil {
		t.Fatalf("CreateLink over an expired link = %v", err)
	}
	if got, err := d.Link(ctx, old.Code); err != nil || !sameLink(got, renewed) {
		t.Fatalf("renewed Link = %+v, %v", got, err)
	}

	for _, bad := range []func(*directory.Link){
		func(l *directory.Link) { l.Code = "" },
		func(l *directory.Link) { l.Key = nil },
		func(l *directory.Link) { l.CredHash = nil },
		func(l *directory.Link) { l.Expires = time.Time{} },
		func(l *directory.Link) { l.Device = 3 },
	} {
		l := newLink(now)
		bad(&l)
		if err := d.CreateLink(ctx, l, now); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("CreateLink(%+v) = %v, want ErrInvalid", l, err)
		}
	}
}

func sameLink(a, b directory.Link) bool {
	return a.Code == b.Code && bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Identity, b.Identity) &&
		a.DeviceName == b.DeviceName && bytes.Equal(a.CredHash, b.CredHash) && a.Expires.Equal(b.Expires) &&
		a.User == b.User && a.Device == b.Device && bytes.Equal(a.Provision, b.Provision)
}

func testExpiredLinks(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	now := time.Now()
	var codes []string
	for i := range 5 {
		l := newLink(now.Add(time.Duration(i-3) * time.Hour)) // three expired
		if err := d.CreateLink(ctx, l, now.Add(-4*time.Hour)); err != nil {
			t.Fatal(err)
		}
		codes = append(codes, l.Code)
	}
	if _, err := d.DeleteExpiredLinks(ctx, now, 0); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("DeleteExpiredLinks(limit 0) = %v, want ErrInvalid", err)
	}
	if n, err := d.DeleteExpiredLinks(ctx, now, 2); err != nil || n != 2 {
		t.Fatalf("DeleteExpiredLinks(limit 2) = %d, %v", n, err)
	}
	if n, err := d.DeleteExpiredLinks(ctx, now, 10); err != nil || n != 1 {
		t.Fatalf("DeleteExpiredLinks = %d, %v; want the last expired one", n, err)
	}
	for i, code := range codes {
		_, err := d.Link(ctx, code)
		if expired := i < 3; expired != errors.Is(err, directory.ErrNotFound) {
			t.Errorf("link %d after the sweep: %v", i, err)
		}
	}
}

// testConcurrentClaimLink checks that of concurrent claims of one link,
// one adds a device.
func testConcurrentClaimLink(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	now := time.Now()
	u, _ := newDevice(t, d)
	l := newLink(now)
	if err := d.CreateLink(ctx, l, now); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var (
		wg  sync.WaitGroup
		ids [n]wire.DeviceID
		err [n]error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], err[i] = d.ClaimLink(ctx, l.Code, u, []byte(fmt.Sprint(i)), 0, now)
		}()
	}
	wg.Wait()
	won := -1
	for i := range n {
		switch {
		case err[i] == nil && won < 0:
			won = i
		case err[i] == nil:
			t.Fatalf("claims %d and %d both succeeded", won, i)
		case !errors.Is(err[i], directory.ErrNotFound):
			t.Fatalf("claim %d = %v", i, err[i])
		}
	}
	if won < 0 {
		t.Fatal("no claim succeeded")
	}
	if devs, e := d.Devices(ctx, u); e != nil || len(devs) != 2 {
		t.Fatalf("Devices = %+v, %v; want one device added", devs, e)
	}
	if got, e := d.Link(ctx, l.Code); e != nil || got.Device != ids[won] || string(got.Provision) != fmt.Sprint(won) {
		t.Fatalf("Link = %+v, %v; want the winner's claim", got, e)
	}
}

// testVouch checks that a vouch is kept with the identity key it was
// published with and handed out in bundles.
func testVouch(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	signed, lastResort := prekey(1, true), prekey(2, true)
	identity := randomBytes(33)
	v := &directory.Vouch{Device: 7, Signature: randomBytes(64)}
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Identity: identity, Signed: &signed, KEMLastResort: &lastResort, Vouch: v}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, want *directory.Vouch) {
		t.Helper()
		for _, get := range []func() (directory.Bundle, error){
			func() (directory.Bundle, error) { return d.ClaimBundle(ctx, u, dev) },
			func() (directory.Bundle, error) { return d.LastResortBundle(ctx, u, dev) },
		} {
			b, err := get()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			switch {
			case want == nil && b.Vouch != nil:
				t.Fatalf("%s: vouch %+v, want none", what, b.Vouch)
			case want != nil && (b.Vouch == nil || b.Vouch.Device != want.Device || !bytes.Equal(b.Vouch.Signature, want.Signature)):
				t.Fatalf("%s: vouch %+v, want %+v", what, b.Vouch, want)
			}
		}
	}
	check("published", v)
	// The same identity again, or other keys alone, keep the vouch.
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Identity: identity, OneTime: pool(10, 1, false)}); err != nil {
		t.Fatal(err)
	}
	check("same identity", v)
	// A new identity key without a vouch clears it.
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Identity: randomBytes(33)}); err != nil {
		t.Fatal(err)
	}
	check("new identity", nil)
	// A vouch alone is stored for the identity key there is.
	v2 := &directory.Vouch{Device: 8, Signature: randomBytes(64)}
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Vouch: v2}); err != nil {
		t.Fatal(err)
	}
	check("vouch alone", v2)
	for _, bad := range []*directory.Vouch{{Signature: randomBytes(64)}, {Device: 1}} {
		if err := d.PublishKeys(ctx, u, dev, directory.Keys{Vouch: bad}); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("PublishKeys(vouch %+v) = %v, want ErrInvalid", bad, err)
		}
	}
}
