package server_test

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mutualcoop/mutual/relay/wire"
)

// TestMetrics scrapes /metrics through the relay's HTTP handler after some
// traffic: the relay's own metrics count what happened, and the Go runtime
// and process collectors are there.
func TestMetrics(t *testing.T) {
	r := startRelay(t, nil)
	alice := r.register("email:alice@example.org")
	bob := r.register("email:bob@example.org")
	carol := r.register("email:carol@example.org")
	bob.allow(alice, wire.ContactAllowed)

	alice.mustSend(bob, wire.KindMessage, "hello")
	bob.next()
	carol.allow(alice, wire.ContactBlocked)
	// The router refuses it and counts the refusal; Alice is told nothing,
	// as for a request that is never answered.
	alice.mustSend(carol, wire.KindRequest, "not wanted")
	ws := r.rawConn()
	bad := wire.Encode(wire.Frame{ID: 1, Body: &wire.Auth{User: alice.user, Device: alice.device, Credential: make([]byte, 32)}})
	if err := ws.Write(ctxT(t), websocket.MessageBinary, bad); err != nil {
		t.Fatal(err)
	}
	if got := closeCode(t, ws); got != wire.CloseAuthFailed {
		t.Fatalf("close code %d, want %d", got, wire.CloseAuthFailed)
	}

	// Each series must lie in [min, max]: a counter's or a gauge's value,
	// a histogram's or a summary's count of observations.
	inf := math.Inf(1)
	checks := []struct {
		name, label string // label is "key=value", or empty for none
		min, max    float64
	}{
		{"mutual_gateway_accepted_total", "", 2, 2},
		{"mutual_gateway_frames_total", "type=send", 2, 2},
		{"mutual_gateway_auth_failures_total", "", 1, 1},
		{"mutual_gateway_closes_total", "code=" + strconv.Itoa(wire.CloseAuthFailed), 1, 1},
		{"mutual_gateway_connections", "", 3, 3},
		{"mutual_gateway_append_seconds", "", 1, inf},
		{"mutual_gateway_delivered_total", "", 1, inf},
		{"mutual_router_routed_total", "", 1, inf},
		{"mutual_router_rejected_total", "reason=" + wire.CodeNotAccepted.String(), 1, 1},
		{"mutual_router_batch_seconds", "", 1, inf},
		{"go_goroutines", "", 1, inf},
		{"go_memstats_heap_alloc_bytes", "", 1, inf},
		{"go_gc_duration_seconds", "", 0, inf},
		{"process_resident_memory_bytes", "", 1, inf},
		{"process_start_time_seconds", "", 1, inf},
		{"process_open_fds", "", 1, inf},
	}

	// The router and the connections' teardown run on their own
	// goroutines: scrape until the counts have caught up.
	ctx := ctxT(t)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		families := scrape(t, r.MetricsURL())
		var failed []string
		for _, c := range checks {
			v, ok := sample(families, c.name, c.label)
			if !ok || v < c.min || v > c.max {
				failed = append(failed, fmt.Sprintf("%s{%s} = %v (present %v), want %v to %v", c.name, c.label, v, ok, c.min, c.max))
			}
		}
		if len(failed) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("metrics never showed:\n%s", strings.Join(failed, "\n"))
		case <-tick.C:
		}
	}
}

// scrape gets a /metrics page and parses it as a Prometheus scraper would.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("/metrics Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// sample returns the value of the series of family name with label (a
// "key=value" pair, or empty for an unlabelled series): a counter's or a
// gauge's value, a histogram's or a summary's count of observations.
func sample(families map[string]*dto.MetricFamily, name, label string) (float64, bool) {
	f, ok := families[name]
	if !ok {
		return 0, false
	}
	key, value, _ := strings.Cut(label, "=")
	for _, m := range f.GetMetric() {
		if label != "" && !hasLabel(m, key, value) || label == "" && len(m.GetLabel()) > 0 {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount()), true
		case dto.MetricType_SUMMARY:
			return float64(m.GetSummary().GetSampleCount()), true
		}
	}
	return 0, false
}

func hasLabel(m *dto.Metric, key, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == key && l.GetValue() == value {
			return true
		}
	}
	return false
}
