package directory

import (
	"bytes"
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// MergeOffsets returns one entry per device with the highest offset and the
// latest Seen of its entries, sorted by user and device ID. Implementations
// of CommitOffsets use it so that transactions touch rows in one order.
func MergeOffsets(offsets []DeviceOffset) []DeviceOffset {
	type key struct {
		u wire.UserID
		d wire.DeviceID
	}
	m := make(map[key]DeviceOffset, len(offsets))
	for _, o := range offsets {
		k := key{o.User, o.Device}
		if p, ok := m[k]; ok {
			o.Offset = max(o.Offset, p.Offset)
			if p.Seen.After(o.Seen) {
				o.Seen = p.Seen
			}
		}
		m[k] = o
	}
	return slices.SortedFunc(maps.Values(m), func(a, b DeviceOffset) int {
		if c := bytes.Compare(a.User[:], b.User[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Device, b.Device)
	})
}

// Day returns the UTC midnight that begins t's day: the precision at which
// last-seen times are kept, so that the directory does not record when
// each device is in use. The zero time stays zero.
func Day(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(24 * time.Hour)
}
