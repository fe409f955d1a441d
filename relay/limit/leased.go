package limit

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Leased is a Store in front of a shared one (the directory's, which
// costs a database write per Take) that takes units for a busy key in
// leases and hands them out from this process's memory, so that a key
// charged hundreds of times a second costs a few shared Takes a second
// instead of one per request.
//
// A key starts with no lease: a Take goes to the shared store as it is,
// so an idle account or network is counted exactly. When a key comes back
// within leaseWindow of its last shared Take, the next shared Take asks
// for twice the previous lease (at most a sixteenth of the bucket) and
// keeps what the request does not use. Units leased and not used within
// leaseWindow are forfeited: a busy key may be refused up to one lease
// early when it moves to another gateway, and never gets more than its
// bucket holds. A refusal is remembered for the wait the shared store
// gave, so that a client asking again and again is refused here, without
// a shared Take.
type Leased struct {
	store Store
	max   int

	mu  sync.Mutex
	m   map[string]*list.Element
	lru list.List // of *lease, most recently used at the front
}

// leaseWindow is how long leased units stay usable, and how soon a key
// must come back to count as busy.
const leaseWindow = time.Second

type lease struct {
	key     string
	units   int64     // leased and not yet used
	size    int64     // the last lease taken
	expires time.Time // when units are forfeited, and the key no longer busy
	refused time.Time // until when the shared store said no: refused here
}

// NewLeased returns a Leased in front of store, remembering at most max
// keys.
func NewLeased(store Store, max int) *Leased {
	return &Leased{store: store, max: max, m: make(map[string]*list.Element)}
}

// Take implements Store.
func (l *Leased) Take(ctx context.Context, key string, r Rate, n int64, now time.Time) (bool, time.Duration, error) {
	if r.Off() {
		return true, 0, nil
	}
	l.mu.Lock()
	e := l.get(key)
	if now.Before(e.refused) {
		// The shared store said how long until n units are there; others
		// taking meanwhile only make it longer.
		wait := e.refused.Sub(now)
		l.mu.Unlock()
		return false, wait, nil
	}
	busy := now.Before(e.expires)
	if busy && e.units >= n {
		e.units -= n
		l.mu.Unlock()
		return true, 0, nil
	}
	want := n
	if busy {
		want = min(max(2*e.size, n), max(r.Burst/16, n))
	}
	l.mu.Unlock()

	if want > n {
		ok, _, err := l.store.Take(ctx, key, r, want, now)
		if err != nil {
			return false, 0, err
		}
		if ok {
			l.keep(key, want, want-n, now)
			return true, 0, nil
		}
	}
	ok, retry, err := l.store.Take(ctx, key, r, n, now)
	switch {
	case err != nil:
	case ok:
		l.keep(key, n, 0, now)
	case n <= r.Burst: // a request larger than the bucket says nothing of the next
		l.mu.Lock()
		l.get(key).refused = now.Add(retry)
		l.mu.Unlock()
	}
	return ok, retry, err
}

// get returns key's lease, making an empty one; l.mu is held.
func (l *Leased) get(key string) *lease {
	if el, ok := l.m[key]; ok {
		l.lru.MoveToFront(el)
		return el.Value.(*lease)
	}
	if l.lru.Len() >= l.max {
		old := l.lru.Back()
		l.lru.Remove(old)
		delete(l.m, old.Value.(*lease).key)
	}
	e := &lease{key: key}
	l.m[key] = l.lru.PushFront(e)
	return e
}

// keep records a shared Take of size units at now, of which spare are
// left for later requests.
func (l *Leased) keep(key string, size, spare int64, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.get(key)
	if !now.Before(e.expires) {
		e.units = 0 // forfeited
	}
	e.units += spare
	e.size = size
	e.expires = now.Add(leaseWindow)
}
