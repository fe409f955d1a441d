package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Errors callers branch on. Errors the relay answers with come through as
// a *wire.Error (use errors.As) wrapped with context, for example a
// rate-limited Register.
var (
	// ErrNotRegistered: this store holds no account yet; Register and
	// Verify first.
	ErrNotRegistered = errors.New("client: this device is not registered")
	// ErrRegistered: this store already holds an account.
	ErrRegistered = errors.New("client: this device is already registered")
	// ErrOffline: the call needs the relay and Run is not running.
	ErrOffline = errors.New("client: not connected to the relay")
	// ErrRunning: Run was called while another Run is active.
	ErrRunning = errors.New("client: already running")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("client: closed")
	// ErrAuthFailed: the relay refused this device's credential (close
	// 4002). The device must register again.
	ErrAuthFailed = errors.New("client: the relay refused this device's credential")
	// ErrDeviceRemoved: this device was removed from the account (close
	// 4007). The device must register again.
	ErrDeviceRemoved = errors.New("client: this device was removed from the account")
	// ErrNoSuchUser: nobody registered the address.
	ErrNoSuchUser = errors.New("client: nobody has registered this address")
	// ErrSelf: the address is this account's own.
	ErrSelf = errors.New("client: that is this account")
	// ErrNotContact: the user is not a contact (or is one whose request
	// has not been accepted yet).
	ErrNotContact = errors.New("client: not a contact")
	// ErrBlocked: the user is blocked.
	ErrBlocked = errors.New("client: the contact is blocked")
	// ErrIdentityChanged: a contact's identity keys changed (or they have
	// a device not seen before) and the user has not accepted the change.
	// The error is an *IdentityChangedError naming the contact.
	ErrIdentityChanged = errors.New("client: the contact's safety number changed")
	// ErrNoIdentity: no identity key of the contact is known yet; it is
	// learnt with the first message either way.
	ErrNoIdentity = errors.New("client: no identity key of the contact is known yet")
	// ErrEmptyText and ErrTextTooLong: a text message must have 1 to
	// MaxText bytes of valid UTF-8.
	ErrEmptyText   = errors.New("client: empty message")
	ErrTextTooLong = fmt.Errorf("client: message over %d bytes", MaxText)
	ErrBadText     = errors.New("client: message is not valid UTF-8")
	// ErrBadProfileName: a profile name must be at most MaxProfileName
	// bytes of UTF-8 without control characters.
	ErrBadProfileName = errors.New("client: unusable profile name")
)

// IdentityChangedError says that a contact's identity changed and that
// messages to them wait for the user: Devices are the contact's devices
// whose keys are new or changed (none when not known). It matches
// ErrIdentityChanged with errors.Is. Compare safety numbers, then call
// AcceptIdentity.
type IdentityChangedError struct {
	Contact wire.UserID
	Devices []wire.DeviceID
}

func (e *IdentityChangedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "client: the safety number of %s changed", e.Contact)
	if len(e.Devices) > 0 {
		b.WriteString(" (devices")
		for _, d := range e.Devices {
			fmt.Fprintf(&b, " %d", d)
		}
		b.WriteString(")")
	}
	return b.String() + ": verify it, then accept the new identity"
}

// Is makes errors.Is(err, ErrIdentityChanged) hold.
func (e *IdentityChangedError) Is(target error) bool { return target == ErrIdentityChanged }

// DecryptError says why an incoming message could not be read: it was
// altered, replayed, or made for a session this device does not have.
// Delivered in an Undecryptable event; the message is dropped and the
// session with the sender is unchanged.
type DecryptError struct {
	From      wire.UserID
	Device    wire.DeviceID
	MessageID wire.MessageID
	Err       error
}

func (e *DecryptError) Error() string {
	return fmt.Sprintf("client: message %s from %s device %d cannot be decrypted: %v", e.MessageID, e.From, e.Device, e.Err)
}

func (e *DecryptError) Unwrap() error { return e.Err }
