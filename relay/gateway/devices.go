package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// deviceCache remembers users' device lists for a short time: every Send
// checks its recipients against them.
type deviceCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[wire.UserID]deviceEntry
}

type deviceEntry struct {
	ids     []wire.DeviceID
	expires time.Time
}

const deviceCacheMax = 100_000

func newDeviceCache(ttl time.Duration, now func() time.Time) *deviceCache {
	return &deviceCache{ttl: ttl, now: now, m: make(map[wire.UserID]deviceEntry)}
}

// get returns u's device IDs in ascending order.
func (c *deviceCache) get(ctx context.Context, dir Directory, u wire.UserID) ([]wire.DeviceID, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[u]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.ids, nil
	}
	devs, err := dir.Devices(ctx, u)
	if err != nil {
		return nil, err
	}
	ids := make([]wire.DeviceID, len(devs))
	for i, d := range devs {
		ids[i] = d.ID
	}
	slices.Sort(ids)
	c.mu.Lock()
	if len(c.m) >= deviceCacheMax {
		clear(c.m)
	}
	c.m[u] = deviceEntry{ids: ids, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return ids, nil
}

func (c *deviceCache) forget(u wire.UserID) {
	c.mu.Lock()
	delete(c.m, u)
	c.mu.Unlock()
}
