// Package transport is the client side of one WebSocket connection to a
// Mutual relay. The native client, the browser client (GOOS=js), the load
// generator and the end-to-end tests all use it; it imports nothing of the
// server but relay/wire.
//
// A Conn correlates requests with replies by Frame.ID and hands frames the
// relay sends on its own (Deliver, Notice) to channels:
//
//	conn, err := transport.Dial(ctx, "ws://127.0.0.1:8080/v1/ws", transport.Options{})
//	welcome, err := conn.Auth(ctx, user, device, credential)
//	for d := range conn.Deliveries() {
//		store(d)
//		conn.Send(ctx, &wire.Ack{Offset: d.Offset})
//	}
//	// conn.Err() says why the connection ended.
//
// Link is the one request with two answers: LinkStarted at once (Link
// returns it), and Verified once a device of the account has linked this
// one (Linked waits for it).
//
// Goroutines: one reader per Conn, owned by the Conn and joined by Close
// (Done is closed once it has ended). Writes are serialised by the calling
// goroutines themselves, one at a time, each bounded by
// Options.WriteTimeout.
//
// Backpressure: the Deliveries channel is bounded. While it is full the
// reader stops reading the socket, so a slow consumer slows the relay down
// (which eventually closes the connection with wire.CloseTooSlow) instead of
// this process buffering without limit or dropping messages. Notices never
// stall the reader: when their small buffer is full the oldest is dropped.
//
// When the connection ends, outstanding requests fail with the reason
// (Err): ErrClosed after Close, a *CloseError when the relay closed it with
// a status such as wire.CloseAuthFailed, or the read or write error. In
// the browser build, github.com/coder/websocket v1.8.15 does not pass the
// status of a close by the relay on to its reader, so there the reason is
// a read error wrapping net.ErrClosed instead of a *CloseError.
package transport
