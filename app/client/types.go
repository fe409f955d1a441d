package client

import (
	"crypto/sha256"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// MaxText is the longest text message, in bytes of UTF-8. With the
// content header it pads to 8 KiB, so a message fits in one Send frame
// even to 31 devices (16 of the contact's and 15 of one's own).
const MaxText = 4096

// Account is the registered device a store belongs to.
type Account struct {
	User    wire.UserID
	Device  wire.DeviceID
	Address string // as typed at registration; never sent again
}

// ContactState is what this user decided about another.
type ContactState int

const (
	// ContactAllowed: a contact; the relay lets their messages through.
	ContactAllowed ContactState = 1
	// ContactBlocked: the relay refuses their messages and requests.
	ContactBlocked ContactState = 2
	// ContactRequest: they asked to talk (a contact request) and the user
	// has not answered yet.
	ContactRequest ContactState = 3
)

func (s ContactState) String() string {
	switch s {
	case ContactAllowed:
		return "allowed"
	case ContactBlocked:
		return "blocked"
	case ContactRequest:
		return "request"
	}
	return "unknown"
}

// Contact is another user as this device knows them. Address and
// Nickname are local: the relay never learns them (the address only for
// the Lookup that found the user).
type Contact struct {
	User         wire.UserID
	Address      string // as the user typed it; empty when they wrote first
	Nickname     string
	State        ContactState
	Conversation wire.ConversationID // of the 1:1 conversation
	// Accepted: they have written to this account (so they accept it);
	// until then messages to them go as contact requests.
	Accepted bool
	// IdentityChanged: a device of theirs has a new or changed identity
	// key the user has not accepted; sending fails until AcceptIdentity.
	IdentityChanged bool
	Added           time.Time
}

// MessageState is where a message stands.
type MessageState int

// Outgoing messages go Sending → Sent → Delivered → Read, or to Failed;
// incoming ones are Received, then Read once MarkRead is called.
const (
	StateSending   MessageState = 1 // stored, waiting for the relay
	StateSent      MessageState = 2 // the relay accepted it (durable)
	StateDelivered MessageState = 3 // a device of the contact stored it
	StateRead      MessageState = 4 // the contact read it (or, incoming: the user did)
	StateFailed    MessageState = 5 // refused; see Message.Failure
	StateReceived  MessageState = 6 // incoming, not read yet
)

func (s MessageState) String() string {
	switch s {
	case StateSending:
		return "sending"
	case StateSent:
		return "sent"
	case StateDelivered:
		return "delivered"
	case StateRead:
		return "read"
	case StateFailed:
		return "failed"
	case StateReceived:
		return "received"
	}
	return "unknown"
}

// Message is one text message of a conversation.
type Message struct {
	ID           wire.MessageID
	Conversation wire.ConversationID
	Peer         wire.UserID // the other person of the 1:1 conversation
	Outgoing     bool        // written by this account (on any of its devices)
	SenderDevice wire.DeviceID
	Text         string
	SentAt       time.Time // the writer's clock
	ServerTime   time.Time // when the relay accepted it; zero until known
	State        MessageState
	Failure      wire.Code // with StateFailed: why (for example wire.CodeNotAccepted)
}

// conversationDomain separates conversation IDs from any other use of
// SHA-256 over user IDs.
const conversationDomain = "Mutual direct conversation v1"

// DirectConversation returns the ID of the 1:1 conversation between two
// users: the first 16 bytes of SHA-256(domain || lower ID || higher ID),
// the same on both sides.
func DirectConversation(a, b wire.UserID) wire.ConversationID {
	lo, hi := a, b
	if string(hi[:]) < string(lo[:]) {
		lo, hi = hi, lo
	}
	h := sha256.New()
	h.Write([]byte(conversationDomain))
	h.Write(lo[:])
	h.Write(hi[:])
	var c wire.ConversationID
	copy(c[:], h.Sum(nil))
	return c
}
