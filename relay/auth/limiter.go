package auth

import (
	"container/list"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// netLimiter is a token bucket per client network, in memory: an IPv4
// address, or an IPv6 /64 (what one household or host is usually given,
// so that a host cannot dodge the limit by changing its interface ID).
// Each bucket holds burst tokens and gets one back per every; its clock is
// the time passed to allow, so that tests can drive it with Config.Now.
//
// Its table holds at most max buckets; when full, the bucket used least
// recently is dropped. A dropped bucket was idle the longest, so it has
// refilled the most; an attacker flooding the table with fresh networks
// can at worst hand a few idle networks a full bucket again, and the
// per-address limit in the directory still holds.
type netLimiter struct {
	burst int
	every time.Duration
	max   int

	mu  sync.Mutex
	m   map[netip.Prefix]*list.Element
	lru list.List // of *bucket, most recently used at the front
}

type bucket struct {
	key netip.Prefix
	lim *rate.Limiter
}

func newNetLimiter(burst int, every time.Duration, max int) *netLimiter {
	return &netLimiter{
		burst: burst,
		every: every,
		max:   max,
		m:     make(map[netip.Prefix]*list.Element),
	}
}

// allow takes a token from clientIP's bucket at now. When it cannot, it
// says how long until a token is back.
func (l *netLimiter) allow(clientIP string, now time.Time) (bool, time.Duration) {
	key := networkOf(clientIP)
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, ok := l.m[key]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
	} else {
		if l.lru.Len() >= l.max {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.m, old.Value.(*bucket).key)
		}
		b = &bucket{key: key, lim: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.m[key] = l.lru.PushFront(b)
	}
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	return false, time.Duration((1 - b.lim.TokensAt(now)) * float64(l.every))
}

// len returns the number of buckets held.
func (l *netLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// networkOf maps a client address ("192.0.2.1", "[2001:db8::1]:443", an
// IPv4-mapped IPv6 address...) to the network its bucket is keyed by.
// Anything unparseable shares the zero Prefix's bucket: the gateway always
// passes a real address, so that bucket only catches mistakes.
func networkOf(s string) netip.Prefix {
	var a netip.Addr
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Prefix{}
		}
		a = ap.Addr()
	} else {
		var err error
		if a, err = netip.ParseAddr(s); err != nil {
			return netip.Prefix{}
		}
	}
	a = a.Unmap().WithZone("")
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}
	}
	return p
}
