package loadgen

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPayloadRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    payload
		size int
	}{
		{"header only", payload{sent: 1, seq: 1, sender: 0}, PayloadHeader},
		{"padded", payload{sent: int64(3 * time.Second), seq: 1 << 40, sender: 999}, 256},
		{"size below header", payload{sent: 7, seq: 2, sender: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := appendPayload(nil, tt.p, tt.size)
			if want := max(tt.size, PayloadHeader); len(b) != want {
				t.Fatalf("length %d, want %d", len(b), want)
			}
			got, err := decodePayload(b)
			if err != nil || got != tt.p {
				t.Fatalf("decoded %+v, %v; want %+v", got, err, tt.p)
			}
		})
	}
}

func TestDecodePayloadRejects(t *testing.T) {
	good := appendPayload(nil, payload{sent: 5, seq: 1}, 64)
	neg := bytes.Clone(good)
	neg[4] = 0x80
	for name, b := range map[string][]byte{
		"empty":              nil,
		"short":              good[:PayloadHeader-1],
		"wrong magic":        append([]byte("MUTx"), good[4:]...),
		"negative send time": neg,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := decodePayload(b); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func FuzzDecodePayload(f *testing.F) {
	f.Add(appendPayload(nil, payload{sent: 12345, seq: 9, sender: 3}, 256))
	f.Add(appendPayload(nil, payload{}, PayloadHeader))
	f.Add([]byte("MBv1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePayload(b)
		if err != nil {
			return
		}
		again, err := decodePayload(appendPayload(nil, p, len(b)))
		if err != nil || again != p {
			t.Fatalf("re-encoding %+v gave %+v, %v", p, again, err)
		}
	})
}

func TestParseCodeLine(t *testing.T) {
	tests := []struct {
		line, addr, code string
		ok               bool
	}{
		{"DEV CODE email:a@b.test 12345678", "email:a@b.test", "12345678", true},
		{"DEV CODE email:a@b.test 12345678\r", "email:a@b.test", "12345678", true},
		{"DEV CODE email:a@b.test 1234x678", "", "", false},
		{"DEV CODE email:a@b.test", "", "", false},
		{"time=now level=INFO msg=listening", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			addr, code, ok := parseCodeLine(tt.line)
			if addr != tt.addr || code != tt.code || ok != tt.ok {
				t.Fatalf("got %q %q %v", addr, code, ok)
			}
		})
	}
}

func FuzzParseCodeLine(f *testing.F) {
	f.Add("DEV CODE email:a@b.test 12345678")
	f.Add("DEV CODE  x 1")
	f.Add("level=INFO msg=hi")
	f.Fuzz(func(t *testing.T, line string) {
		addr, code, ok := parseCodeLine(line)
		if !ok {
			return
		}
		if addr == "" || code == "" || strings.ContainsAny(addr+code, " \t\n") {
			t.Fatalf("parsed %q into %q %q", line, addr, code)
		}
	})
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(d)
	want := Percentiles{N: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if p := percentiles(nil); p != (Percentiles{}) {
		t.Fatalf("empty: %+v", p)
	}
	if p := percentiles([]time.Duration{7}); p.P50 != 7 || p.P99 != 7 || p.Max != 7 {
		t.Fatalf("one: %+v", p)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                          "0s",
		850 * time.Nanosecond:      "850ns",
		850400 * time.Nanosecond:   "850µs",
		1234567 * time.Nanosecond:  "1.2ms",
		12345678 * time.Nanosecond: "12.3ms",
		1234567890:                 "1.23s",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("%v: got %s, want %s", int64(d), got, want)
		}
	}
}

func TestSummaryIsTheLastLine(t *testing.T) {
	r := &Result{Clients: 2, Sent: 10, Accepted: 10, Delivered: 10, Elapsed: time.Second,
		Latency: Percentiles{P50: 1200 * time.Microsecond, P99: 4500 * time.Microsecond}}
	var b strings.Builder
	if err := r.WriteReport(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := "bench: sent=10 delivered=10 lost=0 dup=0 rate=10/s p50=1.2ms p99=4.5ms"
	if last := lines[len(lines)-1]; last != want {
		t.Fatalf("last line %q, want %q", last, want)
	}
}

func TestScrapeGauge(t *testing.T) {
	page := "# HELP process_resident_memory_bytes Resident memory size in bytes.\n" +
		"# TYPE process_resident_memory_bytes gauge\n" +
		"process_resident_memory_bytes_other 1\n" +
		"process_resident_memory_bytes 4.5056e+07\n"
	v, err := scrapeGauge(strings.NewReader(page), "process_resident_memory_bytes")
	if err != nil || v != 45056000 {
		t.Fatalf("got %v, %v", v, err)
	}
	if _, err := scrapeGauge(strings.NewReader("go_goroutines 3\n"), "process_resident_memory_bytes"); err == nil {
		t.Fatal("found a sample that is not there")
	}
}

func TestSourceAddr(t *testing.T) {
	tests := []struct {
		prefix string
		i      int
		want   string
	}{
		{"127.1.0.0/16", 0, "127.1.0.1"},
		{"127.1.0.0/16", 253, "127.1.0.254"},
		{"127.1.0.0/16", 254, "127.1.1.1"},
		{"127.1.0.0/16", 508, "127.1.2.1"},
		{"fd00::/64", 0, "fd00::1"},
		{"fd00::/64", 255, "fd00::100"},
	}
	for _, tt := range tests {
		if got := sourceAddr(netip.MustParsePrefix(tt.prefix), tt.i); got != netip.MustParseAddr(tt.want) {
			t.Errorf("SourceAddr(%s, %d) = %s, want %s", tt.prefix, tt.i, got, tt.want)
		}
	}
}
