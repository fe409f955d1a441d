package client

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Invite links. An admin turns a group's invite link on (SetInviteLink):
// "an admin approves who joins" (LinkApprove) or "anyone with the link
// joins" (LinkOpen). The link's secret (32 random bytes, the group's
// third secret, groupSecrets.Link) goes to the admins only, with the
// change (EventLink, in the group's state, GroupState field 7); the link
// itself is a token (InviteToken) that names the group, holds the secret,
// and names the admin who made it, to whom requests go. It lives only in
// a URL's fragment, which no browser sends to a server.
//
// The relay holds the SHA-256 of the link's secret only while anyone may
// join (SetGroup keys with link_hash): then whoever presents the secret
// joins its list (SetGroup join). While an admin approves, the relay
// holds no hash, so the secret admits nobody without an admin.
//
// Someone with the link asks to join (JoinByInvite): in "anyone joins"
// mode they join the relay's list first; then a join request (content
// kind 9, with the link's secret) goes to the admin named in the link,
// as a contact request when they are strangers (the relay's request
// limits apply), and this account notes that it asked (bJoinAsks). Each
// of that admin's devices checks the secret against the group's current
// one and drops a request with a wrong or old secret (a reset link admits
// nobody), then:
//
//   - anyone joins (and they joined the relay's list): the admin's device
//     adds them as a member who joined (EventLinkJoined, "Ben joined with
//     the invite link"), a change to the group as any other, and sends
//     them the group's state as an invitation; their device takes it as
//     joined because they asked (receiveAdmission);
//   - an admin approves: the request is kept (bJoinRequests) and shown to
//     the admins (Group.JoinRequests); the admin's device hands it on,
//     within the group, to the other admins. ApproveJoin adds them
//     (AddMembers) and their device joins the invitation at once because
//     they asked; DeclineJoin drops it on every admin's device.
//
// ResetInviteLink makes a new secret (EventLinkReset): the old link
// stops working. Turning the link off drops the secret and the relay's
// hash.

// LinkMode is whether a group has an invite link, and what it lets do.
type LinkMode uint32

// The modes of a group's invite link.
const (
	LinkOff     LinkMode = 0 // no invite link
	LinkApprove LinkMode = 1 // an admin approves who joins with the link
	LinkOpen    LinkMode = 2 // anyone with the link joins
)

func (m LinkMode) String() string {
	switch m {
	case LinkOff:
		return "off"
	case LinkApprove:
		return "approve"
	case LinkOpen:
		return "open"
	}
	return "unknown"
}

// System lines of a group's invite link.
const (
	EventLink       GroupEventKind = 10 // Actor set the invite link to Link
	EventLinkReset  GroupEventKind = 11 // Actor made a new invite link: the old one stops working
	EventLinkJoined GroupEventKind = 12 // Subjects joined with the invite link (Actor, an admin, let them in)
)

// Errors of invite links.
var (
	// ErrBadInvite: the text is not a Mutual invite link.
	ErrBadInvite = errors.New("client: not an invite link")
	// ErrNoLink: the group has no invite link (an admin turns it on).
	ErrNoLink = errors.New("client: the group has no invite link")
	// ErrLinkExpired: the relay refused the link: it was reset or turned
	// off, or the group is gone.
	ErrLinkExpired = errors.New("client: the invite link no longer works")
	// ErrNoJoinRequest: nobody with that user ID waits to join the group.
	ErrNoJoinRequest = errors.New("client: no such request to join")
)

// Invite is an invite link as ParseInvite reads it. Its names are what
// the link claims, not checked: the group shows its own once joined.
type Invite struct {
	Group     wire.ConversationID
	GroupName string
	Admin     wire.UserID // the admin who made the link, whom the request goes to
	AdminName string      // their profile name, if they gave one
	Mode      LinkMode    // LinkApprove or LinkOpen
	secret    []byte
}

// JoinRequest is someone who asked to join a group with its invite link
// and waits for an admin.
type JoinRequest struct {
	User wire.UserID
	Name string    // the profile name they gave; not confirmed
	At   time.Time // when the relay took their request
}

// maxInviteToken bounds the text ParseInvite decodes.
const maxInviteToken = 1024

// String names the group the link invites to; it never shows the secret.
func (inv Invite) String() string {
	return fmt.Sprintf("invite link to %q (%s)", inv.GroupName, inv.Group)
}

// Token is the link's token: base64url without padding of
//
//	Invite {1 group bytes (16), 2 link secret bytes (32), 3 admin bytes (16),
//	        4 group name string, 5 mode uint32 (LinkMode), 6 admin's name string,
//	        15 version uint32 (1)}
//
// The app's link is its origin, "/join#" and the token.
func (inv Invite) Token() string {
	e := newEnc()
	e.id(1, inv.Group)
	e.bytes(2, inv.secret)
	e.id(3, inv.Admin)
	e.string(4, inv.GroupName)
	e.uint(5, uint64(inv.Mode))
	e.string(6, inv.AdminName)
	return base64.RawURLEncoding.EncodeToString(e.b)
}

// ParseInvite reads an invite link's token, or a whole link (what
// follows its last "#"). ErrBadInvite if it is none.
func ParseInvite(link string) (Invite, error) {
	s := strings.TrimSpace(link)
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	if s == "" || len(s) > maxInviteToken {
		return Invite{}, ErrBadInvite
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Invite{}, fmt.Errorf("%w: %w", ErrBadInvite, err)
	}
	var inv Invite
	err = decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&inv.Group))
		case 2:
			inv.secret, err = f.copyBytes(secretSize)
		case 3:
			err = f.id((*[16]byte)(&inv.Admin))
		case 4:
			inv.GroupName, err = f.string(MaxGroupName)
		case 5:
			inv.Mode, err = parseLinkMode(f)
		case 6:
			inv.AdminName, err = f.string(MaxProfileName)
		}
		return err
	})
	switch {
	case err != nil:
	case inv.Group == (wire.ConversationID{}) || inv.Admin.IsZero():
		err = errors.New("no group or admin")
	case len(inv.secret) != secretSize:
		err = errors.New("no secret")
	case inv.Mode == LinkOff:
		err = errors.New("no mode")
	case checkGroupName(inv.GroupName) != nil:
		err = checkGroupName(inv.GroupName)
	case checkProfileName(inv.AdminName) != nil:
		err = checkProfileName(inv.AdminName)
	}
	if err != nil {
		return Invite{}, fmt.Errorf("%w: %w", ErrBadInvite, err)
	}
	return inv, nil
}

func parseLinkMode(f field) (LinkMode, error) {
	v, err := f.uint32()
	if err == nil && LinkMode(v) > LinkOpen {
		err = fmt.Errorf("%w: invite link mode %d", errMalformed, v)
	}
	return LinkMode(v), err
}

// linkHash is what the relay holds of the link's secret in mode: its
// SHA-256 while anyone with the link joins, else nothing.
func linkHash(mode LinkMode, secret []byte) []byte {
	if mode != LinkOpen || len(secret) == 0 {
		return nil
	}
	return hashOf(secret)
}

// applyLink applies a change to the invite link by a, an admin who
// joined, to ns (s with the next version); errGroupRule if a may not
// make it or it changes nothing.
func applyLink(s, ns *groupState, ev *GroupEvent, a groupMember) error {
	rule := func(ok bool, why string) error {
		if ok {
			return nil
		}
		return fmt.Errorf("%w: %s", errGroupRule, why)
	}
	if err := rule(a.Admin, "only admins change the invite link"); err != nil {
		return err
	}
	switch ev.Kind {
	case EventLink:
		if err := rule(ev.Link != s.Link, "the invite link unchanged"); err != nil {
			return err
		}
		ns.Link = ev.Link
	case EventLinkReset:
		return rule(s.Link != LinkOff, "no invite link to reset")
	case EventLinkJoined:
		if err := rule(s.Link == LinkOpen && len(ev.Subjects) > 0, "nobody may join with the link"); err != nil {
			return err
		}
		if err := rule(len(s.Members)+len(ev.Subjects) <= MaxGroupMembers, "too many members"); err != nil {
			return err
		}
		for k, u := range ev.Subjects {
			if err := rule(!u.IsZero() && !slices.Contains(ev.Subjects[:k], u) && s.member(u) < 0, "a user who cannot join"); err != nil {
				return err
			}
			ns.Members = append(ns.Members, groupMember{User: u, Joined: true, AddedBy: a.User})
		}
	}
	return nil
}

// describeLink says a system line of the invite link as a sentence (see
// describeEvent): actor and who are named already.
func describeLink(ev *GroupEvent, actor, who string) string {
	switch ev.Kind {
	case EventLink:
		switch ev.Link {
		case LinkOff:
			return actor + " turned off the invite link"
		case LinkApprove:
			return actor + " set the invite link: an admin approves who joins"
		}
		return actor + " set the invite link: anyone with it joins"
	case EventLinkReset:
		return actor + " reset the invite link"
	}
	return who + " joined with the invite link"
}

// joinRequest is content field 17 (kind 9): someone who asks to join,
// from them (with the link's secret in field 16) or handed on by an
// admin's device to the other admins and to its own account's devices.
//
//	JoinRequest {1 user bytes (16), 2 name string (their profile name),
//	             3 asked at sint64 (when the relay took the request, Unix ms),
//	             4 joined bool (they joined the relay's list with the link),
//	             5 declined bool (an admin declined it)}
//
// The stored record (bJoinRequests) is the same message with field 15,
// the format version.
type joinRequest struct {
	User     wire.UserID
	Name     string
	At       int64
	Joined   bool
	Declined bool
}

func (q *joinRequest) fields(e *enc) []byte {
	e.id(1, q.User)
	e.string(2, q.Name)
	e.sint(3, q.At)
	e.bool(4, q.Joined)
	e.bool(5, q.Declined)
	return e.b
}

func (q *joinRequest) marshal() []byte { return q.fields(&enc{}) }

func parseJoinRequest(b []byte) (*joinRequest, error) {
	q := new(joinRequest)
	err := decodeFields(b, q.field)
	if err == nil && q.User.IsZero() {
		err = fmt.Errorf("%w: nobody asks", errMalformed)
	}
	if err == nil && checkProfileName(q.Name) != nil {
		err = fmt.Errorf("%w: %w", errMalformed, checkProfileName(q.Name))
	}
	if err != nil {
		return nil, fmt.Errorf("join request: %w", err)
	}
	return q, nil
}

func (q *joinRequest) field(f field) (err error) {
	switch f.num {
	case 1:
		err = f.id((*[16]byte)(&q.User))
	case 2:
		q.Name, err = f.string(MaxProfileName)
	case 3:
		q.At, err = f.sint64()
	case 4:
		q.Joined, err = f.bool()
	case 5:
		q.Declined, err = f.bool()
	}
	return err
}

func joinRequestKey(group wire.ConversationID, u wire.UserID) []byte {
	return append(append(make([]byte, 0, 32), group[:]...), u[:]...)
}

func putJoinRequest(tx store.Tx, group wire.ConversationID, q *joinRequest) error {
	return tx.Put(bJoinRequests, joinRequestKey(group, q.User), q.fields(newEnc()))
}

// joinRequests lists the requests to join the group s waiting on this
// device, oldest first, leaving out those who are members by now.
func joinRequests(tx store.Tx, s *groupState) ([]JoinRequest, error) {
	var out []JoinRequest
	err := tx.Scan(bJoinRequests, s.ID[:], func(_, v []byte) error {
		q := new(joinRequest)
		if err := decodeRecord(v, q.field); err != nil {
			return fmt.Errorf("join request: %w", err)
		}
		if s.member(q.User) < 0 {
			out = append(out, JoinRequest{User: q.User, Name: q.Name, At: fromMS(q.At)})
		}
		return nil
	})
	slices.SortStableFunc(out, func(a, b JoinRequest) int { return a.At.Compare(b.At) })
	return out, err
}

// pruneJoinRequests drops the requests of those who are members of s.
func pruneJoinRequests(tx store.Tx, s *groupState) error {
	var gone [][]byte
	err := tx.Scan(bJoinRequests, s.ID[:], func(k, _ []byte) error {
		var u wire.UserID
		copy(u[:], k[len(s.ID):])
		if s.member(u) >= 0 {
			gone = append(gone, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range gone {
		if err := tx.Delete(bJoinRequests, k); err != nil {
			return err
		}
	}
	return nil
}

// askRecord is this account's own request to join a group with its
// invite link (bJoinAsks), until the group's state arrives:
// {1 the admin asked (16), 2 when (Unix ms)}.
type askRecord struct {
	Admin wire.UserID
	At    int64
}

func (a *askRecord) marshal() []byte {
	e := newEnc()
	e.id(1, a.Admin)
	e.sint(2, a.At)
	return e.b
}

// answerAsk reports whether this account asked to join the group, and
// forgets the request: its answer has come.
func answerAsk(tx store.Tx, group wire.ConversationID) (bool, error) {
	_, err := tx.Get(bJoinAsks, group[:])
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, tx.Delete(bJoinAsks, group[:])
}

// SetInviteLink turns the group's invite link on (LinkApprove, LinkOpen)
// or off (admins only, ErrNotAllowed). Turning it on makes a new secret
// unless it is on already (switching modes keeps the link). A change to
// or from LinkOpen needs the relay (ErrOffline), which then holds the
// link's hash or no longer does; the others work offline.
func (c *Client) SetInviteLink(ctx context.Context, id wire.ConversationID, mode LinkMode) error {
	if mode > LinkOpen {
		return fmt.Errorf("set the invite link: unknown mode %d", mode)
	}
	err := c.changeLink(ctx, id, func(g *groupRecord) ([]byte, *GroupEvent, error) {
		if g.State.Link == mode {
			return nil, nil, errUnchanged
		}
		link := g.Secrets.Link
		switch {
		case mode == LinkOff:
			link = nil
		case g.State.Link == LinkOff || len(link) == 0:
			link = make([]byte, secretSize)
			if err := c.random(link); err != nil {
				return nil, nil, err
			}
		}
		return link, &GroupEvent{Kind: EventLink, Actor: c.me().User, Link: mode}, nil
	})
	return unchanged(err, "set the invite link")
}

// ResetInviteLink makes a new invite link for the group (admins only):
// the old one admits nobody any more. In LinkOpen mode it needs the
// relay (ErrOffline).
func (c *Client) ResetInviteLink(ctx context.Context, id wire.ConversationID) error {
	err := c.changeLink(ctx, id, func(g *groupRecord) ([]byte, *GroupEvent, error) {
		if g.State.Link == LinkOff {
			return nil, nil, ErrNoLink
		}
		link := make([]byte, secretSize)
		if err := c.random(link); err != nil {
			return nil, nil, err
		}
		return link, &GroupEvent{Kind: EventLinkReset, Actor: c.me().User}, nil
	})
	if err != nil {
		return fmt.Errorf("reset the invite link: %w", err)
	}
	return nil
}

// changeLink makes a change to the group's invite link: plan gives the
// link's new secret and the change; the relay's hash follows first when
// it changes, then the change goes to the group with the secrets.
func (c *Client) changeLink(ctx context.Context, id wire.ConversationID, plan func(g *groupRecord) ([]byte, *GroupEvent, error)) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	var g *groupRecord
	err = c.st.View(ctx, func(tx store.Tx) (err error) {
		if g, err = c.joinedGroup(tx, id); err == nil && !g.State.isAdmin(me.User) {
			err = ErrNotAllowed
		}
		return err
	})
	if err != nil {
		return err
	}
	link, ev, err := plan(g)
	if err != nil {
		return err
	}
	mode := g.State.Link
	if ev.Kind == EventLink {
		mode = ev.Link
	}
	if was, now := linkHash(g.State.Link, g.Secrets.Link), linkHash(mode, link); !bytes.Equal(was, now) {
		if len(g.Secrets.Admin) != secretSize || len(g.Secrets.Add) != secretSize {
			return fmt.Errorf("%w: this device does not hold the group's secrets", ErrNotAllowed)
		}
		conn, err := c.connection(ctx)
		if err != nil {
			return err
		}
		err = c.setGroup(ctx, conn, &wire.SetGroup{
			Group: id, Op: wire.GroupKeys, Proof: g.Secrets.Admin,
			AdminHash: hashOf(g.Secrets.Admin), AddHash: hashOf(g.Secrets.Add), LinkHash: now,
		})
		if err != nil {
			return err
		}
	}
	rotated := &groupSecrets{Admin: g.Secrets.Admin, Add: g.Secrets.Add, Link: link}
	return c.change(ctx, id, func(*groupRecord) (*GroupEvent, error) { return ev, nil }, true, rotated)
}

// InviteToken returns the token of the group's invite link (admins only,
// ErrNotAllowed; ErrNoLink while it is off), naming this account as the
// admin requests go to. It works offline.
func (c *Client) InviteToken(ctx context.Context, id wire.ConversationID) (string, error) {
	me, err := c.registered()
	if err != nil {
		return "", err
	}
	var inv Invite
	err = c.st.View(ctx, func(tx store.Tx) error {
		g, err := c.joinedGroup(tx, id)
		switch {
		case err != nil:
			return err
		case !g.State.isAdmin(me.User):
			return ErrNotAllowed
		case g.State.Link == LinkOff || len(g.Secrets.Link) != secretSize:
			return ErrNoLink
		}
		a, err := mustAccount(tx)
		if err != nil {
			return err
		}
		inv = Invite{Group: id, GroupName: g.State.Name, Admin: me.User, AdminName: a.ProfileName, Mode: g.State.Link, secret: g.Secrets.Link}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("invite link: %w", err)
	}
	return inv.Token(), nil
}

// JoinByInvite asks to join the group of an invite link. With LinkOpen
// it needs the relay (ErrOffline): this account joins the relay's list
// with the link's secret first (ErrLinkExpired if the relay refuses it);
// with LinkApprove it works offline. Then the request goes to the admin
// who made the link; the group shows (a GroupChanged) once an admin's
// device has let this account in, or an admin has approved the request.
// It does nothing for a group this account is a member of already.
func (c *Client) JoinByInvite(ctx context.Context, inv Invite) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	if len(inv.secret) != secretSize || inv.Mode == LinkOff {
		return ErrBadInvite
	}
	if inv.Admin == me.User {
		return fmt.Errorf("join by invite: %w", ErrSelf)
	}
	member := false
	err = c.st.View(ctx, func(tx store.Tx) error {
		g, err := loadGroup(tx, inv.Group)
		member = g != nil && g.member()
		return err
	})
	if err != nil || member {
		return err
	}
	joined := false
	if inv.Mode == LinkOpen {
		conn, err := c.connection(ctx)
		if err != nil {
			return err
		}
		err = c.setGroup(ctx, conn, &wire.SetGroup{Group: inv.Group, Op: wire.GroupJoin, Proof: inv.secret})
		var we *wire.Error
		if errors.Is(err, ErrNotAllowed) || (errors.As(err, &we) && we.Code == wire.CodeNotFound) {
			return ErrLinkExpired
		}
		if err != nil {
			return fmt.Errorf("join by invite: %w", err)
		}
		joined = true
	}
	err = c.update(ctx, func(ts *txState) error {
		a, err := mustAccount(ts.tx)
		if err != nil {
			return err
		}
		if err := ts.tx.Put(bJoinAsks, inv.Group[:], (&askRecord{Admin: inv.Admin, At: ts.now}).marshal()); err != nil {
			return err
		}
		m := &content{
			Kind: kindJoinRequest, Group: inv.Group, LinkSecret: inv.secret, SentAt: ts.now,
			Request: &joinRequest{User: me.User, Name: a.ProfileName, Joined: joined},
		}
		ts.queued = true
		return c.enqueue(ts.tx, inv.Admin, m)
	})
	if err != nil {
		return fmt.Errorf("join by invite: %w", err)
	}
	return nil
}

// ApproveJoin lets someone who asked to join with the invite link in
// (admins only): they are added as AddMembers adds (it needs the relay,
// ErrOffline), and their device joins at once.
func (c *Client) ApproveJoin(ctx context.Context, id wire.ConversationID, user wire.UserID) error {
	if err := c.findRequest(ctx, id, user); err != nil {
		return fmt.Errorf("approve join: %w", err)
	}
	if err := c.AddMembers(ctx, id, user); err != nil {
		return fmt.Errorf("approve join: %w", err)
	}
	return c.settleRequest(ctx, id, user, false)
}

// DeclineJoin drops a request to join with the invite link (admins
// only), on every admin's device; it works offline. The person who
// asked is not told.
func (c *Client) DeclineJoin(ctx context.Context, id wire.ConversationID, user wire.UserID) error {
	if err := c.findRequest(ctx, id, user); err != nil {
		return fmt.Errorf("decline join: %w", err)
	}
	if err := c.settleRequest(ctx, id, user, true); err != nil {
		return fmt.Errorf("decline join: %w", err)
	}
	return nil
}

// findRequest checks that this account is an admin of the group and
// that user waits to join it.
func (c *Client) findRequest(ctx context.Context, id wire.ConversationID, user wire.UserID) error {
	me, err := c.registered()
	if err != nil {
		return err
	}
	return c.st.View(ctx, func(tx store.Tx) error {
		g, err := c.joinedGroup(tx, id)
		if err != nil {
			return err
		}
		if !g.State.isAdmin(me.User) {
			return ErrNotAllowed
		}
		_, err = tx.Get(bJoinRequests, joinRequestKey(id, user))
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoJoinRequest
		}
		return err
	})
}

// settleRequest forgets user's request to join the group on this device
// and, when declined, on the other admins' devices and this account's.
func (c *Client) settleRequest(ctx context.Context, id wire.ConversationID, user wire.UserID, declined bool) error {
	me := c.me()
	err := c.update(ctx, func(ts *txState) error {
		if err := ts.tx.Delete(bJoinRequests, joinRequestKey(id, user)); err != nil {
			return err
		}
		g, err := loadGroup(ts.tx, id)
		if g == nil || err != nil || !declined {
			return err
		}
		q := &joinRequest{User: user, Declined: true}
		if err := c.handOn(ts, g, q); err != nil {
			return err
		}
		ts.queued = true
		return c.enqueue(ts.tx, me.User, &content{Kind: kindJoinRequest, Group: id, Request: q, SentAt: ts.now})
	})
	if err != nil {
		return err
	}
	c.emit(GroupChanged{Group: id})
	return nil
}

// handOn queues a request to join (or its decline) to each other admin
// of the group who joined, within the group.
func (c *Client) handOn(ts *txState, g *groupRecord, q *joinRequest) error {
	me := c.me()
	for _, m := range g.State.Members {
		if !m.Admin || !m.Joined || m.User == me.User {
			continue
		}
		if _, err := c.newGroupEntry(ts.tx, wire.NewMessageID(), g.State.ID, m.User, &content{Kind: kindJoinRequest, Request: q, SentAt: ts.now}, false); err != nil {
			return err
		}
		ts.queued = true
	}
	return nil
}

// receiveJoinRequest applies a join request that came as a 1:1 message:
// from someone who asks (see the comment at the top), or a copy from
// another device of this account, of its own request (this device notes
// that it asked) or of a decline (see receiveForwardedRequest).
func (c *Client) receiveJoinRequest(ts *txState, in *incoming, r *received) error {
	me := c.me()
	m := in.content
	q := m.Request
	if q == nil || m.Group == (wire.ConversationID{}) {
		return nil
	}
	if in.fromSelf {
		if in.peer == me.User {
			g, err := loadGroup(ts.tx, m.Group)
			if g == nil || err != nil {
				return err
			}
			return c.takeRequest(ts, g, me.User, q, r)
		}
		return ts.tx.Put(bJoinAsks, m.Group[:], (&askRecord{Admin: in.peer, At: in.env.ServerTimeMS}).marshal())
	}
	sender := in.env.Sender
	if q.User != sender || q.Declined {
		return nil
	}
	g, err := loadGroup(ts.tx, m.Group)
	if g == nil || err != nil || !g.member() || !g.State.isAdmin(me.User) || g.State.member(sender) >= 0 {
		return err
	}
	if g.State.Link == LinkOff || len(g.Secrets.Link) != secretSize || subtle.ConstantTimeCompare(m.LinkSecret, g.Secrets.Link) != 1 {
		c.log.Debug("client: dropped a join request with a wrong or old link secret")
		return nil
	}
	if err := noteMemberName(ts.tx, sender, q.Name, m.SentAt); err != nil {
		return err
	}
	if g.State.Link == LinkOpen && q.Joined {
		return c.admit(ts, g, sender, r)
	}
	q.At = in.env.ServerTimeMS
	if err := putJoinRequest(ts.tx, g.State.ID, q); err != nil {
		return err
	}
	r.events = append(r.events, GroupChanged{Group: g.State.ID})
	return c.handOn(ts, g, q)
}

// admit lets user, who joined the relay's list with the invite link, in:
// a change of the group (EventLinkJoined) and its state sent to them.
func (c *Client) admit(ts *txState, g *groupRecord, user wire.UserID, r *received) error {
	me := c.me()
	ev := &GroupEvent{Kind: EventLinkJoined, Actor: me.User, Subjects: []wire.UserID{user}}
	ns, err := applyChange(g.State, ev, me.User)
	if errors.Is(err, errGroupRule) {
		c.log.Debug("client: could not let someone in with the invite link", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	g.State = ns
	if err := c.sendChange(ts, g, ev, false, r); err != nil {
		return err
	}
	if err := pruneJoinRequests(ts.tx, ns); err != nil {
		return err
	}
	return c.invite(ts, g, ev, ev.Subjects)
}

// receiveForwardedRequest applies a request to join that came within the
// group (its own part), handed on by an admin's device or by another
// device of this account.
func (c *Client) receiveForwardedRequest(ts *txState, g *groupRecord, gd *groupDelivery, m *content, r *received) error {
	if m.Request == nil || (gd.sender != c.me().User && !g.State.isAdmin(gd.sender)) {
		return nil
	}
	return c.takeRequest(ts, g, gd.sender, m.Request, r)
}

// takeRequest keeps a request to join handed on by from (an admin, or
// this account), or drops it when it was declined; only on an admin's
// device.
func (c *Client) takeRequest(ts *txState, g *groupRecord, from wire.UserID, q *joinRequest, r *received) error {
	if !g.member() || !g.State.isAdmin(c.me().User) {
		return nil
	}
	k := joinRequestKey(g.State.ID, q.User)
	switch {
	case q.Declined:
		if err := ts.tx.Delete(bJoinRequests, k); err != nil {
			return err
		}
	case g.State.member(q.User) >= 0:
		return nil
	default:
		if err := putJoinRequest(ts.tx, g.State.ID, &joinRequest{User: q.User, Name: q.Name, At: q.At}); err != nil {
			return err
		}
	}
	r.events = append(r.events, GroupChanged{Group: g.State.ID})
	return nil
}

// receiveAdmission applies the group's state an admin's device sent this
// account after it asked to join with the invite link, which names it
// as a member who joined (EventLinkJoined): the group is joined here.
// Without a request of this account's it is dropped.
func (c *Client) receiveAdmission(ts *txState, in *incoming, g *groupRecord, r *received) error {
	me := c.me()
	m := in.content
	group, sender := m.State.ID, in.env.Sender
	if !slices.Contains(m.Event.Subjects, me.User) || !m.State.joined(me.User) || !m.State.isAdmin(sender) {
		return nil
	}
	if g != nil && g.member() {
		_, err := answerAsk(ts.tx, group)
		return err
	}
	asked, err := answerAsk(ts.tx, group)
	if !asked || err != nil {
		return err
	}
	ng := &groupRecord{State: m.State, Status: GroupJoined, InvitedBy: sender, Since: ts.now}
	if g != nil {
		ng.Since = g.Since
	}
	if m.Secrets != nil {
		ng.Secrets = *m.Secrets
	}
	ng.trimSecrets(me.User)
	if err := noteMemberName(ts.tx, sender, m.Name, m.SentAt); err != nil {
		return err
	}
	if err := c.storeGroup(ts, ng, r); err != nil {
		return err
	}
	if err := c.groupLine(ts, group, in.env.MessageID, m.Event, in.env.ServerTimeMS, r); err != nil {
		return err
	}
	return c.replayPending(ts, group, nil, r)
}
