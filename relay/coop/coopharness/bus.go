package coopharness

import (
	"context"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/wire"
)

// ErrBusDown is what a Bus returns once it fails (see FailAfter).
var ErrBusDown = errors.New("bus down")

// Bus is a coop.Bus that records what is appended. Its zero value
// records everything and never fails. It is safe for concurrent use.
type Bus struct {
	mu        sync.Mutex
	msgs      []bus.Message
	failing   bool
	failAfter int
}

// FailAfter makes the bus fail once it holds more than n messages: the
// append that goes past n stores its messages and then fails, as a bus
// may when it loses its connection before the acknowledgement, and every
// later append fails without storing anything.
func (b *Bus) FailAfter(n int) {
	b.mu.Lock()
	b.failing, b.failAfter = true, n
	b.mu.Unlock()
}

// Append records msgs.
func (b *Bus) Append(_ context.Context, msgs ...bus.Message) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failing && len(b.msgs) > b.failAfter {
		return ErrBusDown
	}
	b.msgs = append(b.msgs, msgs...)
	if b.failing && len(b.msgs) > b.failAfter {
		return ErrBusDown
	}
	return nil
}

// Len returns how many messages the bus holds.
func (b *Bus) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

// Reset forgets the messages recorded so far.
func (b *Bus) Reset() {
	b.mu.Lock()
	b.msgs = nil
	b.mu.Unlock()
}

// Notice is a co-op notice as a client gets it, with the user whose inbox
// it was appended to.
type Notice struct {
	User wire.UserID
	*wire.CoopNotice
}

// Notices decodes every message the bus holds, in order, checking each as
// a client checks the envelope it gets: on a user's inbox, a KindCoop
// parcel from no one in the co-op's conversation, whose notice is signed
// with key for that user and has the parcel's message ID. Anything else
// fails t.
func (b *Bus) Notices(t testing.TB, key ed25519.PublicKey) []Notice {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []Notice
	for _, m := range b.msgs {
		user, err := wire.ParseUserID(strings.TrimPrefix(m.Topic, "u."))
		if err != nil || bus.InboxTopic(user) != m.Topic {
			t.Fatalf("notice to topic %q, not an inbox", m.Topic)
		}
		p, err := bus.DecodeParcel(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != wire.KindCoop || p.Conversation != wire.CoopConversation || !p.Sender.IsZero() {
			t.Fatalf("parcel of kind %d in %v from %v", p.Kind, p.Conversation, p.Sender)
		}
		body, sig, err := wire.DecodeSignedCoopNotice(p.Shared)
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(key, wire.CoopSignedMessage(user, body), sig) {
			t.Fatalf("notice to %v: bad signature", user)
		}
		n, err := wire.DecodeCoopNotice(body)
		if err != nil {
			t.Fatal(err)
		}
		if n.ID != p.MessageID {
			t.Fatalf("notice %v in a parcel of ID %v", n.ID, p.MessageID)
		}
		out = append(out, Notice{User: user, CoopNotice: n})
	}
	return out
}
