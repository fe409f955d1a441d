package client

import (
	"errors"
	"fmt"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/senderkey"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Local records of groups (buckets in layout.go). Field numbers never
// change meaning; field 15 is the format version.

// groupRecord is what this device holds of a group:
//
//	{1 state (GroupState), 2 status (GroupStatus), 3 invited by,
//	 4 secrets (GroupSecrets: those this account may hold),
//	 5 a new sender key is due before the next message,
//	 6 when this device learnt of the group (Unix ms)}
type groupRecord struct {
	State     *groupState
	Status    GroupStatus
	InvitedBy wire.UserID
	Secrets   groupSecrets
	Rotate    bool
	Since     int64
}

func (g *groupRecord) marshal() []byte {
	e := newEnc()
	e.message(1, g.State.marshal())
	e.uint(2, uint64(g.Status))
	e.id(3, g.InvitedBy)
	if !g.Secrets.empty() {
		e.message(4, g.Secrets.marshal())
	}
	e.bool(5, g.Rotate)
	e.sint(6, g.Since)
	return e.b
}

func parseGroupRecord(b []byte) (*groupRecord, error) {
	g := new(groupRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			if err = f.wantBytes(); err == nil {
				g.State, err = parseGroupState(f.b)
			}
		case 2:
			var s uint32
			s, err = f.uint32()
			g.Status = GroupStatus(s)
		case 3:
			err = f.id((*[16]byte)(&g.InvitedBy))
		case 4:
			var s *groupSecrets
			if err = f.wantBytes(); err == nil {
				if s, err = parseGroupSecrets(f.b); err == nil {
					g.Secrets = *s
				}
			}
		case 5:
			g.Rotate, err = f.bool()
		case 6:
			g.Since, err = f.sint64()
		}
		return err
	})
	if err == nil && g.State == nil {
		err = fmt.Errorf("%w: no state", errMalformed)
	}
	if err != nil {
		return nil, fmt.Errorf("group record: %w", err)
	}
	return g, nil
}

// member reports whether this account is a member who joined.
func (g *groupRecord) member() bool { return g.Status == GroupJoined }

// trimSecrets drops the secrets self may no longer hold under the state
// (see entitled): a member made member only loses the admins' secret.
func (g *groupRecord) trimSecrets(self wire.UserID) {
	g.Secrets = g.State.entitled(g.Secrets, self)
}

func loadGroup(tx store.Tx, id wire.ConversationID) (*groupRecord, error) {
	b, err := tx.Get(bGroups, id[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseGroupRecord(b)
}

func putGroup(tx store.Tx, g *groupRecord) error {
	return tx.Put(bGroups, g.State.ID[:], g.marshal())
}

// loadSenderKey reads the sender key record of (group, user, device); an
// empty record if there is none.
func loadSenderKey(tx store.Tx, g wire.ConversationID, u wire.UserID, d wire.DeviceID) (*senderkey.Record, bool, error) {
	b, err := tx.Get(bSenderKeys, senderKeyKey(g, u, d))
	if errors.Is(err, store.ErrNotFound) {
		return new(senderkey.Record), false, nil
	}
	if err != nil {
		return nil, false, err
	}
	r, err := senderkey.ParseRecord(b)
	return r, err == nil, err
}

func putSenderKey(tx store.Tx, g wire.ConversationID, u wire.UserID, d wire.DeviceID, r *senderkey.Record) error {
	return tx.Put(bSenderKeys, senderKeyKey(g, u, d), r.Marshal())
}

// forgetGroupKeys deletes every sender key of the group on this device
// (its own and the members'), and the list of who holds its own: this
// account left the group or was removed from it.
func forgetGroupKeys(tx store.Tx, g wire.ConversationID) error {
	if err := deletePrefix(tx, bSenderKeys, g[:]); err != nil {
		return err
	}
	return deletePrefix(tx, bKeyHolders, g[:])
}

// holds reports whether device d of u was given this device's sender key
// of chain for the group.
func holds(tx store.Tx, g wire.ConversationID, u wire.UserID, d wire.DeviceID, chain uint32) (bool, error) {
	v, err := tx.Get(bKeyHolders, senderKeyKey(g, u, d))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return len(v) == 4 && seqFromKey(v) == uint64(chain), nil
}

func markHolder(tx store.Tx, g wire.ConversationID, u wire.UserID, d wire.DeviceID, chain uint32) error {
	return tx.Put(bKeyHolders, senderKeyKey(g, u, d), idKey(chain))
}

// pendingRecord is a group message kept until what it needs arrives:
// the sender's key (its shared part could not be decrypted yet) or the
// group itself (this device does not know it yet). Its own part is kept
// decrypted, as a content (the ratchet step that opened it is done).
//
//	{1 sender, 2 sender device, 3 message ID, 4 server time (Unix ms),
//	 5 own part (an unpadded Content), 6 shared part}
type pendingRecord struct {
	Sender       wire.UserID
	SenderDevice wire.DeviceID
	MessageID    wire.MessageID
	ServerTimeMS int64
	Own          []byte
	Shared       []byte
}

func (p *pendingRecord) marshal() []byte {
	e := newEnc()
	e.id(1, p.Sender)
	e.uint(2, uint64(p.SenderDevice))
	e.id(3, p.MessageID)
	e.sint(4, p.ServerTimeMS)
	e.bytes(5, p.Own)
	e.bytes(6, p.Shared)
	return e.b
}

func parsePending(b []byte) (*pendingRecord, error) {
	p := new(pendingRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&p.Sender))
		case 2:
			var d uint32
			d, err = f.uint32()
			p.SenderDevice = wire.DeviceID(d)
		case 3:
			err = f.id((*[16]byte)(&p.MessageID))
		case 4:
			p.ServerTimeMS, err = f.sint64()
		case 5:
			p.Own, err = f.copyBytes(wire.MaxCiphertext)
		case 6:
			p.Shared, err = f.copyBytes(wire.MaxCiphertext)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pending group message: %w", err)
	}
	return p, nil
}

// receiptRecord is how far one member has got with a message this
// account wrote to a group: {1 state (MessageState: sent, delivered,
// read), 2 when their receipt arrived (Unix ms)}.
type receiptRecord struct {
	State MessageState
	At    int64
}

func (r *receiptRecord) marshal() []byte {
	e := newEnc()
	e.uint(1, uint64(r.State))
	e.sint(2, r.At)
	return e.b
}

func parseReceiptRecord(b []byte) (*receiptRecord, error) {
	r := new(receiptRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var s uint32
			s, err = f.uint32()
			r.State = MessageState(s)
		case 2:
			r.At, err = f.sint64()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("group receipt: %w", err)
	}
	return r, nil
}

// memberName is the profile name a group member gave, with when they
// set it (their clock, Unix ms): {1 name, 2 set at}.
type memberName struct {
	Name string
	At   int64
}

func (n *memberName) marshal() []byte {
	e := newEnc()
	e.string(1, n.Name)
	e.sint(2, n.At)
	return e.b
}

func parseMemberName(b []byte) (*memberName, error) {
	n := new(memberName)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			n.Name, err = f.string(MaxProfileName)
		case 2:
			n.At, err = f.sint64()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("member name: %w", err)
	}
	return n, nil
}

// noteMemberName keeps the profile name u gave (unless a newer one is
// kept already).
func noteMemberName(tx store.Tx, u wire.UserID, name string, at int64) error {
	if name == "" || checkProfileName(name) != nil {
		return nil
	}
	b, err := tx.Get(bMemberNames, u[:])
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		old, err := parseMemberName(b)
		if err != nil {
			return err
		}
		if old.At > at || (old.At == at && old.Name == name) {
			return nil
		}
	}
	return tx.Put(bMemberNames, u[:], (&memberName{Name: name, At: at}).marshal())
}

// dueOp is a change of the relay's member list a device still has to
// make.
type dueOp uint32

const (
	dueJoin  dueOp = 1 // join (an invitation from a contact, accepted at once)
	dueLeave dueOp = 2 // leave, once the outbox entry After (the leave, sent to the group) is gone
)

// dueRecord: {1 op, 2 the outbox sequence to wait for}.
type dueRecord struct {
	Op    dueOp
	After uint64
}

func (d *dueRecord) marshal() []byte {
	e := newEnc()
	e.uint(1, uint64(d.Op))
	e.uint(2, d.After)
	return e.b
}

func parseDue(b []byte) (*dueRecord, error) {
	d := new(dueRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			var op uint32
			op, err = f.uint32()
			d.Op = dueOp(op)
		case 2:
			d.After, err = f.uint64()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("group change due: %w", err)
	}
	return d, nil
}

// publicGroup is the Group a groupRecord shows, with the names members
// are called by on this device (see GroupMember.Name).
func (c *Client) publicGroup(tx store.Tx, g *groupRecord) (Group, error) {
	me := c.me()
	out := Group{
		ID: g.State.ID, Name: g.State.Name, Version: g.State.Version,
		MembersCanAdd: g.State.MembersCanAdd, Status: g.Status, InvitedBy: g.InvitedBy,
		Admin: g.member() && g.State.isAdmin(me.User), Created: fromMS(g.State.Created),
		Members: make([]GroupMember, 0, len(g.State.Members)), Link: g.State.Link,
	}
	if out.Admin {
		var err error
		if out.JoinRequests, err = joinRequests(tx, g.State); err != nil {
			return Group{}, err
		}
	}
	for _, m := range g.State.Members {
		name, err := c.memberDisplayName(tx, m.User)
		if err != nil {
			return Group{}, err
		}
		out.Members = append(out.Members, GroupMember{User: m.User, Admin: m.Admin, Joined: m.Joined, AddedBy: m.AddedBy, Name: name})
	}
	return out, nil
}

// memberDisplayName is what to call a member on this device: their
// contact's Name, else the profile name they gave, else the first eight
// hex digits of their user ID; for this account, its profile name.
func (c *Client) memberDisplayName(tx store.Tx, u wire.UserID) (string, error) {
	me := c.me()
	if u == me.User {
		a, err := mustAccount(tx)
		if err != nil {
			return "", err
		}
		if a.ProfileName != "" {
			return a.ProfileName, nil
		}
		return u.String()[:8], nil
	}
	ct, err := getContact(tx, me.User, u)
	if err != nil {
		return "", err
	}
	if ct != nil && (ct.Nickname != "" || ct.ProfileName != "" || ct.VerifiedAddress != "" || ct.Address != "") {
		return ct.Name(), nil
	}
	b, err := tx.Get(bMemberNames, u[:])
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return "", err
	default:
		n, err := parseMemberName(b)
		if err != nil {
			return "", err
		}
		if n.Name != "" {
			return n.Name, nil
		}
	}
	return u.String()[:8], nil
}

// recipientsOf lists the users a message to the group goes to from this
// account: the members who joined, this account left out.
func recipientsOf(s *groupState, self wire.UserID) []wire.UserID {
	var out []wire.UserID
	for _, m := range s.Members {
		if m.Joined && m.User != self {
			out = append(out, m.User)
		}
	}
	return out
}

// sameUsers reports whether a and b list the same users, in any order.
func sameUsers(a, b []wire.UserID) bool {
	if len(a) != len(b) {
		return false
	}
	for _, u := range a {
		if !slices.Contains(b, u) {
			return false
		}
	}
	return true
}

// loadDue reads the change of the relay's list due for a group; nil if
// none is.
func loadDue(tx store.Tx, group wire.ConversationID) (*dueRecord, error) {
	b, err := tx.Get(bGroupDue, group[:])
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseDue(b)
}
