package degrees

import (
	"errors"

	"github.com/mutualcoop/mutual/relay/wire"
)

// ErrUnordered: the pairs given to a Builder were not grouped by their
// first user (a user's contacts came in two runs).
var ErrUnordered = errors.New("degrees: contacts not ordered by user")

// blockLen is the number of neighbours in a block: 4 MiB. A user's
// neighbours never straddle two blocks; a user with more than half a
// block of them gets a block of their own.
const blockLen = 1 << 20

// batchLen is how many contacts of a user a Builder looks up together.
const batchLen = 256

// Graph is the graph of mutual contacts over an Index's users, in
// compressed sparse row form split into blocks: user i's neighbours are
// deg[i] numbers from offset at[i] of their block. Blocks spare the copy
// of every neighbour that growing one array would cost, and the memory
// of both copies at once.
type Graph struct {
	at     []uint64 // block<<32 | offset of the user's first neighbour
	deg    []uint32
	blocks [][]uint32
	pairs  int64
}

// Len is the number of users of the graph (those of its index).
func (g *Graph) Len() int { return len(g.deg) }

// Pairs is the number of pairs the graph holds: twice its contacts.
func (g *Graph) Pairs() int64 { return g.pairs }

// Neighbours returns the numbers of user i's contacts, in the order they
// were given. The slice is the graph's: callers must not change it.
func (g *Graph) Neighbours(i uint32) []uint32 {
	d := g.deg[i]
	if d == 0 {
		return nil
	}
	at := g.at[i]
	off := uint32(at)
	return g.blocks[at>>32][off : off+d : off+d]
}

// Builder builds a Graph from pairs of users given in order of their
// first user.
type Builder struct {
	idx      *Index
	g        *Graph
	blockLen int
	last     wire.UserID // the first user of the latest pair
	started  bool
	row      int64 // last's number; -1 when last is not in the index
	rowStart int   // where last's neighbours start in the current block
	// batch holds contacts of last not looked up yet: looking up many
	// at once lets the processor wait for their slots together.
	batch []wire.UserID
	homes [batchLen]uint64
	slots [batchLen]uint32
}

// NewBuilder returns a Builder for the users of idx, which must not grow
// while the graph is built.
func NewBuilder(idx *Index) *Builder {
	n := idx.Len()
	return &Builder{
		idx:      idx,
		g:        &Graph{at: make([]uint64, n), deg: make([]uint32, n)},
		blockLen: blockLen,
		batch:    make([]wire.UserID, 0, batchLen),
	}
}

// Add adds the contact of a with c. Pairs must come grouped by a (each
// contact in both orders, so that each user's row holds all of their
// contacts), as a store's streaming MutualContacts gives them; a pair of
// a user the index lacks is skipped. It returns ErrUnordered when a's
// contacts were interrupted by another user's.
func (b *Builder) Add(a, c wire.UserID) error {
	if !b.started || a != b.last {
		b.flush()
		if err := b.startRow(a); err != nil {
			return err
		}
	}
	if b.row < 0 {
		return nil
	}
	b.batch = append(b.batch, c)
	if len(b.batch) == cap(b.batch) {
		b.flush()
	}
	return nil
}

// startRow begins a's neighbours.
func (b *Builder) startRow(a wire.UserID) error {
	b.started, b.last = true, a
	i, ok := b.idx.Lookup(a)
	if !ok {
		b.row = -1
		return nil
	}
	if b.g.deg[i] > 0 {
		return ErrUnordered
	}
	if len(b.g.blocks) == 0 {
		b.g.blocks = append(b.g.blocks, make([]uint32, 0, b.blockLen))
	}
	last := len(b.g.blocks) - 1
	b.row, b.rowStart = int64(i), len(b.g.blocks[last])
	b.g.at[i] = uint64(last)<<32 | uint64(b.rowStart)
	return nil
}

// flush looks up the batch of contacts and adds those in the index to
// the current row. It first reads the home slot of each, independent
// loads the processor overlaps; most contacts are found there.
func (b *Builder) flush() {
	x := b.idx
	mask := uint64(len(x.slots) - 1)
	for k := range b.batch {
		h := x.home(&b.batch[k])
		b.homes[k], b.slots[k] = h, x.slots[h]
	}
	for k := range b.batch {
		c, v := &b.batch[k], b.slots[k]
		switch {
		case v == 0: // not in the index
		case x.ids[v-1] == *c:
			b.push(v - 1)
		default:
			if j, ok := x.find(c, (b.homes[k]+1)&mask); ok {
				b.push(j)
			}
		}
	}
	b.batch = b.batch[:0]
}

// push adds j to the current row.
func (b *Builder) push(j uint32) {
	blk := &b.g.blocks[len(b.g.blocks)-1]
	if len(*blk) == cap(*blk) {
		blk = b.grow()
	}
	*blk = append(*blk, j)
	b.g.deg[b.row]++
	b.g.pairs++
}

// grow moves the current row, whose block is full, to the start of a new
// block, and returns that block. A row that filled a block by itself
// gets one twice its size, which replaces the old one.
func (b *Builder) grow() *[]uint32 {
	last := len(b.g.blocks) - 1
	old := b.g.blocks[last]
	row := old[b.rowStart:]
	size := b.blockLen
	if 2*len(row) > size {
		size = 2 * len(row)
	}
	blk := make([]uint32, len(row), size)
	copy(blk, row)
	if b.rowStart == 0 {
		b.g.blocks[last] = blk
	} else {
		b.g.blocks[last] = old[:b.rowStart:b.rowStart]
		b.g.blocks = append(b.g.blocks, blk)
		last++
	}
	b.rowStart = 0
	b.g.at[b.row] = uint64(last) << 32
	return &b.g.blocks[last]
}

// Graph returns the graph built. The Builder must not be used after.
func (b *Builder) Graph() *Graph {
	b.flush()
	g := b.g
	b.g = nil
	return g
}
