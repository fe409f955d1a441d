package client

import (
	"errors"
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"

	"github.com/mutualcoop/mutual/relay/wire"
)

// A group's state (its name, members, roles and settings) travels end to
// end, in content of kind groupState (content field 10), and every
// change carries the whole new state with the change itself (a
// GroupEvent, content field 11) and the version after it (one more than
// before). The relay keeps only the member list, changed with SetGroup.
//
// Who may make which change, under the state the receiving device holds:
//
//	rename (EventRenamed)             an admin
//	add members (EventAdded)          an admin; every member when MembersCanAdd
//	remove members (EventRemoved)     an admin (not themself: they leave)
//	make admin (EventAdmin)           an admin, of members who joined
//	make member only (EventNotAdmin)  an admin, of admins
//	settings (EventSettings)          an admin
//	invite link (EventLink,           an admin (see invite.go)
//	  EventLinkReset, EventLinkJoined)
//	leave (EventLeft)                 any member, for themself
//	join (EventJoined)                an invited member, for themself
//
// Only members who joined may change anything but their own joining.
// A device applies a change (applyChange) when its version is the next
// one: the state it then holds is the change applied to its own, so that
// a member cannot slip other changes into the state they send. A join or
// a leave of the writer themself is applied whatever its version (members
// who accept an invitation at the same time each send the next version)
// and then leaves the version as it is. A newer state that skips
// versions is taken whole from an admin (this device missed changes).
// A change written before this device's account joined, which it gets
// once it has joined (groupreplay.go), may carry the very version its own
// join gave it: it is applied too, as it is, and leaves the version as it
// is (see mergeLate). Anything else (an older version, a change the
// writer may not make) is dropped.

// groupState is a group's state as it travels: content field 10.
//
//	GroupState {
//	  1 id bytes (16), 2 name string, 3 version uint64,
//	  4 members repeated Member {1 user bytes (16), 2 admin bool,
//	    3 joined bool, 4 added by bytes (16)},
//	  5 members can add bool, 6 created sint64 (the creator's clock, Unix ms),
//	  7 invite link uint32 (LinkMode: 0 off, 1 an admin approves, 2 anyone joins)
//	}
type groupState struct {
	ID            wire.ConversationID
	Name          string
	Version       uint64
	Members       []groupMember
	MembersCanAdd bool
	Created       int64
	Link          LinkMode
}

// groupMember is one member of a groupState.
type groupMember struct {
	User    wire.UserID
	Admin   bool
	Joined  bool
	AddedBy wire.UserID
}

// errGroupRule: a change the writer may not make, or a state that is not
// one (see applyChange).
var errGroupRule = errors.New("group change not allowed")

// member returns the index of u in s.Members, or -1.
func (s *groupState) member(u wire.UserID) int {
	return slices.IndexFunc(s.Members, func(m groupMember) bool { return m.User == u })
}

// isAdmin reports whether u is an admin who joined.
func (s *groupState) isAdmin(u wire.UserID) bool {
	i := s.member(u)
	return i >= 0 && s.Members[i].Admin && s.Members[i].Joined
}

// joined reports whether u is a member who joined.
func (s *groupState) joined(u wire.UserID) bool {
	i := s.member(u)
	return i >= 0 && s.Members[i].Joined
}

// admins counts the admins who joined.
func (s *groupState) admins() int {
	n := 0
	for _, m := range s.Members {
		if m.Admin && m.Joined {
			n++
		}
	}
	return n
}

func (s *groupState) clone() *groupState {
	cp := *s
	cp.Members = slices.Clone(s.Members)
	return &cp
}

// checkGroupName reports whether name can be a group's name: 1 to
// MaxGroupName bytes of UTF-8 without control characters, line or
// paragraph separators or bidirectional controls.
func checkGroupName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrBadGroupName)
	case len(name) > MaxGroupName:
		return fmt.Errorf("%w: over %d bytes", ErrBadGroupName, MaxGroupName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: not UTF-8", ErrBadGroupName)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
			return fmt.Errorf("%w: control character %U", ErrBadGroupName, r)
		}
	}
	return nil
}

func (s *groupState) marshal() []byte {
	e := &enc{}
	e.id(1, s.ID)
	e.string(2, s.Name)
	e.uint(3, s.Version)
	for _, m := range s.Members {
		me := &enc{}
		me.id(1, m.User)
		me.bool(2, m.Admin)
		me.bool(3, m.Joined)
		me.id(4, m.AddedBy)
		e.message(4, me.b)
	}
	e.bool(5, s.MembersCanAdd)
	e.sint(6, s.Created)
	e.uint(7, uint64(s.Link))
	return e.b
}

// parseGroupState reads an embedded GroupState and checks that it is
// one: an ID, a valid name, a version, at most MaxGroupMembers members,
// each once, with a user ID.
func parseGroupState(b []byte) (*groupState, error) {
	s := new(groupState)
	err := decodeFields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&s.ID))
		case 2:
			s.Name, err = f.string(MaxGroupName)
		case 3:
			s.Version, err = f.uint64()
		case 4:
			if len(s.Members) == MaxGroupMembers {
				return fmt.Errorf("%w: more than %d members", errMalformed, MaxGroupMembers)
			}
			if err = f.wantBytes(); err != nil {
				return err
			}
			var m groupMember
			err = decodeFields(f.b, func(g field) (err error) {
				switch g.num {
				case 1:
					err = g.id((*[16]byte)(&m.User))
				case 2:
					m.Admin, err = g.bool()
				case 3:
					m.Joined, err = g.bool()
				case 4:
					err = g.id((*[16]byte)(&m.AddedBy))
				}
				return err
			})
			if err == nil && m.User.IsZero() {
				err = fmt.Errorf("%w: a member without a user", errMalformed)
			}
			if err == nil && s.member(m.User) >= 0 {
				err = fmt.Errorf("%w: a member listed twice", errMalformed)
			}
			s.Members = append(s.Members, m)
		case 5:
			s.MembersCanAdd, err = f.bool()
		case 6:
			s.Created, err = f.sint64()
		case 7:
			s.Link, err = parseLinkMode(f)
		}
		return err
	})
	switch {
	case err != nil:
	case s.ID == (wire.ConversationID{}):
		err = fmt.Errorf("%w: no group ID", errMalformed)
	case s.Version == 0:
		err = fmt.Errorf("%w: no version", errMalformed)
	default:
		if nerr := checkGroupName(s.Name); nerr != nil {
			err = fmt.Errorf("%w: %w", errMalformed, nerr)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("group state: %w", err)
	}
	return s, nil
}

// marshalEvent encodes a GroupEvent: content field 11, and field 21 of a
// stored message.
//
//	GroupEvent {1 kind uint32, 2 actor bytes (16), 3 subjects repeated bytes (16),
//	            4 name string, 5 members can add bool,
//	            7 invite link uint32 (EventLink: the new LinkMode)}
func marshalEvent(ev *GroupEvent) []byte {
	e := &enc{}
	e.uint(1, uint64(ev.Kind))
	e.id(2, ev.Actor)
	for _, u := range ev.Subjects {
		e.bytes(3, u[:])
	}
	e.string(4, ev.Name)
	e.bool(5, ev.MembersCanAdd)
	e.uint(7, uint64(ev.Link))
	return e.b
}

func parseGroupEvent(b []byte) (*GroupEvent, error) {
	ev := new(GroupEvent)
	err := decodeFields(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var k uint32
			k, err = f.uint32()
			ev.Kind = GroupEventKind(k)
		case 2:
			err = f.id((*[16]byte)(&ev.Actor))
		case 3:
			if len(ev.Subjects) == MaxGroupMembers {
				return fmt.Errorf("%w: more than %d subjects", errMalformed, MaxGroupMembers)
			}
			var u wire.UserID
			if err = f.id((*[16]byte)(&u)); err == nil {
				ev.Subjects = append(ev.Subjects, u)
			}
		case 4:
			ev.Name, err = f.string(MaxGroupName)
		case 5:
			ev.MembersCanAdd, err = f.bool()
		case 7:
			ev.Link, err = parseLinkMode(f)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("group event: %w", err)
	}
	return ev, nil
}

// groupSecrets are the secrets whose SHA-256 the relay holds for a group
// (see SetGroup): each 32 random bytes, or absent when this device may
// not hold it. Content field 12:
//
//	GroupSecrets {1 admins' secret bytes, 2 adders' secret bytes, 3 link's secret bytes}
type groupSecrets struct {
	Admin, Add, Link []byte
}

// secretSize is the size of each group secret.
const secretSize = 32

func (s *groupSecrets) empty() bool {
	return len(s.Admin) == 0 && len(s.Add) == 0 && len(s.Link) == 0
}

func (s *groupSecrets) marshal() []byte {
	e := &enc{}
	e.bytes(1, s.Admin)
	e.bytes(2, s.Add)
	e.bytes(3, s.Link)
	return e.b
}

func parseGroupSecrets(b []byte) (*groupSecrets, error) {
	s := new(groupSecrets)
	err := decodeFields(b, func(f field) (err error) {
		var v []byte
		if v, err = f.copyBytes(secretSize); err == nil && len(v) != secretSize {
			err = fmt.Errorf("%w: a secret of %d bytes", errMalformed, len(v))
		}
		switch f.num {
		case 1:
			s.Admin = v
		case 2:
			s.Add = v
		case 3:
			s.Link = v
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("group secrets: %w", err)
	}
	return s, nil
}

// entitled returns the secrets u may hold under s: an admin all of them
// (the link's only while the group has an invite link), any other member
// the adders' secret when every member may add, and nobody else anything.
func (s *groupState) entitled(held groupSecrets, u wire.UserID) groupSecrets {
	if s.Link == LinkOff {
		held.Link = nil
	}
	i := s.member(u)
	switch {
	case i < 0:
		return groupSecrets{}
	case s.Members[i].Admin:
		return held
	case s.MembersCanAdd:
		return groupSecrets{Add: held.Add}
	}
	return groupSecrets{}
}

// applyChange returns the state after actor makes the change ev to s,
// with the next version, or errGroupRule if actor may not make it under
// s (the table above) or it changes nothing.
func applyChange(s *groupState, ev *GroupEvent, actor wire.UserID) (*groupState, error) {
	if ev.Actor != actor {
		return nil, fmt.Errorf("%w: the event names another actor", errGroupRule)
	}
	i := s.member(actor)
	if i < 0 {
		return nil, fmt.Errorf("%w: not a member", errGroupRule)
	}
	a := s.Members[i]
	ns := s.clone()
	ns.Version++
	rule := func(ok bool, why string) error {
		if ok {
			return nil
		}
		return fmt.Errorf("%w: %s", errGroupRule, why)
	}
	subjects := func(want func(j int) bool) error {
		if len(ev.Subjects) == 0 {
			return rule(false, "nobody named")
		}
		for k, u := range ev.Subjects {
			if slices.Contains(ev.Subjects[:k], u) {
				return rule(false, "a user named twice")
			}
			j := ns.member(u)
			if !want(j) {
				return rule(false, "a user who cannot be changed so")
			}
		}
		return nil
	}
	switch ev.Kind {
	case EventJoined:
		if err := rule(!a.Joined && len(ev.Subjects) == 0, "not an invited member joining"); err != nil {
			return nil, err
		}
		ns.Members[i].Joined = true
		return ns, nil
	case EventLeft:
		if err := rule(len(ev.Subjects) == 0, "leaving names others"); err != nil {
			return nil, err
		}
		ns.Members = slices.Delete(ns.Members, i, i+1)
		return ns, nil
	}
	if !a.Joined {
		return nil, rule(false, "the actor has not joined")
	}
	switch ev.Kind {
	case EventRenamed:
		if err := rule(a.Admin && ev.Name != s.Name && checkGroupName(ev.Name) == nil, "renaming"); err != nil {
			return nil, err
		}
		ns.Name = ev.Name
	case EventAdded:
		if err := rule(a.Admin || s.MembersCanAdd, "adding"); err != nil {
			return nil, err
		}
		if err := rule(len(s.Members)+len(ev.Subjects) <= MaxGroupMembers, "too many members"); err != nil {
			return nil, err
		}
		err := subjects(func(j int) bool { return j < 0 })
		if err != nil {
			return nil, err
		}
		for _, u := range ev.Subjects {
			if u.IsZero() {
				return nil, rule(false, "a member without a user")
			}
			ns.Members = append(ns.Members, groupMember{User: u, AddedBy: actor})
		}
	case EventRemoved:
		if err := rule(a.Admin, "removing"); err != nil {
			return nil, err
		}
		if err := subjects(func(j int) bool { return j >= 0 && ns.Members[j].User != actor }); err != nil {
			return nil, err
		}
		ns.Members = slices.DeleteFunc(ns.Members, func(m groupMember) bool { return slices.Contains(ev.Subjects, m.User) })
	case EventAdmin, EventNotAdmin:
		admin := ev.Kind == EventAdmin
		if err := rule(a.Admin, "changing roles"); err != nil {
			return nil, err
		}
		err := subjects(func(j int) bool { return j >= 0 && ns.Members[j].Joined && ns.Members[j].Admin != admin })
		if err != nil {
			return nil, err
		}
		for _, u := range ev.Subjects {
			ns.Members[ns.member(u)].Admin = admin
		}
	case EventSettings:
		if err := rule(a.Admin && ev.MembersCanAdd != s.MembersCanAdd, "changing settings"); err != nil {
			return nil, err
		}
		ns.MembersCanAdd = ev.MembersCanAdd
	case EventLink, EventLinkReset, EventLinkJoined:
		if err := applyLink(s, ns, ev, a); err != nil {
			return nil, err
		}
	default:
		return nil, rule(false, fmt.Sprintf("event kind %d", ev.Kind))
	}
	return ns, nil
}

// mergeLate is mergeState for self's device, which also applies a change
// written before self joined (carried says self has not, held says it
// has) at the version self's own join made: both sides moved to that
// version, each with its own change, and the state after both is the
// same. The version stays.
func mergeLate(held, carried *groupState, ev *GroupEvent, actor, self wire.UserID) (*groupState, error) {
	ns, _, err := mergeState(held, carried, ev, actor)
	if !errors.Is(err, errGroupRule) || carried.ID != held.ID || carried.Version != held.Version ||
		!held.joined(self) || carried.member(self) < 0 || carried.joined(self) || selfChange(ev) {
		return ns, err
	}
	if ns, err = applyChange(held, ev, actor); err != nil {
		return nil, err
	}
	ns.Version = held.Version
	return ns, nil
}

// selfChange reports whether ev is the writer's own join or leave, which
// a device applies whatever its version.
func selfChange(ev *GroupEvent) bool { return ev.Kind == EventJoined || ev.Kind == EventLeft }

// mergeState returns the state this device holds after a change from
// actor (ev, with the state they sent, carried) to held, or
// errGroupRule when it is dropped (see the rules above). full reports
// that the carried state was taken whole (an admin's newer state).
func mergeState(held, carried *groupState, ev *GroupEvent, actor wire.UserID) (ns *groupState, full bool, err error) {
	if carried.ID != held.ID {
		return nil, false, fmt.Errorf("%w: another group", errGroupRule)
	}
	next := carried.Version == held.Version+1
	switch {
	case next || selfChange(ev):
		ns, err := applyChange(held, ev, actor)
		if err != nil {
			return nil, false, err
		}
		if !next {
			ns.Version = held.Version
		}
		return ns, false, nil
	case carried.Version > held.Version+1 && held.isAdmin(actor):
		return carried.clone(), true, nil
	}
	return nil, false, fmt.Errorf("%w: version %d after %d", errGroupRule, carried.Version, held.Version)
}
