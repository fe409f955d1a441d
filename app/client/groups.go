package client

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Errors of group calls.
var (
	// ErrNoSuchGroup: this device knows no group with that ID.
	ErrNoSuchGroup = errors.New("client: no such group")
	// ErrNotMember: this account is not a member of the group (it was
	// invited and has not joined, left, or was removed), or the user
	// named is not one.
	ErrNotMember = errors.New("client: not a member of the group")
	// ErrNotAllowed: only the group's admins may do that (or, for adding
	// members, every member when the group lets them).
	ErrNotAllowed = errors.New("client: only the group's admins may do that")
	// ErrBadGroupName: a group's name must have 1 to MaxGroupName bytes
	// of UTF-8 without control characters.
	ErrBadGroupName = errors.New("client: unusable group name")
	// ErrGroupFull: the group would have more than MaxGroupMembers.
	ErrGroupFull = fmt.Errorf("client: a group has at most %d members", MaxGroupMembers)
)

// CreateGroup creates a group named name with the given users (contacts,
// usually), and makes this account its admin. It needs the relay
// (ErrOffline): the relay's member list is made first (SetGroup create,
// with the hashes of the admins' and adders' secrets), then each user is
// invited end to end, as a 1:1 message to a contact who accepted this
// account and as a contact request to anyone else.
func (c *Client) CreateGroup(ctx context.Context, name string, members []wire.UserID) (Group, error) {
	me, err := c.registered()
	if err != nil {
		return Group{}, err
	}
	name = strings.TrimSpace(name)
	if err := checkGroupName(name); err != nil {
		return Group{}, err
	}
	users, err := c.newMembers(nil, members)
	if err != nil {
		return Group{}, err
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return Group{}, err
	}
	secrets := groupSecrets{Admin: make([]byte, secretSize), Add: make([]byte, secretSize)}
	if err := c.random(secrets.Admin, secrets.Add); err != nil {
		return Group{}, err
	}
	var id wire.ConversationID
	for try := 0; ; try++ {
		if err := c.random(id[:]); err != nil {
			return Group{}, err
		}
		_, err = transport.Call[*wire.OK](ctx, conn, &wire.SetGroup{
			Group: id, Op: wire.GroupCreate, Users: users,
			AdminHash: hashOf(secrets.Admin), AddHash: hashOf(secrets.Add),
		})
		var we *wire.Error
		if errors.As(err, &we) && we.Code == wire.CodeExists && try < 2 {
			continue // an ID taken: draw another
		}
		if err != nil {
			return Group{}, fmt.Errorf("create group: %w", err)
		}
		break
	}
	var out Group
	var r received
	err = c.update(ctx, func(ts *txState) error {
		r = received{}
		s := &groupState{ID: id, Name: name, Version: 1, Created: ts.now}
		s.Members = append(s.Members, groupMember{User: me.User, Admin: true, Joined: true})
		for _, u := range users {
			s.Members = append(s.Members, groupMember{User: u, AddedBy: me.User})
		}
		g := &groupRecord{State: s, Status: GroupJoined, Secrets: secrets, Since: ts.now}
		if err := c.storeGroup(ts, g, &r); err != nil {
			return err
		}
		ev := &GroupEvent{Kind: EventCreated, Actor: me.User, Name: name}
		if err := c.sendChange(ts, g, ev, true, &r); err != nil {
			return err
		}
		if err := c.invite(ts, g, ev, users); err != nil {
			return err
		}
		out, err = c.publicGroup(ts.tx, g)
		return err
	})
	if err != nil {
		return Group{}, fmt.Errorf("create group: %w", err)
	}
	c.emitAll(&r)
	return out, nil
}

// newMembers checks the users to add to a group with state s (nil: a new
// group) and returns them without repeats.
func (c *Client) newMembers(s *groupState, users []wire.UserID) ([]wire.UserID, error) {
	me := c.me()
	var out []wire.UserID
	for _, u := range users {
		switch {
		case u.IsZero():
			return nil, ErrNotContact
		case u == me.User:
			return nil, ErrSelf
		case slices.Contains(out, u) || (s != nil && s.member(u) >= 0):
			continue
		}
		out = append(out, u)
	}
	n := 1
	if s != nil {
		n = len(s.Members)
	}
	if n+len(out) > MaxGroupMembers {
		return nil, ErrGroupFull
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: nobody new to add", ErrNotMember)
	}
	return out, nil
}

func (c *Client) random(bs ...[]byte) error {
	for _, b := range bs {
		if _, err := io.ReadFull(c.cfg.Rand, b); err != nil {
			return fmt.Errorf("random: %w", err)
		}
	}
	return nil
}

func hashOf(secret []byte) []byte {
	h := sha256.Sum256(secret)
	return h[:]
}

// sendChange queues a change this account made to the group (already in
// g.State) for the group, with the full state and this account's profile
// name, makes it a line of the history and stores g. secrets: the
// recipients get the group's secrets they may hold (roles or settings
// changed, or the secrets were replaced).
func (c *Client) sendChange(ts *txState, g *groupRecord, ev *GroupEvent, secrets bool, r *received) error {
	a, err := mustAccount(ts.tx)
	if err != nil {
		return err
	}
	id := wire.NewMessageID()
	m := &content{Kind: kindGroupState, State: g.State, Event: ev, Name: a.ProfileName, SentAt: ts.now}
	if _, err := c.newGroupEntry(ts.tx, id, g.State.ID, wire.UserID{}, m, secrets); err != nil {
		return err
	}
	ts.queued = true
	if err := putGroup(ts.tx, g); err != nil {
		return err
	}
	return c.groupLine(ts, g.State.ID, id, ev, 0, r)
}

// invite queues the group's state, with the change ev that invites them,
// to each of users alone, outside the group (they have not joined): a 1:1
// message, or a contact request to someone who has not accepted this
// account. Each gets the secrets they may hold.
func (c *Client) invite(ts *txState, g *groupRecord, ev *GroupEvent, users []wire.UserID) error {
	a, err := mustAccount(ts.tx)
	if err != nil {
		return err
	}
	for _, u := range users {
		sec := g.State.entitled(g.Secrets, u)
		m := &content{Kind: kindGroupState, Group: g.State.ID, State: g.State, Event: ev, Secrets: &sec, Name: a.ProfileName, SentAt: ts.now}
		if err := c.enqueue(ts.tx, u, m); err != nil {
			return err
		}
	}
	ts.queued = true
	return nil
}

// emitAll emits what a transaction noted, once it has committed.
func (c *Client) emitAll(r *received) {
	for _, ev := range r.events {
		c.emit(ev)
	}
}

// Groups lists the groups this device knows (those this account left or
// was removed from too, for their history), newest activity first.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	chats, err := c.Chats(ctx)
	if err != nil {
		return nil, err
	}
	var out []Group
	for _, ch := range chats {
		if ch.Group != nil {
			out = append(out, *ch.Group)
		}
	}
	return out, nil
}

// Group returns one group, or ErrNoSuchGroup.
func (c *Client) Group(ctx context.Context, id wire.ConversationID) (Group, error) {
	if _, err := c.registered(); err != nil {
		return Group{}, err
	}
	var out Group
	err := c.st.View(ctx, func(tx store.Tx) error {
		g, err := loadGroup(tx, id)
		if err != nil {
			return err
		}
		if g == nil {
			return ErrNoSuchGroup
		}
		out, err = c.publicGroup(tx, g)
		return err
	})
	if err != nil {
		return Group{}, fmt.Errorf("group: %w", err)
	}
	return out, nil
}

// MemberNames says what to call each of users on this device, as
// GroupMember.Name does: a contact's Name, else the profile name they gave
// a group, else the first eight hex digits of their user ID. It names
// people who have left a group too, whose names its history keeps.
func (c *Client) MemberNames(ctx context.Context, users ...wire.UserID) (map[wire.UserID]string, error) {
	if _, err := c.registered(); err != nil {
		return nil, err
	}
	out := make(map[wire.UserID]string, len(users))
	err := c.st.View(ctx, func(tx store.Tx) error {
		for _, u := range users {
			if _, ok := out[u]; ok || u.IsZero() {
				continue
			}
			n, err := c.memberDisplayName(tx, u)
			if err != nil {
				return err
			}
			out[u] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("member names: %w", err)
	}
	return out, nil
}

// groupChat is the Chat of a group's summary r.
func (c *Client) groupChat(tx store.Tx, id wire.ConversationID, r *chatRecord) (Chat, bool, error) {
	g, err := loadGroup(tx, id)
	if g == nil || err != nil {
		return Chat{}, false, err
	}
	pg, err := c.publicGroup(tx, g)
	if err != nil {
		return Chat{}, false, err
	}
	ch := Chat{Group: &pg, Last: r.Last, Unread: r.Unread, Activity: fromMS(g.Since)}
	if r.Last != nil {
		ch.Activity = messageTime(r.Last)
	}
	return ch, true, nil
}

// chatKey orders chats of the same activity.
func chatKey(ch Chat) []byte {
	if ch.Group != nil {
		return ch.Group.ID[:]
	}
	return ch.Contact.User[:]
}

// SendGroup queues a text to a group and returns its ID at once; it works
// offline, as Send does. Only a member who joined may write
// (ErrNotMember).
func (c *Client) SendGroup(ctx context.Context, id wire.ConversationID, text string) (wire.MessageID, error) {
	me, err := c.registered()
	if err != nil {
		return wire.MessageID{}, err
	}
	if err := checkText(text); err != nil {
		return wire.MessageID{}, err
	}
	msgID := wire.NewMessageID()
	err = c.update(ctx, func(ts *txState) error {
		if _, err := c.joinedGroup(ts.tx, id); err != nil {
			return err
		}
		now := c.now()
		msg := &Message{
			ID: msgID, Conversation: id, Author: me.User, Outgoing: true,
			SenderDevice: me.Device, Text: text, SentAt: now, State: StateSending,
		}
		if err := c.insertMessage(ts.tx, me.User, msg); err != nil {
			return err
		}
		_, err := c.newGroupEntry(ts.tx, msgID, id, wire.UserID{}, &content{Kind: kindText, Text: text, SentAt: unixMS(now)}, false)
		return err
	})
	if err != nil {
		return wire.MessageID{}, fmt.Errorf("send to group: %w", err)
	}
	c.poke()
	return msgID, nil
}

// joinedGroup loads a group this account is a member of.
func (c *Client) joinedGroup(tx store.Tx, id wire.ConversationID) (*groupRecord, error) {
	if id == wire.CoopConversation {
		return nil, ErrCoopConversation
	}
	g, err := loadGroup(tx, id)
	switch {
	case err != nil:
		return nil, err
	case g == nil:
		return nil, ErrNoSuchGroup
	case !g.member():
		return nil, ErrNotMember
	}
	return g, nil
}

// change makes a change of this account to a group it is a member of:
// ev (from make, given the state) applied to the state, sent to the group
// (see sendChange), and the group's record stored. rotated, if set,
// replaces the group's secrets (the relay has their new hashes) and
// hands them on with the change.
func (c *Client) change(ctx context.Context, id wire.ConversationID, make func(g *groupRecord) (*GroupEvent, error), secrets bool, rotated *groupSecrets) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	var r received
	err = c.update(ctx, func(ts *txState) error {
		r = received{}
		g, err := c.joinedGroup(ts.tx, id)
		if err != nil {
			return err
		}
		ev, err := make(g)
		if err != nil {
			return err
		}
		ns, err := applyChange(g.State, ev, me.User)
		if errors.Is(err, errGroupRule) {
			return fmt.Errorf("%w: %w", ErrNotAllowed, err)
		}
		if err != nil {
			return err
		}
		if rotated != nil {
			g.Secrets = *rotated
			secrets = true
		}
		for _, m := range g.State.Members {
			if ns.member(m.User) < 0 {
				g.Rotate = true
			}
		}
		g.State = ns
		if err := c.sendChange(ts, g, ev, secrets, &r); err != nil {
			return err
		}
		if ev.Kind == EventRemoved {
			// The removed are told, outside the group, so that their
			// app shows that they were removed.
			for _, u := range ev.Subjects {
				m := &content{Kind: kindGroupState, Group: id, State: ns, Event: ev, SentAt: ts.now}
				if err := c.enqueue(ts.tx, u, m); err != nil {
					return err
				}
			}
		}
		if ev.Kind == EventAdded {
			return c.invite(ts, g, ev, ev.Subjects)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.emitAll(&r)
	return nil
}

// RenameGroup renames a group (admins only, ErrNotAllowed); it works
// offline.
func (c *Client) RenameGroup(ctx context.Context, id wire.ConversationID, name string) error {
	name = strings.TrimSpace(name)
	if err := checkGroupName(name); err != nil {
		return err
	}
	err := c.change(ctx, id, func(g *groupRecord) (*GroupEvent, error) {
		if g.State.Name == name {
			return nil, errUnchanged
		}
		return &GroupEvent{Kind: EventRenamed, Actor: c.me().User, Name: name}, nil
	}, false, nil)
	return unchanged(err, "rename group")
}

// errUnchanged ends a change that would change nothing.
var errUnchanged = errors.New("unchanged")

func unchanged(err error, what string) error {
	if err == nil || errors.Is(err, errUnchanged) {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// AddMembers adds users to a group: an admin may, and every member when
// the group lets them (ErrNotAllowed otherwise). It needs the relay
// (ErrOffline): they are put on the relay's list, then invited as
// CreateGroup invites.
func (c *Client) AddMembers(ctx context.Context, id wire.ConversationID, users ...wire.UserID) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	var add []wire.UserID
	var proof []byte
	err = c.st.View(ctx, func(tx store.Tx) error {
		g, err := c.joinedGroup(tx, id)
		if err != nil {
			return err
		}
		if !g.State.isAdmin(me.User) && !g.State.MembersCanAdd {
			return ErrNotAllowed
		}
		if add, err = c.newMembers(g.State, users); err != nil {
			return err
		}
		proof = g.Secrets.Admin
		if !g.State.isAdmin(me.User) {
			proof = g.Secrets.Add
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add members: %w", err)
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if err := c.setGroup(ctx, conn, &wire.SetGroup{Group: id, Op: wire.GroupAdd, Users: add, Proof: proof}); err != nil {
		return fmt.Errorf("add members: %w", err)
	}
	err = c.change(ctx, id, func(g *groupRecord) (*GroupEvent, error) {
		return &GroupEvent{Kind: EventAdded, Actor: me.User, Subjects: add}, nil
	}, false, nil)
	if err != nil {
		return fmt.Errorf("add members: %w", err)
	}
	return nil
}

// setGroup asks the relay to change a group's list; a refusal for want
// of a right is ErrNotAllowed.
func (c *Client) setGroup(ctx context.Context, conn *transport.Conn, sg *wire.SetGroup) error {
	_, err := transport.Call[*wire.OK](ctx, conn, sg)
	var we *wire.Error
	if errors.As(err, &we) && we.Code == wire.CodeForbidden {
		return fmt.Errorf("%w: %w", ErrNotAllowed, err)
	}
	return err
}

// RemoveMember removes a member from a group (admins only). It needs the
// relay (ErrOffline): they are taken off the relay's list first. The
// remaining members make new sender keys before their next message, so
// the removed member cannot read what follows; they are told, outside
// the group. Removing an admin replaces the group's secrets.
func (c *Client) RemoveMember(ctx context.Context, id wire.ConversationID, user wire.UserID) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	if user == me.User {
		return fmt.Errorf("remove member: %w: leave the group instead", ErrSelf)
	}
	var g *groupRecord
	err = c.st.View(ctx, func(tx store.Tx) (err error) {
		if g, err = c.joinedGroup(tx, id); err != nil {
			return err
		}
		switch {
		case !g.State.isAdmin(me.User):
			return ErrNotAllowed
		case g.State.member(user) < 0:
			return ErrNotMember
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if err := c.setGroup(ctx, conn, &wire.SetGroup{Group: id, Op: wire.GroupRemove, Users: []wire.UserID{user}, Proof: g.Secrets.Admin}); err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	var rotated *groupSecrets
	if g.State.Members[g.State.member(user)].Admin {
		if rotated, err = c.rotateSecrets(ctx, conn, g); err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
	}
	err = c.change(ctx, id, func(g *groupRecord) (*GroupEvent, error) {
		return &GroupEvent{Kind: EventRemoved, Actor: me.User, Subjects: []wire.UserID{user}}, nil
	}, false, rotated)
	if err != nil {
		return fmt.Errorf("remove member: %w", err)
	}
	return nil
}

// rotateSecrets replaces the group's secrets on the relay (SetGroup keys,
// proved with the admins' secret held) and returns the new ones: a member
// who held the old ones (a demoted admin, members once the group no
// longer lets them add) can no longer change the list. The invite link
// stays as it is.
func (c *Client) rotateSecrets(ctx context.Context, conn *transport.Conn, g *groupRecord) (*groupSecrets, error) {
	s := &groupSecrets{Admin: make([]byte, secretSize), Add: make([]byte, secretSize), Link: g.Secrets.Link}
	if err := c.random(s.Admin, s.Add); err != nil {
		return nil, err
	}
	err := c.setGroup(ctx, conn, &wire.SetGroup{
		Group: g.State.ID, Op: wire.GroupKeys, Proof: g.Secrets.Admin,
		AdminHash: hashOf(s.Admin), AddHash: hashOf(s.Add), LinkHash: linkHash(g.State.Link, s.Link),
	})
	if err != nil {
		return nil, fmt.Errorf("replace the group's secrets: %w", err)
	}
	return s, nil
}

// SetAdmin makes a member who joined an admin, or an admin a member only
// (admins only). Making an admin works offline; making one a member only
// needs the relay (ErrOffline), as it replaces the group's secrets.
func (c *Client) SetAdmin(ctx context.Context, id wire.ConversationID, user wire.UserID, admin bool) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	kind := EventAdmin
	var rotated *groupSecrets
	if !admin {
		kind = EventNotAdmin
		if rotated, err = c.rotateFor(ctx, id); err != nil {
			return fmt.Errorf("set admin: %w", err)
		}
	}
	err = c.change(ctx, id, func(g *groupRecord) (*GroupEvent, error) {
		i := g.State.member(user)
		if i < 0 {
			return nil, ErrNotMember
		}
		if g.State.Members[i].Admin == admin {
			return nil, errUnchanged
		}
		return &GroupEvent{Kind: kind, Actor: me.User, Subjects: []wire.UserID{user}}, nil
	}, admin, rotated)
	return unchanged(err, "set admin")
}

// rotateFor replaces the secrets of a group this account is an admin of.
func (c *Client) rotateFor(ctx context.Context, id wire.ConversationID) (*groupSecrets, error) {
	me := c.me()
	var g *groupRecord
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		if g, err = c.joinedGroup(tx, id); err == nil && !g.State.isAdmin(me.User) {
			err = ErrNotAllowed
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return nil, err
	}
	return c.rotateSecrets(ctx, conn, g)
}

// SetMembersCanAdd lets every member add members, or admins only (admins
// only). Letting them works offline (the members get the adders'
// secret); taking it back needs the relay (ErrOffline), as it replaces
// the group's secrets.
func (c *Client) SetMembersCanAdd(ctx context.Context, id wire.ConversationID, on bool) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	var rotated *groupSecrets
	if !on {
		if rotated, err = c.rotateFor(ctx, id); err != nil {
			return fmt.Errorf("set who may add: %w", err)
		}
	}
	err = c.change(ctx, id, func(g *groupRecord) (*GroupEvent, error) {
		if g.State.MembersCanAdd == on {
			return nil, errUnchanged
		}
		return &GroupEvent{Kind: EventSettings, Actor: me.User, MembersCanAdd: on}, nil
	}, on, rotated)
	return unchanged(err, "set who may add")
}

// LeaveGroup leaves a group (or declines an invitation, as DeclineGroup).
// It needs the relay (ErrOffline). The leaving goes to the group first,
// after what this device still had to send there; then the relay's list
// is changed (by Run's worker) and this device forgets the group's
// sender keys. The last admin to leave makes the member who joined first
// an admin.
func (c *Client) LeaveGroup(ctx context.Context, id wire.ConversationID) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	if _, err := c.connection(ctx); err != nil {
		return err
	}
	decline := false
	var r received
	err = c.update(ctx, func(ts *txState) error {
		r = received{}
		g, err := loadGroup(ts.tx, id)
		switch {
		case err != nil:
			return err
		case g == nil:
			return ErrNoSuchGroup
		case g.Status == GroupInvited:
			decline = true
			return nil
		case !g.member():
			return nil
		}
		if g.State.isAdmin(me.User) && g.State.admins() == 1 {
			if heir := firstJoined(g.State, me.User); !heir.IsZero() {
				ev := &GroupEvent{Kind: EventAdmin, Actor: me.User, Subjects: []wire.UserID{heir}}
				ns, err := applyChange(g.State, ev, me.User)
				if err != nil {
					return err
				}
				g.State = ns
				if err := c.sendChange(ts, g, ev, true, &r); err != nil {
					return err
				}
			}
		}
		ev := &GroupEvent{Kind: EventLeft, Actor: me.User}
		ns, err := applyChange(g.State, ev, me.User)
		if err != nil {
			return err
		}
		g.State, g.Status = ns, GroupLeft
		if err := c.sendChange(ts, g, ev, false, &r); err != nil {
			return err
		}
		a, err := mustAccount(ts.tx)
		if err != nil {
			return err
		}
		// The entry just queued is the last of the account's: the relay's
		// list changes once it is gone.
		return ts.tx.Put(bGroupDue, id[:], (&dueRecord{Op: dueLeave, After: a.OutboxSeq}).marshal())
	})
	if err != nil {
		return fmt.Errorf("leave group: %w", err)
	}
	if decline {
		return c.DeclineGroup(ctx, id)
	}
	c.emitAll(&r)
	return nil
}

// firstJoined is the member other than self who comes first on the list
// among those who joined; zero if there is none.
func firstJoined(s *groupState, self wire.UserID) wire.UserID {
	for _, m := range s.Members {
		if m.Joined && m.User != self {
			return m.User
		}
	}
	return wire.UserID{}
}

// AcceptGroup joins a group this account was invited to. It needs the
// relay (ErrOffline): the relay's list first, then the joining goes to
// the group, with this device's sender key.
func (c *Client) AcceptGroup(ctx context.Context, id wire.ConversationID) error {
	if _, err := c.registered(); err != nil {
		return err
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if err := c.join(ctx, conn, id); err != nil {
		return fmt.Errorf("accept group: %w", err)
	}
	return nil
}

// join joins an invited group: on the relay's list, then end to end.
func (c *Client) join(ctx context.Context, conn *transport.Conn, id wire.ConversationID) error {
	me := c.me()
	var status GroupStatus
	err := c.st.View(ctx, func(tx store.Tx) error {
		g, err := loadGroup(tx, id)
		if g == nil && err == nil {
			err = ErrNoSuchGroup
		}
		if err == nil {
			status = g.Status
		}
		return err
	})
	if err != nil {
		return err
	}
	if status == GroupJoined {
		return nil
	}
	if status != GroupInvited {
		return ErrNotMember
	}
	if err := c.setGroup(ctx, conn, &wire.SetGroup{Group: id, Op: wire.GroupJoin}); err != nil {
		return err
	}
	var r received
	err = c.update(ctx, func(ts *txState) error {
		r = received{}
		g, err := loadGroup(ts.tx, id)
		if g == nil || err != nil || g.Status != GroupInvited {
			return err
		}
		if err := ts.tx.Delete(bGroupDue, id[:]); err != nil {
			return err
		}
		ev := &GroupEvent{Kind: EventJoined, Actor: me.User}
		ns, err := applyChange(g.State, ev, me.User)
		if err != nil {
			return err
		}
		g.State, g.Status, g.Rotate = ns, GroupJoined, true
		return c.sendChange(ts, g, ev, false, &r)
	})
	if err != nil {
		return err
	}
	c.emitAll(&r)
	return nil
}

// DeclineGroup declines an invitation: this account comes off the
// relay's list (ErrOffline without the relay) and the group shows as
// left.
func (c *Client) DeclineGroup(ctx context.Context, id wire.ConversationID) error {
	if _, err := c.registered(); err != nil {
		return err
	}
	conn, err := c.connection(ctx)
	if err != nil {
		return err
	}
	if err := c.setGroup(ctx, conn, &wire.SetGroup{Group: id, Op: wire.GroupLeave}); err != nil {
		var we *wire.Error
		if !errors.As(err, &we) || we.Code != wire.CodeNotFound {
			return fmt.Errorf("decline group: %w", err)
		}
	}
	var r received
	err = c.update(ctx, func(ts *txState) error {
		r = received{}
		g, err := loadGroup(ts.tx, id)
		if g == nil || err != nil {
			return err
		}
		g.Status, g.Secrets = GroupLeft, groupSecrets{}
		if err := c.leftGroup(ts, id); err != nil {
			return err
		}
		r.events = append(r.events, GroupChanged{Group: id})
		return putGroup(ts.tx, g)
	})
	if err != nil {
		return fmt.Errorf("decline group: %w", err)
	}
	c.emitAll(&r)
	return nil
}

// ReadBy says, for a message this account wrote to a group, how far each
// member it went to has got with it (read receipts show as delivery
// while this user has them off).
func (c *Client) ReadBy(ctx context.Context, id wire.ConversationID, msg wire.MessageID) ([]Receipt, error) {
	me, err := c.registered()
	if err != nil {
		return nil, err
	}
	var out []Receipt
	err = c.st.View(ctx, func(tx store.Tx) error {
		out = out[:0]
		m, err := c.loadMessage(tx, me.User, msg)
		if err != nil {
			return err
		}
		if m == nil || m.Conversation != id {
			return store.ErrNotFound
		}
		hidden, err := readsHidden(tx)
		if err != nil {
			return err
		}
		type row struct {
			user wire.UserID
			rec  *receiptRecord
		}
		var rows []row
		err = tx.Scan(bGroupReceipts, msg[:], func(k, v []byte) error {
			rec, err := parseReceiptRecord(v)
			if err != nil {
				return err
			}
			var u wire.UserID
			copy(u[:], k[len(msg):])
			rows = append(rows, row{u, rec})
			return nil
		})
		if err != nil {
			return err
		}
		for _, rw := range rows {
			name, err := c.memberDisplayName(tx, rw.user)
			if err != nil {
				return err
			}
			st := rw.rec.State
			if hidden && st == StateRead {
				st = StateDelivered
			}
			out = append(out, Receipt{User: rw.user, Name: name, State: st, At: fromMS(rw.rec.At)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read by: %w", err)
	}
	return out, nil
}

// markGroupRead marks the group's unread messages read (those named by
// ids, or all) in ts, and, unless read receipts are off and while this
// account is a member, queues a read receipt to each writer within the
// group. It reads the newest messages down to the oldest unread one.
func (c *Client) markGroupRead(ts *txState, conv wire.ConversationID, chat *chatRecord, a *accountRecord, ids []wire.MessageID) (bool, error) {
	var marked []*Message
	left := chat.Unread
	err := ts.tx.ScanBefore(bMessages, conv[:], nil, func(k, v []byte) error {
		m, err := parseMessage(v)
		if err != nil {
			return err
		}
		if !isUnread(m.Outgoing, m.State) {
			return nil
		}
		if len(ids) == 0 || slices.Contains(ids, m.ID) {
			m.Seq = seqFromKey(k[len(conv):])
			marked = append(marked, m)
		}
		if left--; left == 0 {
			return errPageFull // the oldest unread one
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return false, err
	}
	if len(marked) == 0 {
		return false, nil
	}
	slices.Reverse(marked) // oldest first, as they were written
	byAuthor := map[wire.UserID][]wire.MessageID{}
	var authors []wire.UserID
	for _, m := range marked {
		m.State = StateRead
		if err := ts.tx.Put(bMessages, messageKey(conv, m.Seq), m.marshal()); err != nil {
			return false, err
		}
		chat.noteMessage(m, StateReceived)
		if _, ok := byAuthor[m.Author]; !ok {
			authors = append(authors, m.Author)
		}
		byAuthor[m.Author] = append(byAuthor[m.Author], m.ID)
	}
	if err := putChat(ts.tx, conv, chat); err != nil {
		return false, err
	}
	g, err := loadGroup(ts.tx, conv)
	if g == nil || err != nil || !g.member() || a.ReadReceiptsOff {
		return false, err
	}
	for _, u := range authors {
		if err := c.enqueueGroupReceipt(ts.tx, conv, u, kindRead, byAuthor[u]...); err != nil {
			return false, err
		}
	}
	return true, nil
}
