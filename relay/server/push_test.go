package server_test

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/pushtest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/push"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// frozen is a clock that does not move: within one test, every push to a
// device but its first falls in the same window.
type frozen struct {
	mu  sync.Mutex
	now time.Time
}

func (f *frozen) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// startPushRelay starts a relay that pushes to the stand-in, with one
// worker, so that pushes are looked at in the order records are routed.
func startPushRelay(t *testing.T, st *pushtest.Server) (*relay, *push.Key) {
	t.Helper()
	key, err := push.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	clock := &frozen{now: time.Now()}
	r := startRelay(t, func(c *server.Config) {
		c.Push = &push.Config{Key: key, Subject: "mailto:ops@example.org", Hosts: []string{st.Host()}, RootCAs: st.RootCAs(), Workers: 1, Now: clock.Now}
	})
	return r, key
}

// subscribe stores a subscription at the stand-in for c's device.
func (c *client) subscribe(st *pushtest.Server, muted ...wire.ConversationID) *pushtest.Subscriber {
	c.t.Helper()
	sub := st.Subscribe(c.t)
	if _, err := transport.Call[*wire.OK](ctxT(c.t), c.conn, &wire.SetPush{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth, Muted: muted}); err != nil {
		c.t.Fatalf("set push: %v", err)
	}
	return sub
}

// leave closes c's connection and waits until the relay has let it go.
func (c *client) leave() {
	c.t.Helper()
	c.conn.Close()
	wait.For(c.t, "the relay to see the device leave", func() bool {
		return !c.r.Server().Gateway().Connected(c.user, c.device)
	})
}

// sendIn sends a message in conversation conv to one device of to.
func (c *client) sendIn(to *client, conv wire.ConversationID, silent bool) {
	c.t.Helper()
	id := wire.NewMessageID()
	reply, err := c.conn.Request(ctxT(c.t), &wire.Send{
		MessageID: id, Kind: wire.KindMessage, Conversation: conv, Silent: silent,
		Recipients: []wire.Recipient{{User: to.user, Device: to.device, Ciphertext: []byte("hello")}},
	})
	if _, ok := reply.(*wire.Accepted); err != nil || !ok {
		c.t.Fatalf("send: %#v, %v", reply, err)
	}
}

// TestPushes: a device that is not connected gets one push per burst,
// which its browser decrypts to the conversation; a connected device,
// a muted conversation and a silent message get none; a subscription its
// push service calls gone is deleted.
func TestPushes(t *testing.T) {
	st := pushtest.New(t)
	r, key := startPushRelay(t, st)
	alice := r.register("email:alice@example.org")
	recipient := func(name string, muted ...wire.ConversationID) (*client, *pushtest.Subscriber) {
		c := r.register("email:" + name + "@example.org")
		c.allow(alice, wire.ContactAllowed)
		return c, c.subscribe(st, muted...)
	}
	conv := func(b byte) wire.ConversationID { return wire.ConversationID{0xc0, b} }

	bob, bobSub := recipient("bob") // stays connected
	carol, _ := recipient("carol", conv(2))
	dave, _ := recipient("dave")
	erin, erinSub := recipient("erin")
	frank, frankSub := recipient("frank")
	grace, graceSub := recipient("grace")
	for _, c := range []*client{carol, dave, erin, frank, grace} {
		c.leave()
	}
	st.Gone(frankSub.Endpoint, 410)

	alice.sendIn(bob, conv(1), false) // connected: no push
	bob.next()
	alice.sendIn(carol, conv(2), false) // muted: no push
	alice.sendIn(dave, conv(3), true)   // silent: no push
	for range 3 {
		alice.sendIn(erin, conv(4), false) // a burst: one push
	}
	alice.sendIn(frank, conv(5), false) // gone: the subscription is deleted
	alice.sendIn(grace, conv(6), false) // the last: all the above were looked at before it

	pushes := st.Wait(t, 3)
	if len(pushes) != 3 || pushes[0].Endpoint != erinSub.Endpoint || pushes[1].Endpoint != frankSub.Endpoint || pushes[2].Endpoint != graceSub.Endpoint {
		for _, p := range pushes {
			t.Logf("push to %s: %q %v", p.Endpoint, p.Plaintext, p.Err)
		}
		t.Fatalf("%d pushes; want erin's, frank's, grace's", len(pushes))
	}
	for _, p := range pushes {
		if p.Endpoint == bobSub.Endpoint {
			t.Fatal("a connected device was pushed")
		}
	}
	want := func(c wire.ConversationID) string { return `{"v":1,"c":"` + hex.EncodeToString(c[:]) + `"}` }
	for i, p := range []pushtest.Push{pushes[0], pushes[2]} {
		if p.Err != nil {
			t.Fatalf("push %d refused by the push service: %v", i, p.Err)
		}
		if p.TTL != "172800" || p.Urgency != "high" || p.Topic != "inbox" || p.Subject != "mailto:ops@example.org" || string(p.Key) != string(key.PublicKey()) {
			t.Errorf("push %d: TTL %q, Urgency %q, Topic %q, sub %q", i, p.TTL, p.Urgency, p.Topic, p.Subject)
		}
		if p.BodySize != push.PadTo+102 {
			t.Errorf("push %d: body of %d bytes, want %d", i, p.BodySize, push.PadTo+102)
		}
	}
	if got := string(pushes[0].Plaintext); got != want(conv(4)) {
		t.Errorf("erin's push decrypts to %s, want %s", got, want(conv(4)))
	}
	if got := string(pushes[2].Plaintext); got != want(conv(6)) {
		t.Errorf("grace's push decrypts to %s, want %s", got, want(conv(6)))
	}

	// frank's subscription was deleted when the push service said gone.
	dir, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(r.Dir(), "mutual.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	wait.For(t, "the gone subscription to be deleted", func() bool {
		subs, err := dir.PushSubscriptions(context.Background(), frank.user)
		return err == nil && len(subs) == 0
	})
	if subs, err := dir.PushSubscriptions(context.Background(), grace.user); err != nil || len(subs) != 1 {
		t.Fatalf("grace's subscription: %v, %v", subs, err)
	}
	if body := metricsBody(t, r); !strings.Contains(body, `mutual_push_sent_total{result="sent"} 2`) ||
		!strings.Contains(body, `mutual_push_sent_total{result="gone"} 1`) || !strings.Contains(body, "mutual_push_subscriptions 5") {
		t.Errorf("metrics do not count the pushes:\n%s", grep(body, "mutual_push"))
	}
}

func grep(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestPushKeyInWelcome: Welcome carries the VAPID key of a relay that
// pushes.
func TestPushKeyInWelcome(t *testing.T) {
	st := pushtest.New(t)
	r, key := startPushRelay(t, st)
	alice := r.register("email:alice@example.org")
	alice.conn.Close()
	alice.conn = r.dial()
	w, err := alice.conn.Auth(ctxT(t), alice.user, alice.device, alice.cred)
	if err != nil {
		t.Fatal(err)
	}
	if string(w.PushKey) != string(key.PublicKey()) {
		t.Fatalf("Welcome.PushKey = %x, want %x", w.PushKey, key.PublicKey())
	}
}

// metricsBody scrapes the relay's /metrics.
func metricsBody(t *testing.T, r *relay) string {
	t.Helper()
	resp, err := http.Get(r.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
