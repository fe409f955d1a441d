package transport

import (
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/relay/wire"
)

// ErrClosed is the reason of a connection ended by Close.
var ErrClosed = errors.New("transport: connection closed")

// CloseError is the reason of a connection the relay closed with a
// WebSocket status: one of the wire.Close* codes, or a standard RFC 6455
// code such as 1001 (going away).
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("transport: relay closed the connection (%d)", e.Code)
	}
	return fmt.Sprintf("transport: relay closed the connection (%d): %s", e.Code, e.Reason)
}

// UnexpectedReplyError is returned by Call and the helpers built on it when
// the relay answers with a body of another type than the one expected.
type UnexpectedReplyError struct {
	Request wire.Type
	Reply   wire.Type
}

func (e *UnexpectedReplyError) Error() string {
	return fmt.Sprintf("transport: %s answered with %s", e.Request, e.Reply)
}
