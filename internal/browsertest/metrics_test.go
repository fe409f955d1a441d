//go:build browser

package browsertest

import (
	"encoding/json"
	"os"
	"runtime"
	"testing"
)

// metrics are the web app's figures from one run: logged, and written as
// JSON to $MUTUAL_WEB_METRICS when it is set. Times are in milliseconds
// from the browser's clock (performance.now), sizes in bytes.
type metrics struct {
	Browser string `json:"browser"`
	CPUs    int    `json:"cpus"`

	WasmBytes       int64 `json:"wasm_bytes"`
	WasmGzipBytes   int64 `json:"wasm_gzip_bytes"`
	WasmBrotliBytes int64 `json:"wasm_brotli_bytes"`

	// ColdLoadMS: a fresh profile, from navigation start to the first
	// interactive render (the onboarding form); the wasm is fetched and
	// compiled.
	ColdLoadMS float64 `json:"cold_load_ms"`
	// WarmLoadMS: the same page again, served by the service worker.
	WarmLoadMS float64 `json:"warm_load_ms"`

	// SeedMessages were sent by a native client through the relay;
	// SeedStoredMS is from its first send until the browser had stored
	// the last (its chats list shows it).
	SeedMessages int     `json:"seed_messages"`
	SeedStoredMS float64 `json:"seed_stored_ms"`
	// ChatOpenMS: opening that conversation from the chats list, from the
	// UI's chat-open-start mark to its chat-open-done mark (the newest
	// page of messages on screen). ChatLoadMS: loading /chat/<id>
	// directly, from navigation start to chat-open-done.
	ChatOpenMS  float64 `json:"chat_open_ms"`
	ChatLoadMS  float64 `json:"chat_load_ms"`
	ChatShown   int     `json:"chat_messages_in_dom"`
	LoadedAfter int     `json:"chat_messages_after_scroll"`
}

// report logs the figures in a fixed format, one per line, and writes
// them to $MUTUAL_WEB_METRICS.
func (m *metrics) report(t *testing.T) {
	t.Helper()
	m.CPUs = runtime.NumCPU()
	line := func(name string, v any, unit string) { t.Logf("metric %-30s %12v %s", name, v, unit) }
	line("wasm_raw", m.WasmBytes, "bytes")
	line("wasm_gzip", m.WasmGzipBytes, "bytes")
	line("wasm_brotli", m.WasmBrotliBytes, "bytes")
	line("cold_load_to_interactive", ms(m.ColdLoadMS), "ms")
	line("warm_load_service_worker", ms(m.WarmLoadMS), "ms")
	line("seed_messages", m.SeedMessages, "messages")
	line("seed_sent_to_stored", ms(m.SeedStoredMS), "ms")
	line("chat_open_from_list", ms(m.ChatOpenMS), "ms")
	line("chat_load_deep_link", ms(m.ChatLoadMS), "ms")
	line("chat_messages_in_dom", m.ChatShown, "messages")
	line("chat_messages_after_scroll", m.LoadedAfter, "messages")
	path := os.Getenv("MUTUAL_WEB_METRICS")
	if path == "" {
		return
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatalf("write the metrics: %v", err)
	}
}

// ms rounds a time in milliseconds to one decimal.
func ms(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
