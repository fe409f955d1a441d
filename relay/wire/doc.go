// Package wire is the protocol between Mutual clients and the relay.
//
// A client opens a WebSocket at /v1/ws and exchanges binary messages, one
// Frame each. The first frame must be Register, Verify or Auth; anything
// else before authentication closes the connection with CloseAuthRequired.
// After Auth (or a successful Verify) the relay streams the device's inbox
// as Deliver frames and the client sends requests (Send, FetchBundles, ...)
// whose answers echo the request's Frame.ID. docs/protocol.md is the full
// specification, from which a second implementation can be written.
//
// The package imports nothing from the server: the client uses it too.
// Every decoder bounds what it accepts (see the Max constants) and copies
// what it keeps, so a decoded frame never aliases the read buffer.
package wire
