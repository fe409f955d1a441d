// Package degrees computes, for every user of the relay, how many
// contacts lie between them and the nearest paying member of the co-op:
// the distance of the yearly notice.
//
// The graph of mutual contacts is built in compressed sparse row form
// from a stream of pairs ordered by their first user, as the directory
// gives them (each contact in both orders): each user's neighbours are
// one run of 32-bit dense numbers (an Index numbers the users), so the
// graph costs about 4 bytes per pair and a few words per user, and
// building it allocates per block of neighbours, never per pair. A
// multi-source breadth-first search from the members then gives every
// distance at once.
//
// The package knows nothing of databases: its caller streams users,
// contacts and members into it.
package degrees

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"

	"github.com/mutualcoop/mutual/relay/wire"
)

// ErrFull: an index holds as many users as 32-bit numbers can count.
var ErrFull = errors.New("degrees: index full")

// Index numbers users densely from 0, in the order they are added. It is
// a map from user ID to number kept in 4 bytes a slot (an open-addressing
// table of numbers, whose keys are the IDs it numbers), besides the IDs'
// 16 bytes each: about a third of a Go map's size, so that more of it
// stays in the processor's caches while millions of contacts are looked
// up.
type Index struct {
	slots []uint32 // number+1 of the ID hashed there, or 0
	shift uint     // 64 - log2(len(slots))
	ids   []wire.UserID
}

// NewIndex returns an empty index with room for about n users.
func NewIndex(n int) *Index {
	x := &Index{ids: make([]wire.UserID, 0, n)}
	x.resize(n)
	return x
}

// resize makes a table for n users, at most half full.
func (x *Index) resize(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	x.slots = make([]uint32, size)
	x.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for i := range x.ids {
		x.slots[x.free(&x.ids[i])] = uint32(i) + 1
	}
}

// home is the slot where u's search starts. User IDs are random, but the
// multiplication spreads any that are not.
func (x *Index) home(u *wire.UserID) uint64 {
	h := binary.LittleEndian.Uint64(u[:8]) ^ binary.LittleEndian.Uint64(u[8:])
	return h * 0x9e3779b97f4a7c15 >> x.shift
}

// free returns the first empty slot of u's search.
func (x *Index) free(u *wire.UserID) uint64 {
	mask := uint64(len(x.slots) - 1)
	i := x.home(u)
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	return i
}

// Add numbers u, if it is not numbered yet. Its signature lets it be
// given to a store's streaming Users as it is.
func (x *Index) Add(u wire.UserID) error {
	if _, ok := x.Lookup(u); ok {
		return nil
	}
	if len(x.ids) == math.MaxUint32-1 {
		return ErrFull
	}
	x.ids = append(x.ids, u)
	if 2*len(x.ids) > len(x.slots) {
		x.resize(len(x.ids))
		return nil
	}
	x.slots[x.free(&u)] = uint32(len(x.ids))
	return nil
}

// Lookup returns u's number, and false when u is not in the index.
func (x *Index) Lookup(u wire.UserID) (uint32, bool) {
	return x.find(&u, x.home(&u))
}

// find looks for u from slot i of its search on.
func (x *Index) find(u *wire.UserID, i uint64) (uint32, bool) {
	mask := uint64(len(x.slots) - 1)
	for ; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return 0, false
		}
		if x.ids[v-1] == *u {
			return v - 1, true
		}
	}
}

// Len is the number of users in the index.
func (x *Index) Len() int { return len(x.ids) }

// ID returns the user numbered i.
func (x *Index) ID(i uint32) wire.UserID { return x.ids[i] }
