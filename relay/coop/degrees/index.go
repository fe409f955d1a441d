// Package degrees computes, for every user of the relay, how many
// contacts lie between them and the nearest paying member of the co-op:
// the distance of the yearly notice.
//
// The graph of mutual contacts is built in compressed sparse row form
// from a stream of pairs ordered by their first user, as the directory
// gives them (each contact in both orders): each user's neighbours are
// one run of 32-bit dense indices (an Index numbers the users), so the
// graph costs about 4 bytes per pair and a few words per user, and
// building it allocates per block of neighbours, never per pair. A
// multi-source breadth-first search from the members then gives every
// distance at once.
//
// The package knows nothing of databases: its caller streams users,
// contacts and members into it.
package degrees

import (
	"errors"
	"math"

	"github.com/mutualcoop/mutual/relay/wire"
)

// ErrFull: an index holds as many users as 32-bit indices can number.
var ErrFull = errors.New("degrees: index full")

// Index numbers users densely from 0, in the order they are added.
type Index struct {
	num map[wire.UserID]uint32
	ids []wire.UserID
}

// NewIndex returns an empty index with room for about n users.
func NewIndex(n int) *Index {
	return &Index{num: make(map[wire.UserID]uint32, n), ids: make([]wire.UserID, 0, n)}
}

// Add numbers u, if it is not numbered yet. Its signature lets it be
// given to a store's streaming Users as it is.
func (x *Index) Add(u wire.UserID) error {
	if _, ok := x.num[u]; ok {
		return nil
	}
	if len(x.ids) == math.MaxUint32 {
		return ErrFull
	}
	x.num[u] = uint32(len(x.ids))
	x.ids = append(x.ids, u)
	return nil
}

// Lookup returns u's number, and false when u is not in the index.
func (x *Index) Lookup(u wire.UserID) (uint32, bool) {
	i, ok := x.num[u]
	return i, ok
}

// Len is the number of users in the index.
func (x *Index) Len() int { return len(x.ids) }

// ID returns the user numbered i.
func (x *Index) ID(i uint32) wire.UserID { return x.ids[i] }
