package push_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/internal/pushtest"
	"github.com/mutualcoop/mutual/internal/wait"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/push"
	"github.com/mutualcoop/mutual/relay/wire"
)

// store is an in-memory push.Store.
type store struct {
	mu      sync.Mutex
	subs    map[wire.UserID][]directory.PushSubscription
	lookups atomic.Int64
}

func newStore() *store { return &store{subs: make(map[wire.UserID][]directory.PushSubscription)} }

func (s *store) add(u wire.UserID, d wire.DeviceID, sub *pushtest.Subscriber, muted ...wire.ConversationID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs[u] = append(s.subs[u], directory.PushSubscription{User: u, Device: d, Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth, Muted: muted})
}

func (s *store) PushSubscriptions(_ context.Context, u wire.UserID) ([]directory.PushSubscription, error) {
	s.lookups.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]directory.PushSubscription(nil), s.subs[u]...), nil
}

func (s *store) DeletePushSubscription(_ context.Context, u wire.UserID, d wire.DeviceID, endpoint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keep []directory.PushSubscription
	for _, x := range s.subs[u] {
		if x.Device != d || (endpoint != "" && x.Endpoint != endpoint) {
			keep = append(keep, x)
		}
	}
	s.subs[u] = keep
	return nil
}

func (s *store) count(u wire.UserID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs[u])
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type counts struct {
	mu      sync.Mutex
	results map[string]int
	dropped int
}

func (c *counts) metrics() push.Metrics {
	return push.Metrics{
		Sent: func(r string) {
			c.mu.Lock()
			c.results[r]++
			c.mu.Unlock()
		},
		Dropped: func() {
			c.mu.Lock()
			c.dropped++
			c.mu.Unlock()
		},
	}
}

func (c *counts) get(r string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.results[r]
}

func newPusher(t testing.TB, st *pushtest.Server, s push.Store, tune func(*push.Config)) *push.Pusher {
	t.Helper()
	key, err := push.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := push.Config{Key: key, Subject: "mailto:ops@example.org", Hosts: []string{st.Host()}, RootCAs: st.RootCAs()}
	if tune != nil {
		tune(&cfg)
	}
	p, err := push.New(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestPusherWindow: at most one push per device per window; the next
// window's first record pushes again.
func TestPusherWindow(t *testing.T) {
	st := pushtest.New(t)
	s := newStore()
	clk := &clock{now: time.Now()}
	var c counts
	c.results = map[string]int{}
	p := newPusher(t, st, s, func(cfg *push.Config) { cfg.Now, cfg.Workers, cfg.Metrics = clk.Now, 1, c.metrics() })
	u := wire.NewUserID()
	s.add(u, 1, st.Subscribe(t))
	s.add(u, 2, st.Subscribe(t))
	for range 5 {
		p.Notify(u, wire.ConversationID{1})
	}
	st.Wait(t, 2) // one for each device
	marker := wire.NewUserID()
	s.add(marker, 1, st.Subscribe(t))
	p.Notify(marker, wire.ConversationID{9})
	if got := st.Wait(t, 3); len(got) != 3 {
		t.Fatalf("%d pushes for a burst to two devices, want 2 (and the marker)", len(got)-1)
	}
	clk.advance(5 * time.Second)
	p.Notify(u, wire.ConversationID{2})
	if got := st.Wait(t, 5); len(got) != 5 || string(got[4].Plaintext) != string(push.Payload(wire.ConversationID{2})) {
		t.Fatalf("after the window: %d pushes, want 5", len(got))
	}
	wait.For(t, "5 pushes counted as sent", func() bool { return c.get(push.ResultSent) == 5 })
}

// TestPusherSkips: a connected device, or one that muted every
// conversation the records came in, is not pushed; a user without
// subscriptions is looked up once a minute at most, until Forget.
func TestPusherSkips(t *testing.T) {
	st := pushtest.New(t)
	s := newStore()
	connected := wire.NewUserID()
	p := newPusher(t, st, s, func(cfg *push.Config) {
		cfg.Workers = 1
		cfg.Connected = func(u wire.UserID, _ wire.DeviceID) bool { return u == connected }
	})
	s.add(connected, 1, st.Subscribe(t))
	muted := wire.NewUserID()
	s.add(muted, 1, st.Subscribe(t), wire.ConversationID{1})
	none := wire.NewUserID()
	p.Notify(connected, wire.ConversationID{1})
	p.Notify(muted, wire.ConversationID{1})
	p.Notify(none, wire.ConversationID{1})
	marker := wire.NewUserID()
	markerSub := st.Subscribe(t)
	s.add(marker, 1, markerSub)
	p.Notify(marker, wire.ConversationID{1})
	if got := st.Wait(t, 1); len(got) != 1 || got[0].Endpoint != markerSub.Endpoint {
		t.Fatalf("pushes %+v, want the marker's only", got)
	}
	wait.For(t, "three lookups", func() bool { return s.lookups.Load() >= 4 })
	before := s.lookups.Load()
	p.Notify(none, wire.ConversationID{1}) // remembered: no lookup
	s.add(none, 1, st.Subscribe(t))
	p.Forget(none)
	p.Notify(none, wire.ConversationID{1})
	st.Wait(t, 2)
	if got := s.lookups.Load() - before; got != 1 {
		t.Fatalf("%d lookups for a user without subscriptions, then Forget; want 1", got)
	}
}

// TestPusherGone: a subscription the push service calls gone is deleted,
// and only that one.
func TestPusherGone(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusGone} {
		st := pushtest.New(t)
		s := newStore()
		var c counts
		c.results = map[string]int{}
		p := newPusher(t, st, s, func(cfg *push.Config) { cfg.Metrics = c.metrics() })
		u := wire.NewUserID()
		gone := st.Subscribe(t)
		st.Gone(gone.Endpoint, status)
		s.add(u, 1, gone)
		s.add(u, 2, st.Subscribe(t))
		p.Notify(u, wire.ConversationID{1})
		st.Wait(t, 2)
		wait.For(t, "the gone subscription deleted", func() bool { return s.count(u) == 1 && c.get(push.ResultGone) == 1 })
	}
}

// TestPusherQueueFull: Notify never blocks; what does not fit is
// counted.
func TestPusherQueueFull(t *testing.T) {
	st := pushtest.New(t)
	s := newStore()
	var c counts
	c.results = map[string]int{}
	block := make(chan struct{})
	p := newPusher(t, st, blockingStore{s, block}, func(cfg *push.Config) { cfg.Workers, cfg.Queue, cfg.Metrics = 1, 2, c.metrics() })
	defer close(block)
	for range 10 {
		p.Notify(wire.NewUserID(), wire.ConversationID{1})
	}
	c.mu.Lock()
	dropped := c.dropped
	c.mu.Unlock()
	if dropped < 7 || dropped > 8 {
		t.Fatalf("%d dropped of 10 with one busy worker and room for 2, want 7 or 8", dropped)
	}
}

type blockingStore struct {
	*store
	block chan struct{}
}

func (b blockingStore) PushSubscriptions(ctx context.Context, u wire.UserID) ([]directory.PushSubscription, error) {
	select {
	case <-b.block:
	case <-ctx.Done():
	}
	return nil, nil
}

// TestClientRefusesInternalAddresses: a name on the list that resolves to
// a loopback address is not connected to; the address itself listed is.
func TestClientRefusesInternalAddresses(t *testing.T) {
	st := pushtest.New(t)
	sub := st.Subscribe(t)
	key, _ := push.GenerateKey()
	port := st.Host()[strings.LastIndex(st.Host(), ":")+1:]
	hosts, err := push.ParseHosts([]string{"localhost:" + port})
	if err != nil {
		t.Fatal(err)
	}
	c, err := push.NewClient(push.ClientConfig{Key: key, Subject: "mailto:ops@example.org", Hosts: hosts, RootCAs: st.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	byName := push.Subscription{Endpoint: "https://localhost:" + port + strings.TrimPrefix(sub.Endpoint, st.Origin()), P256dh: sub.P256dh, Auth: sub.Auth}
	if err := c.Send(context.Background(), byName, []byte("x")); !errors.Is(err, push.ErrEndpoint) {
		t.Fatalf("Send to a listed name resolving to loopback = %v, want ErrEndpoint", err)
	}
	if len(st.Pushes()) != 0 {
		t.Fatal("the stand-in was reached")
	}
	hosts, _ = push.ParseHosts([]string{st.Host()})
	c, _ = push.NewClient(push.ClientConfig{Key: key, Subject: "mailto:ops@example.org", Hosts: hosts, RootCAs: st.RootCAs()})
	if err := c.Send(context.Background(), push.Subscription{Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth}, []byte("x")); err != nil {
		t.Fatalf("Send to a listed address: %v", err)
	}
}

// TestClientNoRedirects: an endpoint that redirects elsewhere is not
// followed.
func TestClientNoRedirects(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	defer target.Close()
	redirect := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	st := pushtest.New(t)
	sub := st.Subscribe(t)
	key, _ := push.GenerateKey()
	hosts, _ := push.ParseHosts([]string{strings.TrimPrefix(redirect.URL, "https://"), strings.TrimPrefix(target.URL, "https://")})
	pool := redirect.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	c, _ := push.NewClient(push.ClientConfig{Key: key, Subject: "mailto:ops@example.org", Hosts: hosts, RootCAs: pool})
	err := c.Send(context.Background(), push.Subscription{Endpoint: redirect.URL + "/x", P256dh: sub.P256dh, Auth: sub.Auth}, []byte("x"))
	if err == nil || hits.Load() != 0 {
		t.Fatalf("Send = %v with %d requests to the redirect's target; want an error and none", err, hits.Load())
	}
}

func TestParseHostsAndCheck(t *testing.T) {
	h, err := push.ParseHosts(push.DefaultHosts())
	if err != nil {
		t.Fatal(err)
	}
	for endpoint, ok := range map[string]bool{
		"https://fcm.googleapis.com/fcm/send/abc":                 true,
		"https://fcm.googleapis.com:443/fcm/send/abc":             true,
		"https://updates.push.services.mozilla.com/wpush/v2/abc":  true,
		"https://web.push.apple.com/QGuQ":                         true,
		"https://wns2-by3p.notify.windows.com/w/?token=x":         true,
		"https://FCM.googleapis.com/x":                            true,
		"http://fcm.googleapis.com/x":                             false,
		"https://fcm.googleapis.com:444/x":                        false,
		"https://push.apple.com/x":                                false,
		"https://evilpush.apple.com/x":                            false,
		"https://web.push.apple.com.evil.example/x":               false,
		"https://user@fcm.googleapis.com/x":                       false,
		"https://127.0.0.1/x":                                     false,
		"https://[::1]/x":                                         false,
		"fcm.googleapis.com/x":                                    false,
		"https://fcm.googleapis.com/" + strings.Repeat("a", 1024): false,
	} {
		if _, err := h.Check(endpoint); (err == nil) != ok {
			t.Errorf("Check(%.60s) = %v, want ok %v", endpoint, err, ok)
		}
	}
	for _, bad := range [][]string{{"*.example:8443"}, {"a/b"}, {""}, {"*."}} {
		if _, err := push.ParseHosts(bad); err == nil {
			t.Errorf("ParseHosts(%q) succeeded", bad)
		}
	}
}

// TestVAPIDToken: the Authorization header passes a push service's
// checks, for the endpoint's origin only.
func TestVAPIDToken(t *testing.T) {
	key, err := push.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	h, err := key.Authorization("https://push.example", "mailto:ops@example.org", now.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	sub, k, err := pushtest.CheckVAPID(h, "https://push.example", now)
	if err != nil || sub != "mailto:ops@example.org" || string(k) != string(key.PublicKey()) {
		t.Fatalf("CheckVAPID = %q, %x, %v", sub, k, err)
	}
	if _, _, err := pushtest.CheckVAPID(h, "https://other.example", now); err == nil {
		t.Fatal("a token for one origin passed for another")
	}
	if _, _, err := pushtest.CheckVAPID(h, "https://push.example", now.Add(13*time.Hour)); err == nil {
		t.Fatal("an expired token passed")
	}
	other, _ := push.GenerateKey()
	forged := h[:strings.Index(h, ", k=")] + ", k=" + h[strings.Index(h, ", k=")+4:]
	forged = strings.Replace(forged, h[strings.Index(h, ", k=")+4:], b64(other.PublicKey()), 1)
	if _, _, err := pushtest.CheckVAPID(forged, "https://push.example", now); err == nil {
		t.Fatal("a token passed with another key")
	}
}
