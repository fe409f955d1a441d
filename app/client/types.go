package client

import (
	"crypto/sha256"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mutualcoop/mutual/internal/address"
	"github.com/mutualcoop/mutual/relay/wire"
)

// MaxText is the longest text message, in bytes of UTF-8. With the
// content header it pads to 8 KiB, so a message fits in one Send frame
// even to 31 devices (16 of the contact's and 15 of one's own).
const MaxText = 4096

// Account is the registered device a store belongs to.
type Account struct {
	User   wire.UserID
	Device wire.DeviceID
	// Address is as typed at registration. It is never sent to the relay
	// again; contacts get it end to end, in canonical form, to know who
	// writes (see the package documentation).
	Address string
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

// MaxProfileName is the longest profile name, in bytes of UTF-8.
const MaxProfileName = 64

// Contact is another user as this device knows them. Address and
// Nickname are local: the relay never learns them (the address only for
// the Lookup that found the user). ProfileName is what they call
// themselves, from the profile their devices send (end-to-end encrypted).
// VerifiedAddress is the address their account is registered under, once
// confirmed (see the package documentation): anyone can call themselves
// "Bank", but only the account registered at an address can have it shown.
type Contact struct {
	User        wire.UserID
	Address     string // as the user typed it; empty when they wrote first
	Nickname    string
	ProfileName string // what they call themselves; empty until their profile arrives
	// VerifiedAddress is their address in canonical form
	// ("email:Ann-UX@example.org"), once confirmed: typed by the user in
	// AddContact (the relay's Lookup found them), given by them end to end
	// and confirmed by a Lookup that found them, or from another device of
	// this account. Empty until then. DisplayAddress shows it.
	VerifiedAddress string
	// AddressMismatch: an address they gave could not be confirmed (a
	// Lookup of it found someone else, or nobody). It is never shown; the
	// user should be told that the address this person gave could not be
	// confirmed.
	AddressMismatch bool
	State           ContactState
	Conversation    wire.ConversationID // of the 1:1 conversation
	// Accepted: they have written to this account (so they accept it);
	// until then a message to them goes as a contact request, and the
	// next ones wait for their answer (see RequestSent).
	Accepted bool
	// RequestSent is when the relay accepted the last contact request to
	// them (its clock), from this device or another of the account; zero
	// when none went, once they have accepted, and after a refusal. While
	// it is set, later messages wait in the outbox (see
	// AwaitingAcceptance).
	RequestSent time.Time
	// IdentityChanged: a device of theirs has a new or changed identity
	// key the user has not accepted; sending fails until AcceptIdentity.
	IdentityChanged bool
	Added           time.Time
	// Verified is when the user marked their safety numbers as verified
	// (this device's clock): compared aloud or by scanning their code
	// (MarkVerified). Zero when not, and cleared when any identity key
	// of theirs is new or changes.
	Verified time.Time

	// profileAt is when they set ProfileName (their clock, Unix ms): an
	// older profile arriving late does not replace a newer one.
	profileAt int64
	// claim is an address they gave (canonical form) that a Lookup has
	// not checked yet (see checkClaims); refused is the last one a Lookup
	// did not confirm, so that the same claim is not looked up again.
	claim, refused string
}

// Name is what to call the contact: the nickname given on this device,
// else their profile name, else their verified address (DisplayAddress),
// else the address as typed, else the first eight hex digits of their
// user ID.
func (ct Contact) Name() string {
	switch {
	case ct.Nickname != "":
		return ct.Nickname
	case ct.ProfileName != "":
		return ct.ProfileName
	case ct.VerifiedAddress != "":
		return ct.DisplayAddress()
	case ct.Address != "":
		return ct.Address
	}
	return ct.User.String()[:8]
}

// DisplayAddress is the verified address as people read it, without the
// "email:" scheme ("Ann-UX@example.org"); empty when there is none.
func (ct Contact) DisplayAddress() string {
	if ct.VerifiedAddress == "" {
		return ""
	}
	if a, err := address.Parse(ct.VerifiedAddress); err == nil {
		return a.Display()
	}
	return ct.VerifiedAddress
}

// AddressPending reports whether they gave an address that is not
// confirmed yet: a Lookup of it is due (see checkClaims).
func (ct Contact) AddressPending() bool { return ct.claim != "" }

// AwaitingAcceptance reports whether a contact request went to them and
// they have not answered yet: messages written meanwhile wait on this
// device and go when they accept (their first message arrives).
func (ct Contact) AwaitingAcceptance() bool {
	return !ct.Accepted && !ct.RequestSent.IsZero()
}

// accept records that they accept this account (they wrote to it, or
// asked first): messages go to them as messages, none waits.
func (ct *Contact) accept() {
	ct.Accepted, ct.RequestSent = true, time.Time{}
}

// checkProfileName reports whether name can be a profile name: at most
// MaxProfileName bytes of UTF-8 without control characters, line or
// paragraph separators or bidirectional controls (which could make a
// name display as another).
func checkProfileName(name string) error {
	switch {
	case len(name) > MaxProfileName:
		return fmt.Errorf("%w: over %d bytes", ErrBadProfileName, MaxProfileName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not UTF-8", ErrBadProfileName)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
			return fmt.Errorf("%w: control character %U", ErrBadProfileName, r)
		}
	}
	return nil
}

// MessageState is where a message stands.
type MessageState int

// Outgoing messages go Sending → Sent → Delivered → Read, or to Failed;
// a message the relay cannot take yet because the contact has no device
// signed in goes Sending → Waiting (and back to Sending when they have
// one again) before that. Retry sends a failed message again: Failed →
// Sending, with the same ID. Incoming messages are Received, then Read
// once MarkRead is called.
const (
	StateSending   MessageState = 1 // stored, waiting for the relay
	StateSent      MessageState = 2 // the relay accepted it (durable)
	StateDelivered MessageState = 3 // a device of the contact stored it
	StateRead      MessageState = 4 // the contact read it (or, incoming: the user did)
	StateFailed    MessageState = 5 // refused; see Message.Failure
	StateReceived  MessageState = 6 // incoming, not read yet
	// StateWaiting: stored; the contact has no device signed in (the
	// relay answered no_devices), so it is tried again now and then, and
	// goes when they sign in again, or fails (wire.CodeNoDevices) once it
	// has waited as long as the relay keeps messages (30 days).
	StateWaiting MessageState = 7
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
	case StateWaiting:
		return "waiting"
	}
	return "unknown"
}

// Message is one text message of a conversation.
type Message struct {
	ID           wire.MessageID
	Conversation wire.ConversationID
	// Seq is the message's position in its conversation on this device:
	// 1 for the first message stored, then increasing by one. History
	// pages by it.
	Seq          uint64
	Peer         wire.UserID // the other person of the 1:1 conversation
	Outgoing     bool        // written by this account (on any of its devices)
	SenderDevice wire.DeviceID
	Text         string
	SentAt       time.Time // the writer's clock
	ServerTime   time.Time // when the relay accepted it; zero until known
	State        MessageState
	Failure      wire.Code // with StateFailed: why (for example wire.CodeNotAccepted)
	// Attempt counts how many times the user sent the message again after
	// it failed (Retry): a record of a later attempt replaces any record
	// of an earlier one, whatever their states.
	Attempt uint32
	// Author is who wrote a message of a group (this account's user when
	// Outgoing); zero in a 1:1 conversation, where Peer says it.
	Author wire.UserID
	// Event is set on a group's system lines ("Ann added Ben"), which
	// have no Text.
	Event *GroupEvent
	// Attachments are the files the message carries (at most
	// MaxAttachments); Text is then their caption, which may be empty.
	Attachments []Attachment
	// Coop is set on a notice of the co-op (in wire.CoopConversation,
	// from no user): Text is the notice as the relay worded it.
	Coop *wire.CoopNotice
}

// Chat is the summary of a conversation, as Chats lists it: a 1:1 chat
// (Contact), a group (Group non-nil) or the co-op's notices (Coop).
type Chat struct {
	Contact Contact // the other person; zero for a group
	Group   *Group  // the group, for a group's chat
	// Coop: the co-op's notices (wire.CoopConversation), where no one
	// writes. Contact then holds only its name, CoopChatName (as
	// Nickname, so Contact.Name gives it), and the conversation; its
	// User is zero.
	Coop     bool
	Last     *Message  // the newest message, nil if none
	Unread   int       // received messages not yet marked read
	Activity time.Time // of the newest message (or when the contact was added)
	// Muted is when the chat's notifications come back (MuteChat):
	// zero if they are on, MuteForever if muted until unmuted.
	Muted time.Time
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
