package degrees_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mutualcoop/mutual/relay/coop/degrees"
	"github.com/mutualcoop/mutual/relay/wire"
)

// id gives each name of a test graph a user ID whose byte order has
// nothing to do with the order names are listed in.
func id(name string) wire.UserID {
	h := sha256.Sum256([]byte(name))
	return wire.UserID(h[:16])
}

// stream orders the contacts as a store gives them: each in both orders,
// by first user then second, by their IDs' bytes.
func stream(contacts [][2]wire.UserID) [][2]wire.UserID {
	var pairs [][2]wire.UserID
	for _, c := range contacts {
		pairs = append(pairs, c, [2]wire.UserID{c[1], c[0]})
	}
	slices.SortFunc(pairs, func(p, q [2]wire.UserID) int {
		if c := bytes.Compare(p[0][:], q[0][:]); c != 0 {
			return c
		}
		return bytes.Compare(p[1][:], q[1][:])
	})
	return slices.CompactFunc(pairs, func(p, q [2]wire.UserID) bool { return p == q })
}

// distances builds the graph of users and contacts with blocks of
// blockLen neighbours (0: the default) and returns each user's distance
// from members.
func distances(t *testing.T, users []wire.UserID, contacts [][2]wire.UserID, members []wire.UserID, blockLen int) map[wire.UserID]int {
	t.Helper()
	idx := degrees.NewIndex(0) // grown as users come
	for _, u := range users {
		if err := idx.Add(u); err != nil {
			t.Fatal(err)
		}
	}
	b := degrees.NewBuilder(idx)
	if blockLen > 0 {
		degrees.SetBlockLen(b, blockLen)
	}
	for _, p := range stream(contacts) {
		if err := b.Add(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	g := b.Graph()
	var sources []uint32
	for _, m := range members {
		if i, ok := idx.Lookup(m); ok {
			sources = append(sources, i)
		}
	}
	dist := g.Distances(sources)
	got := make(map[wire.UserID]int, len(users))
	for i, d := range dist {
		got[idx.ID(uint32(i))] = int(d)
	}
	return got
}

// simpleDistances is the breadth-first search written plainly over a map
// of adjacency lists: what Graph.Distances must agree with.
func simpleDistances(users []wire.UserID, contacts [][2]wire.UserID, members []wire.UserID) map[wire.UserID]int {
	known := make(map[wire.UserID]bool)
	for _, u := range users {
		known[u] = true
	}
	adj := make(map[wire.UserID][]wire.UserID)
	for _, c := range contacts {
		if known[c[0]] && known[c[1]] {
			adj[c[0]] = append(adj[c[0]], c[1])
			adj[c[1]] = append(adj[c[1]], c[0])
		}
	}
	dist := make(map[wire.UserID]int)
	var queue []wire.UserID
	for _, m := range members {
		if _, seen := dist[m]; known[m] && !seen {
			dist[m] = 0
			queue = append(queue, m)
		}
	}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, v := range adj[u] {
			if _, seen := dist[v]; !seen {
				dist[v] = dist[u] + 1
				queue = append(queue, v)
			}
		}
	}
	for _, u := range users {
		if _, seen := dist[u]; !seen {
			dist[u] = degrees.Unreachable
		}
	}
	return dist
}

func TestDistances(t *testing.T) {
	tests := []struct {
		name     string
		users    string
		contacts []string // "ab": a and b allowed each other
		members  string
		want     map[byte]int
	}{
		{
			name:    "member alone",
			users:   "m",
			members: "m",
			want:    map[byte]int{'m': 0},
		},
		{
			name:     "member, 1, 2, 3 hops, unreachable, isolated",
			users:    "mabcyzx",
			contacts: []string{"ma", "ab", "bc", "yz"},
			members:  "m",
			want:     map[byte]int{'m': 0, 'a': 1, 'b': 2, 'c': 3, 'y': -1, 'z': -1, 'x': -1},
		},
		{
			name:     "cycle",
			users:    "mabcd",
			contacts: []string{"ma", "ab", "bc", "cd", "dm"},
			members:  "m",
			want:     map[byte]int{'m': 0, 'a': 1, 'b': 2, 'c': 2, 'd': 1},
		},
		{
			name:     "two members at different distances",
			users:    "mnabcd",
			contacts: []string{"ma", "ab", "bc", "cd", "dn"},
			members:  "mn",
			want:     map[byte]int{'m': 0, 'n': 0, 'a': 1, 'b': 2, 'c': 2, 'd': 1},
		},
		{
			name:     "nearest of two",
			users:    "mnabc",
			contacts: []string{"ma", "ab", "bc", "cn", "nb"},
			members:  "mn",
			want:     map[byte]int{'m': 0, 'n': 0, 'a': 1, 'b': 1, 'c': 1},
		},
		{
			name:     "no member",
			users:    "abc",
			contacts: []string{"ab", "bc"},
			want:     map[byte]int{'a': -1, 'b': -1, 'c': -1},
		},
		{
			name:     "users outside the index are skipped",
			users:    "maz",
			contacts: []string{"ma", "mg", "gz", "ag"}, // g has no account
			members:  "mg",
			want:     map[byte]int{'m': 0, 'a': 1, 'z': -1},
		},
		{
			name:     "star",
			users:    "mabcdef",
			contacts: []string{"ma", "mb", "mc", "md", "me", "mf", "ab"},
			members:  "a",
			want:     map[byte]int{'a': 0, 'm': 1, 'b': 1, 'c': 2, 'd': 2, 'e': 2, 'f': 2},
		},
	}
	for _, tt := range tests {
		for _, blockLen := range []int{0, 1, 2, 3} {
			t.Run(fmt.Sprintf("%s/blocks of %d", tt.name, blockLen), func(t *testing.T) {
				var users, members []wire.UserID
				for _, c := range []byte(tt.users) {
					users = append(users, id(string(c)))
				}
				for _, c := range []byte(tt.members) {
					members = append(members, id(string(c)))
				}
				var contacts [][2]wire.UserID
				for _, c := range tt.contacts {
					contacts = append(contacts, [2]wire.UserID{id(c[:1]), id(c[1:])})
				}
				got := distances(t, users, contacts, members, blockLen)
				want := make(map[wire.UserID]int)
				for c, d := range tt.want {
					want[id(string(c))] = d
				}
				if !maps.Equal(got, want) {
					t.Errorf("distances %v, want %v", named(tt.users, got), named(tt.users, want))
				}
				if simple := simpleDistances(users, contacts, members); !maps.Equal(simple, want) {
					t.Errorf("simple search gives %v, want %v", named(tt.users, simple), named(tt.users, want))
				}
			})
		}
	}
}

// TestRandomGraphs compares the search with the simple one on random
// graphs, with blocks small enough that rows move between them and some
// outgrow a block.
func TestRandomGraphs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		n := 1 + rng.IntN(60)
		users := make([]wire.UserID, n)
		for i := range users {
			users[i] = id(fmt.Sprint(round, "/", i))
		}
		var contacts [][2]wire.UserID
		for range rng.IntN(4 * n) {
			// Skewed: low numbers have many contacts.
			a, b := rng.IntN(1+rng.IntN(n)), rng.IntN(n)
			if a != b {
				contacts = append(contacts, [2]wire.UserID{users[a], users[b]})
			}
		}
		var members []wire.UserID
		for range rng.IntN(3) {
			members = append(members, users[rng.IntN(n)])
		}
		want := simpleDistances(users, contacts, members)
		for _, blockLen := range []int{0, 1, 4, 16} {
			if got := distances(t, users, contacts, members, blockLen); !maps.Equal(got, want) {
				t.Fatalf("round %d, blocks of %d: distances %v, want %v", round, blockLen, got, want)
			}
		}
	}
}

// TestHub: a user with more contacts than are looked up at once, and
// than a block holds.
func TestHub(t *testing.T) {
	users := []wire.UserID{id("hub")}
	var contacts [][2]wire.UserID
	for i := range 1000 {
		u := id(fmt.Sprint("leaf ", i))
		users = append(users, u)
		contacts = append(contacts, [2]wire.UserID{users[0], u})
	}
	contacts = append(contacts, [2]wire.UserID{users[1], users[2]})
	members := []wire.UserID{users[1]}
	want := simpleDistances(users, contacts, members)
	if want[users[0]] != 1 || want[users[2]] != 1 || want[users[3]] != 2 {
		t.Fatalf("simple search: hub %d, leaves %d and %d", want[users[0]], want[users[2]], want[users[3]])
	}
	for _, blockLen := range []int{0, 100, 300} {
		if got := distances(t, users, contacts, members, blockLen); !maps.Equal(got, want) {
			t.Errorf("blocks of %d: distances differ from the simple search's", blockLen)
		}
	}
}

func TestNeighbours(t *testing.T) {
	users := []wire.UserID{id("a"), id("b"), id("c"), id("d")}
	idx := degrees.NewIndex(0)
	for _, u := range append(users, users[0]) { // a second Add is a no-op
		if err := idx.Add(u); err != nil {
			t.Fatal(err)
		}
	}
	if idx.Len() != 4 {
		t.Fatalf("index of %d users, want 4", idx.Len())
	}
	b := degrees.NewBuilder(idx)
	degrees.SetBlockLen(b, 2)
	pairs := stream([][2]wire.UserID{{users[0], users[1]}, {users[0], users[2]}, {users[0], users[3]}, {users[1], users[2]}})
	for _, p := range pairs {
		if err := b.Add(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	g := b.Graph()
	if g.Len() != 4 || g.Pairs() != 8 {
		t.Fatalf("graph of %d users and %d pairs, want 4 and 8", g.Len(), g.Pairs())
	}
	for _, u := range users {
		i, _ := idx.Lookup(u)
		var want []uint32
		for _, p := range pairs {
			if p[0] == u {
				j, _ := idx.Lookup(p[1])
				want = append(want, j)
			}
		}
		if got := g.Neighbours(i); !slices.Equal(got, want) {
			t.Errorf("neighbours of %d: %v, want %v", i, got, want)
		}
	}
}

func TestUnordered(t *testing.T) {
	idx := degrees.NewIndex(3)
	for _, n := range []string{"a", "b", "c"} {
		idx.Add(id(n))
	}
	b := degrees.NewBuilder(idx)
	for _, p := range [][2]string{{"a", "b"}, {"b", "a"}, {"b", "c"}, {"c", "b"}} {
		if err := b.Add(id(p[0]), id(p[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Add(id("a"), id("c")); !errors.Is(err, degrees.ErrUnordered) {
		t.Fatalf("a's contacts in a second run: %v, want ErrUnordered", err)
	}
}

func TestNoContacts(t *testing.T) {
	idx := degrees.NewIndex(2)
	idx.Add(id("a"))
	idx.Add(id("b"))
	g := degrees.NewBuilder(idx).Graph()
	if got := g.Distances([]uint32{1}); !slices.Equal(got, []int32{-1, 0}) {
		t.Fatalf("distances %v, want [-1 0]", got)
	}
	if nb := g.Neighbours(0); len(nb) != 0 {
		t.Fatalf("neighbours %v, want none", nb)
	}
}

// named shows distances by the users' names.
func named(names string, dist map[wire.UserID]int) map[string]int {
	m := make(map[string]int)
	for _, c := range []byte(names) {
		m[string(c)] = dist[id(string(c))]
	}
	return m
}
