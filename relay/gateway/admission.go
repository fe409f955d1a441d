package gateway

import (
	"net/http"
	"net/netip"
	"strconv"
	"sync"
)

// Retry-After, in seconds, of a refused connection: long enough for the
// connections that filled a cap to authenticate or reach their deadline.
const (
	retryNetwork = 5  // 429: this client network has too many unauthenticated connections
	retryFull    = 10 // 503: the relay has too many connections
)

// refusal is why a connection is refused before the WebSocket upgrade.
type refusal int

const (
	admitted    refusal = iota
	fullTotal           // Config.MaxConns
	fullUnauth          // Config.MaxUnauth
	fullNetwork         // Config.MaxUnauthPerNetwork
)

// String names the cap, for metrics.
func (r refusal) String() string {
	switch r {
	case fullTotal:
		return "connections"
	case fullUnauth:
		return "unauthenticated"
	case fullNetwork:
		return "network"
	}
	return "admitted"
}

// admission counts the connections the caps apply to: the open ones and,
// of those, the ones not yet authenticated, in all and by client network.
// Every admitted connection is released once, when it ends; one that
// authenticates is moved out of the unauthenticated counts first.
type admission struct {
	mu     sync.Mutex
	open   int
	unauth int
	by     map[netip.Prefix]int // unauthenticated, by network
}

// admit counts a new connection from network as open and unauthenticated,
// or says which cap it does not fit.
func (a *admission) admit(cfg *Config, network netip.Prefix) refusal {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.open >= cfg.MaxConns:
		return fullTotal
	case a.unauth >= cfg.MaxUnauth:
		return fullUnauth
	case a.by[network] >= cfg.MaxUnauthPerNetwork:
		return fullNetwork
	}
	if a.by == nil {
		a.by = make(map[netip.Prefix]int)
	}
	a.open++
	a.unauth++
	a.by[network]++
	return admitted
}

// authenticated moves an admitted connection from network out of the
// unauthenticated counts.
func (a *admission) authenticated(network netip.Prefix) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.leaveUnauth(network)
}

// release forgets an admitted connection from network that ended, still
// unauthenticated if unauth.
func (a *admission) release(network netip.Prefix, unauth bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.open--
	if unauth {
		a.leaveUnauth(network)
	}
}

// leaveUnauth decrements the unauthenticated counts of network; a.mu is
// held.
func (a *admission) leaveUnauth(network netip.Prefix) {
	a.unauth--
	if a.by[network]--; a.by[network] <= 0 {
		delete(a.by, network)
	}
}

// authenticated moves c out of the unauthenticated counts. It runs on c's
// reader, which owns c.unauth; later calls do nothing.
func (c *conn) authenticated() {
	if c.unauth {
		c.unauth = false
		c.g.adm.authenticated(c.net)
	}
}

// refuse answers a connection that does not fit with a plain HTTP error
// and closes the TCP connection behind it, so that a refused client keeps
// no descriptor.
func refuse(w http.ResponseWriter, why refusal) {
	w.Header().Set("Connection", "close")
	if why == fullNetwork {
		w.Header().Set("Retry-After", strconv.Itoa(retryNetwork))
		http.Error(w, "too many connections from your network: try again later", http.StatusTooManyRequests)
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryFull))
	http.Error(w, "the relay is busy: try again later", http.StatusServiceUnavailable)
}
