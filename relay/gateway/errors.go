package gateway

import (
	"errors"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// errorFrame maps an error to what the client is told: the one place
// where errors become wire codes. Errors without a mapping are logged and
// reported as "internal error", never in their own words.
func (c *conn) errorFrame(err error) *wire.Error {
	code, msg := classify(err)
	e := &wire.Error{Code: code, Message: msg}
	var ra interface{ RetryAfter() time.Duration }
	if code == wire.CodeRateLimited && errors.As(err, &ra) {
		e.RetryAfterMS = uint64(ra.RetryAfter().Milliseconds()) + 1
	}
	if code == wire.CodeInternal {
		c.g.cfg.Logger.Error("gateway: request failed", "err", err)
	}
	return e
}

func classify(err error) (wire.Code, string) {
	switch {
	case errors.Is(err, auth.ErrUnsupportedScheme):
		return wire.CodeUnsupportedScheme, "this kind of address is not supported yet"
	case errors.Is(err, auth.ErrBadAddress):
		return wire.CodeBadAddress, "not a valid address"
	case errors.Is(err, auth.ErrRateLimited):
		return wire.CodeRateLimited, "too many requests; wait a little"
	case errors.Is(err, auth.ErrCodeExpired):
		return wire.CodeCodeExpired, "the code has expired; ask for a new one"
	case errors.Is(err, auth.ErrTooManyAttempts):
		return wire.CodeTooManyAttempts, "too many wrong codes; ask for a new one"
	case errors.Is(err, auth.ErrBadCode):
		return wire.CodeBadCode, "wrong code"
	case errors.Is(err, auth.ErrDelivery):
		return wire.CodeDeliveryFailed, "the code could not be delivered"
	case errors.Is(err, directory.ErrNotFound):
		return wire.CodeNotFound, "not found"
	case errors.Is(err, directory.ErrInvalid):
		return wire.CodeBadRequest, "invalid request"
	case errors.Is(err, directory.ErrNoPrekeys):
		return wire.CodeNoPrekeys, "no keys published"
	case errors.Is(err, coop.ErrNotFound):
		return wire.CodeNotFound, "not found"
	case errors.Is(err, coop.ErrForbidden):
		return wire.CodeForbidden, "only the co-op's operators may do this"
	case errors.Is(err, coop.ErrExists):
		return wire.CodeExists, "already a member"
	case errors.Is(err, coop.ErrInvalid):
		return wire.CodeBadRequest, "invalid request"
	case errors.Is(err, coop.ErrProvider):
		return wire.CodeUnavailable, "the payment provider cannot be reached; try again later"
	}
	return wire.CodeInternal, "internal error"
}
