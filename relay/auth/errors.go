package auth

import (
	"errors"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/internal/address"
)

// Errors callers branch on. The gateway maps each to a wire code. Their
// messages, and those of every error wrapping them, never contain the
// address or the code.
var (
	// ErrBadAddress: the input is not a valid address of any scheme
	// (address.ErrBad).
	ErrBadAddress = address.ErrBad
	// ErrUnsupportedScheme: a well-formed address of a scheme this relay
	// cannot deliver codes to yet (tel:, irc:; address.ErrUnsupportedScheme),
	// or one with no Sender configured.
	ErrUnsupportedScheme = address.ErrUnsupportedScheme
	// ErrRateLimited: too many code requests for this address or from this
	// network. The error is a *RateLimitError saying how long to wait.
	ErrRateLimited = errors.New("auth: rate limited")
	// ErrBadCode: the code is wrong, malformed, or no code is pending for
	// the address.
	ErrBadCode = errors.New("auth: wrong code")
	// ErrCodeExpired: a code was pending but its lifetime has passed. It is
	// now deleted; the next attempt gives ErrBadCode. Kept apart from
	// ErrBadCode so that a person is told to ask for a new code rather than
	// to retype the old one.
	ErrCodeExpired = errors.New("auth: code expired")
	// ErrTooManyAttempts: the code was guessed wrong MaxAttempts times and is
	// now deleted; a new one must be requested.
	ErrTooManyAttempts = errors.New("auth: too many wrong codes")
	// ErrDelivery: the Sender could not deliver the code. The stored code is
	// deleted so that the person may ask again at once.
	ErrDelivery = errors.New("auth: code delivery failed")
)

// errNoCode is the ErrBadCode returned when no code is pending: callers see
// ErrBadCode either way, so the answer does not tell a stranger whether
// someone asked for a code.
var errNoCode = fmt.Errorf("%w: none pending", ErrBadCode)

// RateLimitError is the error for a refused code request. errors.Is(err,
// ErrRateLimited) holds, and errors.As gives the wait.
type RateLimitError struct {
	wait time.Duration
	why  string
}

// RetryAfter is how long the caller should wait before asking again,
// rounded up to a whole second.
func (e *RateLimitError) RetryAfter() time.Duration { return e.wait }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("auth: rate limited (%s): retry after %s", e.why, e.wait)
}

// Unwrap makes errors.Is(err, ErrRateLimited) true.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

func rateLimited(why string, wait time.Duration) error {
	wait = (wait + time.Second - 1).Truncate(time.Second)
	if wait < time.Second {
		wait = time.Second
	}
	return &RateLimitError{wait: wait, why: why}
}
