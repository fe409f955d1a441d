package client

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Messages to a group reach members who join after they were written.
// A group message goes to the members who joined (as the writer's state
// says), and the relay gives it only to members on its list who joined:
// a member invited but not joined yet when it is sealed, or joined on the
// relay's list but not yet known to have joined here, does not get it.
// So the device that seals a group entry keeps it (bGroupReplay) when
// members were invited and had not joined, naming them; when this device
// applies the join of one of them (their change, or a text from them),
// each message kept for them goes to them again, in the order written,
// as an entry within the group to them alone with the same message ID
// and the same content, encrypted pairwise: receivers drop one they had
// (its seen-ID). Their receipts count like any member's.
//
// What is kept: texts and changes of the group, except this account's
// own join (a joiner's join goes to the invited already, see ownJoin) and
// except, for a change that adds members, those it adds (they were not
// invited before it). Only the newest maxReplay messages of a group are
// kept, each for replayWindow; a member who leaves the list is taken off
// them, and a device that is no longer in the group forgets them all.

// replayWindow is how long after sealing a group message it is kept for
// members who have not joined.
const replayWindow = 24 * time.Hour

// maxReplay bounds the messages kept for one group.
const maxReplay = 100

// replayRecord is a group message this device sealed while members it
// names had not joined:
//
//	{1 message ID, 2 outbox sequence (the order written), 3 when sealed
//	 (Unix ms), 4 content kind, 5 padded content, 6 repeated the members
//	 it has not gone to yet (16 bytes each)}
type replayRecord struct {
	MessageID   wire.MessageID
	Seq         uint64
	At          int64
	ContentKind contentKind
	Padded      []byte
	Invited     []wire.UserID
}

func (p *replayRecord) marshal() []byte {
	e := newEnc()
	e.id(1, p.MessageID)
	e.uint(2, p.Seq)
	e.sint(3, p.At)
	e.uint(4, uint64(p.ContentKind))
	e.bytes(5, p.Padded)
	for _, u := range p.Invited {
		e.id(6, u)
	}
	return e.b
}

func parseReplay(b []byte) (*replayRecord, error) {
	p := new(replayRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			err = f.id((*[16]byte)(&p.MessageID))
		case 2:
			p.Seq, err = f.uint64()
		case 3:
			p.At, err = f.sint64()
		case 4:
			var k uint32
			k, err = f.uint32()
			p.ContentKind = contentKind(k)
		case 5:
			p.Padded, err = f.copyBytes(wire.MaxCiphertext)
		case 6:
			var u wire.UserID
			if err = f.id((*[16]byte)(&u)); err == nil && u.IsZero() {
				err = fmt.Errorf("%w: a member without a user", errMalformed)
			}
			p.Invited = append(p.Invited, u)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("group message kept for members: %w", err)
	}
	return p, nil
}

func replayKey(g wire.ConversationID, id wire.MessageID) []byte {
	return append(append(make([]byte, 0, 32), g[:]...), id[:]...)
}

// keptReplay is a replayRecord with its key.
type keptReplay struct {
	key []byte
	p   *replayRecord
}

// loadReplays reads the messages kept for the group, oldest first, and
// deletes those older than replayWindow.
func loadReplays(tx store.Tx, group wire.ConversationID, now int64) ([]keptReplay, error) {
	var all, old []keptReplay
	err := tx.Scan(bGroupReplay, group[:], func(k, v []byte) error {
		p, err := parseReplay(v)
		if err != nil {
			return err
		}
		kr := keptReplay{slices.Clone(k), p}
		if now-p.At > replayWindow.Milliseconds() {
			old = append(old, kr)
		} else {
			all = append(all, kr)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, kr := range old {
		if err := tx.Delete(bGroupReplay, kr.key); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(all, func(a, b keptReplay) int {
		switch {
		case a.p.Seq < b.p.Seq:
			return -1
		case a.p.Seq > b.p.Seq:
			return 1
		}
		return 0
	})
	return all, nil
}

// keepForInvited keeps the group entry e, being sealed under the state g
// holds, for the members it does not go to because they have not joined
// (see the comment above).
func (c *Client) keepForInvited(ts *txState, e *outboxEntry, g *groupRecord) error {
	me := c.me()
	s, skip := g.State, []wire.UserID{me.User}
	if e.ContentKind == kindGroupState {
		m, err := openContent(e.Padded)
		if err != nil || m.State == nil || m.Event == nil {
			return err
		}
		if m.Event.Kind == EventCreated || (m.Event.Kind == EventJoined && m.Event.Actor == me.User) {
			return nil // those invited are invited by it; a joiner's join goes to the invited
		}
		s = m.State
		if m.Event.Kind == EventAdded {
			skip = append(skip, m.Event.Subjects...)
		}
	}
	var invited []wire.UserID
	for _, m := range s.Members {
		if !m.Joined && !slices.Contains(skip, m.User) && g.State.member(m.User) >= 0 {
			invited = append(invited, m.User)
		}
	}
	if len(invited) == 0 {
		return nil
	}
	kept, err := loadReplays(ts.tx, e.Group, ts.now)
	if err != nil {
		return err
	}
	kept = slices.DeleteFunc(kept, func(kr keptReplay) bool { return kr.p.MessageID == e.MessageID })
	for len(kept) >= maxReplay {
		if err := ts.tx.Delete(bGroupReplay, kept[0].key); err != nil {
			return err
		}
		kept = kept[1:]
	}
	p := &replayRecord{MessageID: e.MessageID, Seq: e.seq, At: ts.now, ContentKind: e.ContentKind, Padded: e.Padded, Invited: invited}
	return ts.tx.Put(bGroupReplay, replayKey(e.Group, e.MessageID), p.marshal())
}

// noteJoins sends the messages kept for the members who joined in g's
// state (just changed) and had not in old: see replayTo.
func (c *Client) noteJoins(ts *txState, g *groupRecord, old *groupState) error {
	for _, m := range g.State.Members {
		if i := old.member(m.User); m.Joined && i >= 0 && !old.Members[i].Joined {
			if err := c.replayTo(ts, g, m.User); err != nil {
				return err
			}
		}
	}
	return nil
}

// replayTo queues every message kept for member, who has just joined the
// group (see the comment above), oldest first, and takes them off the
// records. A text that failed is not sent; a text that goes counts
// member among those it went to (ReadBy).
func (c *Client) replayTo(ts *txState, g *groupRecord, member wire.UserID) error {
	me := c.me()
	if member == me.User || !g.member() {
		return nil
	}
	kept, err := loadReplays(ts.tx, g.State.ID, ts.now)
	if err != nil {
		return err
	}
	for _, kr := range kept {
		p := kr.p
		if !slices.Contains(p.Invited, member) {
			continue
		}
		if err := dropInvitee(ts.tx, kr, member); err != nil {
			return err
		}
		if p.ContentKind == kindText {
			m, err := c.loadMessage(ts.tx, me.User, p.MessageID)
			if err != nil {
				return err
			}
			if m != nil && m.State == StateFailed {
				continue
			}
			if err := expectReceipts(ts.tx, p.MessageID, member); err != nil {
				return err
			}
		}
		seq, err := nextOutboxSeq(ts.tx)
		if err != nil {
			return err
		}
		e := &outboxEntry{
			MessageID: p.MessageID, Conversation: g.State.ID, Peer: member, ContentKind: p.ContentKind,
			Padded: p.Padded, Group: g.State.ID,
		}
		if err := ts.tx.Put(bOutbox, seqKey(seq), e.marshal()); err != nil {
			return err
		}
		ts.queued = true
	}
	return nil
}

// replayed reports whether e is a group text sent again to a member who
// joined after it was written (texts within a group go to one member
// only so): its message was sent already.
func (e *outboxEntry) replayed() bool {
	return e.inGroup() && !e.shared() && e.ContentKind == kindText
}

// expectReceipts notes that the group text id went to member, who has
// not acknowledged it yet (unless their receipt is noted already).
func expectReceipts(tx store.Tx, id wire.MessageID, member wire.UserID) error {
	k := groupReceiptKey(id, member)
	if _, err := tx.Get(bGroupReceipts, k); !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return tx.Put(bGroupReceipts, k, (&receiptRecord{State: StateSent}).marshal())
}

// dropInvitee takes member off the kept message kr, which goes when
// nobody is left on it.
func dropInvitee(tx store.Tx, kr keptReplay, member wire.UserID) error {
	kr.p.Invited = slices.DeleteFunc(kr.p.Invited, func(u wire.UserID) bool { return u == member })
	if len(kr.p.Invited) == 0 {
		return tx.Delete(bGroupReplay, kr.key)
	}
	return tx.Put(bGroupReplay, kr.key, kr.p.marshal())
}

// forgetInvitees takes the members old lists and ns no longer does off
// the group's kept messages: they left, or were removed, before joining.
func forgetInvitees(tx store.Tx, now int64, old, ns *groupState) error {
	var gone []wire.UserID
	for _, m := range old.Members {
		if ns.member(m.User) < 0 {
			gone = append(gone, m.User)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	kept, err := loadReplays(tx, ns.ID, now)
	if err != nil {
		return err
	}
	for _, kr := range kept {
		for _, u := range gone {
			if slices.Contains(kr.p.Invited, u) {
				if err := dropInvitee(tx, kr, u); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
