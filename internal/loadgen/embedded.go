package loadgen

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime"

	"github.com/mutualcoop/mutual/internal/smtpcatch"
	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/auth/smtp"
	"github.com/mutualcoop/mutual/relay/server"
)

// EmbeddedOptions configure an in-process relay for a run.
type EmbeddedOptions struct {
	// Dir is the relay's data directory; the caller creates it (a
	// temporary directory) and removes it after Close.
	Dir string
	// Clients is how many accounts the run registers from this one
	// address: the relay's per-network code limit is raised to fit.
	Clients int
	// SendRate and SendBurst replace the relay's per-connection send
	// limit (500 a second, bursts of 2,000, by default), which a bench
	// with few clients would otherwise meet; zero keeps the default.
	SendRate  float64
	SendBurst int
	Logger    *slog.Logger
}

// EmbeddedRelay is a relay on the embedded default (embedded bus, SQLite)
// running in this process on 127.0.0.1, with its codes mailed to an SMTP
// server also running in this process.
type EmbeddedRelay struct {
	// URL is the WebSocket endpoint, ws://127.0.0.1:port/v1/ws.
	URL string
	// MetricsURL is the relay's /metrics page.
	MetricsURL string
	// Codes catches the codes the relay mails.
	Codes CodeSource

	mail      *smtpcatch.Server
	srv       *server.Server
	served    chan error
	closeDone bool
}

// StartEmbedded starts a relay for a run.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*EmbeddedRelay, error) {
	if o.Dir == "" {
		return nil, errors.New("loadgen: embedded relay needs a data directory")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mail, err := smtpcatch.New(smtpcatch.Options{})
	if err != nil {
		return nil, err
	}
	sender, err := smtp.New(smtp.Config{
		Host: mail.Host(), Port: mail.Port(), TLS: smtp.StartTLS, RootCAs: mail.RootCAs(),
		Username: mail.Username, Password: mail.Password, From: "codes@bench.test",
	})
	if err != nil {
		mail.Close()
		return nil, err
	}
	parts, err := server.OpenEmbedded(ctx, server.EmbeddedConfig{
		Dir:     o.Dir,
		Senders: auth.Senders{auth.SchemeEmail: sender},
		// Every account is registered from 127.0.0.1.
		Auth:   auth.Config{NetBurst: 2*o.Clients + 20},
		Logger: o.Logger,
	})
	if err != nil {
		mail.Close()
		return nil, err
	}
	cfg := server.Config{RunRouter: true, Logger: o.Logger}
	cfg.Gateway.SendRate = o.SendRate
	cfg.Gateway.SendBurst = o.SendBurst
	srv, err := server.New(ctx, cfg, parts)
	if err != nil {
		parts.Bus.Close()
		parts.Directory.Close()
		mail.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Shutdown(ctx)
		mail.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	r := &EmbeddedRelay{
		URL:        "ws://" + ln.Addr().String() + "/v1/ws",
		MetricsURL: "http://" + ln.Addr().String() + "/metrics",
		Codes:      mail,
		mail:       mail,
		srv:        srv,
		served:     make(chan error, 1),
	}
	go func() { r.served <- srv.Serve(ln) }()
	return r, nil
}

// Close shuts the relay down within ctx and stops the SMTP server.
func (r *EmbeddedRelay) Close(ctx context.Context) error {
	if r.closeDone {
		return nil
	}
	r.closeDone = true
	err := r.srv.Shutdown(ctx)
	err = errors.Join(err, <-r.served, r.mail.Close())
	if err != nil {
		return fmt.Errorf("close embedded relay: %w", err)
	}
	return nil
}

// InProcessMemory is a MemoryProbe for a relay running in this process:
// heap and goroutine stacks in use after a garbage collection. It counts
// the whole process, so the bench's own client connections are in it too.
func InProcessMemory(context.Context) (uint64, error) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse, nil
}
