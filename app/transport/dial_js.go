package transport

import "github.com/coder/websocket"

// dialOptions are the WebSocket options of a browser client: the browser
// opens the connection, so Options.DialContext does not apply.
func dialOptions(Options) *websocket.DialOptions { return nil }
