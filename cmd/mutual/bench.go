package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/internal/attack"
	"github.com/mutualcoop/mutual/internal/loadgen"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
)

// benchFlags are the settings of `mutual bench`.
type benchFlags struct {
	clients      int
	messages     int
	rate         float64
	size         int
	inflight     int
	opaque       bool
	groupSize    int
	devices      int
	server       string
	codesFrom    string
	metrics      string
	data         string
	drainTimeout time.Duration
	cpuProfile   string
	attack       string
	flood        int
	floodSize    int
	floodTo      string
	log          logFlags
}

func (f *benchFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.clients, "clients", 100, "clients (accounts, each with one connection), at least 2")
	fs.IntVar(&f.messages, "messages", 10000, "messages to send in all, spread over the clients")
	fs.Float64Var(&f.rate, "rate", 0, "target messages a second over all clients; 0 sends as fast as the relay answers")
	fs.IntVar(&f.size, "size", 256, "payload bytes per message")
	fs.IntVar(&f.inflight, "inflight", 8, "sends per client waiting for their answer at most")
	fs.IntVar(&f.groupSize, "group-size", 0, "make the clients groups of this many members that send every message to their group (0: 1:1 chats)")
	fs.IntVar(&f.devices, "devices", 1, "with --group-size: devices each account signs in; the first sends, all receive")
	fs.BoolVar(&f.opaque, "opaque", false, "send opaque payloads, without end-to-end encryption, to measure the relay alone")
	fs.StringVar(&f.server, "server", "", "relay to load, such as http://127.0.0.1:8080 (default: start one in this process)")
	fs.StringVar(&f.metrics, "metrics", "", "with --server: that relay's metrics page (default: port "+loadgen.DefaultMetricsPort+" of its host, /metrics)")
	fs.StringVar(&f.codesFrom, "codes-from", "", "with --server: file receiving the standard output of that relay, started with --dev (its DEV CODE lines)")
	fs.StringVar(&f.data, "data", "", "data directory of the in-process relay (default: a temporary directory, removed afterwards)")
	fs.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "how long to wait after the last send for deliveries")
	fs.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile of the sending phase to this file")
	fs.StringVar(&f.attack, "attack", "", "run the bench twice, quiet and then while these attacks run from other loopback addresses: \"all\" or a comma list of "+strings.Join(attack.Names, ", "))
	fs.IntVar(&f.flood, "flood", 0, "add one account sending fan-outs to this many recipients as fast as it can while the clients are measured (0: none)")
	fs.IntVar(&f.floodSize, "flood-size", 96<<10, "ciphertext bytes per flood recipient")
	fs.StringVar(&f.floodTo, "flood-to", "strangers", "flood recipients: strangers, or contacts (they allowed the flooder)")
	f.log.register(fs)
}

func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f benchFlags
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	f.register(fs)
	fs.Lookup("log-level").DefValue = "warn"
	f.log.level = "warn"
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	log, err := f.log.logger(stderr)
	if err != nil {
		return err
	}
	cfg := loadgen.Config{
		Clients: f.clients, Messages: f.messages, Rate: f.rate, Size: f.size,
		InFlight: f.inflight, Opaque: f.opaque, GroupSize: f.groupSize, Devices: f.devices, DrainTimeout: f.drainTimeout, Progress: stderr,
	}
	if f.flood > 0 {
		if f.floodTo != "strangers" && f.floodTo != "contacts" {
			return fmt.Errorf("--flood-to %q: want strangers or contacts", f.floodTo)
		}
		cfg.Flood = &loadgen.Flood{Recipients: f.flood, Size: f.floodSize, Allowed: f.floodTo == "contacts"}
	}
	if f.cpuProfile != "" {
		out, err := os.Create(f.cpuProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer out.Close()
		cfg.OnSending = func() func() {
			if err := pprof.StartCPUProfile(out); err != nil {
				fmt.Fprintf(stderr, "bench: cpu profile: %v\n", err)
				return func() {}
			}
			return pprof.StopCPUProfile
		}
	}

	if f.server != "" {
		if f.codesFrom == "" {
			return errors.New("--server needs --codes-from: the file receiving the standard output of a relay started with --dev")
		}
		ws, metrics, err := loadgen.Endpoints(f.server)
		if err != nil {
			return err
		}
		if f.metrics != "" {
			metrics = f.metrics
		}
		codes, err := loadgen.OpenCodeFile(f.codesFrom)
		if err != nil {
			return err
		}
		defer codes.Close()
		cfg.URL, cfg.Codes, cfg.MetricsURL = ws, codes, metrics
		if loopback(ws) {
			cfg.LocalNet = benchNet
		}
		cfg.Memory = loadgen.MetricsMemory(&http.Client{Timeout: 10 * time.Second}, metrics)
		cfg.MemoryNote = "resident memory of the relay process"
		return report(ctx, cfg, f.attacks(), stdout)
	}

	dir := f.data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mutual-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	opts := loadgen.EmbeddedOptions{
		Dir: dir, Clients: f.clients, Logger: log,
		// One connection of a bench sends far more than a person does.
		Rates: gateway.Rates{Send: limit.PerSecond(1e9, 1e9)},
		Quota: gateway.Quota{MessagesPerDay: -1, BytesPerDay: -1, ByteRate: -1, ReadRate: -1},
	}
	if cfg.Flood != nil || f.attack != "" {
		// Floods and attacks meet the relay as it is; the clients stay
		// well below its limits at the rates such runs use.
		opts.Rates, opts.Quota = gateway.Rates{}, gateway.Quota{}
		// Each client connects from its own address (cfg.LocalNet).
		opts.Stock = true
	}
	relay, err := loadgen.StartEmbedded(ctx, opts)
	if err != nil {
		return err
	}
	cfg.URL, cfg.Codes, cfg.MetricsURL = relay.URL, relay.Codes, relay.MetricsURL
	cfg.LocalNet = benchNet
	cfg.Memory = loadgen.InProcessMemory
	cfg.MemoryNote = "heap and stacks of this process, both ends of each connection"
	err = report(ctx, cfg, f.attacks(), stdout)
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return errors.Join(err, relay.Close(sctx))
}

// benchNet holds the bench clients' own source addresses when the relay is
// on loopback, so that its per-network limits meet each client as they
// would meet one person; attackers use 127.0.0.0/24.
var benchNet = netip.MustParsePrefix("127.1.0.0/16")

// loopback reports whether the WebSocket URL names a loopback address.
func loopback(ws string) bool {
	u, err := url.Parse(ws)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(u.Hostname())
	return err == nil && a.IsLoopback() && a.Is4()
}

// attacks are the names given to --attack; nil for none.
func (f *benchFlags) attacks() []string {
	switch f.attack {
	case "":
		return nil
	case "all":
		return attack.Names
	}
	return strings.Split(f.attack, ",")
}

// report runs the bench and prints its report, whose last line is the
// summary. Lost messages make it fail. With attacks, the bench runs twice
// on the same relay, quiet and then under attack, and the report ends
// with what the attacks met and the ratio of the two p99 latencies.
func report(ctx context.Context, cfg loadgen.Config, attacks []string, stdout io.Writer) error {
	quiet, err := runOnce(ctx, cfg, stdout)
	if err != nil || attacks == nil {
		return err
	}
	fmt.Fprintln(stdout, "bench: again, under attack")
	a, err := attack.Start(ctx, attack.Config{URL: cfg.URL, Codes: cfg.Codes, Attacks: attacks})
	if err != nil {
		return err
	}
	cfg.RunID = ""
	loud, err := runOnce(ctx, cfg, stdout)
	a.Stop()
	if err != nil {
		return err
	}
	if err := a.Report(stdout); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "bench: under attack p50=%s p99=%s, quiet p50=%s p99=%s: p99 %.2fx quiet\n",
		loadgen.FormatDuration(loud.Latency.P50), loadgen.FormatDuration(loud.Latency.P99),
		loadgen.FormatDuration(quiet.Latency.P50), loadgen.FormatDuration(quiet.Latency.P99),
		float64(loud.Latency.P99)/float64(max(quiet.Latency.P99, 1)))
	return err
}

func runOnce(ctx context.Context, cfg loadgen.Config, stdout io.Writer) (*loadgen.Result, error) {
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := res.WriteReport(stdout); err != nil {
		return nil, err
	}
	if res.Lost > 0 {
		return nil, fmt.Errorf("%d accepted messages were never delivered", res.Lost)
	}
	return res, nil
}
