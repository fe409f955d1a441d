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

// getMany returns the device IDs of each of users, in ascending order,
// reading those not cached from the directory in one query: a Send to a
// large group names a thousand users.
func (c *deviceCache) getMany(ctx context.Context, dir Directory, users []wire.UserID) (map[wire.UserID][]wire.DeviceID, error) {
	now := c.now()
	out := make(map[wire.UserID][]wire.DeviceID, len(users))
	var missing []wire.UserID
	c.mu.Lock()
	for _, u := range users {
		if e, ok := c.m[u]; ok && now.Before(e.expires) {
			out[u] = e.ids
		} else {
			missing = append(missing, u)
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	got, err := dir.DeviceIDs(ctx, missing)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(missing) > deviceCacheMax {
		clear(c.m)
	}
	for _, u := range missing {
		ids := got[u]
		if ids == nil {
			ids = []wire.DeviceID{}
		}
		slices.Sort(ids)
		out[u] = ids
		c.m[u] = deviceEntry{ids: ids, expires: now.Add(c.ttl)}
	}
	return out, nil
}

func (c *deviceCache) forget(u wire.UserID) {
	c.mu.Lock()
	delete(c.m, u)
	c.mu.Unlock()
}
