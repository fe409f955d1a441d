package client

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Config configures a Client. ServerURL is required; the rest has
// defaults.
type Config struct {
	// ServerURL is the relay's WebSocket endpoint, for example
	// "wss://relay.example.org/v1/ws".
	ServerURL string
	// ClientName describes the client to the relay (for example
	// "mutual-cli/1"); the relay uses it for metrics only.
	ClientName string
	// Rand is the source of keys; default crypto/rand.Reader.
	Rand io.Reader
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives diagnostics (never addresses, keys or content);
	// default discards them.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait before reconnecting; it
	// doubles after each failed connection, with jitter. Defaults 500ms
	// and 2 minutes.
	MinBackoff, MaxBackoff time.Duration
	// DialTimeout bounds connecting and authenticating. Default 20s.
	DialTimeout time.Duration
	// EventBuffer is how many events wait for the reader of Events before
	// the oldest is dropped. Default 1024.
	EventBuffer int
	// BlobTransport makes the HTTP requests that upload and download
	// attachments' blobs; default Go's HTTP client natively and the
	// browser's fetch in the web app (NewHTTPBlobTransport wraps an
	// http.Client). Each request has its own deadline.
	BlobTransport BlobTransport
}

// Validate reports configurations that cannot work.
func (c Config) Validate() error {
	if c.ServerURL == "" {
		return errors.New("client: no server URL")
	}
	u, err := url.Parse(c.ServerURL)
	if err != nil {
		return fmt.Errorf("client: server URL: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("client: server URL scheme %q, want ws or wss", u.Scheme)
	}
	switch {
	case len(c.ClientName) > wire.MaxClientName:
		return fmt.Errorf("client: client name over %d bytes", wire.MaxClientName)
	case c.MinBackoff < 0 || c.MaxBackoff < 0 || c.DialTimeout < 0 || c.EventBuffer < 0:
		return errors.New("client: negative duration or buffer")
	case c.MaxBackoff != 0 && c.MinBackoff > c.MaxBackoff:
		return errors.New("client: minimum backoff above the maximum")
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = 2 * time.Minute
	}
	if c.MinBackoff > c.MaxBackoff {
		c.MinBackoff = c.MaxBackoff
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 20 * time.Second
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = 1024
	}
	return c
}
