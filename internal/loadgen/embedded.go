package loadgen

import (
	"context"
	"errors"
	"log/slog"
	"runtime"

	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/gateway"
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
	// Rates replace the relay's rate limits; zero fields keep the
	// defaults. A bench with few clients would meet the per-account send
	// limit (500 a second, bursts of 2,000): set Send to lift it. A run
	// with many clients meets the per-network limits unless its clients
	// connect from addresses of their own (Config.LocalNet).
	Rates gateway.Rates
	// Quota replaces the relay's per-account quotas, which one bench
	// client sending thousands of messages a second would meet; the zero
	// value keeps the defaults.
	Quota gateway.Quota
	// Stock runs the relay with every limit as deployed, none of the
	// allowances made for clients that all connect from 127.0.0.1: for
	// runs whose clients each have an address of their own
	// (Config.LocalNet), and for attacks. Rates and Quota still apply.
	Stock  bool
	Logger *slog.Logger
}

// EmbeddedRelay is a relay on the embedded default (embedded bus, SQLite)
// running in this process on 127.0.0.1, with its codes mailed to an SMTP
// server also running in this process (see package relaytest).
type EmbeddedRelay struct {
	// URL is the WebSocket endpoint, ws://127.0.0.1:port/v1/ws.
	URL string
	// MetricsURL is the relay's /metrics page.
	MetricsURL string
	// Codes catches the codes the relay mails.
	Codes CodeSource

	relay *relaytest.Relay
}

// StartEmbedded starts a relay for a run.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*EmbeddedRelay, error) {
	if o.Dir == "" {
		return nil, errors.New("loadgen: embedded relay needs a data directory")
	}
	r, err := relaytest.Open(ctx, relaytest.Options{
		Dir:    o.Dir,
		Logger: o.Logger,
		From:   "codes@bench.test",
		Embedded: func(c *server.EmbeddedConfig) {
			if o.Stock {
				c.Auth = auth.Config{}
				return
			}
			// Every account is registered from 127.0.0.1.
			c.Auth.NetBurst = 2*o.Clients + 20
			c.Auth.VerifyNetBurst = 2*o.Clients + 20
		},
		Config: func(c *server.Config) {
			c.Gateway.Rates = o.Rates
			c.Gateway.Quota = o.Quota
			if o.Stock {
				c.Gateway.MaxUnauthPerNetwork = 0
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return &EmbeddedRelay{
		URL:        r.URL(),
		MetricsURL: r.MetricsURL(),
		Codes:      r.Mail(),
		relay:      r,
	}, nil
}

// Close shuts the relay down within ctx and stops the SMTP server.
func (r *EmbeddedRelay) Close(ctx context.Context) error {
	return r.relay.Close(ctx)
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
