package push_test

import (
	"testing"

	"github.com/mutualcoop/mutual/internal/pushtest"
	"github.com/mutualcoop/mutual/relay/push"
	"github.com/mutualcoop/mutual/relay/wire"
)

// BenchmarkPushes measures the pushes a second a pusher sends: each
// encrypted to its device, with a VAPID token, over TLS to the stand-in
// on the same machine, which decrypts each and checks its token (so the
// figure counts both sides' work on the machine's cores). Every
// iteration is a push to another device.
//
//	go test -run '^$' -bench Pushes -benchtime 5000x ./relay/push/
func BenchmarkPushes(b *testing.B) {
	st := pushtest.New(b)
	s := newStore()
	users := make([]wire.UserID, b.N)
	for i := range users {
		users[i] = wire.NewUserID()
		s.add(users[i], 1, st.Subscribe(b))
	}
	p := newPusher(b, st, s, func(c *push.Config) { c.Queue = b.N })
	b.ResetTimer()
	for _, u := range users {
		p.Notify(u, wire.ConversationID{1})
	}
	got := st.Wait(b, b.N)
	b.StopTimer()
	for _, x := range got {
		if x.Err != nil {
			b.Fatalf("refused: %v", x.Err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pushes/s")
}

// BenchmarkEncrypt measures the relay's own work per push, apart from
// the network: a fresh P-256 key pair, the key agreement and AES-GCM.
func BenchmarkEncrypt(b *testing.B) {
	st := pushtest.New(b)
	sub := st.Subscribe(b)
	payload := push.Payload(wire.ConversationID{1})
	for b.Loop() {
		if _, err := push.Encrypt(payload, sub.P256dh, sub.Auth); err != nil {
			b.Fatal(err)
		}
	}
}
