package auth

import (
	"context"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// ConsoleSender delivers codes by writing one line per code,
//
//	DEV CODE <address> <code>
//
// to a writer (the relay's standard error, say), so that a developer or a
// script can sign in to a development relay without a mail server.
//
// It writes addresses and codes in clear, so its contract is strict: the
// relay wires it only when started with --dev AND listening on a loopback
// address (see IsLoopback), never next to a real Sender for the same
// scheme, and refuses --dev otherwise. Nothing but that line is written.
type ConsoleSender struct {
	mu sync.Mutex
	w  io.Writer
}

// NewConsoleSender returns a ConsoleSender writing to w.
func NewConsoleSender(w io.Writer) *ConsoleSender { return &ConsoleSender{w: w} }

// Send writes the line for one code in a single Write.
func (c *ConsoleSender) Send(ctx context.Context, to Address, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line := "DEV CODE " + to.String() + " " + m.Code + "\n"
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.w, line)
	return err
}

// IsLoopback reports whether a listen or dial address ("127.0.0.1:8080",
// "[::1]:443", "localhost:8080", or a host without a port) names only the
// loopback interface. An empty host (":8080", all interfaces) is not
// loopback. Names other than "localhost" are not resolved and report
// false.
func IsLoopback(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	} else if strings.HasPrefix(addr, "[") && strings.HasSuffix(addr, "]") {
		host = addr[1 : len(addr)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
