package dirtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Run runs the conformance suite.
func Run(t *testing.T, open func(t *testing.T) directory.Directory) {
	tests := []struct {
		name string
		fn   func(t *testing.T, d directory.Directory)
	}{
		{"Accounts", testAccounts},
		{"UserCreated", testUserCreated},
		{"ConcurrentCreateAccount", testConcurrentCreateAccount},
		{"MoveAccount", testMoveAccount},
		{"Devices", testDevices},
		{"ConcurrentAddDevice", testConcurrentAddDevice},
		{"Offsets", testOffsets},
		{"InboxFloors", testInboxFloors},
		{"Prekeys", testPrekeys},
		{"PartialPublish", testPartialPublish},
		{"InvalidKeys", testInvalidKeys},
		{"IncompleteBundle", testIncompleteBundle},
		{"LastResortBundle", testLastResortBundle},
		{"ConcurrentClaims", testConcurrentClaims},
		{"RemoveDeviceDropsKeys", testRemoveDeviceDropsKeys},
		{"Contacts", testContacts},
		{"ContactBounds", testContactBounds},
		{"ConcurrentContacts", testConcurrentContacts},
		{"Requests", testRequests},
		{"ConcurrentRequests", testConcurrentRequests},
		{"RequestCountedOnce", testRequestCountedOnce},
		{"GroupRules", testGroupRules},
		{"GroupBounds", testGroupBounds},
		{"ConcurrentGroups", testConcurrentGroups},
		{"DeviceIDs", testDeviceIDs},
		{"HeldDevices", testHeldDevices},
		{"Links", testLinks},
		{"ExpiredLinks", testExpiredLinks},
		{"ConcurrentClaimLink", testConcurrentClaimLink},
		{"Vouch", testVouch},
		{"Blobs", testBlobs},
		{"BlobLimits", testBlobLimits},
		{"ConcurrentBlobs", testConcurrentBlobs},
		{"ExpiredBlobs", testExpiredBlobs},
		{"PushSubscriptions", testPushSubscriptions},
		{"InvalidPushSubscriptions", testInvalidPushSubscriptions},
		{"PushPresence", testPushPresence},
		{"Codes", testCodes},
		{"CodeRequests", testCodeRequests},
		{"Cancelled", testCancelled},
		{"Limits", testLimits},
		{"ConcurrentLimits", testConcurrentLimits},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// randomBytes returns n random bytes: address hashes, credential hashes and
// keys are opaque to the directory.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// newUser creates an account under a random address hash.
func newUser(t testing.TB, d directory.Directory) wire.UserID {
	t.Helper()
	u, created, err := d.CreateAccount(context.Background(), randomBytes(32), wire.NewUserID())
	if err != nil || !created {
		t.Fatalf("CreateAccount = %v, %v, %v", u, created, err)
	}
	return u
}

// newDevice creates a user with one device.
func newDevice(t testing.TB, d directory.Directory) (wire.UserID, wire.DeviceID) {
	t.Helper()
	u := newUser(t, d)
	id, err := d.AddDevice(context.Background(), u, "phone", randomBytes(32), 0)
	if err != nil {
		t.Fatalf("AddDevice: %v", err)
	}
	return u, id
}

func prekey(id uint32, signed bool) directory.Prekey {
	p := directory.Prekey{ID: id, Public: randomBytes(32)}
	if signed {
		p.Signature = randomBytes(64)
	}
	return p
}

func pool(first, n uint32, signed bool) []directory.Prekey {
	keys := make([]directory.Prekey, n)
	for i := range keys {
		keys[i] = prekey(first+uint32(i), signed)
	}
	return keys
}

func samePrekey(a, b directory.Prekey) bool {
	return a.ID == b.ID && bytes.Equal(a.Public, b.Public) && bytes.Equal(a.Signature, b.Signature)
}

func testAccounts(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	addr := randomBytes(32)
	if _, err := d.Account(ctx, addr); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Account(unknown) = %v, want ErrNotFound", err)
	}
	id := wire.NewUserID()
	u, created, err := d.CreateAccount(ctx, addr, id)
	if err != nil || !created || u != id {
		t.Fatalf("CreateAccount = %v, %v, %v; want %v, true", u, created, err, id)
	}
	u, created, err = d.CreateAccount(ctx, addr, wire.NewUserID())
	if err != nil || created || u != id {
		t.Fatalf("second CreateAccount = %v, %v, %v; want %v, false", u, created, err, id)
	}
	if u, err := d.Account(ctx, addr); err != nil || u != id {
		t.Fatalf("Account = %v, %v; want %v", u, err, id)
	}
	other := newUser(t, d)
	if other == id {
		t.Fatal("two addresses share a user")
	}

	bad := []struct {
		name string
		addr []byte
		id   wire.UserID
	}{
		{"empty address hash", nil, wire.NewUserID()},
		{"zero user id", randomBytes(32), wire.UserID{}},
		{"user id in use", randomBytes(32), id},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if _, _, err := d.CreateAccount(ctx, b.addr, b.id); err == nil {
				t.Fatal("CreateAccount succeeded")
			}
		})
	}
	if _, err := d.Account(ctx, nil); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("Account(nil) = %v, want ErrInvalid", err)
	}
}

func testConcurrentCreateAccount(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	addr := randomBytes(32)
	const n = 16
	type result struct {
		u       wire.UserID
		created bool
		err     error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u, created, err := d.CreateAccount(ctx, addr, wire.NewUserID())
			results[i] = result{u, created, err}
		})
	}
	wg.Wait()
	creators := 0
	for _, r := range results {
		if r.err != nil {
			t.Fatalf("CreateAccount: %v", r.err)
		}
		if r.u != results[0].u {
			t.Fatalf("one address got users %v and %v", results[0].u, r.u)
		}
		if r.created {
			creators++
		}
	}
	if creators != 1 {
		t.Fatalf("%d callers created the account, want 1", creators)
	}
}

func testDevices(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	if _, err := d.AddDevice(ctx, wire.NewUserID(), "phone", randomBytes(32), 0); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("AddDevice(unknown user) = %v, want ErrNotFound", err)
	}
	u := newUser(t, d)
	if devs, err := d.Devices(ctx, u); err != nil || len(devs) != 0 {
		t.Fatalf("Devices(new user) = %v, %v", devs, err)
	}
	if _, err := d.AddDevice(ctx, u, "phone", nil, 0); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("AddDevice(no credential) = %v, want ErrInvalid", err)
	}

	cred1, cred2 := randomBytes(32), randomBytes(32)
	id1, err := d.AddDevice(ctx, u, "phone", cred1, 7)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := d.AddDevice(ctx, u, "laptop", cred2, 42)
	if err != nil {
		t.Fatal(err)
	}
	if id1 != 1 || id2 != 2 {
		t.Fatalf("device ids %d, %d; want 1, 2", id1, id2)
	}

	dev, err := d.Device(ctx, u, id2)
	if err != nil {
		t.Fatal(err)
	}
	if dev.User != u || dev.ID != id2 || dev.Name != "laptop" || !bytes.Equal(dev.CredHash, cred2) || dev.Offset != 42 {
		t.Fatalf("Device = %+v", dev)
	}
	if dev.Created.IsZero() || !dev.LastSeen.Equal(directory.Day(dev.Created)) {
		t.Fatalf("Device times: created %v, last seen %v; want the day it was created", dev.Created, dev.LastSeen)
	}
	if _, err := d.Device(ctx, u, 99); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Device(99) = %v, want ErrNotFound", err)
	}
	if _, err := d.Device(ctx, newUser(t, d), id1); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Device(other user's) = %v, want ErrNotFound", err)
	}

	devs, err := d.Devices(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 2 || devs[0].ID != id1 || devs[1].ID != id2 || devs[0].Name != "phone" || devs[0].Offset != 7 {
		t.Fatalf("Devices = %+v", devs)
	}

	if err := d.RemoveDevice(ctx, u, id1); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveDevice(ctx, u, id1); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("second RemoveDevice = %v, want ErrNotFound", err)
	}
	if _, err := d.Device(ctx, u, id1); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Device(removed) = %v, want ErrNotFound", err)
	}
	id3, err := d.AddDevice(ctx, u, "tablet", randomBytes(32), 0)
	if err != nil {
		t.Fatal(err)
	}
	if id3 != 3 {
		t.Fatalf("device after a removal got id %d, want 3 (ids are never reused)", id3)
	}
	devs, err = d.Devices(ctx, u)
	if err != nil || len(devs) != 2 || devs[0].ID != id2 || devs[1].ID != id3 {
		t.Fatalf("Devices = %+v, %v", devs, err)
	}
}

func testConcurrentAddDevice(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u := newUser(t, d)
	const n = 16
	ids := make([]wire.DeviceID, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ids[i], errs[i] = d.AddDevice(ctx, u, fmt.Sprint("device ", i), randomBytes(32), 0)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	for i, id := range ids {
		if id != wire.DeviceID(i+1) {
			t.Fatalf("device ids %v, want 1..%d", ids, n)
		}
	}
}

func testOffsets(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, a := newDevice(t, d)
	b, err := d.AddDevice(ctx, u, "laptop", randomBytes(32), 100)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := d.Device(ctx, u, a)
	if err != nil {
		t.Fatal(err)
	}
	t0 := dev.LastSeen // a UTC midnight
	if !t0.Equal(directory.Day(t0)) {
		t.Fatalf("last seen %v is not a day", t0)
	}
	const day = 24 * time.Hour

	steps := []struct {
		name         string
		commit       []directory.DeviceOffset
		wantA, wantB int64
		wantSeenA    time.Time
	}{
		{
			name:   "forward, to the day",
			commit: []directory.DeviceOffset{{User: u, Device: a, Offset: 10, Seen: t0.Add(day + 3*time.Hour + time.Second)}, {User: u, Device: b, Offset: 150, Seen: t0.Add(time.Second)}},
			wantA:  10, wantB: 150,
			wantSeenA: t0.Add(day),
		},
		{
			name:   "backwards is ignored",
			commit: []directory.DeviceOffset{{User: u, Device: a, Offset: 5, Seen: t0}, {User: u, Device: b, Offset: 151, Seen: t0.Add(2 * day)}},
			wantA:  10, wantB: 151,
			wantSeenA: t0.Add(day),
		},
		{
			name: "duplicates in one batch take the highest",
			commit: []directory.DeviceOffset{
				{User: u, Device: a, Offset: 30, Seen: t0.Add(3*day + time.Minute)},
				{User: u, Device: a, Offset: 20, Seen: t0.Add(4*day + 23*time.Hour)},
				{User: u, Device: a, Offset: 25, Seen: t0.Add(2 * day)},
			},
			wantA: 30, wantB: 151,
			wantSeenA: t0.Add(4 * day),
		},
		{
			name:   "zero seen keeps the time",
			commit: []directory.DeviceOffset{{User: u, Device: a, Offset: 31}},
			wantA:  31, wantB: 151,
			wantSeenA: t0.Add(4 * day),
		},
		{
			name: "unknown devices are skipped",
			commit: []directory.DeviceOffset{
				{User: u, Device: 99, Offset: 1000, Seen: t0},
				{User: wire.NewUserID(), Device: 1, Offset: 1000, Seen: t0},
				{User: u, Device: a, Offset: 32, Seen: t0},
			},
			wantA: 32, wantB: 151,
			wantSeenA: t0.Add(4 * day),
		},
		{
			name:  "empty batch",
			wantA: 32, wantB: 151,
			wantSeenA: t0.Add(4 * day),
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := d.CommitOffsets(ctx, s.commit); err != nil {
				t.Fatal(err)
			}
			devs, err := d.Devices(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			if len(devs) != 2 || devs[0].Offset != s.wantA || devs[1].Offset != s.wantB {
				t.Fatalf("offsets %+v, want %d and %d", devs, s.wantA, s.wantB)
			}
			if !devs[0].LastSeen.Equal(s.wantSeenA) {
				t.Fatalf("last seen %v, want %v", devs[0].LastSeen, s.wantSeenA)
			}
		})
	}
}

func testPrekeys(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	if _, err := d.ClaimBundle(ctx, u, dev); !errors.Is(err, directory.ErrNoPrekeys) {
		t.Fatalf("ClaimBundle(nothing published) = %v, want ErrNoPrekeys", err)
	}
	if _, err := d.ClaimBundle(ctx, u, dev+1); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ClaimBundle(unknown device) = %v, want ErrNotFound", err)
	}
	if _, err := d.PrekeyCounts(ctx, u, dev+1); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("PrekeyCounts(unknown device) = %v, want ErrNotFound", err)
	}
	if err := d.PublishKeys(ctx, u, dev+1, directory.Keys{Identity: randomBytes(32)}); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("PublishKeys(unknown device) = %v, want ErrNotFound", err)
	}

	signed, lastResort := prekey(1, true), prekey(2, true)
	ot := []directory.Prekey{prekey(30, false), prekey(10, false), prekey(20, false)}
	kem := []directory.Prekey{prekey(300, true), prekey(100, true)}
	k := directory.Keys{Identity: randomBytes(33), Signed: &signed, KEMLastResort: &lastResort, OneTime: ot, KEMOneTime: kem}
	if err := d.PublishKeys(ctx, u, dev, k); err != nil {
		t.Fatal(err)
	}
	if c, err := d.PrekeyCounts(ctx, u, dev); err != nil || c != (directory.PrekeyCounts{OneTime: 3, KEMOneTime: 2}) {
		t.Fatalf("PrekeyCounts = %+v, %v", c, err)
	}

	// Claims hand out keys in the order they were published, then the
	// last-resort KEM key for ever, and no one-time EC key.
	steps := []struct {
		ot         *directory.Prekey
		kem        directory.Prekey
		lastResort bool
		counts     directory.PrekeyCounts
	}{
		{&ot[0], kem[0], false, directory.PrekeyCounts{OneTime: 2, KEMOneTime: 1}},
		{&ot[1], kem[1], false, directory.PrekeyCounts{OneTime: 1, KEMOneTime: 0}},
		{&ot[2], lastResort, true, directory.PrekeyCounts{}},
		{nil, lastResort, true, directory.PrekeyCounts{}},
		{nil, lastResort, true, directory.PrekeyCounts{}},
	}
	for i, s := range steps {
		b, err := d.ClaimBundle(ctx, u, dev)
		if err != nil {
			t.Fatalf("claim %d: %v", i, err)
		}
		if b.Device != dev || !bytes.Equal(b.Identity, k.Identity) || !samePrekey(b.Signed, signed) {
			t.Fatalf("claim %d: bundle %+v", i, b)
		}
		if (b.OneTime == nil) != (s.ot == nil) || (s.ot != nil && !samePrekey(*b.OneTime, *s.ot)) {
			t.Fatalf("claim %d: one-time key %+v, want %+v", i, b.OneTime, s.ot)
		}
		if !samePrekey(b.KEM, s.kem) || b.KEMIsLastResort != s.lastResort {
			t.Fatalf("claim %d: KEM key %d (last resort %v), want %d (%v)", i, b.KEM.ID, b.KEMIsLastResort, s.kem.ID, s.lastResort)
		}
		if c, err := d.PrekeyCounts(ctx, u, dev); err != nil || c != s.counts {
			t.Fatalf("claim %d: PrekeyCounts = %+v, %v; want %+v", i, c, err, s.counts)
		}
	}

	// Refilling the pools; a key published again under the same ID
	// replaces the stored one.
	more := pool(40, 2, false)
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{OneTime: more}); err != nil {
		t.Fatal(err)
	}
	again := []directory.Prekey{prekey(40, false)}
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{OneTime: again}); err != nil {
		t.Fatal(err)
	}
	if c, err := d.PrekeyCounts(ctx, u, dev); err != nil || c.OneTime != 2 {
		t.Fatalf("PrekeyCounts after refill = %+v, %v; want 2 one-time keys", c, err)
	}
	b, err := d.ClaimBundle(ctx, u, dev)
	if err != nil || b.OneTime == nil || !samePrekey(*b.OneTime, again[0]) {
		t.Fatalf("ClaimBundle after republish = %+v, %v; want key 40 as republished", b.OneTime, err)
	}
}

// testLastResortBundle: the bundle without one-time keys is what an
// empty pool gives, and taking it consumes nothing.
func testLastResortBundle(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	if _, err := d.LastResortBundle(ctx, u, dev+1); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("LastResortBundle(unknown device) = %v, want ErrNotFound", err)
	}
	signed, lastResort := prekey(1, true), prekey(2, true)
	k := directory.Keys{Identity: randomBytes(33), Signed: &signed, KEMOneTime: pool(10, 2, true)}
	if err := d.PublishKeys(ctx, u, dev, k); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LastResortBundle(ctx, u, dev); !errors.Is(err, directory.ErrNoPrekeys) {
		t.Fatalf("LastResortBundle(no last-resort key) = %v, want ErrNoPrekeys", err)
	}
	k = directory.Keys{KEMLastResort: &lastResort, OneTime: pool(20, 2, false)}
	if err := d.PublishKeys(ctx, u, dev, k); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		b, err := d.LastResortBundle(ctx, u, dev)
		if err != nil {
			t.Fatal(err)
		}
		if b.Device != dev || !samePrekey(b.Signed, signed) || b.OneTime != nil || !samePrekey(b.KEM, lastResort) || !b.KEMIsLastResort {
			t.Fatalf("LastResortBundle = %+v", b)
		}
	}
	if c, err := d.PrekeyCounts(ctx, u, dev); err != nil || c != (directory.PrekeyCounts{OneTime: 2, KEMOneTime: 2}) {
		t.Fatalf("PrekeyCounts = %+v, %v; want nothing consumed", c, err)
	}
}

func testPartialPublish(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	identity := randomBytes(32)
	signed, lastResort := prekey(1, true), prekey(2, true)
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Identity: identity}); err != nil {
		t.Fatal(err)
	}
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Signed: &signed}); err != nil {
		t.Fatal(err)
	}
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{KEMLastResort: &lastResort}); err != nil {
		t.Fatal(err)
	}
	b, err := d.ClaimBundle(ctx, u, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Identity, identity) || !samePrekey(b.Signed, signed) || !samePrekey(b.KEM, lastResort) || !b.KEMIsLastResort || b.OneTime != nil {
		t.Fatalf("bundle %+v", b)
	}

	// A new signed prekey replaces the old one and leaves the rest.
	signed2 := prekey(3, true)
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Signed: &signed2}); err != nil {
		t.Fatal(err)
	}
	b, err = d.ClaimBundle(ctx, u, dev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Identity, identity) || !samePrekey(b.Signed, signed2) || !samePrekey(b.KEM, lastResort) {
		t.Fatalf("bundle after new signed prekey %+v", b)
	}
	// Empty keys change nothing.
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{}); err != nil {
		t.Fatal(err)
	}
	if b2, err := d.ClaimBundle(ctx, u, dev); err != nil || !samePrekey(b2.Signed, signed2) || !bytes.Equal(b2.Identity, identity) {
		t.Fatalf("bundle after empty publish %+v, %v", b2, err)
	}
}

func testInvalidKeys(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	good := prekey(1, true)
	tests := []struct {
		name string
		k    directory.Keys
	}{
		{"signed without public key", directory.Keys{Signed: &directory.Prekey{ID: 1, Signature: randomBytes(64)}}},
		{"signed without signature", directory.Keys{Signed: &directory.Prekey{ID: 1, Public: randomBytes(32)}}},
		{"last resort without signature", directory.Keys{Signed: &good, KEMLastResort: &directory.Prekey{ID: 2, Public: randomBytes(32)}}},
		{"one-time without public key", directory.Keys{OneTime: []directory.Prekey{{ID: 5}}}},
		{"KEM one-time without signature", directory.Keys{KEMOneTime: []directory.Prekey{prekey(5, false)}}},
		{"duplicate one-time IDs", directory.Keys{OneTime: []directory.Prekey{prekey(5, false), prekey(5, false)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.PublishKeys(ctx, u, dev, tt.k); !errors.Is(err, directory.ErrInvalid) {
				t.Fatalf("PublishKeys = %v, want ErrInvalid", err)
			}
		})
	}
	// Nothing of the refused publications was stored.
	if c, err := d.PrekeyCounts(ctx, u, dev); err != nil || c != (directory.PrekeyCounts{}) {
		t.Fatalf("PrekeyCounts = %+v, %v", c, err)
	}
	if _, err := d.ClaimBundle(ctx, u, dev); !errors.Is(err, directory.ErrNoPrekeys) {
		t.Fatalf("ClaimBundle = %v, want ErrNoPrekeys", err)
	}
}

func testIncompleteBundle(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	signed, lastResort := prekey(1, true), prekey(2, true)
	tests := []struct {
		name string
		k    directory.Keys
	}{
		{"one-time keys only", directory.Keys{OneTime: pool(1, 3, false), KEMOneTime: pool(1, 3, true)}},
		{"no identity", directory.Keys{Signed: &signed, KEMLastResort: &lastResort, OneTime: pool(1, 3, false)}},
		{"no signed prekey", directory.Keys{Identity: randomBytes(32), KEMLastResort: &lastResort, OneTime: pool(1, 3, false)}},
		{"no KEM prekey", directory.Keys{Identity: randomBytes(32), Signed: &signed, OneTime: pool(1, 3, false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, dev := newDevice(t, d)
			if err := d.PublishKeys(ctx, u, dev, tt.k); err != nil {
				t.Fatal(err)
			}
			before, err := d.PrekeyCounts(ctx, u, dev)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.ClaimBundle(ctx, u, dev); !errors.Is(err, directory.ErrNoPrekeys) {
				t.Fatalf("ClaimBundle = %v, want ErrNoPrekeys", err)
			}
			if after, err := d.PrekeyCounts(ctx, u, dev); err != nil || after != before {
				t.Fatalf("a refused claim consumed keys: counts %+v before, %+v after (%v)", before, after, err)
			}
		})
	}
}

// testConcurrentClaims has many claimers race for a pool: no one-time key
// may be handed out twice, and none may be lost.
func testConcurrentClaims(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	const (
		keys     = 200
		claimers = 32
		each     = 8 // claimers*each > keys: the pools run dry under contention
	)
	u, dev := newDevice(t, d)
	signed, lastResort := prekey(1, true), prekey(1_000_000, true)
	err := d.PublishKeys(ctx, u, dev, directory.Keys{
		Identity: randomBytes(32), Signed: &signed, KEMLastResort: &lastResort,
		OneTime: pool(1, keys, false), KEMOneTime: pool(1, keys, true),
	})
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu          sync.Mutex
		gotOT       = map[uint32]int{}
		gotKEM      = map[uint32]int{}
		lastResorts int
		errs        []error
		wg          sync.WaitGroup
	)
	for range claimers {
		wg.Go(func() {
			for range each {
				b, err := d.ClaimBundle(ctx, u, dev)
				mu.Lock()
				switch {
				case err != nil:
					errs = append(errs, err)
				case b.KEMIsLastResort:
					lastResorts++
				default:
					gotKEM[b.KEM.ID]++
				}
				if err == nil && b.OneTime != nil {
					gotOT[b.OneTime.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for id, n := range gotOT {
		if n > 1 {
			t.Errorf("one-time prekey %d handed out %d times", id, n)
		}
	}
	for id, n := range gotKEM {
		if n > 1 {
			t.Errorf("one-time KEM prekey %d handed out %d times", id, n)
		}
	}
	if len(gotKEM)+lastResorts != claimers*each {
		t.Errorf("%d KEM one-time + %d last resort for %d claims", len(gotKEM), lastResorts, claimers*each)
	}

	// Whatever the racers left is still claimable, and together they
	// account for every key published.
	for {
		b, err := d.ClaimBundle(ctx, u, dev)
		if err != nil {
			t.Fatal(err)
		}
		if b.OneTime == nil && b.KEMIsLastResort {
			break
		}
		if b.OneTime != nil {
			gotOT[b.OneTime.ID]++
		}
		if !b.KEMIsLastResort {
			gotKEM[b.KEM.ID]++
		}
	}
	for id := uint32(1); id <= keys; id++ {
		if gotOT[id] != 1 {
			t.Errorf("one-time prekey %d handed out %d times", id, gotOT[id])
		}
		if gotKEM[id] != 1 {
			t.Errorf("one-time KEM prekey %d handed out %d times", id, gotKEM[id])
		}
	}
	if c, err := d.PrekeyCounts(ctx, u, dev); err != nil || c != (directory.PrekeyCounts{}) {
		t.Fatalf("PrekeyCounts = %+v, %v; want empty pools", c, err)
	}
}

func testRemoveDeviceDropsKeys(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	signed, lastResort := prekey(1, true), prekey(2, true)
	if err := d.PublishKeys(ctx, u, dev, directory.Keys{Identity: randomBytes(32), Signed: &signed, KEMLastResort: &lastResort, OneTime: pool(1, 5, false)}); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveDevice(ctx, u, dev); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ClaimBundle(ctx, u, dev); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("ClaimBundle(removed) = %v, want ErrNotFound", err)
	}
	if _, err := d.PrekeyCounts(ctx, u, dev); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("PrekeyCounts(removed) = %v, want ErrNotFound", err)
	}
	// The next device starts with empty pools.
	dev2, err := d.AddDevice(ctx, u, "new phone", randomBytes(32), 0)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := d.PrekeyCounts(ctx, u, dev2); err != nil || c != (directory.PrekeyCounts{}) {
		t.Fatalf("PrekeyCounts(new device) = %+v, %v", c, err)
	}
}

func testContacts(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner := newUser(t, d)
	if cs, err := d.Contacts(ctx, owner, 10); err != nil || len(cs) != 0 {
		t.Fatalf("Contacts(new) = %v, %v", cs, err)
	}
	a, b, c := newUser(t, d), newUser(t, d), newUser(t, d)
	steps := []struct {
		other wire.UserID
		state directory.ContactState
	}{
		{a, directory.Allowed},
		{b, directory.Blocked},
		{c, directory.Allowed},
		{c, directory.Blocked},
		{a, directory.None},
		{a, directory.None}, // clearing twice is fine
		{b, directory.Allowed},
	}
	for _, s := range steps {
		if err := d.SetContact(ctx, owner, s.other, s.state, 10); err != nil {
			t.Fatalf("SetContact(%v): %v", s.state, err)
		}
		if got, err := d.ContactState(ctx, owner, s.other); err != nil || got != s.state {
			t.Fatalf("ContactState = %v, %v; want %v", got, err, s.state)
		}
	}
	want := map[wire.UserID]directory.ContactState{b: directory.Allowed, c: directory.Blocked}
	cs, err := d.Contacts(ctx, owner, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != len(want) {
		t.Fatalf("Contacts = %+v, want %v", cs, want)
	}
	for i, ct := range cs {
		if want[ct.User] != ct.State || ct.Updated.IsZero() {
			t.Errorf("contact %+v", ct)
		}
		if i > 0 && bytes.Compare(cs[i-1].User[:], ct.User[:]) >= 0 {
			t.Errorf("Contacts not in user order: %v before %v", cs[i-1].User, ct.User)
		}
	}

	// Decisions are one-way: b allowing nobody says nothing of owner.
	if got, err := d.ContactState(ctx, b, owner); err != nil || got != directory.None {
		t.Fatalf("ContactState(reverse) = %v, %v; want None", got, err)
	}
	if err := d.SetContact(ctx, owner, a, directory.ContactState(7), 10); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("SetContact(7) = %v, want ErrInvalid", err)
	}
}

// testContactBounds: a contact must be a user, a list holds at most the
// bound it is given (entries in it can still change), and listing reads
// no more than asked.
func testContactBounds(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner := newUser(t, d)
	stranger := wire.NewUserID() // no such user
	for _, st := range []directory.ContactState{directory.Allowed, directory.Blocked} {
		if err := d.SetContact(ctx, owner, stranger, st, 3); !errors.Is(err, directory.ErrNotFound) {
			t.Fatalf("SetContact(no such user, %v) = %v, want ErrNotFound", st, err)
		}
	}
	if err := d.SetContact(ctx, owner, stranger, directory.None, 3); err != nil {
		t.Fatalf("SetContact(no such user, none) = %v", err)
	}
	var users []wire.UserID
	for range 4 {
		users = append(users, newUser(t, d))
	}
	for i, u := range users[:3] {
		if err := d.SetContact(ctx, owner, u, directory.Allowed, 3); err != nil {
			t.Fatalf("SetContact(%d of 3) = %v", i+1, err)
		}
	}
	if err := d.SetContact(ctx, owner, users[3], directory.Blocked, 3); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("SetContact(fourth of 3) = %v, want ErrFull", err)
	}
	if got, err := d.ContactState(ctx, owner, users[3]); err != nil || got != directory.None {
		t.Fatalf("ContactState(refused) = %v, %v; want None", got, err)
	}
	if err := d.SetContact(ctx, owner, users[0], directory.Blocked, 3); err != nil {
		t.Fatalf("SetContact(change an entry of a full list) = %v", err)
	}
	if err := d.SetContact(ctx, owner, users[1], directory.None, 3); err != nil {
		t.Fatal(err)
	}
	if err := d.SetContact(ctx, owner, users[3], directory.Blocked, 3); err != nil {
		t.Fatalf("SetContact(after a removal) = %v", err)
	}
	for _, max := range []int{0, 2, 3, 10} {
		cs, err := d.Contacts(ctx, owner, max)
		if err != nil || len(cs) != min(max, 3) {
			t.Fatalf("Contacts(max %d) = %d entries, %v", max, len(cs), err)
		}
	}
	if _, err := d.Contacts(ctx, owner, -1); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("Contacts(-1) = %v, want ErrInvalid", err)
	}
}

// testConcurrentContacts: new entries set at once never take a list past
// its bound.
func testConcurrentContacts(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	owner := newUser(t, d)
	const max, tries = 5, 20
	others := make([]wire.UserID, tries)
	for i := range others {
		others[i] = newUser(t, d)
	}
	var wg sync.WaitGroup
	errs := make(chan error, tries)
	for _, u := range others {
		wg.Go(func() {
			if err := d.SetContact(ctx, owner, u, directory.Allowed, max); err != nil && !errors.Is(err, directory.ErrFull) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if cs, err := d.Contacts(ctx, owner, tries); err != nil || len(cs) != max {
		t.Fatalf("Contacts = %d entries, %v; want %d", len(cs), err, max)
	}
}

func testRequests(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	lim := directory.RequestLimits{PairWindow: time.Hour, PerSender: 3, SenderWindow: 24 * time.Hour}
	from := wire.NewUserID()
	to := []wire.UserID{wire.NewUserID(), wire.NewUserID(), wire.NewUserID(), wire.NewUserID()}
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		name string
		to   wire.UserID
		at   time.Duration
		want bool
	}{
		{"first request", to[0], 0, true},
		{"same pair within the window", to[0], time.Minute, false},
		{"same pair at the end of the window", to[0], time.Hour - 1, false},
		{"another recipient", to[1], time.Hour, true},
		{"same pair after the window", to[0], time.Hour, true},
		{"over the sender limit", to[2], 2 * time.Hour, false},
		{"refused requests are not counted", to[2], 24 * time.Hour, true},
		{"still over the limit", to[3], 24*time.Hour + 1, false},
		{"the first leaves the sender window", to[3], 24*time.Hour + time.Hour, true},
	}
	for _, s := range steps {
		ok, err := d.NoteRequest(ctx, from, s.to, wire.NewMessageID(), t0.Add(s.at), lim)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if ok != s.want {
			t.Fatalf("%s: NoteRequest = %v, want %v", s.name, ok, s.want)
		}
	}

	// Another sender is counted apart.
	if ok, err := d.NoteRequest(ctx, wire.NewUserID(), to[0], wire.NewMessageID(), t0.Add(24*time.Hour+time.Hour), lim); err != nil || !ok {
		t.Fatalf("other sender: NoteRequest = %v, %v", ok, err)
	}

	t.Run("zero limits", func(t *testing.T) {
		for range 3 {
			if ok, err := d.NoteRequest(ctx, from, to[0], wire.NewMessageID(), t0, directory.RequestLimits{}); err != nil || !ok {
				t.Fatalf("NoteRequest = %v, %v", ok, err)
			}
		}
	})
	t.Run("pair limit only", func(t *testing.T) {
		pairOnly := directory.RequestLimits{PairWindow: time.Hour}
		s := wire.NewUserID()
		for i, r := range to {
			if ok, err := d.NoteRequest(ctx, s, r, wire.NewMessageID(), t0, pairOnly); err != nil || !ok {
				t.Fatalf("request %d: NoteRequest = %v, %v", i, ok, err)
			}
		}
		if ok, err := d.NoteRequest(ctx, s, to[0], wire.NewMessageID(), t0, pairOnly); err != nil || ok {
			t.Fatalf("repeat: NoteRequest = %v, %v", ok, err)
		}
	})
	t.Run("negative limit", func(t *testing.T) {
		if _, err := d.NoteRequest(ctx, from, to[0], wire.NewMessageID(), t0, directory.RequestLimits{PairWindow: -time.Second}); !errors.Is(err, directory.ErrInvalid) {
			t.Fatalf("NoteRequest = %v, want ErrInvalid", err)
		}
	})
}

// testConcurrentRequests checks that the limits hold when requests race.
func testConcurrentRequests(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	lim := directory.RequestLimits{PairWindow: time.Hour, PerSender: 5, SenderWindow: time.Hour}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	count := func(from wire.UserID, to func(i int) wire.UserID) int {
		const n = 16
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			oks  int
			errs []error
		)
		for i := range n {
			wg.Go(func() {
				ok, err := d.NoteRequest(ctx, from, to(i), wire.NewMessageID(), now, lim)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					oks++
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		return oks
	}
	pairTo := wire.NewUserID()
	if n := count(wire.NewUserID(), func(int) wire.UserID { return pairTo }); n != 1 {
		t.Errorf("%d racing requests to one person accepted, want 1", n)
	}
	if n := count(wire.NewUserID(), func(int) wire.UserID { return wire.NewUserID() }); n != lim.PerSender {
		t.Errorf("%d racing requests from one sender accepted, want %d", n, lim.PerSender)
	}
}

// testRequestCountedOnce checks that noting one request again (the router
// routing its batch a second time) neither refuses nor counts it again.
func testRequestCountedOnce(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	lim := directory.RequestLimits{PairWindow: time.Hour, PerSender: 2, SenderWindow: 24 * time.Hour}
	from, other := wire.NewUserID(), wire.NewUserID()
	to := []wire.UserID{wire.NewUserID(), wire.NewUserID(), wire.NewUserID(), wire.NewUserID()}
	a, b, c, e := wire.NewMessageID(), wire.NewMessageID(), wire.NewMessageID(), wire.NewMessageID()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		name string
		from wire.UserID
		to   wire.UserID
		id   wire.MessageID
		at   time.Duration
		want bool
	}{
		{"first request", from, to[0], a, 0, true},
		{"the same request again", from, to[0], a, time.Minute, true},
		{"and again", from, to[0], a, 2 * time.Minute, true},
		{"another request to the same person", from, to[0], b, 3 * time.Minute, false},
		{"a second recipient: the first was counted once", from, to[1], b, 4 * time.Minute, true},
		{"a third recipient is over the sender limit", from, to[2], c, 5 * time.Minute, false},
		{"a counted request is still let through", from, to[1], b, 6 * time.Minute, true},
		{"after the pair window, while the sender window keeps it", from, to[0], a, 2 * time.Hour, true},
		{"the same ID to another recipient is another request", from, to[3], a, 2 * time.Hour, false},
		{"the same ID from another sender is another request", other, to[0], a, 2 * time.Hour, true},
		{"once both windows have passed it counts anew", from, to[0], a, 25 * time.Hour, true},
		{"and fills the sender window again", from, to[2], e, 25 * time.Hour, true},
		{"so the limit holds", from, to[3], c, 25 * time.Hour, false},
	}
	for _, s := range steps {
		ok, err := d.NoteRequest(ctx, s.from, s.to, s.id, t0.Add(s.at), lim)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if ok != s.want {
			t.Fatalf("%s: NoteRequest = %v, want %v", s.name, ok, s.want)
		}
	}

	t.Run("racing", func(t *testing.T) {
		from, id := wire.NewUserID(), wire.NewMessageID()
		const n = 16
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			oks  int
			errs []error
		)
		for range n {
			wg.Go(func() {
				ok, err := d.NoteRequest(ctx, from, to[0], id, t0, lim)
				mu.Lock()
				defer mu.Unlock()
				errs = append(errs, err)
				if ok {
					oks++
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if oks != n {
			t.Fatalf("%d of %d copies of one request let through, want all", oks, n)
		}
		// Counted once: one more recipient fits under the limit of two.
		if ok, err := d.NoteRequest(ctx, from, to[1], wire.NewMessageID(), t0, lim); err != nil || !ok {
			t.Fatalf("second request = %v, %v; want true: the copies were counted more than once", ok, err)
		}
		if ok, err := d.NoteRequest(ctx, from, to[2], wire.NewMessageID(), t0, lim); err != nil || ok {
			t.Fatalf("third request = %v, %v; want false", ok, err)
		}
	})
}

func testCodes(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	addr, tok := randomBytes(32), randomBytes(32)
	if _, err := d.GetCode(ctx, addr, tok); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("GetCode(none) = %v, want ErrNotFound", err)
	}
	if _, err := d.FailCode(ctx, addr, tok); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("FailCode(none) = %v, want ErrNotFound", err)
	}
	if err := d.DeleteCode(ctx, addr, tok); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("DeleteCode(none) = %v, want ErrNotFound", err)
	}

	expires := time.Date(2030, 1, 1, 12, 10, 0, 123, time.UTC)
	c := directory.Code{Token: tok, Hash: randomBytes(32), Expires: expires}
	if err := d.PutCode(ctx, addr, c); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetCode(ctx, addr, tok)
	if err != nil || !bytes.Equal(got.Token, tok) || !bytes.Equal(got.Hash, c.Hash) || !got.Expires.Equal(expires) || got.Attempts != 0 {
		t.Fatalf("GetCode = %+v, %v; want %+v", got, err, c)
	}
	for want := 1; want <= 3; want++ {
		if n, err := d.FailCode(ctx, addr, tok); err != nil || n != want {
			t.Fatalf("FailCode = %d, %v; want %d", n, err, want)
		}
	}
	if got, err := d.GetCode(ctx, addr, tok); err != nil || got.Attempts != 3 {
		t.Fatalf("GetCode after failures = %+v, %v", got, err)
	}

	// A second code for the same address, under another token, stands
	// beside the first: neither its attempts nor its deletion touch it.
	tok2 := randomBytes(32)
	c2 := directory.Code{Token: tok2, Hash: randomBytes(32), Expires: expires.Add(time.Minute), Attempts: 1}
	if err := d.PutCode(ctx, addr, c2); err != nil {
		t.Fatal(err)
	}
	if got, err := d.GetCode(ctx, addr, tok2); err != nil || !bytes.Equal(got.Hash, c2.Hash) || got.Attempts != 1 || !got.Expires.Equal(c2.Expires) {
		t.Fatalf("GetCode(second token) = %+v, %v; want %+v", got, err, c2)
	}
	if n, err := d.FailCode(ctx, addr, tok2); err != nil || n != 2 {
		t.Fatalf("FailCode(second token) = %d, %v; want 2", n, err)
	}
	if got, err := d.GetCode(ctx, addr, tok); err != nil || got.Attempts != 3 || !bytes.Equal(got.Hash, c.Hash) {
		t.Fatalf("first code after the second's failure = %+v, %v", got, err)
	}
	// A token is bound to its address.
	if _, err := d.FailCode(ctx, randomBytes(32), tok); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("FailCode(other address, same token) = %v, want ErrNotFound", err)
	}

	// Codes of other addresses are apart.
	other := randomBytes(32)
	if err := d.PutCode(ctx, other, c); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteCode(ctx, addr, tok); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetCode(ctx, addr, tok); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("GetCode after delete = %v, want ErrNotFound", err)
	}
	// Deleting twice: the second finds nothing, so of two verifiers racing
	// for one code exactly one wins.
	if err := d.DeleteCode(ctx, addr, tok); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("second DeleteCode = %v, want ErrNotFound", err)
	}
	if _, err := d.GetCode(ctx, addr, tok2); err != nil {
		t.Fatalf("GetCode(second token) after deleting the first = %v", err)
	}
	if got, err := d.GetCode(ctx, other, tok); err != nil || !bytes.Equal(got.Hash, c.Hash) {
		t.Fatalf("GetCode(other) = %+v, %v", got, err)
	}

	if err := d.PutCode(ctx, nil, c); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("PutCode(no address) = %v, want ErrInvalid", err)
	}
	if err := d.PutCode(ctx, addr, directory.Code{Token: tok, Expires: expires}); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("PutCode(no hash) = %v, want ErrInvalid", err)
	}
	if err := d.PutCode(ctx, addr, directory.Code{Hash: randomBytes(32), Expires: expires}); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("PutCode(no token) = %v, want ErrInvalid", err)
	}
}

func testMoveAccount(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	old, addr := randomBytes(32), randomBytes(32)
	if _, err := d.MoveAccount(ctx, old, addr); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("MoveAccount(neither) = %v, want ErrNotFound", err)
	}
	id := wire.NewUserID()
	if _, _, err := d.CreateAccount(ctx, old, id); err != nil {
		t.Fatal(err)
	}
	if u, err := d.MoveAccount(ctx, old, addr); err != nil || u != id {
		t.Fatalf("MoveAccount = %v, %v; want %v", u, err, id)
	}
	if _, err := d.Account(ctx, old); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("Account(old) after the move = %v, want ErrNotFound", err)
	}
	if u, err := d.Account(ctx, addr); err != nil || u != id {
		t.Fatalf("Account(new) after the move = %v, %v; want %v", u, err, id)
	}
	if u, err := d.MoveAccount(ctx, old, addr); err != nil || u != id {
		t.Fatalf("MoveAccount again = %v, %v; want %v", u, err, id)
	}

	// When the new hash has an account, the old one stays where it is.
	other := wire.NewUserID()
	if _, _, err := d.CreateAccount(ctx, old, other); err != nil {
		t.Fatal(err)
	}
	if u, err := d.MoveAccount(ctx, old, addr); err != nil || u != id {
		t.Fatalf("MoveAccount onto a taken hash = %v, %v; want %v", u, err, id)
	}
	if u, err := d.Account(ctx, old); err != nil || u != other {
		t.Fatalf("Account(old) after a refused move = %v, %v; want %v", u, err, other)
	}

	// Concurrent moves of one account all find it.
	old, addr = randomBytes(32), randomBytes(32)
	id = wire.NewUserID()
	if _, _, err := d.CreateAccount(ctx, old, id); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() {
			u, err := d.MoveAccount(ctx, old, addr)
			if err == nil && u != id {
				err = fmt.Errorf("moved to %v, want %v", u, id)
			}
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent MoveAccount: %v", err)
		}
	}
	if _, err := d.MoveAccount(ctx, nil, addr); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("MoveAccount(no old hash) = %v, want ErrInvalid", err)
	}
}

func testCodeRequests(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	addr, other := randomBytes(32), randomBytes(32)
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		addr []byte
		at   time.Duration
		want int
	}{
		{addr, 0, 1},
		{addr, time.Minute, 2},
		{other, time.Minute, 1},
		{addr, 30 * time.Minute, 3},
		{addr, time.Hour, 3}, // the request at t0 left the window
		{addr, time.Hour + time.Minute, 3},
		{addr, 3 * time.Hour, 1},
		{other, 3 * time.Hour, 1},
	}
	for i, s := range steps {
		n, err := d.CountCodeRequest(ctx, s.addr, t0.Add(s.at), time.Hour)
		if err != nil || n != s.want {
			t.Fatalf("step %d: CountCodeRequest = %d, %v; want %d", i, n, err, s.want)
		}
	}
	if _, err := d.CountCodeRequest(ctx, addr, t0, 0); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("CountCodeRequest(zero window) = %v, want ErrInvalid", err)
	}

	// Expired codes are pruned on the way.
	expired, live := randomBytes(32), randomBytes(32)
	tok, liveTok := randomBytes(32), randomBytes(32)
	now := t0.Add(4 * time.Hour)
	if err := d.PutCode(ctx, expired, directory.Code{Token: tok, Hash: randomBytes(32), Expires: now.Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := d.PutCode(ctx, live, directory.Code{Token: tok, Hash: randomBytes(32), Expires: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// A live code of the address whose other code expired stays.
	if err := d.PutCode(ctx, expired, directory.Code{Token: liveTok, Hash: randomBytes(32), Expires: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CountCodeRequest(ctx, randomBytes(32), now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := d.GetCode(ctx, expired, tok); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("GetCode(expired) = %v, want ErrNotFound after pruning", err)
	}
	if _, err := d.GetCode(ctx, live, tok); err != nil {
		t.Fatalf("GetCode(live) = %v", err)
	}
	if _, err := d.GetCode(ctx, expired, liveTok); err != nil {
		t.Fatalf("GetCode(live code of an address with an expired one) = %v", err)
	}
}

func testCancelled(t *testing.T, d directory.Directory) {
	u, dev := newDevice(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"Account", func() error { _, err := d.Account(ctx, randomBytes(32)); return err }},
		{"CreateAccount", func() error { _, _, err := d.CreateAccount(ctx, randomBytes(32), wire.NewUserID()); return err }},
		{"AddDevice", func() error { _, err := d.AddDevice(ctx, u, "x", randomBytes(32), 0); return err }},
		{"AddVerifiedDevice", func() error {
			_, err := d.AddVerifiedDevice(ctx, u, directory.NewDevice{Name: "x", CredHash: randomBytes(32)})
			return err
		}},
		{"ClaimLink", func() error { _, err := d.ClaimLink(ctx, "0000000000ZZ", u, nil, 0, time.Now()); return err }},
		{"ClaimBundle", func() error { _, err := d.ClaimBundle(ctx, u, dev); return err }},
		{"LastResortBundle", func() error { _, err := d.LastResortBundle(ctx, u, dev); return err }},
		{"ContactState", func() error { _, err := d.ContactState(ctx, u, wire.NewUserID()); return err }},
		{"Ping", func() error { return d.Ping(ctx) }},
		{"NoteRequest", func() error {
			_, err := d.NoteRequest(ctx, u, wire.NewUserID(), wire.NewMessageID(), time.Now(), directory.RequestLimits{PairWindow: time.Hour})
			return err
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); err == nil {
				t.Fatal("succeeded with a cancelled context")
			}
		})
	}
	// The directory still works afterwards.
	if _, err := d.Device(context.Background(), u, dev); err != nil {
		t.Fatal(err)
	}
}

// testPing checks that Ping answers without touching the data.
func testPing(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	for range 3 {
		if err := d.Ping(ctx); err != nil {
			t.Fatalf("Ping = %v", err)
		}
	}
	if got, err := d.Devices(ctx, u); err != nil || len(got) != 1 || got[0].ID != dev {
		t.Fatalf("Devices after Ping = %+v, %v", got, err)
	}
}

func testInboxFloors(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	if _, err := d.InboxFloors(ctx, wire.UserID{}, 0); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("InboxFloors(limit 0) = %v, want ErrInvalid", err)
	}
	// Three users: two devices at 7 and 3, one device at 12, none.
	two, one, none := newUser(t, d), newUser(t, d), newUser(t, d)
	for _, dev := range []struct {
		u   wire.UserID
		off int64
	}{{two, 7}, {two, 3}, {one, 12}} {
		if _, err := d.AddDevice(ctx, dev.u, "device", randomBytes(32), dev.off); err != nil {
			t.Fatal(err)
		}
	}
	want := map[wire.UserID]directory.InboxFloor{
		two:  {User: two, Offset: 3, Devices: 2},
		one:  {User: one, Offset: 12, Devices: 1},
		none: {User: none, Devices: 0},
	}
	// Page through every user two at a time, in ID order.
	seen := make(map[wire.UserID]directory.InboxFloor)
	var after wire.UserID
	for pages := 0; ; pages++ {
		page, err := d.InboxFloors(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 2 || pages > 1000 {
			t.Fatalf("page of %d floors", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, f := range page {
			if bytes.Compare(f.User[:], after[:]) <= 0 {
				t.Fatalf("user %v listed after %v", f.User, after)
			}
			after = f.User
			seen[f.User] = f
		}
	}
	for u, w := range want {
		got, ok := seen[u]
		if w.Devices == 0 {
			got.Offset = 0
		}
		if !ok || got != w {
			t.Fatalf("floor of a user = %+v (listed %v), want %+v", got, ok, w)
		}
	}

	// The floor follows the slowest device, and its removal.
	devs, err := d.Devices(ctx, two)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CommitOffsets(ctx, []directory.DeviceOffset{{User: two, Device: devs[1].ID, Offset: 9}}); err != nil {
		t.Fatal(err)
	}
	floorOf := func(u wire.UserID) directory.InboxFloor {
		t.Helper()
		var before wire.UserID
		copy(before[:], u[:])
		// The greatest ID below u: decrement it as a big-endian number.
		for i := len(before) - 1; i >= 0; i-- {
			before[i]--
			if before[i] != 0xff {
				break
			}
		}
		page, err := d.InboxFloors(ctx, before, 1)
		if err != nil || len(page) != 1 || page[0].User != u {
			t.Fatalf("InboxFloors just before a user = %+v, %v", page, err)
		}
		return page[0]
	}
	if f := floorOf(two); f.Offset != 7 || f.Devices != 2 {
		t.Fatalf("after the slower device acknowledged, floor = %+v, want 7", f)
	}
	if err := d.RemoveDevice(ctx, two, devs[0].ID); err != nil {
		t.Fatal(err)
	}
	if f := floorOf(two); f.Offset != 9 || f.Devices != 1 {
		t.Fatalf("after the slower device was removed, floor = %+v, want 9", f)
	}
}
