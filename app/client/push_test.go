//go:build !js

package client_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/pushtest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/push"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// TestMuteChat: a chat's mute is kept on the device, shown by MutedUntil
// and in the chats list, ends by itself, and is lifted by a zero time.
func TestMuteChat(t *testing.T) {
	r := startRelay(t)
	var skew atomic.Int64 // how far the device's clock is ahead
	clock := func(cfg *client.Config) {
		cfg.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	}
	alice := r.newDeviceWith("alice", "email:alice@example.org", clock)
	bob := r.newDevice("bob", "email:bob@example.org")
	befriend(t, alice, bob)
	conv := alice.contact(bob).Conversation
	ctx := ctxT(t)

	muted := func() (time.Time, time.Time) {
		t.Helper()
		until, err := alice.c.MutedUntil(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		chats, err := alice.c.Chats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range chats {
			if ch.Contact.User == bob.acct.User {
				return until, ch.Muted
			}
		}
		t.Fatal("no chat with bob")
		return until, time.Time{}
	}
	if until, listed := muted(); !until.IsZero() || !listed.IsZero() {
		t.Fatalf("a new chat is muted until %v (list: %v)", until, listed)
	}

	hour := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := alice.c.MuteChat(ctx, conv, hour); err != nil {
		t.Fatal(err)
	}
	if until, listed := muted(); !until.Equal(hour) || !listed.Equal(hour) {
		t.Fatalf("muted for an hour: until %v, list %v; want %v", until, listed, hour)
	}
	skew.Store(int64(2 * time.Hour))
	if until, listed := muted(); !until.IsZero() || !listed.IsZero() {
		t.Fatalf("a mute that ended: until %v, list %v", until, listed)
	}

	if err := alice.c.MuteChat(ctx, conv, client.MuteForever); err != nil {
		t.Fatal(err)
	}
	if until, listed := muted(); !until.Equal(client.MuteForever) || !listed.Equal(client.MuteForever) {
		t.Fatalf("muted for good: until %v, list %v", until, listed)
	}
	alice.restart()
	if until, _ := muted(); !until.Equal(client.MuteForever) {
		t.Fatalf("after a restart, muted until %v", until)
	}
	if err := alice.c.MuteChat(ctx, conv, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if until, listed := muted(); !until.IsZero() || !listed.IsZero() {
		t.Fatalf("unmuted: until %v, list %v", until, listed)
	}
	// The other side knows nothing of it.
	if until, err := bob.c.MutedUntil(ctx, conv); err != nil || !until.IsZero() {
		t.Fatalf("bob's side muted until %v (%v)", until, err)
	}
}

// TestPushSubscriptionStored: a subscription is checked, kept, and
// removed; with a relay that sends no pushes, nothing is sent and
// nothing fails.
func TestPushSubscriptionStored(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	ctx := ctxT(t)
	if key := alice.c.PushKey(); key != nil {
		t.Fatalf("a relay without pushes gave the key %x", key)
	}
	sub := &client.PushSubscription{
		Endpoint: "https://push.example.org/send/1", P256dh: make([]byte, wire.PushKeyLen), Auth: make([]byte, wire.PushAuthLen),
	}
	for _, bad := range []client.PushSubscription{
		{P256dh: sub.P256dh, Auth: sub.Auth},
		{Endpoint: sub.Endpoint, P256dh: sub.P256dh[:64], Auth: sub.Auth},
		{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: nil},
	} {
		if err := alice.c.SetPushSubscription(ctx, &bad); !errors.Is(err, client.ErrBadPushSubscription) {
			t.Errorf("subscription %+v: %v, want ErrBadPushSubscription", bad, err)
		}
	}
	if err := alice.c.SetPushSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if on, err := alice.c.PushSubscribed(ctx); err != nil || !on {
		t.Fatalf("subscribed: %v %v", on, err)
	}
	alice.restart()
	if on, err := alice.c.PushSubscribed(ctx); err != nil || !on {
		t.Fatalf("subscribed after a restart: %v %v", on, err)
	}
	if err := alice.c.SetPushSubscription(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if on, err := alice.c.PushSubscribed(ctx); err != nil || on {
		t.Fatalf("unsubscribed: %v %v", on, err)
	}
	alice.drain()
	alice.mu.Lock()
	defer alice.mu.Unlock()
	for _, ev := range alice.events {
		if f, ok := ev.(client.Failure); ok {
			t.Errorf("failure: %v", f.Err)
		}
	}
}

// TestSilentSends: what a person reads wakes the recipient's devices;
// receipts and profiles do not (wire.Send.Silent).
func TestSilentSends(t *testing.T) {
	r := startRelay(t)
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")

	var mu sync.Mutex
	silent := make(map[wire.MessageID]bool)
	bob.stop()
	client.SetBeforeSend(bob.c, func(s *wire.Send) {
		mu.Lock()
		silent[s.MessageID] = s.Silent
		mu.Unlock()
	})
	bob.start()

	befriend(t, alice, bob) // bob's delivery receipt of alice's request
	if err := bob.c.SetProfileName(ctxT(t), "Bob"); err != nil {
		t.Fatal(err)
	}
	alice.eventually("bob's name", func() bool { return alice.contact(bob).ProfileName == "Bob" })
	text := bob.send(alice, "hello alice")
	alice.waitText(bob, "hello alice")

	mu.Lock()
	defer mu.Unlock()
	if s, ok := silent[text]; !ok || s {
		t.Errorf("bob's text: sent %v, silent %v; want it to wake alice", ok, s)
	}
	others := 0
	for id, s := range silent {
		if id == text {
			continue
		}
		others++
		if !s {
			t.Errorf("send %s (a receipt or a profile) is not silent", id)
		}
	}
	if others < 2 {
		t.Errorf("%d silent sends, want a receipt and a profile at least", others)
	}
}

// TestPushSent: with a relay that pushes (to the push service stand-in),
// the subscription set while connected reaches the relay, a message
// while the device is away is pushed with its conversation, and a chat
// muted while offline is sent with the next connection: its messages
// push nothing while another chat's do.
func TestPushSent(t *testing.T) {
	st := pushtest.New(t)
	key, err := push.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	r := startRelayWith(t, func(c *server.Config) {
		c.Push = &push.Config{Key: key, Subject: "mailto:ops@example.org", Hosts: []string{st.Host()}, RootCAs: st.RootCAs(), Window: time.Millisecond}
	})
	alice := r.newDevice("alice", "email:alice@example.org")
	bob := r.newDevice("bob", "email:bob@example.org")
	carol := r.newDevice("carol", "email:carol@example.org")
	befriend(t, bob, alice)
	befriend(t, carol, alice)
	ctx := ctxT(t)
	if got := alice.c.PushKey(); len(got) != wire.PushKeyLen {
		t.Fatalf("push key of %d bytes", len(got))
	}
	sub := st.Subscribe(t)
	if err := alice.c.SetPushSubscription(ctx, &client.PushSubscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}); err != nil {
		t.Fatal(err)
	}
	payload := func(conv wire.ConversationID) string { return `{"v":1,"c":"` + conv.String() + `"}` }

	alice.stop()
	bob.send(alice, "are you there?")
	pushes := st.Wait(t, 1)
	bobConv := alice.contact(bob).Conversation
	if p := pushes[0]; p.Err != nil || string(p.Plaintext) != payload(bobConv) {
		t.Fatalf("the push: %s %v", p.Plaintext, p.Err)
	}

	// Muted while offline; the relay learns it on connecting.
	if err := alice.c.MuteChat(ctx, bobConv, client.MuteForever); err != nil {
		t.Fatal(err)
	}
	if synced, err := client.PushSynced(ctx, alice.c); err != nil || synced {
		t.Fatalf("a mute made offline is already sent: %v %v", synced, err)
	}
	alice.start()
	alice.waitText(bob, "are you there?")
	if err := wait.Until(ctx, func() bool { synced, err := client.PushSynced(ctx, alice.c); return err == nil && synced }); err != nil {
		t.Fatalf("the mute is not sent: %v", err)
	}
	alice.stop()
	n := len(st.Pushes())
	bob.send(alice, "still there?")
	carol.send(alice, "hello alice")
	carolConv := alice.contact(carol).Conversation
	for _, p := range st.Wait(t, n+1)[n:] {
		if string(p.Plaintext) != payload(carolConv) {
			t.Errorf("a push after the mute: %s %v", p.Plaintext, p.Err)
		}
	}
}
