// Package degrees computes, for every user of the relay, how many
// contacts lie between them and the nearest paying member of the co-op:
// the distance of the yearly notice.
//
// The graph of mutual contacts is built in compressed sparse row form
// from a stream of pairs grouped by their first user, as the directory
// gives them (each contact in both orders). Users are numbered densely
// (an Index), each contact is looked up once, from the pair whose first
// user has the smaller ID, and kept as two 32-bit numbers: the graph
// costs about 4 bytes per pair and a few words per user, and building it
// allocates per block of numbers, never per pair. A multi-source
// breadth-first search from the members then gives every distance at
// once.
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
// a map from user ID to number: an open-addressing table whose slots
// hold a number and 32 bits of its ID's hash (so that a search compares
// IDs only when those match), at most half full, besides the IDs' 16
// bytes each. It is about half a Go map's size, and a lookup reads
// memory about twice: once the slot, once the ID.
type Index struct {
	slots []uint64 // tag<<32 | number+1 of the ID hashed there, or 0
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
	x.slots = make([]uint64, size)
	x.shift = uint(64 - bits.TrailingZeros(uint(size)))
	for i := range x.ids {
		x.put(&x.ids[i], uint32(i))
	}
}

// hash is where u's search starts and the tag its slot holds. User IDs
// are random, but the multiplication spreads any that are not.
func (x *Index) hash(u *wire.UserID) (home uint64, tag uint32) {
	h := (binary.LittleEndian.Uint64(u[:8]) ^ binary.LittleEndian.Uint64(u[8:])) * 0x9e3779b97f4a7c15
	return h >> x.shift, uint32(h)
}

// put stores u's number i in the first empty slot of its search.
func (x *Index) put(u *wire.UserID, i uint32) {
	mask := uint64(len(x.slots) - 1)
	h, tag := x.hash(u)
	for x.slots[h] != 0 {
		h = (h + 1) & mask
	}
	x.slots[h] = uint64(tag)<<32 | uint64(i+1)
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
	x.put(&u, uint32(len(x.ids)-1))
	return nil
}

// Lookup returns u's number, and false when u is not in the index.
func (x *Index) Lookup(u wire.UserID) (uint32, bool) {
	h, tag := x.hash(&u)
	return x.find(&u, tag, h)
}

// find looks for u, whose tag is tag, from slot i of its search on.
func (x *Index) find(u *wire.UserID, tag uint32, i uint64) (uint32, bool) {
	mask := uint64(len(x.slots) - 1)
	for ; ; i = (i + 1) & mask {
		v := x.slots[i]
		if v == 0 {
			return 0, false
		}
		if n := uint32(v) - 1; uint32(v>>32) == tag && x.ids[n] == *u {
			return n, true
		}
	}
}

// Len is the number of users in the index.
func (x *Index) Len() int { return len(x.ids) }

// ID returns the user numbered i.
func (x *Index) ID(i uint32) wire.UserID { return x.ids[i] }
