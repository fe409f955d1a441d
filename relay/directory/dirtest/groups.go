package dirtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// groupLimits are the bounds the group tests run with, unless a test
// needs smaller ones.
var groupLimits = directory.GroupLimits{Members: wire.MaxGroupMembers, Lists: 1000}

// secrets are a group's three secrets and their hashes.
type secrets struct {
	admin, add, link []byte
}

func newSecrets() secrets {
	return secrets{admin: randomBytes(32), add: randomBytes(32), link: randomBytes(32)}
}

func hash(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func (s secrets) hashes() directory.GroupHashes {
	h := directory.GroupHashes{Admin: hash(s.admin), Add: hash(s.add)}
	if s.link != nil {
		h.Link = hash(s.link)
	}
	return h
}

func newGroupID() wire.ConversationID {
	var g wire.ConversationID
	copy(g[:], randomBytes(len(g)))
	return g
}

// members returns the joined members of g in user order, failing on an
// error.
func members(t testing.TB, d directory.Directory, g wire.ConversationID) []wire.UserID {
	t.Helper()
	us, err := d.GroupMembers(context.Background(), g)
	if err != nil {
		t.Fatalf("GroupMembers: %v", err)
	}
	return sortedUsers(us)
}

func sortedUsers(us []wire.UserID) []wire.UserID {
	us = slices.Clone(us)
	slices.SortFunc(us, func(a, b wire.UserID) int { return bytes.Compare(a[:], b[:]) })
	return us
}

// testGroupRules runs each operation of a member list, allowed and
// refused, as docs/protocol.md's table has them.
func testGroupRules(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	alice, bob, carol, dave, erin := newUser(t, d), newUser(t, d), newUser(t, d), newUser(t, d), newUser(t, d)
	s := newSecrets()
	g := newGroupID()
	change := func(actor wire.UserID, op wire.GroupOp, users []wire.UserID, proof []byte) error {
		c := directory.GroupChange{Group: g, Op: op, Actor: actor, Users: users, Proof: proof}
		if op == wire.GroupCreate || op == wire.GroupKeys {
			c.Hashes = s.hashes()
		}
		return d.ChangeGroup(ctx, c, groupLimits)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	refused := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Fatalf("%s = %v, want %v", what, err, want)
		}
	}
	joined := func(want ...wire.UserID) {
		t.Helper()
		if got := members(t, d, g); !slices.Equal(got, sortedUsers(want)) {
			t.Fatalf("joined members %v, want %v", got, sortedUsers(want))
		}
	}

	refused("add to a group that does not exist", change(alice, wire.GroupAdd, []wire.UserID{bob}, s.add), directory.ErrNotFound)
	refused("join a group that does not exist with a link", change(alice, wire.GroupJoin, nil, s.link), directory.ErrNotFound)
	if _, err := d.GroupMembers(ctx, g); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("GroupMembers(no such group) = %v, want ErrNotFound", err)
	}

	// Alice creates it, inviting Bob (and herself, which changes nothing).
	must("create", change(alice, wire.GroupCreate, []wire.UserID{bob, alice, bob}, nil))
	joined(alice)
	refused("create again", change(bob, wire.GroupCreate, nil, nil), directory.ErrExists)

	// Bob is invited: he may join without a proof, not add.
	refused("add by an invited user", change(bob, wire.GroupAdd, []wire.UserID{carol}, s.add), directory.ErrForbidden)
	must("join when invited", change(bob, wire.GroupJoin, nil, nil))
	must("join again", change(bob, wire.GroupJoin, nil, nil))
	joined(alice, bob)

	// Adding takes a joined member and the admins' or the adders' secret.
	refused("add without a proof", change(bob, wire.GroupAdd, []wire.UserID{carol}, nil), directory.ErrForbidden)
	refused("add with the link's secret", change(bob, wire.GroupAdd, []wire.UserID{carol}, s.link), directory.ErrForbidden)
	refused("add by a stranger with the adders' secret", change(erin, wire.GroupAdd, []wire.UserID{carol}, s.add), directory.ErrForbidden)
	must("add with the adders' secret", change(bob, wire.GroupAdd, []wire.UserID{carol}, s.add))
	must("add with the admins' secret, someone on the list already", change(alice, wire.GroupAdd, []wire.UserID{carol, bob, dave}, s.admin))
	refused("add someone who is not registered", change(alice, wire.GroupAdd, []wire.UserID{wire.NewUserID()}, s.admin), directory.ErrUnknownUser)
	joined(alice, bob) // Carol and Dave are invited only

	// Joining without an invitation takes the link's secret.
	refused("join uninvited without a proof", change(erin, wire.GroupJoin, nil, nil), directory.ErrForbidden)
	refused("join uninvited with the adders' secret", change(erin, wire.GroupJoin, nil, s.add), directory.ErrForbidden)
	must("join with the link's secret", change(erin, wire.GroupJoin, nil, s.link))
	joined(alice, bob, erin)

	// Removing takes the admins' secret; anyone on the list may leave.
	refused("remove with the adders' secret", change(bob, wire.GroupRemove, []wire.UserID{erin}, s.add), directory.ErrForbidden)
	refused("remove by an invited user with the admins' secret", change(carol, wire.GroupRemove, []wire.UserID{erin}, s.admin), directory.ErrForbidden)
	must("remove", change(alice, wire.GroupRemove, []wire.UserID{erin, dave, wire.NewUserID()}, s.admin))
	joined(alice, bob)
	refused("add by a removed member", change(erin, wire.GroupAdd, []wire.UserID{dave}, s.add), directory.ErrForbidden)
	refused("join after removal without a proof", change(dave, wire.GroupJoin, nil, nil), directory.ErrForbidden)
	must("decline an invitation", change(carol, wire.GroupLeave, nil, nil))
	refused("join after declining", change(carol, wire.GroupJoin, nil, nil), directory.ErrForbidden)
	must("leave when not on the list", change(carol, wire.GroupLeave, nil, nil))

	// New keys: the old secrets give nothing any more; without a link,
	// nobody joins uninvited.
	old := s
	s = secrets{admin: randomBytes(32), add: randomBytes(32)}
	refused("keys without the admins' secret", change(bob, wire.GroupKeys, nil, old.add), directory.ErrForbidden)
	must("keys", change(bob, wire.GroupKeys, nil, old.admin))
	refused("add with the old adders' secret", change(bob, wire.GroupAdd, []wire.UserID{dave}, old.add), directory.ErrForbidden)
	refused("join with the old link", change(dave, wire.GroupJoin, nil, old.link), directory.ErrForbidden)
	refused("join with no link and an empty proof", change(dave, wire.GroupJoin, nil, nil), directory.ErrForbidden)
	must("add with the new adders' secret", change(alice, wire.GroupAdd, []wire.UserID{dave}, s.add))

	// Who has joined shares the group; who is invited does not.
	for _, tt := range []struct {
		a, b wire.UserID
		want bool
	}{{alice, bob, true}, {bob, alice, true}, {alice, dave, false}, {alice, erin, false}, {alice, alice, true}, {dave, dave, false}} {
		if got, err := d.SharesGroup(ctx, tt.a, tt.b); err != nil || got != tt.want {
			t.Fatalf("SharesGroup = %v, %v; want %v", got, err, tt.want)
		}
	}

	// The list empties: the group is gone, and its ID free.
	must("alice leaves", change(alice, wire.GroupLeave, nil, nil))
	must("bob removes himself", change(bob, wire.GroupRemove, []wire.UserID{bob}, s.admin))
	must("dave declines", change(dave, wire.GroupLeave, nil, nil))
	if _, err := d.GroupMembers(ctx, g); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("GroupMembers(emptied group) = %v, want ErrNotFound", err)
	}
	if ok, err := d.SharesGroup(ctx, alice, bob); err != nil || ok {
		t.Fatalf("SharesGroup after the group = %v, %v", ok, err)
	}
	must("create the ID again", change(carol, wire.GroupCreate, nil, nil))
	joined(carol)

	// Invalid changes are refused before the directory is read.
	bad := []struct {
		name string
		c    directory.GroupChange
	}{
		{"no group", directory.GroupChange{Op: wire.GroupLeave, Actor: alice}},
		{"no actor", directory.GroupChange{Group: g, Op: wire.GroupLeave}},
		{"unknown op", directory.GroupChange{Group: g, Op: 9, Actor: alice}},
		{"create without hashes", directory.GroupChange{Group: newGroupID(), Op: wire.GroupCreate, Actor: alice}},
		{"keys with a short link hash", directory.GroupChange{Group: g, Op: wire.GroupKeys, Actor: carol, Hashes: directory.GroupHashes{Admin: hash(nil), Add: hash(nil), Link: []byte{1}}}},
		{"join with users", directory.GroupChange{Group: g, Op: wire.GroupJoin, Actor: alice, Users: []wire.UserID{bob}}},
		{"add nobody", directory.GroupChange{Group: g, Op: wire.GroupAdd, Actor: carol, Proof: s.admin}},
		{"add a zero user", directory.GroupChange{Group: g, Op: wire.GroupAdd, Actor: carol, Proof: s.admin, Users: []wire.UserID{{}}}},
		{"leave with hashes", directory.GroupChange{Group: g, Op: wire.GroupLeave, Actor: carol, Hashes: s.hashes()}},
		{"a long proof", directory.GroupChange{Group: g, Op: wire.GroupJoin, Actor: alice, Proof: make([]byte, wire.MaxGroupProof+1)}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if err := d.ChangeGroup(ctx, b.c, groupLimits); !errors.Is(err, directory.ErrInvalid) {
				t.Fatalf("ChangeGroup = %v, want ErrInvalid", err)
			}
		})
	}
	joined(carol)
	if err := d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupLeave, Actor: carol}, directory.GroupLimits{}); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("ChangeGroup(zero limits) = %v, want ErrInvalid", err)
	}
}

// testGroupBounds: a list holds at most Members users, invited or joined,
// and a user is on at most Lists lists; a change that would pass either
// writes nothing.
func testGroupBounds(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	lim := directory.GroupLimits{Members: 3, Lists: 2}
	s := newSecrets()
	create := func(actor wire.UserID, users ...wire.UserID) (wire.ConversationID, error) {
		g := newGroupID()
		return g, d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupCreate, Actor: actor, Users: users, Hashes: s.hashes()}, lim)
	}
	a, b, c, e := newUser(t, d), newUser(t, d), newUser(t, d), newUser(t, d)
	if _, err := create(a, b, c, e); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("create with 4 users of 3 = %v, want ErrFull", err)
	}
	g, err := create(a, b)
	if err != nil {
		t.Fatal(err)
	}
	add := func(actor wire.UserID, users ...wire.UserID) error {
		return d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupAdd, Actor: actor, Users: users, Proof: s.add}, lim)
	}
	if err := add(a, c, e); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("add past 3 = %v, want ErrFull", err)
	}
	if err := add(a, c); err != nil {
		t.Fatal(err)
	}
	joinLink := func(u wire.UserID) error {
		return d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupJoin, Actor: u, Proof: s.link}, lim)
	}
	if err := joinLink(e); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("join a full list by its link = %v, want ErrFull", err)
	}
	// An invited user counts: one declines, and there is room.
	if err := d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupLeave, Actor: c}, lim); err != nil {
		t.Fatal(err)
	}
	if err := joinLink(e); err != nil {
		t.Fatal(err)
	}

	// b is on one list (invited); one more, and no third.
	if _, err := create(b); err != nil {
		t.Fatal(err)
	}
	if _, err := create(b); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("create a third list = %v, want ErrFull", err)
	}
	if _, err := create(c, b); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("invite to a third list = %v, want ErrFull", err)
	}
	if got := members(t, d, g); !slices.Equal(got, sortedUsers([]wire.UserID{a, e})) {
		t.Fatalf("joined %v after refusals", got)
	}
}

// testConcurrentGroups: joins, adds and creates racing from many
// goroutines never take a list or a user past the bounds.
func testConcurrentGroups(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	lim := directory.GroupLimits{Members: 6, Lists: 4}
	s := newSecrets()
	owner := newUser(t, d)
	g := newGroupID()
	if err := d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupCreate, Actor: owner, Hashes: s.hashes()}, lim); err != nil {
		t.Fatal(err)
	}
	const tries = 16
	joiners := make([]wire.UserID, tries)
	for i := range joiners {
		joiners[i] = newUser(t, d)
	}
	creator := newUser(t, d)
	var wg sync.WaitGroup
	errs := make(chan error, 3*tries)
	for i, u := range joiners {
		wg.Go(func() {
			c := directory.GroupChange{Group: g, Op: wire.GroupJoin, Actor: u, Proof: s.link}
			if i%2 == 1 {
				c = directory.GroupChange{Group: g, Op: wire.GroupAdd, Actor: owner, Users: []wire.UserID{u}, Proof: s.add}
			}
			if err := d.ChangeGroup(ctx, c, lim); err != nil && !errors.Is(err, directory.ErrFull) {
				errs <- err
			}
		})
		wg.Go(func() {
			c := directory.GroupChange{Group: newGroupID(), Op: wire.GroupCreate, Actor: creator, Hashes: s.hashes()}
			if err := d.ChangeGroup(ctx, c, lim); err != nil && !errors.Is(err, directory.ErrFull) {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The list is full: the owner and five others, joined or invited.
	joined := len(members(t, d, g))
	invited := 0
	for i, u := range joiners {
		if i%2 == 0 {
			continue
		}
		// An invited user joins without a proof; one not on the list
		// is refused.
		err := d.ChangeGroup(ctx, directory.GroupChange{Group: g, Op: wire.GroupJoin, Actor: u}, lim)
		switch {
		case err == nil:
			invited++
		case !errors.Is(err, directory.ErrForbidden):
			t.Fatal(err)
		}
	}
	if joined+invited != lim.Members {
		t.Fatalf("%d joined and %d invited, want %d on the list", joined, invited, lim.Members)
	}
	if got := len(members(t, d, g)); got != lim.Members {
		t.Fatalf("%d joined, want %d", got, lim.Members)
	}
	// The creator made as many lists as allowed, no more.
	if err := d.ChangeGroup(ctx, directory.GroupChange{Group: newGroupID(), Op: wire.GroupCreate, Actor: creator, Hashes: s.hashes()}, lim); !errors.Is(err, directory.ErrFull) {
		t.Fatalf("one more create = %v, want ErrFull", err)
	}
	if err := d.ChangeGroup(ctx, directory.GroupChange{Group: newGroupID(), Op: wire.GroupCreate, Actor: creator, Hashes: s.hashes()}, directory.GroupLimits{Members: 6, Lists: 5}); err != nil {
		t.Fatalf("create within a larger bound: %v (the creator passed %d lists)", err, lim.Lists)
	}
}

// testDeviceIDs: the device IDs of several users at once, as Devices
// gives them one user at a time.
func testDeviceIDs(t *testing.T, d directory.Directory) {
	ctx := context.Background()
	a, a1 := newDevice(t, d)
	a2, err := d.AddDevice(ctx, a, "laptop", randomBytes(32), 0)
	if err != nil {
		t.Fatal(err)
	}
	b, b1 := newDevice(t, d)
	if err := d.RemoveDevice(ctx, b, b1); err != nil {
		t.Fatal(err)
	}
	c, c1 := newDevice(t, d)
	ghost := wire.NewUserID()
	got, err := d.DeviceIDs(ctx, []wire.UserID{a, b, c, ghost, a})
	if err != nil {
		t.Fatal(err)
	}
	want := map[wire.UserID][]wire.DeviceID{a: {a1, a2}, c: {c1}}
	if len(got) != len(want) || !slices.Equal(got[a], want[a]) || !slices.Equal(got[c], want[c]) {
		t.Fatalf("DeviceIDs = %v, want %v", got, want)
	}
	if got, err := d.DeviceIDs(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("DeviceIDs(nobody) = %v, %v", got, err)
	}
	// More users than one statement binds.
	many := make([]wire.UserID, 2500)
	for i := range many {
		many[i] = wire.NewUserID()
	}
	many[2400] = c
	if got, err := d.DeviceIDs(ctx, many); err != nil || len(got) != 1 || !slices.Equal(got[c], []wire.DeviceID{c1}) {
		t.Fatalf("DeviceIDs(2,500 users) = %v, %v", got, err)
	}
}
