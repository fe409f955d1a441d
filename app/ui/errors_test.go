package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/client"
	"github.com/mutualcoop/mutual/relay/wire"
)

func TestEmailAddress(t *testing.T) {
	for _, tc := range []struct {
		typed, want string
		bad         bool
	}{
		{typed: "alice@example.org", want: "email:alice@example.org"},
		{typed: "  alice@example.org \n", want: "email:alice@example.org"},
		{typed: "email:alice@example.org", want: "email:alice@example.org"},
		{typed: "EMAIL: alice@example.org", want: "email:alice@example.org"},
		{typed: "Alice.Martin+chat@Example.ORG", want: "email:Alice.Martin+chat@example.org"},
		{typed: "bob@BÜCHER.example", want: "email:bob@xn--bcher-kva.example"},
		{typed: "dev@localhost", bad: true}, // the relay refuses a domain without a dot
		{typed: "", bad: true},
		{typed: "alice", bad: true},
		{typed: "@example.org", bad: true},
		{typed: "alice@", bad: true},
		{typed: "alice@@example.org", bad: true},
		{typed: "a@b@example.org", bad: true},
		{typed: "alice martin@example.org", bad: true},
		{typed: "Alice <alice@example.org>", bad: true},
		{typed: "tel:+447700900123", bad: true},
		{typed: "alice@.org", bad: true},
		{typed: "alice@example.", bad: true},
		{typed: "email:", bad: true},
	} {
		t.Run(tc.typed, func(t *testing.T) {
			got, err := emailAddress(tc.typed)
			if tc.bad {
				if !errors.Is(err, errBadAddress) {
					t.Errorf("emailAddress(%q) = %q, %v; want errBadAddress", tc.typed, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("emailAddress(%q) = %q, %v; want %q", tc.typed, got, err, tc.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	wrapped := func(e *wire.Error) error { return fmt.Errorf("register: %w", e) }
	for _, tc := range []struct {
		name   string
		err    error
		online bool
		want   string // a part of the text
	}{
		{"nil", nil, true, ""},
		{"wrong code", wrapped(&wire.Error{Code: wire.CodeBadCode}), true, "code isn't right"},
		{"expired code", wrapped(&wire.Error{Code: wire.CodeCodeExpired}), true, "expired"},
		{"too many attempts", wrapped(&wire.Error{Code: wire.CodeTooManyAttempts}), true, "Send a new code"},
		{"rate limited", wrapped(&wire.Error{Code: wire.CodeRateLimited, RetryAfterMS: 90_000}), true, "Try again in 2 minutes"},
		{"rate limited, offline now", wrapped(&wire.Error{Code: wire.CodeRateLimited, RetryAfterMS: 5_000}), false, "Try again in 5 seconds"},
		{"bad address", wrapped(&wire.Error{Code: wire.CodeBadAddress}), true, "doesn't look like an email address"},
		{"unsupported scheme", wrapped(&wire.Error{Code: wire.CodeUnsupportedScheme}), true, "Only email addresses"},
		{"undeliverable", wrapped(&wire.Error{Code: wire.CodeDeliveryFailed}), true, "couldn't send a code"},
		{"busy", wrapped(&wire.Error{Code: wire.CodeUnavailable}), true, "busy"},
		{"unknown code", wrapped(&wire.Error{Code: 999}), true, "could not do that"},
		{"typed address", errBadAddress, true, "Enter an email address"},
		{"no such user", fmt.Errorf("add contact: %w", client.ErrNoSuchUser), true, "Nobody has signed up"},
		{"self", client.ErrSelf, true, "your own address"},
		{"blocked", client.ErrBlocked, true, "Unblock"},
		{"not a contact", client.ErrNotContact, true, "not among your contacts"},
		{"identity changed", &client.IdentityChangedError{}, true, "safety number changed"},
		{"too long", client.ErrTextTooLong, true, "too long"},
		{"device removed", client.ErrDeviceRemoved, true, "no longer signed in"},
		{"offline browser", errors.New("dial: connection refused"), false, "You're offline"},
		{"not connected yet", client.ErrOffline, true, "Not connected to the server yet"},
		{"client offline, browser offline", client.ErrOffline, false, "You're offline"},
		{"timeout", fmt.Errorf("register: %w", context.DeadlineExceeded), true, "took too long"},
		{"network", errors.New("dial: connection refused"), true, "Couldn't reach the Mutual server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := errorText(tc.err, tc.online)
			if tc.want == "" {
				if got != "" {
					t.Errorf("errorText = %q, want none", got)
				}
				return
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("errorText = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestFailureText(t *testing.T) {
	for _, tc := range []struct {
		code wire.Code
		want string
	}{
		{wire.CodeNotAccepted, "haven't accepted"},
		{wire.CodeRateLimited, "not accepted your request yet"},
		{wire.CodeNotFound, "no longer exists"},
		{wire.CodeNoDevices, "Bob has had no device signed in for 30 days"},
		{0, "Not delivered."},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			if got := failureText(tc.code, "Bob"); !strings.Contains(got, tc.want) {
				t.Errorf("failureText = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}
