package smtp

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/auth"
)

// TLSMode says how the connection to the submission server is protected.
type TLSMode int

const (
	// StartTLS connects in plain TCP and upgrades with STARTTLS before
	// anything else is sent; a server that does not offer it is refused
	// (no silent downgrade). Default port 587.
	StartTLS TLSMode = iota
	// ImplicitTLS speaks TLS from the first byte (RFC 8314 "submissions").
	// Default port 465.
	ImplicitTLS
	// NoTLS sends everything, password included, in the clear. Allowed
	// only to a loopback host (a local relay such as a test server or a
	// mail daemon on the same machine); Validate refuses any other host.
	// Default port 25.
	NoTLS
)

// ParseTLSMode parses "starttls", "tls" (or "implicit") and "none".
func ParseTLSMode(s string) (TLSMode, error) {
	switch strings.ToLower(s) {
	case "starttls", "":
		return StartTLS, nil
	case "tls", "implicit":
		return ImplicitTLS, nil
	case "none":
		return NoTLS, nil
	}
	return 0, fmt.Errorf("smtp: unknown TLS mode %q (want starttls, tls or none)", s)
}

func (m TLSMode) String() string {
	switch m {
	case StartTLS:
		return "starttls"
	case ImplicitTLS:
		return "tls"
	case NoTLS:
		return "none"
	}
	return fmt.Sprintf("TLSMode(%d)", int(m))
}

// Config configures a Sender. Zero fields take the defaults shown.
type Config struct {
	// Host and Port of the submission server. Port defaults by TLS mode:
	// 587, 465 or 25.
	Host string
	Port int
	// TLS mode; default StartTLS.
	TLS TLSMode
	// RootCAs verifies the server's certificate; nil uses the system
	// roots. Tests set the pool of their own server.
	RootCAs *x509.CertPool

	// Username and Password for SMTP AUTH; an empty Username skips AUTH.
	// The password comes from a file or the environment, never a flag.
	Username, Password string
	// Mechanism is "PLAIN", "LOGIN", or "" to use PLAIN when the server
	// offers it and LOGIN otherwise.
	Mechanism string

	// From is the sender's mailbox, used in the envelope and the From
	// header, such as "codes@mutual.example".
	From string
	// FromName is the display name in the From header; default "Mutual".
	FromName string
	// HeloName is the name given in EHLO; default the domain of From.
	HeloName string

	// DialTimeout bounds connecting, including the TLS handshake for
	// ImplicitTLS; default 10 seconds. CommandTimeout bounds each command
	// and its reply (STARTTLS's handshake included); default 30 seconds.
	// SendTimeout bounds a whole Send; default 60 seconds.
	DialTimeout    time.Duration
	CommandTimeout time.Duration
	SendTimeout    time.Duration
}

func (c *Config) setDefaults() {
	if c.Port == 0 {
		switch c.TLS {
		case ImplicitTLS:
			c.Port = 465
		case NoTLS:
			c.Port = 25
		default:
			c.Port = 587
		}
	}
	if c.FromName == "" {
		c.FromName = "Mutual"
	}
	if c.HeloName == "" {
		if at := strings.LastIndexByte(c.From, '@'); at >= 0 {
			c.HeloName = c.From[at+1:]
		}
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.CommandTimeout == 0 {
		c.CommandTimeout = 30 * time.Second
	}
	if c.SendTimeout == 0 {
		c.SendTimeout = 60 * time.Second
	}
}

// Validate reports the first unusable setting. Zero fields are valid when
// they have a default.
func (c Config) Validate() error {
	c.setDefaults()
	switch {
	case c.Host == "":
		return errors.New("smtp config: no host")
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("smtp config: port %d out of range", c.Port)
	case c.TLS < StartTLS || c.TLS > NoTLS:
		return fmt.Errorf("smtp config: unknown TLS mode %d", int(c.TLS))
	case c.TLS == NoTLS && !auth.IsLoopback(c.Host):
		return fmt.Errorf("smtp config: TLS mode none is only allowed to a loopback host, not %q", c.Host)
	case c.Mechanism != "" && c.Mechanism != "PLAIN" && c.Mechanism != "LOGIN":
		return fmt.Errorf("smtp config: unknown mechanism %q (want PLAIN or LOGIN)", c.Mechanism)
	case c.Username == "" && c.Password != "":
		return errors.New("smtp config: password without username")
	case c.DialTimeout < 0 || c.CommandTimeout < 0 || c.SendTimeout < 0:
		return errors.New("smtp config: negative timeout")
	case hasControl(c.Host) || hasControl(c.Username) || hasControl(c.Password) ||
		hasControl(c.FromName) || hasControl(c.HeloName) || strings.ContainsAny(c.HeloName, " <>"):
		return errors.New("smtp config: control characters in host, username, password, from name or HELO name")
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil || from.Name != "" || from.Address != c.From {
		return fmt.Errorf("smtp config: from %q is not a plain mailbox like codes@example.org", c.From)
	}
	if _, err := auth.ParseAddress(c.From); err != nil {
		return fmt.Errorf("smtp config: from %q: %w", c.From, err)
	}
	if c.HeloName == "" {
		return errors.New("smtp config: no HELO name")
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
