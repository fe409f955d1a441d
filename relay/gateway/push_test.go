package gateway_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/push"
	"github.com/mutualcoop/mutual/relay/wire"
)

// fakePush is the pusher as the gateway sees it: a key, the allowed
// hosts of relay/push, and the users it was told to forget.
type fakePush struct {
	key   []byte
	hosts push.Hosts

	mu     sync.Mutex
	forgot []wire.UserID
}

func newFakePush(t *testing.T, hosts ...string) *fakePush {
	h, err := push.ParseHosts(hosts)
	if err != nil {
		t.Fatal(err)
	}
	return &fakePush{key: bytes.Repeat([]byte{4}, wire.PushKeyLen), hosts: h}
}

func (f *fakePush) PublicKey() []byte { return f.key }
func (f *fakePush) CheckEndpoint(e string) error {
	_, err := f.hosts.Check(e)
	return err
}
func (f *fakePush) Forget(u wire.UserID) {
	f.mu.Lock()
	f.forgot = append(f.forgot, u)
	f.mu.Unlock()
}

// subscription returns a valid SetPush to endpoint.
func subscription(t *testing.T, endpoint string) *wire.SetPush {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, wire.PushAuthLen)
	rand.Read(auth)
	return &wire.SetPush{Endpoint: endpoint, P256dh: k.PublicKey().Bytes(), Auth: auth}
}

func (h *harness) subscriptions(t *testing.T, u wire.UserID) []directory.PushSubscription {
	t.Helper()
	subs, err := h.dir.PushSubscriptions(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return subs
}

func TestSetPushUnavailable(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	if w := h.reconnect(t, alice); len(w.PushKey) != 0 {
		t.Fatalf("Welcome.PushKey = %x from a relay that sends no pushes", w.PushKey)
	}
	if code := errorCode(t, alice.call(subscription(t, "https://fcm.googleapis.com/fcm/send/x"))); code != wire.CodeUnavailable {
		t.Fatalf("SetPush = %v, want unavailable", code)
	}
}

func TestSetPush(t *testing.T) {
	fp := newFakePush(t, "fcm.googleapis.com", "*.push.apple.com")
	h := newHarness(t, func(c *gateway.Config) { c.Push, c.Rates.SetPush = fp, limit.PerSecond(100, 100) })
	alice := h.register(t, "email:alice@example.org")
	if w := h.reconnect(t, alice); !bytes.Equal(w.PushKey, fp.key) {
		t.Fatalf("Welcome.PushKey = %x, want the pusher's key", w.PushKey)
	}

	sub := subscription(t, "https://web.push.apple.com/abc")
	sub.Muted = []wire.ConversationID{{1}, {2}}
	if got := alice.call(sub); !isOK(got) {
		t.Fatalf("SetPush = %#v", got)
	}
	subs := h.subscriptions(t, alice.user)
	if len(subs) != 1 || subs[0].Device != alice.id || subs[0].Endpoint != sub.Endpoint || !bytes.Equal(subs[0].P256dh, sub.P256dh) ||
		!bytes.Equal(subs[0].Auth, sub.Auth) || len(subs[0].Muted) != 2 || !subs[0].OnlineUntil.IsZero() {
		t.Fatalf("stored %+v", subs)
	}
	fp.mu.Lock()
	forgot := len(fp.forgot) == 1 && fp.forgot[0] == alice.user
	fp.mu.Unlock()
	if !forgot {
		t.Fatal("the pusher was not told to forget the user's subscriptions")
	}

	offCurve := subscription(t, "https://fcm.googleapis.com/fcm/send/x")
	offCurve.P256dh[64] ^= 1
	compressed := subscription(t, "https://fcm.googleapis.com/fcm/send/x")
	compressed.P256dh = compressed.P256dh[:33]
	shortAuth := subscription(t, "https://fcm.googleapis.com/fcm/send/x")
	shortAuth.Auth = shortAuth.Auth[:15]
	for name, bad := range map[string]*wire.SetPush{
		"http":                  subscription(t, "http://fcm.googleapis.com/fcm/send/x"),
		"host not allowed":      subscription(t, "https://evil.example/x"),
		"suffix trick":          subscription(t, "https://push.apple.com.evil.example/x"),
		"other port":            subscription(t, "https://fcm.googleapis.com:8443/x"),
		"loopback":              subscription(t, "https://127.0.0.1/x"),
		"user information":      subscription(t, "https://a@fcm.googleapis.com/x"),
		"key off the curve":     offCurve,
		"compressed key":        compressed,
		"auth of 15 bytes":      shortAuth,
		"not a URL":             subscription(t, "https://%zz"),
		"no keys":               {Endpoint: "https://fcm.googleapis.com/fcm/send/x"},
		"wildcard's own domain": subscription(t, "https://push.apple.com/x"),
	} {
		if code := errorCode(t, alice.call(bad)); code != wire.CodeBadRequest {
			t.Errorf("%s: %v, want bad_request", name, code)
		}
	}
	if subs := h.subscriptions(t, alice.user); len(subs) != 1 || subs[0].Endpoint != sub.Endpoint {
		t.Fatalf("a refused SetPush changed the subscription: %+v", subs)
	}

	// An empty endpoint removes the subscription.
	if got := alice.call(&wire.SetPush{}); !isOK(got) {
		t.Fatalf("SetPush{} = %#v", got)
	}
	if subs := h.subscriptions(t, alice.user); len(subs) != 0 {
		t.Fatalf("after SetPush{}: %+v", subs)
	}
}

// TestSharedPresence: in a cluster, a gateway records that a device with
// a subscription is connected, and clears it when the connection closes.
func TestSharedPresence(t *testing.T) {
	fp := newFakePush(t, "fcm.googleapis.com")
	h := newHarness(t, func(c *gateway.Config) { c.Push, c.SharedPresence = fp, true })
	alice := h.register(t, "email:alice@example.org")
	if got := alice.call(subscription(t, "https://fcm.googleapis.com/fcm/send/a")); !isOK(got) {
		t.Fatalf("SetPush = %#v", got)
	}
	online := func() bool {
		subs := h.subscriptions(t, alice.user)
		return len(subs) == 1 && subs[0].OnlineUntil.After(time.Now())
	}
	if !online() {
		t.Fatal("a connected device's subscription is not marked online")
	}
	if !h.gw.Connected(alice.user, alice.id) {
		t.Fatal("Connected = false for a connected device")
	}
	alice.ws.CloseNow()
	wait.For(t, "presence cleared after the connection closed", func() bool { return !online() })
	if h.gw.Connected(alice.user, alice.id) {
		t.Fatal("Connected = true after the connection closed")
	}
	h.reconnect(t, alice)
	if !online() {
		t.Fatal("not marked online again at sign-in")
	}
}
