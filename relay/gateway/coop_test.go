package gateway_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/wire"
)

// fakeCoop stands in for the co-op's service: it answers each op with
// what the test set, and reports each sign-in on connected.
type fakeCoop struct {
	key       ed25519.PublicKey
	connected chan wire.UserID
	// block makes Connected wait for its context to end.
	block bool

	mu      sync.Mutex
	answers map[wire.CoopOp]func(user wire.UserID, req *wire.Coop) (wire.Body, error)
	asked   []wire.CoopOp
}

func newFakeCoop() *fakeCoop {
	return &fakeCoop{
		key:       ed25519.PublicKey(bytes.Repeat([]byte{0xc0}, ed25519.PublicKeySize)),
		connected: make(chan wire.UserID, 64),
		answers:   make(map[wire.CoopOp]func(wire.UserID, *wire.Coop) (wire.Body, error)),
	}
}

func (f *fakeCoop) Key() ed25519.PublicKey { return f.key }

func (f *fakeCoop) Connected(ctx context.Context, user wire.UserID) {
	if f.block {
		<-ctx.Done()
	}
	f.connected <- user
}

func (f *fakeCoop) Handle(_ context.Context, user wire.UserID, req *wire.Coop) (wire.Body, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, req.Op)
	if a := f.answers[req.Op]; a != nil {
		return a(user, req)
	}
	return &wire.CoopInfo{Name: "Mutual", Currency: "GBP"}, nil
}

func (f *fakeCoop) answer(op wire.CoopOp, a func(wire.UserID, *wire.Coop) (wire.Body, error)) {
	f.mu.Lock()
	f.answers[op] = a
	f.mu.Unlock()
}

func (f *fakeCoop) handled() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

// TestCoopUnavailable: a relay without a co-op answers Coop frames
// unavailable and gives no key in Welcome.
func TestCoopUnavailable(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	if code := errorCode(t, alice.call(&wire.Coop{Op: wire.CoopStatus})); code != wire.CodeUnavailable {
		t.Fatalf("Coop without a co-op: %v, want unavailable", code)
	}
	if w := h.reconnect(t, alice); len(w.CoopKey) != 0 {
		t.Fatalf("Welcome carries a co-op key %x", w.CoopKey)
	}
}

// TestCoopFrames: Welcome carries the co-op's key, every sign-in is
// reported, the service's answers reach the device and its errors
// become the wire's codes.
func TestCoopFrames(t *testing.T) {
	fc := newFakeCoop()
	h := newHarness(t, func(c *gateway.Config) { c.Coop = fc })
	alice := h.register(t, "email:alice@example.org")
	if got := <-fc.connected; got != alice.user {
		t.Fatalf("Connected(%s) after Verify, want %s", got, alice.user)
	}
	w := h.reconnect(t, alice)
	if !bytes.Equal(w.CoopKey, fc.key) {
		t.Fatalf("Welcome.CoopKey = %x, want %x", w.CoopKey, fc.key)
	}
	if got := <-fc.connected; got != alice.user {
		t.Fatalf("Connected(%s) after Auth, want %s", got, alice.user)
	}

	fc.answer(wire.CoopJoin, func(user wire.UserID, req *wire.Coop) (wire.Body, error) {
		if user != alice.user || req.Provider != "stripe" || req.Plan != "monthly" {
			return nil, fmt.Errorf("join of %s: %+v", user, req)
		}
		return &wire.CoopCheckout{URL: "https://pay.example.org/1"}, nil
	})
	if got, ok := alice.call(&wire.Coop{Op: wire.CoopJoin, Provider: "stripe", Plan: "monthly"}).(*wire.CoopCheckout); !ok || got.URL != "https://pay.example.org/1" {
		t.Fatalf("join: %#v", got)
	}
	if got, ok := alice.call(&wire.Coop{Op: wire.CoopStatus}).(*wire.CoopInfo); !ok || got.Name != "Mutual" {
		t.Fatalf("status: %#v", got)
	}

	for _, tt := range []struct {
		err  error
		want wire.Code
	}{
		{coop.ErrNotFound, wire.CodeNotFound},
		{fmt.Errorf("grant: %w", coop.ErrForbidden), wire.CodeForbidden},
		{coop.ErrExists, wire.CodeExists},
		{fmt.Errorf("%w: month 2026-13", coop.ErrInvalid), wire.CodeBadRequest},
		{fmt.Errorf("%w: stripe said 500", coop.ErrProvider), wire.CodeUnavailable},
		{errors.New("database on fire"), wire.CodeInternal},
	} {
		t.Run(tt.want.String(), func(t *testing.T) {
			fc.answer(wire.CoopSetCost, func(wire.UserID, *wire.Coop) (wire.Body, error) { return nil, tt.err })
			e, ok := alice.call(&wire.Coop{Op: wire.CoopSetCost, Month: "2026-12", Category: "sms", Amount: 1}).(*wire.Error)
			if !ok || e.Code != tt.want {
				t.Fatalf("got %#v, want %v", e, tt.want)
			}
			if tt.want == wire.CodeInternal && e.Message != "internal error" {
				t.Fatalf("an unknown error told the device %q", e.Message)
			}
		})
	}
}

// TestCoopConnectedDoesNotDelay: a co-op that is slow to note a sign-in
// delays neither Welcome nor what follows, and shutting the gateway down
// ends its wait.
func TestCoopConnectedDoesNotDelay(t *testing.T) {
	fc := newFakeCoop()
	fc.block = true
	h := newHarness(t, func(c *gateway.Config) { c.Coop = fc })
	alice := h.register(t, "email:alice@example.org")
	h.reconnect(t, alice)
	if _, ok := alice.call(&wire.Coop{Op: wire.CoopStatus}).(*wire.CoopInfo); !ok {
		t.Fatal("no answer while the co-op notes the sign-in")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.gw.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for range 2 { // Verify and Auth, each ended by Shutdown
		<-fc.connected
	}
}

// TestCoopConversationIsTheRelays: no device sends to the co-op's
// conversation, nor a message of the co-op's kind.
func TestCoopConversationIsTheRelays(t *testing.T) {
	h := newHarness(t, nil)
	alice := h.register(t, "email:alice@example.org")
	bob := h.register(t, "email:bob@example.org")
	bob.allow(alice)
	for _, s := range []*wire.Send{
		{MessageID: wire.NewMessageID(), Kind: wire.KindCoop, Conversation: wire.CoopConversation, Recipients: to(bob)},
		{MessageID: wire.NewMessageID(), Kind: wire.KindMessage, Conversation: wire.CoopConversation, Recipients: to(bob)},
		{MessageID: wire.NewMessageID(), Kind: wire.KindGroup, Conversation: wire.CoopConversation, Recipients: to(bob), Shared: []byte{1}},
	} {
		r, ok := alice.call(s).(*wire.Rejected)
		if !ok || (r.Code != wire.CodeBadKind && r.Code != wire.CodeBadRequest) {
			t.Fatalf("kind %d to the co-op's conversation: %#v", s.Kind, r)
		}
	}
	if n := len(h.inboxRecords(t, bob.user)); n != 0 {
		t.Fatalf("bob's inbox holds %d records", n)
	}
}
