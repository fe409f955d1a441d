package transport

import (
	"context"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Call sends req and returns the reply as a T, for requests with a single
// successful answer type:
//
//	bundles, err := transport.Call[*wire.Bundles](ctx, conn, &wire.FetchBundles{User: u})
//
// A reply of another type is an *UnexpectedReplyError. Send, whose answer
// is Accepted or Rejected, is better served by Request.
func Call[T wire.Body](ctx context.Context, c *Conn, req wire.Body) (T, error) {
	return callID[T](ctx, c, c.nextID.Add(1), req)
}

// callID is Call with the frame ID id.
func callID[T wire.Body](ctx context.Context, c *Conn, id uint64, req wire.Body) (T, error) {
	var zero T
	reply, err := c.request(ctx, id, req)
	if err != nil {
		return zero, err
	}
	t, ok := reply.(T)
	if !ok {
		return zero, &UnexpectedReplyError{Request: req.Type(), Reply: reply.Type()}
	}
	return t, nil
}

// Register asks the relay to send an authentication code to address. It
// returns the token that binds the code to this request: Verify must
// present it, on this connection or another.
func (c *Conn) Register(ctx context.Context, address string) (token []byte, err error) {
	sent, err := Call[*wire.CodeSent](ctx, c, &wire.Register{Address: address})
	if err != nil {
		return nil, err
	}
	return sent.Token, nil
}

// Verify proves the code sent to address, with the token Register
// returned, and registers a new device named deviceName. On success the
// connection is authenticated as that device.
func (c *Conn) Verify(ctx context.Context, address, code string, token []byte, deviceName string) (*wire.Verified, error) {
	return Call[*wire.Verified](ctx, c, &wire.Verify{Address: address, Code: code, Token: token, DeviceName: deviceName})
}

// Auth authenticates a registered device, describing the client with
// Options.Client. The relay answers a wrong credential by closing the
// connection, so the error is then a *CloseError with wire.CloseAuthFailed.
func (c *Conn) Auth(ctx context.Context, user wire.UserID, device wire.DeviceID, credential []byte) (*wire.Welcome, error) {
	return Call[*wire.Welcome](ctx, c, &wire.Auth{User: user, Device: device, Credential: credential, Client: c.opts.Client})
}
