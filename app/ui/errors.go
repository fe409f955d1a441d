package ui

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/internal/address"
	"github.com/mutualcoop/mutual/relay/wire"
)

// errBadAddress: what was typed is not an email address.
var errBadAddress = errors.New("ui: not an email address")

// emailAddress turns what the user typed into the address the relay
// takes, in the canonical form the relay gives it (package
// internal/address: "email:", the local part as typed, the domain in
// lower case); the prefix may be typed or not.
func emailAddress(typed string) (string, error) {
	s := strings.TrimSpace(typed)
	if len(s) >= len("email:") && strings.EqualFold(s[:len("email:")], "email:") {
		s = strings.TrimSpace(s[len("email:"):])
	}
	a, err := address.Parse(s)
	if err != nil || a.Scheme() != address.SchemeEmail {
		return "", errBadAddress
	}
	return a.String(), nil
}

// plainAddress is an address as people write it, without "email:".
func plainAddress(addr string) string {
	return strings.TrimPrefix(addr, "email:")
}

// errorText says what went wrong in words a person can act on. online is
// the browser's view of the network: without it, failures that are not
// answers from the relay are put down to being offline.
func errorText(err error, online bool) string {
	if err == nil {
		return ""
	}
	var we *wire.Error
	if errors.As(err, &we) {
		return wireErrorText(we)
	}
	switch {
	case errors.Is(err, errBadAddress):
		return "Enter an email address, like alice@example.org."
	case errors.Is(err, client.ErrNoSuchUser):
		return "Nobody has signed up with that address yet. Ask them to join Mutual, then add them again."
	case errors.Is(err, client.ErrSelf):
		return "That is your own address."
	case errors.Is(err, client.ErrBlocked):
		return "You blocked this person. Unblock them to write to them."
	case errors.Is(err, client.ErrNotContact):
		return "This person is not among your contacts. Add them, or accept their request, first."
	case errors.Is(err, client.ErrIdentityChanged):
		return "Their safety number changed. Check it before sending: your message waits until you do."
	case errors.Is(err, client.ErrEmptyText):
		return "Write something first."
	case errors.Is(err, client.ErrTextTooLong):
		return "That message is too long. Split it into shorter ones."
	case errors.Is(err, client.ErrBadText):
		return "That message contains characters that cannot be sent."
	case errors.Is(err, client.ErrAuthFailed), errors.Is(err, client.ErrDeviceRemoved):
		return "This device is no longer signed in. Sign out, then sign in again."
	case errors.Is(err, client.ErrRegistered):
		return "This device is already signed in."
	case errors.Is(err, client.ErrNotRegistered):
		return "Sign in first."
	case errors.Is(err, client.ErrClosed):
		return "The app is restarting. Try again in a moment."
	case !online:
		return "You're offline. Check your connection and try again."
	case errors.Is(err, client.ErrOffline):
		return "Not connected to the server yet. Try again in a moment."
	case errors.Is(err, context.DeadlineExceeded):
		return "The server took too long to answer. Try again."
	default:
		return "Couldn't reach the Mutual server. Try again in a moment."
	}
}

// wireErrorText explains an error the relay answered with.
func wireErrorText(we *wire.Error) string {
	switch we.Code {
	case wire.CodeBadAddress:
		return "That doesn't look like an email address. Check it and try again."
	case wire.CodeUnsupportedScheme:
		return "Only email addresses can be used for now."
	case wire.CodeRateLimited:
		return "Too many attempts. Try again in " + waitText(time.Duration(we.RetryAfterMS)*time.Millisecond) + "."
	case wire.CodeBadCode:
		return "That code isn't right. Check the newest email from Mutual and try again."
	case wire.CodeCodeExpired:
		return "That code has expired. Send a new one."
	case wire.CodeTooManyAttempts:
		return "Too many wrong codes: this one no longer works. Send a new code."
	case wire.CodeDeliveryFailed:
		return "We couldn't send a code to that address. Check it and try again."
	case wire.CodeNotFound:
		return "Nobody has signed up with that address yet."
	case wire.CodeNotAccepted:
		return "They haven't accepted you as a contact."
	case wire.CodeUnavailable:
		if we.RetryAfterMS > 0 {
			return "The server is busy. Try again in " + waitText(time.Duration(we.RetryAfterMS)*time.Millisecond) + "."
		}
		return "The server is busy. Try again in a moment."
	case wire.CodeUnauthenticated:
		return "This device is no longer signed in. Sign out, then sign in again."
	default:
		return "The server could not do that. Try again in a moment."
	}
}

// failureText says why an outgoing message to name failed and what to
// do.
func failureText(code wire.Code, name string) string {
	switch code {
	case wire.CodeNoDevices:
		return "Not delivered: " + name + " has had no device signed in for 30 days."
	case wire.CodeNotAccepted:
		return "Not delivered: they haven't accepted your request, or they blocked you."
	case wire.CodeRateLimited:
		return "Not delivered: they have not accepted your request yet, and only a few messages reach them until they do."
	case wire.CodeNotFound:
		return "Not delivered: this account no longer exists."
	case wire.CodeTooLarge:
		return "Not delivered: the message is too large."
	default:
		return "Not delivered."
	}
}
