package client

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/store/memstore"
	"github.com/mutualcoop/mutual/relay/wire"
)

var (
	ann  = wire.UserID{0xa1}
	ben  = wire.UserID{0xb1}
	cleo = wire.UserID{0xc1}
	dan  = wire.UserID{0xd1}
	eve  = wire.UserID{0xe1}
)

// sampleGroup: Ann (admin), Ben and Cleo joined, Dan invited by Ben.
func sampleGroup() *groupState {
	return &groupState{
		ID: wire.ConversationID{7}, Name: "Family", Version: 4, Created: 1_700_000_000_000,
		Members: []groupMember{
			{User: ann, Admin: true, Joined: true},
			{User: ben, Joined: true, AddedBy: ann},
			{User: cleo, Joined: true, AddedBy: ann},
			{User: dan, AddedBy: ben},
		},
	}
}

// TestGroupRules: who may make which change, under the state held.
func TestGroupRules(t *testing.T) {
	canAdd := sampleGroup()
	canAdd.MembersCanAdd = true
	for _, tc := range []struct {
		name  string
		s     *groupState
		actor wire.UserID
		ev    GroupEvent
		ok    bool
	}{
		{"admin renames", sampleGroup(), ann, GroupEvent{Kind: EventRenamed, Name: "Clan"}, true},
		{"member renames", sampleGroup(), ben, GroupEvent{Kind: EventRenamed, Name: "Clan"}, false},
		{"admin renames to nothing", sampleGroup(), ann, GroupEvent{Kind: EventRenamed, Name: ""}, false},
		{"admin renames to the same", sampleGroup(), ann, GroupEvent{Kind: EventRenamed, Name: "Family"}, false},
		{"admin renames with a bidi control", sampleGroup(), ann, GroupEvent{Kind: EventRenamed, Name: "\u202eClan"}, false},
		{"admin adds", sampleGroup(), ann, GroupEvent{Kind: EventAdded, Subjects: []wire.UserID{eve}}, true},
		{"member adds", sampleGroup(), ben, GroupEvent{Kind: EventAdded, Subjects: []wire.UserID{eve}}, false},
		{"member adds when members may", canAdd, ben, GroupEvent{Kind: EventAdded, Subjects: []wire.UserID{eve}}, true},
		{"invited adds when members may", canAdd, dan, GroupEvent{Kind: EventAdded, Subjects: []wire.UserID{eve}}, false},
		{"admin adds a member again", sampleGroup(), ann, GroupEvent{Kind: EventAdded, Subjects: []wire.UserID{ben}}, false},
		{"admin adds one twice", sampleGroup(), ann, GroupEvent{Kind: EventAdded, Subjects: []wire.UserID{eve, eve}}, false},
		{"admin adds nobody", sampleGroup(), ann, GroupEvent{Kind: EventAdded}, false},
		{"admin removes", sampleGroup(), ann, GroupEvent{Kind: EventRemoved, Subjects: []wire.UserID{cleo}}, true},
		{"admin removes an invited", sampleGroup(), ann, GroupEvent{Kind: EventRemoved, Subjects: []wire.UserID{dan}}, true},
		{"admin removes themself", sampleGroup(), ann, GroupEvent{Kind: EventRemoved, Subjects: []wire.UserID{ann}}, false},
		{"admin removes a stranger", sampleGroup(), ann, GroupEvent{Kind: EventRemoved, Subjects: []wire.UserID{eve}}, false},
		{"member removes", sampleGroup(), ben, GroupEvent{Kind: EventRemoved, Subjects: []wire.UserID{cleo}}, false},
		{"admin makes an admin", sampleGroup(), ann, GroupEvent{Kind: EventAdmin, Subjects: []wire.UserID{ben}}, true},
		{"admin makes an invited an admin", sampleGroup(), ann, GroupEvent{Kind: EventAdmin, Subjects: []wire.UserID{dan}}, false},
		{"member makes themself admin", sampleGroup(), ben, GroupEvent{Kind: EventAdmin, Subjects: []wire.UserID{ben}}, false},
		{"admin demotes a member", sampleGroup(), ann, GroupEvent{Kind: EventNotAdmin, Subjects: []wire.UserID{ben}}, false},
		{"admin demotes themself", sampleGroup(), ann, GroupEvent{Kind: EventNotAdmin, Subjects: []wire.UserID{ann}}, true},
		{"admin lets members add", sampleGroup(), ann, GroupEvent{Kind: EventSettings, MembersCanAdd: true}, true},
		{"admin changes nothing", sampleGroup(), ann, GroupEvent{Kind: EventSettings}, false},
		{"member lets members add", sampleGroup(), ben, GroupEvent{Kind: EventSettings, MembersCanAdd: true}, false},
		{"member leaves", sampleGroup(), cleo, GroupEvent{Kind: EventLeft}, true},
		{"invited leaves", sampleGroup(), dan, GroupEvent{Kind: EventLeft}, true},
		{"leaving names others", sampleGroup(), cleo, GroupEvent{Kind: EventLeft, Subjects: []wire.UserID{ben}}, false},
		{"stranger leaves", sampleGroup(), eve, GroupEvent{Kind: EventLeft}, false},
		{"invited joins", sampleGroup(), dan, GroupEvent{Kind: EventJoined}, true},
		{"member joins again", sampleGroup(), ben, GroupEvent{Kind: EventJoined}, false},
		{"stranger joins", sampleGroup(), eve, GroupEvent{Kind: EventJoined}, false},
		{"invited renames", sampleGroup(), dan, GroupEvent{Kind: EventRenamed, Name: "Clan"}, false},
		{"created is no change", sampleGroup(), ann, GroupEvent{Kind: EventCreated, Name: "Clan"}, false},
		{"unknown kind", sampleGroup(), ann, GroupEvent{Kind: 99}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.ev.Actor = tc.actor
			before := tc.s.clone()
			ns, err := applyChange(tc.s, &tc.ev, tc.actor)
			if !reflect.DeepEqual(tc.s, before) {
				t.Fatal("applyChange changed the state it was given")
			}
			if !tc.ok {
				if !errors.Is(err, errGroupRule) {
					t.Fatalf("allowed (%v): %+v", err, ns)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ns.Version != tc.s.Version+1 {
				t.Fatalf("version %d after %d", ns.Version, tc.s.Version)
			}
		})
	}

	// The effects.
	s := sampleGroup()
	ns, err := applyChange(s, &GroupEvent{Kind: EventAdded, Actor: ann, Subjects: []wire.UserID{eve}}, ann)
	if err != nil || ns.member(eve) != 4 || ns.Members[4] != (groupMember{User: eve, AddedBy: ann}) {
		t.Fatalf("added: %+v %v", ns, err)
	}
	ns, err = applyChange(s, &GroupEvent{Kind: EventRemoved, Actor: ann, Subjects: []wire.UserID{cleo}}, ann)
	if err != nil || ns.member(cleo) >= 0 || len(ns.Members) != 3 {
		t.Fatalf("removed: %+v %v", ns, err)
	}
	ns, err = applyChange(s, &GroupEvent{Kind: EventJoined, Actor: dan}, dan)
	if err != nil || !ns.joined(dan) {
		t.Fatalf("joined: %+v %v", ns, err)
	}
	if _, err := applyChange(s, &GroupEvent{Kind: EventLeft, Actor: ben}, cleo); !errors.Is(err, errGroupRule) {
		t.Fatalf("an event naming another actor was applied: %v", err)
	}
}

// TestMergeState: a device applies the next version as a change to its
// own state (whatever else the sender's state says), a join or leave of
// the writer whatever its version (without moving its own), a newer
// state that skips versions only from an admin, and drops the rest.
func TestMergeState(t *testing.T) {
	held := sampleGroup()
	rename := &GroupEvent{Kind: EventRenamed, Actor: ann, Name: "Clan"}

	// The next version: the change is applied to the state held, and
	// what else the carried state says is not taken.
	carried := held.clone()
	carried.Version, carried.Name = 5, "Clan"
	carried.Members[1].Admin = true // slipped in
	ns, full, err := mergeState(held, carried, rename, ann)
	if err != nil || full || ns.Version != 5 || ns.Name != "Clan" || ns.Members[1].Admin {
		t.Fatalf("next version: %+v full %v %v", ns, full, err)
	}

	// An older or the same version: dropped.
	for _, v := range []uint64{3, 4} {
		old := carried.clone()
		old.Version = v
		if _, _, err := mergeState(held, old, rename, ann); !errors.Is(err, errGroupRule) {
			t.Fatalf("version %d after 4 was applied: %v", v, err)
		}
	}

	// The writer's own join, sent as the same version another change
	// took: applied, the version stays.
	join := held.clone()
	join.Members[3].Joined = true
	ns, _, err = mergeState(held, join, &GroupEvent{Kind: EventJoined, Actor: dan}, dan)
	if err != nil || ns.Version != 4 || !ns.joined(dan) {
		t.Fatalf("own join at the same version: %+v %v", ns, err)
	}
	// ... but only their own.
	if _, _, err := mergeState(held, join, &GroupEvent{Kind: EventJoined, Actor: dan}, ben); !errors.Is(err, errGroupRule) {
		t.Fatalf("a join by someone else was applied: %v", err)
	}

	// A jump: whole from an admin, dropped from anyone else.
	jump := held.clone()
	jump.Version, jump.Name = 9, "Clan"
	jump.Members = jump.Members[:2]
	ns, full, err = mergeState(held, jump, rename, ann)
	if err != nil || !full || !reflect.DeepEqual(ns, jump) {
		t.Fatalf("an admin's jump: %+v full %v %v", ns, full, err)
	}
	ben2 := &GroupEvent{Kind: EventLeft, Actor: ben}
	jump.Members[1].Joined = false
	if _, _, err := mergeState(held, jump, &GroupEvent{Kind: EventRenamed, Actor: ben, Name: "Clan"}, ben); !errors.Is(err, errGroupRule) {
		t.Fatalf("a member's jump was applied: %v", err)
	}
	// A leave is applied whatever its version.
	if ns, _, err := mergeState(held, jump, ben2, ben); err != nil || ns.member(ben) >= 0 || ns.Version != 4 {
		t.Fatalf("a leave with a jump: %+v %v", ns, err)
	}
	// Another group's state is never applied.
	other := carried.clone()
	other.ID = wire.ConversationID{8}
	if _, _, err := mergeState(held, other, rename, ann); !errors.Is(err, errGroupRule) {
		t.Fatalf("another group's state was applied: %v", err)
	}
}

// TestMergeLate: a change written before this device's account joined,
// at the version its own join gave it, is applied as a change without
// moving the version; at any other version, or when the writer's state
// says this account had joined, mergeState decides.
func TestMergeLate(t *testing.T) {
	// Dan joined (version 5, his own); Ann, who had not applied his
	// join, added Eve as version 5 too.
	held := sampleGroup()
	held.Version, held.Members[3].Joined = 5, true
	carried := sampleGroup()
	carried.Version = 5
	carried.Members = append(carried.Members, groupMember{User: eve, AddedBy: ann})
	add := &GroupEvent{Kind: EventAdded, Actor: ann, Subjects: []wire.UserID{eve}}
	ns, err := mergeLate(held, carried, add, ann, dan)
	if err != nil || ns.Version != 5 || ns.member(eve) != 4 || !ns.joined(dan) {
		t.Fatalf("a change written before the join: %+v %v", ns, err)
	}

	for _, tc := range []struct {
		name    string
		edit    func(held, carried *groupState)
		ev      *GroupEvent
		actor   wire.UserID
		self    wire.UserID
		applied bool
	}{
		{"the writer knew of the join", func(_, c *groupState) { c.Members[3].Joined = true }, add, ann, dan, false},
		{"an older version", func(_, c *groupState) { c.Version = 4 }, add, ann, dan, false},
		{"self has not joined", func(h, _ *groupState) { h.Members[3].Joined = false }, add, ann, dan, false},
		{"self is not on the carried state", func(_, c *groupState) { c.Members = c.Members[:3] }, add, ann, dan, false},
		{"a change the writer may not make", nil, &GroupEvent{Kind: EventAdded, Actor: cleo, Subjects: []wire.UserID{eve}}, cleo, dan, false},
		{"the next version", func(_, c *groupState) { c.Version = 6 }, add, ann, dan, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, c := held.clone(), carried.clone()
			if tc.edit != nil {
				tc.edit(h, c)
			}
			ns, err := mergeLate(h, c, tc.ev, tc.actor, tc.self)
			if tc.applied != (err == nil) {
				t.Fatalf("applied %v: %+v %v", err == nil, ns, err)
			}
			if err != nil && !errors.Is(err, errGroupRule) {
				t.Fatal(err)
			}
		})
	}
}

// TestEntitledSecrets: an admin may hold every secret (the link's only
// while there is a link), a member the adders' secret when every member
// may add, and nobody else anything.
func TestEntitledSecrets(t *testing.T) {
	all := groupSecrets{Admin: bytes.Repeat([]byte{1}, 32), Add: bytes.Repeat([]byte{2}, 32), Link: bytes.Repeat([]byte{3}, 32)}
	s := sampleGroup()
	for _, tc := range []struct {
		name string
		u    wire.UserID
		can  bool
		link LinkMode
		want groupSecrets
	}{
		{"admin", ann, false, LinkOpen, all},
		{"admin without a link", ann, false, LinkOff, groupSecrets{Admin: all.Admin, Add: all.Add}},
		{"member", ben, false, LinkApprove, groupSecrets{}},
		{"member when members may add", ben, true, LinkOpen, groupSecrets{Add: all.Add}},
		{"invited when members may add", dan, true, LinkOff, groupSecrets{Add: all.Add}},
		{"stranger", eve, true, LinkOpen, groupSecrets{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.MembersCanAdd, s.Link = tc.can, tc.link
			if got := s.entitled(all, tc.u); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestGroupSecretsOnlyToWhoMayHold: an invitation carries only the
// secrets its invitee may hold, and a device takes only the secrets the
// giver may give and it may hold.
func TestGroupSecretsOnlyToWhoMayHold(t *testing.T) {
	st := memstore.New()
	c := offlineClient(t, st)
	ctx := context.Background()
	self := c.me().User
	admin := groupSecrets{Admin: bytes.Repeat([]byte{1}, 32), Add: bytes.Repeat([]byte{2}, 32)}
	s := sampleGroup()
	s.Members = append(s.Members, groupMember{User: self, Joined: true, AddedBy: ann})

	// Invitations from an admin: to a member, nothing unless members may add.
	for _, can := range []bool{false, true} {
		s.MembersCanAdd = can
		g := &groupRecord{State: s.clone(), Status: GroupJoined, Secrets: admin}
		g.State.Members[4].Admin = true
		g.State.Members = append(g.State.Members, groupMember{User: eve, AddedBy: self})
		err := c.update(ctx, func(ts *txState) error {
			if err := deletePrefix(ts.tx, bOutbox, nil); err != nil {
				return err
			}
			return c.invite(ts, g, &GroupEvent{Kind: EventAdded, Actor: self, Subjects: []wire.UserID{eve}}, []wire.UserID{eve})
		})
		if err != nil {
			t.Fatal(err)
		}
		var got *content
		err = st.View(ctx, func(tx store.Tx) error {
			return tx.Scan(bOutbox, nil, func(_, v []byte) error {
				e, err := parseOutbox(v)
				if err == nil {
					got, err = openContent(e.Padded)
				}
				return err
			})
		})
		if err != nil || got == nil {
			t.Fatalf("no invitation: %v", err)
		}
		want := groupSecrets{}
		if can {
			want.Add = admin.Add
		}
		if got.Secrets == nil || !reflect.DeepEqual(*got.Secrets, want) {
			t.Fatalf("members may add %v: the invitation carries %+v, want %+v", can, got.Secrets, want)
		}
	}

	// Taking secrets: a member takes the adders' secret from a member
	// only when members may add, and never the admins' secret from a
	// member; a member made admin takes the admins' from an admin.
	for _, tc := range []struct {
		name     string
		from     wire.UserID
		can      bool
		selfAdm  bool
		wantAdm  bool
		wantAdd  bool
		selfJoin bool
	}{
		{"from a member", ben, false, false, false, false, true},
		{"from a member, members may add", ben, true, false, false, true, true},
		{"from an admin to a member", ann, false, false, false, false, true},
		{"from an admin to a member, members may add", ann, true, false, false, true, true},
		{"from an admin to an admin", ann, false, true, true, true, true},
		{"from a member to an admin", ben, false, true, false, false, true},
		{"to one who has not joined", ann, true, false, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sampleGroup()
			s.MembersCanAdd = tc.can
			s.Members = append(s.Members, groupMember{User: self, Joined: tc.selfJoin, Admin: tc.selfAdm, AddedBy: ann})
			status := GroupJoined
			if !tc.selfJoin {
				status = GroupInvited
			}
			var got groupSecrets
			err := c.update(ctx, func(ts *txState) error {
				if err := putGroup(ts.tx, &groupRecord{State: s, Status: status}); err != nil {
					return err
				}
				var r received
				if err := c.takeSecrets(ts, s.ID, tc.from, &admin, &r); err != nil {
					return err
				}
				g, err := loadGroup(ts.tx, s.ID)
				if err == nil {
					got = g.Secrets
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if (len(got.Admin) > 0) != tc.wantAdm || (len(got.Add) > 0) != tc.wantAdd {
				t.Fatalf("took %+v", got)
			}
		})
	}
}

// TestGroupEncodings: a group's state, change and secrets, a synced
// group and the records read back as written; what is not one is
// refused.
func TestGroupEncodings(t *testing.T) {
	s := sampleGroup()
	s.MembersCanAdd = true
	sec := &groupSecrets{Admin: bytes.Repeat([]byte{1}, 32), Add: bytes.Repeat([]byte{2}, 32)}
	ev := &GroupEvent{Kind: EventAdded, Actor: ann, Subjects: []wire.UserID{ben, cleo}, Name: "x", MembersCanAdd: true}
	want := &content{
		Kind: kindGroupState, SentAt: 9, Group: s.ID, State: s, Event: ev, Secrets: sec, Name: "Ann",
	}
	got, err := openContent(mustSeal(t, want))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("state: got %+v, %v", got, err)
	}
	keyMsg := &content{Kind: kindSenderKey, Group: s.ID, SenderKey: []byte("distribution"), Secrets: &groupSecrets{}}
	if got, err := openContent(mustSeal(t, keyMsg)); err != nil || !reflect.DeepEqual(got, keyMsg) {
		t.Fatalf("sender key: got %+v, %v", got, err)
	}
	sync := &content{Kind: kindGroups, Groups: []syncedGroup{{State: s, Status: GroupJoined, InvitedBy: ann, Secrets: *sec}, {State: sampleGroup(), Status: GroupLeft}}}
	if got, err := openContent(mustSeal(t, sync)); err != nil || !reflect.DeepEqual(got, sync) {
		t.Fatalf("groups sync: got %+v, %v", got, err)
	}
	rec := &groupRecord{State: s, Status: GroupInvited, InvitedBy: ben, Secrets: *sec, Rotate: true, Since: 5}
	if got, err := parseGroupRecord(rec.marshal()); err != nil || !reflect.DeepEqual(got, rec) {
		t.Fatalf("record: got %+v, %v", got, err)
	}
	m := &Message{ID: wire.MessageID{1}, Conversation: s.ID, Author: ann, Event: ev, State: StateRead}
	if got, err := parseMessage(m.marshal()); err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("message: got %+v, %v", got, err)
	}
	e := sampleOutbox()
	e.Group, e.Shared, e.Dist, e.Secrets = s.ID, []byte("shared"), []byte("dist"), true
	e.Pre = []preSend{{MessageID: wire.MessageID{3}, Recipients: []wire.Recipient{{User: ann, Device: 2, Ciphertext: []byte("ct")}}}}
	if got, err := parseOutbox(e.marshal()); err != nil || !reflect.DeepEqual(got, e) {
		t.Fatalf("outbox: got %+v, %v", got, err)
	}
	for _, r := range []any{
		&pendingRecord{Sender: ann, SenderDevice: 3, MessageID: wire.MessageID{4}, ServerTimeMS: 6, Own: []byte("own"), Shared: []byte("shared")},
		&receiptRecord{State: StateRead, At: 8},
		&memberName{Name: "Ann", At: 2},
		&dueRecord{Op: dueLeave, After: 12},
		&replayRecord{MessageID: wire.MessageID{5}, Seq: 9, At: 10, ContentKind: kindText, Padded: []byte("padded"), Invited: []wire.UserID{ben, dan}},
	} {
		var got any
		var err error
		switch r := r.(type) {
		case *pendingRecord:
			got, err = parsePending(r.marshal())
		case *receiptRecord:
			got, err = parseReceiptRecord(r.marshal())
		case *memberName:
			got, err = parseMemberName(r.marshal())
		case *dueRecord:
			got, err = parseDue(r.marshal())
		case *replayRecord:
			got, err = parseReplay(r.marshal())
		}
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("%T: got %+v, %v", r, got, err)
		}
	}

	// Not states.
	twice := sampleGroup()
	twice.Members = append(twice.Members, twice.Members[0])
	for name, b := range map[string][]byte{
		"no ID":        (&groupState{Name: "x", Version: 1}).marshal(),
		"no version":   (&groupState{ID: s.ID, Name: "x"}).marshal(),
		"no name":      (&groupState{ID: s.ID, Version: 1}).marshal(),
		"a bidi name":  (&groupState{ID: s.ID, Version: 1, Name: "\u202ex"}).marshal(),
		"a long name":  (&groupState{ID: s.ID, Version: 1, Name: strings.Repeat("x", MaxGroupName+1)}).marshal(),
		"twice listed": twice.marshal(),
		"no user":      (&groupState{ID: s.ID, Version: 1, Name: "x", Members: []groupMember{{Admin: true}}}).marshal(),
	} {
		if _, err := parseGroupState(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := parseGroupSecrets((&groupSecrets{Admin: []byte("short")}).marshal()); err == nil {
		t.Error("a short secret parsed")
	}
}

// The fuzz targets check that no input makes a group decoder panic or
// accept more than its limits, and that what decodes re-encodes to
// something that decodes the same.

func FuzzParseGroupState(f *testing.F) {
	f.Add(sampleGroup().marshal())
	f.Add((&groupState{ID: wire.ConversationID{1}, Name: "x", Version: 1}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseGroupState(b)
		if err != nil {
			return
		}
		if len(s.Members) > MaxGroupMembers || checkGroupName(s.Name) != nil {
			t.Fatalf("over the limits: %d members, name %q", len(s.Members), s.Name)
		}
		again, err := parseGroupState(s.marshal())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, s)
		}
	})
}

func FuzzParseGroupEvent(f *testing.F) {
	f.Add(marshalEvent(&GroupEvent{Kind: EventAdded, Actor: ann, Subjects: []wire.UserID{ben}, Name: "x"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := parseGroupEvent(b)
		if err != nil {
			return
		}
		if len(ev.Subjects) > MaxGroupMembers {
			t.Fatalf("%d subjects", len(ev.Subjects))
		}
		again, err := parseGroupEvent(marshalEvent(ev))
		if err != nil || !reflect.DeepEqual(again, ev) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, ev)
		}
	})
}

func FuzzParseGroupSecrets(f *testing.F) {
	f.Add((&groupSecrets{Admin: make([]byte, 32), Add: make([]byte, 32)}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseGroupSecrets(b)
		if err != nil {
			return
		}
		for _, v := range [][]byte{s.Admin, s.Add, s.Link} {
			if len(v) != 0 && len(v) != secretSize {
				t.Fatalf("a secret of %d bytes", len(v))
			}
		}
		again, err := parseGroupSecrets(s.marshal())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, s)
		}
	})
}

func FuzzParseGroupRecord(f *testing.F) {
	f.Add((&groupRecord{State: sampleGroup(), Status: GroupJoined, Secrets: groupSecrets{Add: make([]byte, 32)}, Rotate: true}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := parseGroupRecord(b)
		if err != nil {
			return
		}
		again, err := parseGroupRecord(g.marshal())
		if err != nil || !reflect.DeepEqual(again, g) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, g)
		}
	})
}

func FuzzParseSyncedGroup(f *testing.F) {
	f.Add((&content{Kind: kindGroups, Groups: []syncedGroup{{State: sampleGroup(), Status: GroupJoined}}}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseContent(b)
		if err != nil {
			return
		}
		if len(m.Groups) > maxSyncedGroups {
			t.Fatalf("%d groups", len(m.Groups))
		}
		again, err := parseContent(m.marshal())
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, m)
		}
	})
}

func FuzzParsePending(f *testing.F) {
	f.Add((&pendingRecord{Sender: ann, SenderDevice: 1, MessageID: wire.MessageID{1}, Own: []byte{1}, Shared: []byte{2}}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePending(b)
		if err != nil {
			return
		}
		again, err := parsePending(p.marshal())
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, p)
		}
	})
}

func FuzzParseReplay(f *testing.F) {
	f.Add((&replayRecord{MessageID: wire.MessageID{1}, Seq: 2, At: 3, ContentKind: kindText, Padded: []byte{1}, Invited: []wire.UserID{ben}}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseReplay(b)
		if err != nil {
			return
		}
		again, err := parseReplay(p.marshal())
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("re-encoded: %+v %v, want %+v", again, err, p)
		}
	})
}

func FuzzParseGroupSmallRecords(f *testing.F) {
	f.Add((&receiptRecord{State: StateRead, At: 3}).marshal())
	f.Add((&memberName{Name: "Ann", At: 3}).marshal())
	f.Add((&dueRecord{Op: dueJoin, After: 3}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := parseReceiptRecord(b); err == nil {
			if _, err := parseReceiptRecord(r.marshal()); err != nil {
				t.Fatalf("receipt re-encoded: %v", err)
			}
		}
		if n, err := parseMemberName(b); err == nil {
			if _, err := parseMemberName(n.marshal()); err != nil {
				t.Fatalf("name re-encoded: %v", err)
			}
		}
		if d, err := parseDue(b); err == nil {
			if _, err := parseDue(d.marshal()); err != nil {
				t.Fatalf("due re-encoded: %v", err)
			}
		}
	})
}
