package loadgen_test

import (
	"context"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/crypto/padding"
	"github.com/mutualcoop/mutual/internal/loadgen"
	"github.com/mutualcoop/mutual/internal/relaytest"
	"github.com/mutualcoop/mutual/relay/auth"
	"github.com/mutualcoop/mutual/relay/gateway"
	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/server"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func startEmbedded(t *testing.T, clients int) *loadgen.EmbeddedRelay {
	t.Helper()
	r, err := loadgen.StartEmbedded(testCtx(t), loadgen.EmbeddedOptions{Dir: t.TempDir(), Clients: clients, Rates: gateway.Rates{Send: limit.PerSecond(1e6, 1e6)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return r
}

// checkComplete asserts that everything accepted arrived exactly once.
func checkComplete(t *testing.T, res *loadgen.Result, messages int) {
	t.Helper()
	var report strings.Builder
	res.WriteReport(&report)
	t.Logf("\n%s", report.String())
	switch {
	case res.Sent != int64(messages):
		t.Errorf("sent %d, want %d", res.Sent, messages)
	case res.Accepted != res.Sent:
		t.Errorf("accepted %d of %d (rejected %v, failed %d)", res.Accepted, res.Sent, res.RejectedBy, res.Failed)
	}
	if res.Lost != 0 || res.Duplicates != 0 || res.Delivered != res.Accepted {
		t.Errorf("lost %d, duplicates %d, delivered %d of %d accepted", res.Lost, res.Duplicates, res.Delivered, res.Accepted)
	}
	if res.Refused != 0 || res.Malformed != 0 {
		t.Errorf("refused %d, malformed %d", res.Refused, res.Malformed)
	}
	if res.Latency.N != int(res.Delivered) {
		t.Errorf("%d latencies for %d deliveries", res.Latency.N, res.Delivered)
	}
}

func TestRunEmbedded(t *testing.T) {
	tests := []struct {
		name string
		cfg  loadgen.Config
	}{
		{"as fast as possible", loadgen.Config{Clients: 20, Messages: 2000}},
		{"opaque", loadgen.Config{Clients: 20, Messages: 2000, Opaque: true}},
		{"end to end", loadgen.Config{Clients: 10, Messages: 500}},
		{"two clients", loadgen.Config{Clients: 2, Messages: 60, InFlight: 4}},
		{"custom encoder", loadgen.Config{Clients: 3, Messages: 30, NewEncoder: func(loadgen.Peer) loadgen.PayloadEncoder { return loadgen.Opaque{} }}},
		{"paced", loadgen.Config{Clients: 5, Messages: 300, Rate: 3000, Size: 1024, InFlight: 2}},
		{"uneven split", loadgen.Config{Clients: 3, Messages: 100, Size: loadgen.PayloadHeader}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			relay := startEmbedded(t, tt.cfg.Clients)
			cfg := tt.cfg
			cfg.URL, cfg.Codes = relay.URL, relay.Codes
			cfg.Memory, cfg.MemoryNote = loadgen.InProcessMemory, "in-process"
			res, err := loadgen.Run(testCtx(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkComplete(t, res, cfg.Messages)
			if e2e := strings.HasPrefix(res.Payload, "end-to-end encrypted"); e2e != (!cfg.Opaque && cfg.NewEncoder == nil) {
				t.Errorf("payload %q with opaque=%v", res.Payload, cfg.Opaque)
			}
			if !res.HaveMemory || res.Clients != cfg.Clients {
				t.Errorf("memory measured %v, clients %d", res.HaveMemory, res.Clients)
			}
		})
	}
}

// TestRunWithCodeFile runs against a relay that prints its codes as a
// relay started with --dev does, read back through a CodeFile, and
// measures memory through /metrics: the way a remote relay is benched.
func TestRunWithCodeFile(t *testing.T) {
	ctx := testCtx(t)
	path := filepath.Join(t.TempDir(), "relay.out")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	relay := relaytest.Start(t, relaytest.Options{Embedded: func(c *server.EmbeddedConfig) {
		c.Senders = auth.Senders{auth.SchemeEmail: auth.NewConsoleSender(out)}
	}})
	codes, err := loadgen.OpenCodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer codes.Close()
	ws, _, err := loadgen.Endpoints(relay.BaseURL())
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Run(ctx, loadgen.Config{
		URL: ws, Codes: codes, Clients: 4, Messages: 400,
		Memory: loadgen.MetricsMemory(http.DefaultClient, relay.MetricsURL()),
	})
	if err != nil {
		t.Fatal(err)
	}
	checkComplete(t, res, 400)
	if !res.HaveMemory {
		t.Error("memory not measured")
	}
}

func TestCodeFileFollowsTheFile(t *testing.T) {
	ctx := testCtx(t)
	path := filepath.Join(t.TempDir(), "out")
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	codes, err := loadgen.OpenCodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer codes.Close()

	w.WriteString("time=x level=INFO msg=\"mutual relay listening\"\nDEV CODE email:a@bench.test 11111111\nDEV CODE email:b@bench.te")
	if code, err := codes.WaitCode(ctx, "email:a@bench.test"); err != nil || code != "11111111" {
		t.Fatalf("a: %q %v", code, err)
	}
	// A second code for the same address arrives later; the caller waits
	// for it, and then for b's line to be finished.
	got := make(chan string, 2)
	go func() {
		c, _ := codes.WaitCode(ctx, "a@BENCH.test") // normalised as the relay does
		got <- c
		c, _ = codes.WaitCode(ctx, "email:b@bench.test")
		got <- c
	}()
	w.WriteString("st 22222222\nDEV CODE email:a@bench.test 33333333\n")
	if c := <-got; c != "33333333" {
		t.Fatalf("second code for a: %q", c)
	}
	if c := <-got; c != "22222222" {
		t.Fatalf("b: %q", c)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := codes.WaitCode(short, "email:nobody@bench.test"); err == nil {
		t.Fatal("a code for an address that has none")
	}
}

func TestEndpoints(t *testing.T) {
	tests := []struct{ in, ws, metrics string }{
		{"http://127.0.0.1:8080", "ws://127.0.0.1:8080/v1/ws", "http://127.0.0.1:9464/metrics"},
		{"127.0.0.1:8080", "ws://127.0.0.1:8080/v1/ws", "http://127.0.0.1:9464/metrics"},
		{"ws://[::1]:9000/v1/ws", "ws://[::1]:9000/v1/ws", "http://[::1]:9464/metrics"},
		{"https://relay.example.org/", "wss://relay.example.org/v1/ws", "http://relay.example.org:9464/metrics"},
		{"ftp://relay.example.org", "", ""},
		{"http://", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ws, m, err := loadgen.Endpoints(tt.in)
			if tt.ws == "" {
				if err == nil {
					t.Fatalf("accepted: %s %s", ws, m)
				}
				return
			}
			if err != nil || ws != tt.ws || m != tt.metrics {
				t.Fatalf("got %s %s %v", ws, m, err)
			}
		})
	}
}

// noCodes is a CodeSource for configurations that are never run.
type noCodes struct{}

func (noCodes) WaitCode(ctx context.Context, _ string) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func TestConfigValidate(t *testing.T) {
	good := loadgen.Config{URL: "ws://127.0.0.1:1/v1/ws", Codes: noCodes{}, Clients: 2, Messages: 1}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	opaque := good
	opaque.Opaque, opaque.Size = true, padding.MaxPlaintext+1
	if err := opaque.Validate(); err != nil {
		t.Fatalf("opaque payload larger than padding allows: %v", err)
	}
	for name, mutate := range map[string]func(*loadgen.Config){
		"no url":           func(c *loadgen.Config) { c.URL = "" },
		"no codes":         func(c *loadgen.Config) { c.Codes = nil },
		"one client":       func(c *loadgen.Config) { c.Clients = 1 },
		"no messages":      func(c *loadgen.Config) { c.Messages = 0 },
		"negative rate":    func(c *loadgen.Config) { c.Rate = -1 },
		"tiny payload":     func(c *loadgen.Config) { c.Size = loadgen.PayloadHeader - 1 },
		"huge payload":     func(c *loadgen.Config) { c.Size = 1 << 20 },
		"too large to pad": func(c *loadgen.Config) { c.Size = padding.MaxPlaintext + 1 },
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			mutate(&c)
			if err := c.Validate(); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// Group runs deliver every message to every device of the other members
// and to the sender's other devices, once, opaque or encrypted with
// Sender Keys.
func TestGroupRun(t *testing.T) {
	for _, tt := range []struct {
		name   string
		opaque bool
	}{{"opaque", true}, {"sender keys", false}} {
		t.Run(tt.name, func(t *testing.T) {
			const clients, size, devices, messages = 6, 3, 2, 60
			r := startEmbedded(t, clients*devices)
			res, err := loadgen.Run(testCtx(t), loadgen.Config{
				URL: r.URL, Codes: r.Codes, Clients: clients, GroupSize: size, Devices: devices,
				Messages: messages, Opaque: tt.opaque, LocalNet: netip.MustParsePrefix("127.3.0.0/16"),
			})
			if err != nil {
				t.Fatal(err)
			}
			var report strings.Builder
			res.WriteReport(&report)
			t.Logf("\n%s", report.String())
			perMessage := int64((size-1)*devices + devices - 1)
			if res.Sent != messages || res.Accepted != messages {
				t.Errorf("sent %d, accepted %d of %d (rejected %v, failed %d)", res.Sent, res.Accepted, messages, res.RejectedBy, res.Failed)
			}
			if res.Delivered != messages*perMessage || res.Lost != 0 || res.Duplicates != 0 || res.Refused != 0 || res.Malformed != 0 {
				t.Errorf("delivered %d of %d, lost %d, duplicates %d, refused %d, malformed %d",
					res.Delivered, messages*perMessage, res.Lost, res.Duplicates, res.Refused, res.Malformed)
			}
		})
	}
}

func TestGroupConfig(t *testing.T) {
	base := loadgen.Config{URL: "ws://127.0.0.1:1/v1/ws", Codes: noCodes{}, Clients: 6, Messages: 1}
	for _, tt := range []struct {
		name string
		edit func(*loadgen.Config)
	}{
		{"group of one", func(c *loadgen.Config) { c.GroupSize = 1 }},
		{"uneven groups", func(c *loadgen.Config) { c.GroupSize = 4 }},
		{"devices without groups", func(c *loadgen.Config) { c.Devices = 2 }},
		{"too many devices", func(c *loadgen.Config) { c.GroupSize = 3; c.Devices = 17 }},
		{"group over the relay's limit", func(c *loadgen.Config) { c.Clients = 2050; c.GroupSize = 1025 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.edit(&c)
			if err := c.Validate(); err == nil {
				t.Error("accepted")
			}
		})
	}
	c := base
	c.GroupSize, c.Devices = 3, 2
	if err := c.Validate(); err != nil {
		t.Errorf("groups of 3 with 2 devices: %v", err)
	}
}
