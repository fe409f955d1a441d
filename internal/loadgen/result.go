package loadgen

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// Result is what a run measured.
type Result struct {
	Clients int
	// GroupSize is Config.GroupSize: with groups, each message sent is
	// delivered GroupSize-1 times, and Delivered, Lost and Rate count
	// deliveries.
	GroupSize int
	// Devices is how many devices each account signed in.
	Devices int
	// Payload says how payloads crossed the relay: end-to-end encrypted,
	// opaque, or through Config.NewEncoder.
	Payload string

	// Sent counts Send requests; each was answered Accepted or Rejected,
	// or Failed (the connection ended or the wait timed out first).
	Sent, Accepted, Rejected, Failed int64
	// RejectedBy counts the Rejected answers by code.
	RejectedBy map[wire.Code]int64
	// Refused counts accepted messages the router refused for their
	// recipient (a kind 3 envelope came back to the sender).
	Refused int64

	// Delivered counts distinct messages received; Duplicates the
	// deliveries of a message already received; Lost the accepted messages
	// never delivered by the end of the drain.
	Delivered, Duplicates, Lost int64
	// Malformed counts deliveries whose payload was not a bench payload.
	Malformed int64

	// Sending is the time from the first send to the last answer;
	// Elapsed from the first send to the last delivery.
	Sending, Elapsed time.Duration
	// Setup is the time taken to register, connect and introduce the
	// clients and to set up their end-to-end sessions.
	Setup time.Duration

	// Latency is delivery latency: receive time minus send time.
	// AcceptLatency is the time a Send waited for its Accepted answer.
	Latency, AcceptLatency Percentiles

	// MemoryPerConn is the relay's memory growth from connecting the
	// clients, divided by their number, in bytes; HaveMemory is false when
	// it was not measured.
	MemoryPerConn int64
	HaveMemory    bool
	// MemoryNote says what MemoryPerConn measured.
	MemoryNote string

	// Relay is the relay's own account of the sending phase, when
	// Config.MetricsURL was given.
	Relay *RelayStats

	// Flood is what the flooding account got, with Config.Flood.
	Flood *FloodResult
}

// Rate is the delivery rate: distinct deliveries over Elapsed, per second.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Delivered) / r.Elapsed.Seconds()
}

// Percentiles summarise a set of durations.
type Percentiles struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

// percentiles sorts d in place and summarises it.
func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(d))+0.5) - 1
		return d[min(max(i, 0), len(d)-1)]
	}
	return Percentiles{N: len(d), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: d[len(d)-1]}
}

// FormatDuration prints d with about three significant figures, such as
// 850µs, 1.2ms, 12.3ms or 1.23s.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return d.String()
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// Summary is the one-line result:
//
//	bench: sent=S delivered=D lost=L dup=X rate=R/s p50=1.2ms p99=4.5ms
func (r *Result) Summary() string {
	return fmt.Sprintf("bench: sent=%d delivered=%d lost=%d dup=%d rate=%.0f/s p50=%s p99=%s",
		r.Sent, r.Delivered, r.Lost, r.Duplicates, r.Rate(),
		FormatDuration(r.Latency.P50), FormatDuration(r.Latency.P99))
}

// WriteReport writes the full report; its last line is Summary.
func (r *Result) WriteReport(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "clients       %d\n", r.Clients)
	if r.GroupSize > 0 {
		d := max(r.Devices, 1)
		fmt.Fprintf(&b, "groups        %d of %d members with %d devices each; each message is delivered to %d devices\n",
			r.Clients/r.GroupSize, r.GroupSize, d, (r.GroupSize-1)*d+d-1)
	}
	if r.Payload != "" {
		fmt.Fprintf(&b, "payload       %s\n", r.Payload)
	}
	fmt.Fprintf(&b, "sent          %d\n", r.Sent)
	fmt.Fprintf(&b, "accepted      %d\n", r.Accepted)
	fmt.Fprintf(&b, "rejected      %d%s\n", r.Rejected, byCode(r.RejectedBy))
	if r.Failed > 0 {
		fmt.Fprintf(&b, "failed        %d (no answer: the connection ended)\n", r.Failed)
	}
	if r.Refused > 0 {
		fmt.Fprintf(&b, "refused       %d (accepted, then refused by the router)\n", r.Refused)
	}
	fmt.Fprintf(&b, "delivered     %d\n", r.Delivered)
	fmt.Fprintf(&b, "lost          %d\n", r.Lost)
	fmt.Fprintf(&b, "duplicates    %d\n", r.Duplicates)
	if r.Malformed > 0 {
		fmt.Fprintf(&b, "malformed     %d\n", r.Malformed)
	}
	fmt.Fprintf(&b, "setup         %s\n", FormatDuration(r.Setup))
	fmt.Fprintf(&b, "sending       %s\n", FormatDuration(r.Sending))
	fmt.Fprintf(&b, "elapsed       %s (first send to last delivery)\n", FormatDuration(r.Elapsed))
	fmt.Fprintf(&b, "messages/s    %.0f\n", r.Rate())
	fmt.Fprintf(&b, "latency       p50=%s p90=%s p99=%s max=%s\n",
		FormatDuration(r.Latency.P50), FormatDuration(r.Latency.P90), FormatDuration(r.Latency.P99), FormatDuration(r.Latency.Max))
	fmt.Fprintf(&b, "accept        p50=%s p90=%s p99=%s max=%s\n",
		FormatDuration(r.AcceptLatency.P50), FormatDuration(r.AcceptLatency.P90), FormatDuration(r.AcceptLatency.P99), FormatDuration(r.AcceptLatency.Max))
	if r.HaveMemory {
		fmt.Fprintf(&b, "memory/conn   %s", formatBytes(r.MemoryPerConn))
		if r.MemoryNote != "" {
			fmt.Fprintf(&b, " (%s)", r.MemoryNote)
		}
		b.WriteByte('\n')
	}
	if r.Relay != nil {
		fmt.Fprintf(&b, "relay         %s\n", r.Relay)
	}
	if f := r.Flood; f != nil {
		fmt.Fprintf(&b, "flood         sent=%d accepted=%d (%s stored) refused=%d rejected%s\n",
			f.Sent, f.Accepted, formatBytes(f.AcceptedBytes), f.Refused, byCode(f.RejectedBy))
	}
	b.WriteString(r.Summary())
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

func byCode(m map[wire.Code]int64) string {
	if len(m) == 0 {
		return ""
	}
	codes := make([]wire.Code, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool { return codes[i] < codes[j] })
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s=%d", c, m[c])
	}
	return " (" + strings.Join(parts, " ") + ")"
}

func formatBytes(n int64) string {
	switch a := max(n, -n); {
	case a >= 10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case a >= 10<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
