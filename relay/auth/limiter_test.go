package auth

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestNetworkOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1/32"},
		{"192.0.2.1:443", "192.0.2.1/32"},
		{"::ffff:192.0.2.1", "192.0.2.1/32"},
		{"[::ffff:192.0.2.1]:80", "192.0.2.1/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2::9]:443", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"", "invalid Prefix"},
		{"not an ip", "invalid Prefix"},
	}
	for _, tt := range tests {
		if got := networkOf(tt.in).String(); got != tt.want {
			t.Errorf("networkOf(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestNetLimiterRefill(t *testing.T) {
	l := newNetLimiter(3, 10*time.Second, 100)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 3 {
		if ok, _ := l.allow("192.0.2.1", t0); !ok {
			t.Fatalf("request %d refused within the burst", i)
		}
	}
	ok, wait := l.allow("192.0.2.1", t0)
	if ok || wait != 10*time.Second {
		t.Fatalf("after the burst: %v, wait %s; want refused, wait 10s", ok, wait)
	}
	if ok, _ := l.allow("192.0.2.2", t0); !ok {
		t.Fatal("another address shares the bucket")
	}
	if ok, wait := l.allow("192.0.2.1", t0.Add(4*time.Second)); ok || wait != 6*time.Second {
		t.Fatalf("at 4s: %v, wait %s; want refused, wait 6s", ok, wait)
	}
	if ok, _ := l.allow("192.0.2.1", t0.Add(10*time.Second)); !ok {
		t.Fatal("token not back after 10s")
	}
	if ok, _ := l.allow("192.0.2.1", t0.Add(10*time.Second)); ok {
		t.Fatal("two tokens back after 10s")
	}
	// A clock that steps back adds nothing.
	if ok, _ := l.allow("192.0.2.1", t0); ok {
		t.Fatal("token from a clock going backwards")
	}
	// A long idle period refills to the burst, no more.
	later := t0.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.allow("192.0.2.1", later); !ok {
			t.Fatalf("request %d refused after an hour", i)
		}
	}
	if ok, _ := l.allow("192.0.2.1", later); ok {
		t.Fatal("bucket over its burst")
	}
}

func TestNetLimiterIPv6Prefix(t *testing.T) {
	l := newNetLimiter(1, time.Minute, 100)
	t0 := time.Unix(1_700_000_000, 0)
	if ok, _ := l.allow("2001:db8:0:1::1", t0); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := l.allow("[2001:db8:0:1:ffff::2]:1234", t0); ok {
		t.Fatal("another host in the same /64 has its own bucket")
	}
	if ok, _ := l.allow("2001:db8:0:2::1", t0); !ok {
		t.Fatal("another /64 shares the bucket")
	}
	if ok, _ := l.allow("::ffff:198.51.100.7", t0); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := l.allow("198.51.100.7", t0); ok {
		t.Fatal("IPv4-mapped and plain IPv4 have separate buckets")
	}
}

func TestNetLimiterBounded(t *testing.T) {
	l := newNetLimiter(1, time.Hour, 4)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		l.allow(fmt.Sprintf("10.0.%d.%d", i/256, i%256), t0.Add(time.Duration(i)))
		if n := l.len(); n > 4 {
			t.Fatalf("%d buckets, want at most 4", n)
		}
	}
	if l.len() != 4 || len(l.m) != 4 {
		t.Fatalf("table %d, map %d; want 4", l.len(), len(l.m))
	}
	// The most recent four survive; the oldest were evicted.
	for i := 996; i < 1000; i++ {
		if _, ok := l.m[netip.MustParsePrefix(fmt.Sprintf("10.0.%d.%d/32", i/256, i%256))]; !ok {
			t.Fatalf("recent network %d evicted", i)
		}
	}
	// Using a network keeps it: touch the oldest survivor, add one more,
	// and the next oldest goes instead.
	l.allow("10.0.3.228", t0.Add(2000)) // i = 996
	l.allow("10.9.9.9", t0.Add(2001))
	if _, ok := l.m[netip.MustParsePrefix("10.0.3.228/32")]; !ok {
		t.Fatal("recently used network evicted")
	}
	if _, ok := l.m[netip.MustParsePrefix("10.0.3.229/32")]; ok {
		t.Fatal("least recently used network kept")
	}
}

func BenchmarkNetLimiter(b *testing.B) {
	l := newNetLimiter(20, 30*time.Second, 1<<16)
	ips := make([]string, 4096)
	for i := range ips {
		ips[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	now := time.Unix(1_700_000_000, 0)
	i := 0
	for b.Loop() {
		l.allow(ips[i%len(ips)], now)
		i++
	}
}
