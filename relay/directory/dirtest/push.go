package dirtest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// pushSub returns a valid subscription of a device.
func pushSub(t testing.TB, u wire.UserID, dev wire.DeviceID, endpoint string) directory.PushSubscription {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return directory.PushSubscription{User: u, Device: dev, Endpoint: endpoint, P256dh: k.PublicKey().Bytes(), Auth: randomBytes(16)}
}

func samePushSub(a, b directory.PushSubscription) bool {
	if a.User != b.User || a.Device != b.Device || a.Endpoint != b.Endpoint || !bytes.Equal(a.P256dh, b.P256dh) ||
		!bytes.Equal(a.Auth, b.Auth) || len(a.Muted) != len(b.Muted) || !a.OnlineUntil.Equal(b.OnlineUntil) {
		return false
	}
	for i := range a.Muted {
		if a.Muted[i] != b.Muted[i] {
			return false
		}
	}
	return true
}

func testPushSubscriptions(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	dev2, err := d.AddDevice(ctx, u, "laptop", randomBytes(32), 0)
	if err != nil {
		t.Fatal(err)
	}
	if subs, err := d.PushSubscriptions(ctx, u); err != nil || len(subs) != 0 {
		t.Fatalf("PushSubscriptions(none) = %v, %v", subs, err)
	}
	if n, err := d.CountPushSubscriptions(ctx); err != nil {
		t.Fatal(err)
	} else if n < 0 {
		t.Fatalf("CountPushSubscriptions = %d", n)
	}
	before, _ := d.CountPushSubscriptions(ctx)

	a := pushSub(t, u, dev2, "https://push.example/a")
	a.Muted = []wire.ConversationID{{1}, {2, 3}}
	b := pushSub(t, u, dev, "https://push.example/b")
	for _, s := range []directory.PushSubscription{a, b} {
		if err := d.SetPushSubscription(ctx, s); err != nil {
			t.Fatalf("SetPushSubscription: %v", err)
		}
	}
	subs, err := d.PushSubscriptions(ctx, u)
	if err != nil || len(subs) != 2 || !samePushSub(subs[0], b) || !samePushSub(subs[1], a) {
		t.Fatalf("PushSubscriptions = %+v, %v; want b then a (device order)", subs, err)
	}
	if subs[1].Updated.IsZero() || !subs[1].IsMuted(wire.ConversationID{2, 3}) || subs[1].IsMuted(wire.ConversationID{9}) {
		t.Fatalf("stored %+v", subs[1])
	}
	if n, _ := d.CountPushSubscriptions(ctx); n != before+2 {
		t.Fatalf("CountPushSubscriptions = %d, want %d", n, before+2)
	}

	// A new subscription replaces the device's previous one.
	a2 := pushSub(t, u, dev2, "https://push.example/a2")
	if err := d.SetPushSubscription(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if subs, _ := d.PushSubscriptions(ctx, u); len(subs) != 2 || !samePushSub(subs[1], a2) {
		t.Fatalf("after replacing: %+v", subs)
	}
	// "Gone" for the old endpoint leaves the new subscription.
	if err := d.DeletePushSubscription(ctx, u, dev2, a.Endpoint); err != nil {
		t.Fatal(err)
	}
	if subs, _ := d.PushSubscriptions(ctx, u); len(subs) != 2 {
		t.Fatalf("deleting an old endpoint deleted the new subscription: %+v", subs)
	}
	if err := d.DeletePushSubscription(ctx, u, dev2, a2.Endpoint); err != nil {
		t.Fatal(err)
	}
	if subs, _ := d.PushSubscriptions(ctx, u); len(subs) != 1 || subs[0].Device != dev {
		t.Fatalf("after deleting a2: %+v", subs)
	}
	// An empty endpoint deletes whatever there is; nothing is no error.
	for range 2 {
		if err := d.DeletePushSubscription(ctx, u, dev, ""); err != nil {
			t.Fatal(err)
		}
	}
	if subs, _ := d.PushSubscriptions(ctx, u); len(subs) != 0 {
		t.Fatalf("after deleting all: %+v", subs)
	}

	// No such device; and a removed device takes its subscription along.
	if err := d.SetPushSubscription(ctx, pushSub(t, u, 99, "https://push.example/x")); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("SetPushSubscription(no device) = %v, want ErrNotFound", err)
	}
	if err := d.SetPushSubscription(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveDevice(ctx, u, dev); err != nil {
		t.Fatal(err)
	}
	if subs, _ := d.PushSubscriptions(ctx, u); len(subs) != 0 {
		t.Fatalf("a removed device's subscription stayed: %+v", subs)
	}
}

func testInvalidPushSubscriptions(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	for name, change := range map[string]func(*directory.PushSubscription){
		"no endpoint": func(s *directory.PushSubscription) { s.Endpoint = "" },
		"long endpoint": func(s *directory.PushSubscription) {
			s.Endpoint = "https://x/" + string(make([]byte, wire.MaxPushEndpoint))
		},
		"short key": func(s *directory.PushSubscription) { s.P256dh = s.P256dh[:64] },
		"long auth": func(s *directory.PushSubscription) { s.Auth = randomBytes(17) },
		"too many muted": func(s *directory.PushSubscription) {
			s.Muted = make([]wire.ConversationID, wire.MaxMuted+1)
		},
		"no device": func(s *directory.PushSubscription) { s.Device = 0 },
	} {
		s := pushSub(t, u, dev, "https://push.example/a")
		change(&s)
		if err := d.SetPushSubscription(ctx, s); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("%s: SetPushSubscription = %v, want ErrInvalid", name, err)
		}
	}
	s := pushSub(t, u, dev, "https://push.example/a")
	s.Muted = make([]wire.ConversationID, wire.MaxMuted)
	if err := d.SetPushSubscription(ctx, s); err != nil {
		t.Fatalf("%d muted conversations: %v", wire.MaxMuted, err)
	}
}

func testPushPresence(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	u, dev := newDevice(t, d)
	other, otherDev := newDevice(t, d) // no subscription: skipped
	if err := d.SetPushSubscription(ctx, pushSub(t, u, dev, "https://push.example/a")); err != nil {
		t.Fatal(err)
	}
	until := time.Unix(1_900_000_000, 0).UTC()
	refs := []directory.DeviceRef{{User: u, Device: dev}, {User: other, Device: otherDev}}
	if err := d.SetPushPresence(ctx, refs, until); err != nil {
		t.Fatal(err)
	}
	if subs, _ := d.PushSubscriptions(ctx, u); len(subs) != 1 || !subs[0].OnlineUntil.Equal(until) {
		t.Fatalf("after SetPushPresence: %+v", subs)
	}
	if err := d.SetPushPresence(ctx, refs[:1], time.Time{}); err != nil {
		t.Fatal(err)
	}
	if subs, _ := d.PushSubscriptions(ctx, u); len(subs) != 1 || !subs[0].OnlineUntil.IsZero() {
		t.Fatalf("after clearing presence: %+v", subs)
	}
	if err := d.SetPushPresence(ctx, nil, until); err != nil {
		t.Fatal(err)
	}
}
