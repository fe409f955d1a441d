package gateway

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// deviceCache remembers users' device lists for a short time: every Send
// checks its recipients against the approved devices, every request its
// device against all of them (held ones too).
type deviceCache struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[wire.UserID]deviceEntry
}

type deviceEntry struct {
	ids     []wire.DeviceID // the approved devices
	all     []wire.DeviceID // every device, held ones too; nil when not read
	expires time.Time
}

const deviceCacheMax = 100_000

func newDeviceCache(ttl time.Duration, now func() time.Time) *deviceCache {
	return &deviceCache{ttl: ttl, now: now, m: make(map[wire.UserID]deviceEntry)}
}

// get returns the IDs of all u's devices, held ones included, in
// ascending order.
func (c *deviceCache) get(ctx context.Context, dir Directory, u wire.UserID) ([]wire.DeviceID, error) {
	e, err := c.entry(ctx, dir, u, true)
	return e.all, err
}

// approved returns the IDs of u's approved devices in ascending order:
// those a message to u must be encrypted for.
func (c *deviceCache) approved(ctx context.Context, dir Directory, u wire.UserID) ([]wire.DeviceID, error) {
	e, err := c.entry(ctx, dir, u, false)
	return e.ids, err
}

// entry returns u's cached entry, reading u's devices when there is none
// (or, when all is set, none with every device).
func (c *deviceCache) entry(ctx context.Context, dir Directory, u wire.UserID, all bool) (deviceEntry, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[u]
	c.mu.Unlock()
	if ok && now.Before(e.expires) && (!all || e.all != nil) {
		return e, nil
	}
	devs, err := dir.Devices(ctx, u)
	if err != nil {
		return deviceEntry{}, err
	}
	e = deviceEntry{ids: []wire.DeviceID{}, all: make([]wire.DeviceID, len(devs)), expires: now.Add(c.ttl)}
	for i, d := range devs {
		e.all[i] = d.ID
		if !d.Held() {
			e.ids = append(e.ids, d.ID)
		}
	}
	slices.Sort(e.all)
	slices.Sort(e.ids)
	c.mu.Lock()
	if len(c.m) >= deviceCacheMax {
		clear(c.m)
	}
	c.m[u] = e
	c.mu.Unlock()
	return e, nil
}

// getMany returns the approved devices' IDs of each of users, in
// ascending order,
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
