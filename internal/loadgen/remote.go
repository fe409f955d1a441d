package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultMetricsPort is the port of the relay's metrics listener by
// default (mutual serve --metrics-addr 127.0.0.1:9464).
const DefaultMetricsPort = "9464"

// Endpoints derives a relay's WebSocket endpoint and its /metrics page
// from the address an operator gives: "http://host:port",
// "https://host", "ws://host:port/v1/ws" or a bare "host:port". The
// metrics page is guessed on the same host at DefaultMetricsPort, over
// plain HTTP, as a relay started with the default --metrics-addr serves
// it to its own machine.
func Endpoints(server string) (ws, metrics string, err error) {
	if !strings.Contains(server, "://") {
		server = "http://" + server
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", "", fmt.Errorf("server address: %w", err)
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("server address %q has no host", server)
	}
	var wsScheme string
	switch u.Scheme {
	case "http", "ws":
		wsScheme = "ws"
	case "https", "wss":
		wsScheme = "wss"
	default:
		return "", "", fmt.Errorf("server address: scheme %q, want http, https, ws or wss", u.Scheme)
	}
	return wsScheme + "://" + u.Host + "/v1/ws", "http://" + net.JoinHostPort(u.Hostname(), DefaultMetricsPort) + "/metrics", nil
}

// MemoryProbe reports the memory a relay is using, in bytes.
type MemoryProbe func(ctx context.Context) (uint64, error)

// MetricsMemory is a MemoryProbe reading process_resident_memory_bytes from
// a relay's /metrics page.
func MetricsMemory(client *http.Client, metricsURL string) MemoryProbe {
	return func(ctx context.Context) (uint64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
		if err != nil {
			return 0, fmt.Errorf("metrics: %w", err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("metrics: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("metrics: %s", resp.Status)
		}
		v, err := scrapeGauge(io.LimitReader(resp.Body, 4<<20), "process_resident_memory_bytes")
		if err != nil {
			return 0, fmt.Errorf("metrics: %w", err)
		}
		return uint64(v), nil
	}
}

// scrapeGauge returns the value of an unlabelled sample in a Prometheus
// text exposition.
func scrapeGauge(r io.Reader, name string) (float64, error) {
	m, err := scrapeSamples(r, name)
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("no %s sample", name)
	}
	if v < 0 {
		return 0, fmt.Errorf("negative %s sample", name)
	}
	return v, nil
}

// scrapeSamples returns the values of the unlabelled samples named in a
// Prometheus text exposition; names without a sample are left out.
func scrapeSamples(r io.Reader, names ...string) (map[string]float64, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	got := make(map[string]float64, len(names))
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), " ")
		if !ok || !want[name] {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return nil, fmt.Errorf("empty %s sample", name)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return nil, fmt.Errorf("bad %s sample %q", name, f[0])
		}
		got[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return got, nil
}

// RelayStats are the relay's own counts of its work, from its /metrics
// page: how its durable appends to the `in` topic and its router batches
// went.
type RelayStats struct {
	Appends       float64 // batches of sends made durable on `in`
	AppendSeconds float64 // their total duration
	Accepted      float64 // messages in them
	Batches       float64 // router batches
	BatchSeconds  float64 // their total duration
	Routed        float64 // inbox records the router appended
	// CPUSeconds is the relay process's CPU time: with a relay in this
	// process, the bench's own clients are in it too.
	CPUSeconds float64
}

var relayStatNames = []string{
	"mutual_gateway_append_seconds_count", "mutual_gateway_append_seconds_sum",
	"mutual_gateway_accepted_total",
	"mutual_router_batch_seconds_count", "mutual_router_batch_seconds_sum",
	"mutual_router_routed_total", "process_cpu_seconds_total",
}

// ScrapeRelayStats reads RelayStats from a relay's /metrics page.
func ScrapeRelayStats(ctx context.Context, client *http.Client, metricsURL string) (RelayStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return RelayStats{}, fmt.Errorf("metrics: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return RelayStats{}, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return RelayStats{}, fmt.Errorf("metrics: %s", resp.Status)
	}
	m, err := scrapeSamples(io.LimitReader(resp.Body, 4<<20), relayStatNames...)
	if err != nil {
		return RelayStats{}, fmt.Errorf("metrics: %w", err)
	}
	return RelayStats{
		Appends: m[relayStatNames[0]], AppendSeconds: m[relayStatNames[1]], Accepted: m[relayStatNames[2]],
		Batches: m[relayStatNames[3]], BatchSeconds: m[relayStatNames[4]], Routed: m[relayStatNames[5]],
		CPUSeconds: m[relayStatNames[6]],
	}, nil
}

// sub returns the counts accumulated between earlier and s.
func (s RelayStats) sub(earlier RelayStats) RelayStats {
	return RelayStats{
		Appends: s.Appends - earlier.Appends, AppendSeconds: s.AppendSeconds - earlier.AppendSeconds,
		Accepted: s.Accepted - earlier.Accepted, Batches: s.Batches - earlier.Batches,
		BatchSeconds: s.BatchSeconds - earlier.BatchSeconds, Routed: s.Routed - earlier.Routed,
		CPUSeconds: s.CPUSeconds - earlier.CPUSeconds,
	}
}

// String summarises the stats in one line.
func (s RelayStats) String() string {
	per := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	return fmt.Sprintf("in: %.0f appends of %.1f messages, %s mean; router: %.0f batches of %.1f records, %s mean; cpu %.2fs",
		s.Appends, per(s.Accepted, s.Appends), FormatDuration(time.Duration(per(s.AppendSeconds, s.Appends)*float64(time.Second))),
		s.Batches, per(s.Routed, s.Batches), FormatDuration(time.Duration(per(s.BatchSeconds, s.Batches)*float64(time.Second))),
		s.CPUSeconds)
}
