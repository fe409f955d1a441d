package relaytest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/internal/smtpcatch"
	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/server"
	"github.com/mutualcoop/mutual/relay/wire"
)

// NetBurst is the relay's default per-network burst of code requests and
// of verifications here: every address a test registers asks for its code
// and verifies it from 127.0.0.1.
const NetBurst = 1000

// RequestGap is the relay's default gap between two codes for one address
// here: tests sign several devices of one address in one after another.
const RequestGap = time.Millisecond

// MaxUnauthPerNetwork is the relay's default cap here on connections not
// yet authenticated from one network: every client of a test connects
// from 127.0.0.1.
const MaxUnauthPerNetwork = 1000

// Options configure a relay. The zero value is a relay in a new
// temporary directory with the router in process and generous code
// limits.
type Options struct {
	// Dir is the relay's data directory. Open creates a temporary one
	// when it is empty and removes it at Close; Start uses the test's.
	Dir string
	// Logger receives the relay's logs; default discards.
	Logger *slog.Logger
	// From is the sender of the code mails; default codes@mutual.test.
	From string
	// Embedded adjusts the configuration of the embedded parts (auth
	// limits, retention, the bus's clock...) before they open. It starts
	// with Dir, Logger, the SMTP sender for email addresses, an auth
	// NetBurst and VerifyNetBurst of NetBurst and a RequestGap of
	// RequestGap.
	Embedded func(*server.EmbeddedConfig)
	// Config adjusts the server's configuration (gateway and router
	// limits and clocks...) before it starts. It starts with RunRouter,
	// Logger and a gateway MaxUnauthPerNetwork of MaxUnauthPerNetwork.
	Config func(*server.Config)
}

// Relay is a running relay and the SMTP server that catches its codes.
// Its methods are safe for concurrent use.
type Relay struct {
	addr   string // 127.0.0.1:port
	maddr  string // 127.0.0.1:port of /metrics
	dir    string
	ownDir bool // Open made dir and Close removes it
	mail   *smtpcatch.Server
	srv    *server.Server
	served chan error // Serve, then ServeMetrics

	closeOnce sync.Once
	closeErr  error
}

// Open starts the SMTP server and a relay that mails its codes to it, and
// serves the relay on a free port of 127.0.0.1.
func Open(ctx context.Context, o Options) (*Relay, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Relay{dir: o.Dir, served: make(chan error, 2)}
	if r.dir == "" {
		dir, err := os.MkdirTemp("", "mutual-relaytest-")
		if err != nil {
			return nil, fmt.Errorf("relaytest: data directory: %w", err)
		}
		r.dir, r.ownDir = dir, true
	}
	if err := r.open(ctx, o); err != nil {
		if r.mail != nil {
			r.mail.Close()
		}
		if r.ownDir {
			os.RemoveAll(r.dir)
		}
		return nil, fmt.Errorf("relaytest: %w", err)
	}
	return r, nil
}

// open starts the parts in order; Open undoes what it did on failure.
func (r *Relay) open(ctx context.Context, o Options) error {
	mail, err := smtpcatch.New(smtpcatch.Options{})
	if err != nil {
		return err
	}
	r.mail = mail
	sender, err := newSender(mail, o.From)
	if err != nil {
		return err
	}
	ec := server.EmbeddedConfig{
		Dir:     r.dir,
		Senders: auth.Senders{auth.SchemeEmail: sender},
		Auth:    auth.Config{NetBurst: NetBurst, VerifyNetBurst: NetBurst, RequestGap: RequestGap},
		Logger:  o.Logger,
	}
	if o.Embedded != nil {
		o.Embedded(&ec)
	}
	parts, err := server.OpenEmbedded(ctx, ec)
	if err != nil {
		return err
	}
	cfg := server.Config{RunRouter: true, Logger: o.Logger}
	cfg.Gateway.MaxUnauthPerNetwork = MaxUnauthPerNetwork
	if o.Config != nil {
		o.Config(&cfg)
	}
	srv, err := server.New(ctx, cfg, parts)
	if err != nil {
		return errors.Join(err, parts.Bus.Close(), parts.Directory.Close())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), srv.Shutdown(ctx))
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return errors.Join(fmt.Errorf("listen: %w", err), srv.Shutdown(ctx))
	}
	r.srv, r.addr, r.maddr = srv, ln.Addr().String(), mln.Addr().String()
	go func() { r.served <- srv.Serve(ln) }()
	go func() { r.served <- srv.ServeMetrics(mln) }()
	return nil
}

// URL is the relay's WebSocket endpoint, ws://127.0.0.1:port/v1/ws.
func (r *Relay) URL() string { return "ws://" + r.addr + "/v1/ws" }

// BaseURL is the relay's HTTP address, http://127.0.0.1:port, under which
// it serves /healthz.
func (r *Relay) BaseURL() string { return "http://" + r.addr }

// MetricsURL is the relay's /metrics page, on a listener of its own:
// http://127.0.0.1:port/metrics.
func (r *Relay) MetricsURL() string { return "http://" + r.maddr + "/metrics" }

// Dir is the relay's data directory.
func (r *Relay) Dir() string { return r.dir }

// Mail is the SMTP server that catches the relay's mail.
func (r *Relay) Mail() *smtpcatch.Server { return r.mail }

// Server is the relay itself.
func (r *Relay) Server() *server.Server { return r.srv }

// WaitCode waits for a code mailed to address that no earlier WaitCode
// for it returned (see smtpcatch.Server.WaitCode).
func (r *Relay) WaitCode(ctx context.Context, address string) (string, error) {
	return r.mail.WaitCode(ctx, address)
}

// Dial opens a connection to the relay.
func (r *Relay) Dial(ctx context.Context) (*transport.Conn, error) {
	return transport.Dial(ctx, r.URL(), transport.Options{})
}

// Register signs a new device of address (a new account unless the
// address has one) in with the code the relay mails, as a client does,
// and returns its authenticated connection, which the caller closes, and
// its credentials.
func (r *Relay) Register(ctx context.Context, address, deviceName string) (*transport.Conn, *wire.Verified, error) {
	conn, err := r.Dial(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("relaytest: dial: %w", err)
	}
	v, err := r.signIn(ctx, conn, address, deviceName)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("relaytest: %w", err)
	}
	return conn, v, nil
}

// signIn asks for a code for address on conn and verifies it.
func (r *Relay) signIn(ctx context.Context, conn *transport.Conn, address, deviceName string) (*wire.Verified, error) {
	token, err := conn.Register(ctx, address)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	code, err := r.WaitCode(ctx, address)
	if err != nil {
		return nil, err
	}
	v, err := conn.Verify(ctx, address, code, token, deviceName)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	return v, nil
}

// Close shuts the relay down within ctx (see server.Server.Shutdown),
// stops the SMTP server and removes the data directory if Open made it.
// Only the first call does anything; later ones return its error.
func (r *Relay) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		err := r.srv.Shutdown(ctx)
		err = errors.Join(err, <-r.served, <-r.served, r.mail.Close())
		if r.ownDir {
			err = errors.Join(err, os.RemoveAll(r.dir))
		}
		if err != nil {
			r.closeErr = fmt.Errorf("relaytest: close: %w", err)
		}
	})
	return r.closeErr
}
