// Package limit is the relay's one rate-limit primitive: a token bucket
// per key, kept as the generic cell rate algorithm's theoretical arrival
// time (GCRA, as in ATM's I.371), so that one number per key says
// everything and a shared store can update it in one statement.
//
// A Rate gives Burst units at once and one more back every Every. Take
// charges n units (one request, or the bytes of a message) against a key
// such as "lookup/user/<id>" or "lookup/net/192.0.2.1/32"; it either
// charges all n or nothing and says how long until it could.
//
// Keys are kept in a Store: Memory for one process (the embedded relay),
// or the directory's table when several gateways share the limits
// (cluster mode), so that reconnecting, or connecting to another gateway,
// starts from the same bucket. Hashed wraps a store outside the process
// so that it holds no client network or user ID in clear.
package limit

import (
	"context"
	"net/netip"
	"strings"
	"time"
)

// Rate is a token bucket: Burst units, one back per Every.
type Rate struct {
	Every time.Duration
	Burst int64
}

// PerDay is a budget of n a day, all of it available at once.
func PerDay(n int64) Rate { return Rate{Every: 24 * time.Hour / time.Duration(n), Burst: n} }

// PerSecond is r a second with the given burst.
func PerSecond(r float64, burst int64) Rate {
	return Rate{Every: time.Duration(float64(time.Second) / r), Burst: burst}
}

// Off reports whether the rate limits nothing (a zero Rate).
func (r Rate) Off() bool { return r.Every <= 0 || r.Burst <= 0 }

// Store keeps buckets by key. Take charges n units to key at now, all or
// nothing. When it refuses, retry is how long until n units are there (or,
// if n is more than the burst, a day: it will never fit).
type Store interface {
	Take(ctx context.Context, key string, r Rate, n int64, now time.Time) (ok bool, retry time.Duration, err error)
}

// Step is the algorithm itself, for stores: given the key's stored
// theoretical arrival time tat (zero for a new key) it returns whether n
// units fit at now, the new tat to store when they do, and the wait when
// they do not. A tat in the past counts as now: an idle bucket is full.
func Step(tat time.Time, r Rate, n int64, now time.Time) (ok bool, next time.Time, retry time.Duration) {
	if r.Off() {
		return true, tat, 0
	}
	if n > r.Burst {
		return false, tat, 24 * time.Hour
	}
	if tat.Before(now) {
		tat = now
	}
	next = tat.Add(time.Duration(n) * r.Every)
	// The bucket holds Burst units: tat may run at most Burst*Every ahead.
	allowAt := next.Add(-time.Duration(r.Burst) * r.Every)
	if allowAt.After(now) {
		return false, tat, allowAt.Sub(now)
	}
	return true, next, 0
}

// Network maps a client address ("192.0.2.1", "[2001:db8::1]:443", an
// IPv4-mapped IPv6 address...) to the network it is limited as: the IPv4
// address, or the IPv6 /64 (what one household or host is usually given,
// so that a host cannot dodge a limit by changing its interface ID).
// Anything unparseable maps to the zero Prefix, which all such addresses
// share: the gateway always passes a real address, so it only catches
// mistakes.
func Network(s string) netip.Prefix {
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
