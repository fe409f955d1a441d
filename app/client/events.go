package client

import (
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Event is something that happened in the background: one of the types
// below. Events are notifications; the store is the truth, so a reader
// that falls behind (and loses the oldest events, see
// Config.EventBuffer) can always reload what it shows.
type Event interface{ event() }

// Connected: Run is connected and authenticated.
type Connected struct{}

// Disconnected: the connection ended. Run reconnects after RetryIn,
// unless Err is ErrAuthFailed or ErrDeviceRemoved, which end Run.
type Disconnected struct {
	Err     error
	RetryIn time.Duration
}

// MessageReceived: a message arrived, from a contact or (Outgoing) a copy
// of one this account sent from another device, or a notice of the co-op
// (Message.Coop set, in wire.CoopConversation).
type MessageReceived struct{ Message Message }

// MessageStateChanged: an outgoing message was accepted by the relay,
// delivered, read or refused, or an incoming one was read on another
// device of this account; for a message to a group, also when a member's
// receipt arrived (ReadBy changed) though its state did not. Message is
// its new record.
type MessageStateChanged struct{ Message Message }

// RequestReceived: someone who is not a contact sent a contact request.
type RequestReceived struct{ Contact Contact }

// ContactChanged: what this device knows of a user changed: their
// profile name arrived, they were added, accepted, blocked or removed,
// renamed, or an identity change was flagged or accepted. Read the
// contact again (Contact, Chats) to show it.
type ContactChanged struct{ User wire.UserID }

// IdentityChanged: a contact has a new or changed identity key on the
// listed devices. Messages to them wait in the outbox until
// AcceptIdentity.
type IdentityChanged struct {
	Contact wire.UserID
	Devices []wire.DeviceID
}

// OwnDeviceSeen: this device met another device of the account for the
// first time (its identity key is trusted on first use). A device the
// user did not add should be removed with RemoveDevice.
type OwnDeviceSeen struct{ Device wire.DeviceID }

// Undecryptable: an incoming message was dropped because it could not be
// decrypted (Err is a *DecryptError): altered, replayed or from an
// unknown session. The session with the sender keeps working.
type Undecryptable struct{ Err *DecryptError }

// MessagesMissed: this device was away longer than the relay keeps
// messages; some were lost before it came back.
type MessagesMissed struct{}

// Failure: background work failed (publishing keys, storing a message);
// it is retried on the next connection.
type Failure struct{ Err error }

func (Connected) event()           {}
func (Disconnected) event()        {}
func (MessageReceived) event()     {}
func (MessageStateChanged) event() {}
func (RequestReceived) event()     {}
func (ContactChanged) event()      {}
func (IdentityChanged) event()     {}
func (OwnDeviceSeen) event()       {}
func (Undecryptable) event()       {}
func (MessagesMissed) event()      {}
func (Failure) event()             {}

// emit queues ev for Events, dropping the oldest queued event when the
// buffer is full: it never blocks the connection.
func (c *Client) emit(ev Event) {
	c.evMu.Lock()
	defer c.evMu.Unlock()
	if c.evClosed {
		return
	}
	for {
		select {
		case c.events <- ev:
			return
		default:
		}
		select {
		case <-c.events:
			c.log.Debug("client: event reader lags; dropped the oldest event")
		default:
		}
	}
}

// Events returns the channel of background events. It is closed by
// Close.
func (c *Client) Events() <-chan Event { return c.events }
