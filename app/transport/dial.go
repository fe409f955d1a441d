//go:build !js

package transport

import (
	"net/http"

	"github.com/coder/websocket"
)

// dialOptions are the WebSocket options of a native client.
func dialOptions(o Options) *websocket.DialOptions {
	if o.DialContext == nil {
		return nil
	}
	return &websocket.DialOptions{HTTPClient: &http.Client{
		Transport: &http.Transport{DialContext: o.DialContext, DisableKeepAlives: true},
	}}
}
