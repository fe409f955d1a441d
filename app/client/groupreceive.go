package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/senderkey"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Receiving in a group. A group message (an envelope of kind group, whose
// conversation is the group) is opened in two parts, in the transaction
// that stores it:
//
//  1. its own part, if any (env.Ciphertext, pairwise: a sender key with
//     the group's secrets, or a receipt), decrypted as a 1:1 message is;
//  2. its shared part (env.Shared), decrypted with the sender device's
//     sender key for the group (senderkey.Record.Decrypt, which changes
//     the record only on success): a text or a change of the group.
//
// The group must be one this device knows and this account is in, and
// the sender a member of it (as this device's state says): otherwise the
// message is dropped, except that a message of a group this device does
// not know yet (a new device before its groups sync arrives) is kept. A
// shared part whose sender key has not arrived is kept too (its own part
// already opened), at most maxPending a group, and opened when the key
// arrives; beyond that it is reported Undecryptable. Nothing is lost
// silently. The secrets an own part carries are taken only after the
// shared part (a change that makes the receiver an admin comes with the
// admins' secret).

// maxPending bounds the messages kept for one group while they wait for
// a sender key or for the group.
const maxPending = 256

// groupDelivery is a group message as this device opens it, live or kept
// (pendingRecord).
type groupDelivery struct {
	group        wire.ConversationID
	sender       wire.UserID
	device       wire.DeviceID
	id           wire.MessageID
	serverTimeMS int64
	own          *content // its own part, opened; nil if none
	shared       []byte
}

func (gd *groupDelivery) envelope() *wire.Envelope {
	return &wire.Envelope{MessageID: gd.id, Conversation: gd.group, Sender: gd.sender, SenderDevice: gd.device, ServerTimeMS: gd.serverTimeMS, Kind: wire.KindGroup}
}

// receiveGroup stores one group message in ts.
func (c *Client) receiveGroup(ctx context.Context, ts *txState, env *wire.Envelope, r *received) error {
	seenKey, skip, err := c.unseen(ts, env)
	if skip || err != nil {
		return err
	}
	gd := &groupDelivery{
		group: env.Conversation, sender: env.Sender, device: env.SenderDevice,
		id: env.MessageID, serverTimeMS: env.ServerTimeMS, shared: env.Shared,
	}
	if len(env.Ciphertext) > 0 {
		plaintext, err, fatal := c.decryptOwn(ctx, ts, env)
		if fatal != nil {
			return fatal
		}
		if err == nil {
			gd.own, err = openContent(plaintext)
		}
		if err == nil && gd.own.Group != gd.group {
			err = fmt.Errorf("%w: content of another group", errMalformed)
		}
		if err != nil {
			r.undecryptable(env, err)
			gd.own = nil
		}
	}
	if err := ts.tx.Put(bSeen, seenKey, binary.BigEndian.AppendUint64(nil, uint64(env.ServerTimeMS))); err != nil {
		return err
	}
	if gd.own == nil && len(gd.shared) == 0 {
		return nil
	}
	return c.openGroupDelivery(ts, gd, r)
}

// openGroupDelivery applies a group message whose own part is open: it
// is kept if the group is not known yet, dropped if this account is not
// in it or the sender is not a member, and otherwise its own part and
// then its shared part are applied.
func (c *Client) openGroupDelivery(ts *txState, gd *groupDelivery, r *received) error {
	me := c.me()
	g, err := loadGroup(ts.tx, gd.group)
	if err != nil {
		return err
	}
	if g == nil {
		return c.keepPending(ts, gd, r)
	}
	if g.Status == GroupLeft || g.Status == GroupRemoved {
		return nil
	}
	if gd.sender != me.User && g.State.member(gd.sender) < 0 {
		return nil
	}
	if gd.own != nil {
		if err := c.applyOwnPart(ts, g, gd, r); err != nil {
			return err
		}
	}
	if len(gd.shared) > 0 {
		if err := c.openShared(ts, gd, r); err != nil {
			return err
		}
	}
	if gd.own != nil && gd.own.Kind == kindSenderKey && gd.own.Secrets != nil {
		return c.takeSecrets(ts, gd.group, gd.sender, gd.own.Secrets, r)
	}
	return nil
}

// applyOwnPart applies a group message's own part: a sender key (which
// may open kept messages of its sender device) and the writer's name, a
// receipt, or a change sent to this account alone.
func (c *Client) applyOwnPart(ts *txState, g *groupRecord, gd *groupDelivery, r *received) error {
	m := gd.own
	switch m.Kind {
	case kindSenderKey:
		if err := noteMemberName(ts.tx, gd.sender, m.Name, m.SentAt); err != nil {
			return err
		}
		if len(m.SenderKey) == 0 {
			return nil
		}
		dm, err := senderkey.ParseDistributionMessage(m.SenderKey)
		if err != nil {
			r.undecryptable(gd.envelope(), err)
			return nil
		}
		rec, _, err := loadSenderKey(ts.tx, gd.group, gd.sender, gd.device)
		if err != nil {
			return err
		}
		if err := rec.Process(dm); err != nil {
			r.undecryptable(gd.envelope(), err)
			return nil
		}
		if err := putSenderKey(ts.tx, gd.group, gd.sender, gd.device, rec); err != nil {
			return err
		}
		return c.replayPending(ts, gd.group, &pendingFrom{gd.sender, gd.device, gd.id}, r)
	case kindDelivered, kindRead:
		return c.receiveGroupReceipt(ts, g, gd, m, r)
	case kindGroupState:
		return c.receiveGroupChange(ts, gd, m, r)
	case kindJoinRequest:
		return c.receiveForwardedRequest(ts, g, gd, m, r)
	}
	return nil
}

// openShared decrypts a group message's shared part with its sender
// device's key and applies it, or keeps it until the key arrives.
func (c *Client) openShared(ts *txState, gd *groupDelivery, r *received) error {
	rec, ok, err := loadSenderKey(ts.tx, gd.group, gd.sender, gd.device)
	if err != nil {
		return err
	}
	if !ok {
		return c.keepPending(ts, &groupDelivery{group: gd.group, sender: gd.sender, device: gd.device, id: gd.id, serverTimeMS: gd.serverTimeMS, shared: gd.shared}, r)
	}
	plaintext, err := rec.Decrypt(gd.shared)
	if errors.Is(err, senderkey.ErrNoState) {
		return c.keepPending(ts, &groupDelivery{group: gd.group, sender: gd.sender, device: gd.device, id: gd.id, serverTimeMS: gd.serverTimeMS, shared: gd.shared}, r)
	}
	if err != nil {
		r.undecryptable(gd.envelope(), err)
		return nil
	}
	if err := putSenderKey(ts.tx, gd.group, gd.sender, gd.device, rec); err != nil {
		return err
	}
	m, err := openContent(plaintext)
	if err == nil && m.Group != gd.group {
		err = fmt.Errorf("%w: content of another group", errMalformed)
	}
	if err != nil {
		r.undecryptable(gd.envelope(), err)
		return nil
	}
	switch m.Kind {
	case kindText:
		return c.receiveGroupText(ts, gd, m, r)
	case kindGroupState:
		return c.receiveGroupChange(ts, gd, m, r)
	}
	return nil
}

// keepPending keeps a group message until its group or its sender key
// arrives, at most maxPending a group (beyond that it is reported as
// undecryptable).
func (c *Client) keepPending(ts *txState, gd *groupDelivery, r *received) error {
	n := 0
	err := ts.tx.Scan(bGroupPending, gd.group[:], func(_, _ []byte) error {
		n++
		return nil
	})
	if err != nil {
		return err
	}
	if n >= maxPending {
		r.undecryptable(gd.envelope(), fmt.Errorf("more than %d messages of the group wait for a sender key", maxPending))
		return nil
	}
	p := &pendingRecord{Sender: gd.sender, SenderDevice: gd.device, MessageID: gd.id, ServerTimeMS: gd.serverTimeMS, Shared: gd.shared}
	if gd.own != nil {
		p.Own = gd.own.marshal()
	}
	return ts.tx.Put(bGroupPending, pendingKey(gd.group, gd.serverTimeMS, gd.sender, gd.id), p.marshal())
}

// pendingFrom names the kept messages a sender key opens: those of one
// sender device, except the message that brought the key (its caller
// opens it next). A message kept for want of a key keeps only its shared
// part (its own part was applied), so opening it again applies nothing
// twice.
type pendingFrom struct {
	sender wire.UserID
	device wire.DeviceID
	skip   wire.MessageID
}

// replayPending opens again, oldest first, the messages kept for the
// group: all of them (from nil: the group has just become known) or those
// of one sender device (its key arrived). One whose key is still missing
// stays kept.
func (c *Client) replayPending(ts *txState, group wire.ConversationID, from *pendingFrom, r *received) error {
	type kept struct {
		key []byte
		p   *pendingRecord
	}
	var all []kept
	err := ts.tx.Scan(bGroupPending, group[:], func(k, v []byte) error {
		p, err := parsePending(v)
		if err != nil {
			return err
		}
		if from == nil || (p.Sender == from.sender && p.SenderDevice == from.device && p.MessageID != from.skip) {
			all = append(all, kept{slices.Clone(k), p})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range all {
		// All of them first: opening one may open the others (its own
		// part a key), which must not be opened twice.
		if err := ts.tx.Delete(bGroupPending, k.key); err != nil {
			return err
		}
	}
	for _, k := range all {
		gd := &groupDelivery{group: group, sender: k.p.Sender, device: k.p.SenderDevice, id: k.p.MessageID, serverTimeMS: k.p.ServerTimeMS, shared: k.p.Shared}
		if len(k.p.Own) > 0 {
			if gd.own, err = parseContent(k.p.Own); err != nil {
				r.undecryptable(gd.envelope(), err)
				gd.own = nil
			}
		}
		if err := c.openGroupDelivery(ts, gd, r); err != nil {
			return err
		}
	}
	return nil
}

// receiveGroupText stores a text written to a group and reports it
// (MessageReceived). A member's is received, and a delivery receipt goes
// back to the writer within the group; a copy of one this account wrote
// on another device is stored as sent, with each member it went to as
// having it (until their receipts say more). A text from an invited
// member shows they joined.
func (c *Client) receiveGroupText(ts *txState, gd *groupDelivery, m *content, r *received) error {
	me := c.me()
	g, err := loadGroup(ts.tx, gd.group)
	if g == nil || err != nil {
		return err
	}
	fromSelf := gd.sender == me.User
	if i := g.State.member(gd.sender); i >= 0 && !g.State.Members[i].Joined {
		g.State.Members[i].Joined = true
		if err := putGroup(ts.tx, g); err != nil {
			return err
		}
		r.events = append(r.events, GroupChanged{Group: gd.group})
	}
	if checkText(m.Text) != nil && (m.Text != "" || len(m.Attachments) == 0) {
		return nil
	}
	msg := &Message{
		ID: gd.id, Conversation: gd.group, Author: gd.sender, Outgoing: fromSelf, SenderDevice: gd.device,
		Text: m.Text, SentAt: fromMS(m.SentAt), ServerTime: fromMS(gd.serverTimeMS), State: StateReceived,
		Attachments: m.Attachments,
	}
	if fromSelf {
		msg.State = StateSent
		for _, u := range recipientsOf(g.State, me.User) {
			if err := ts.tx.Put(bGroupReceipts, groupReceiptKey(msg.ID, u), (&receiptRecord{State: StateSent}).marshal()); err != nil {
				return err
			}
		}
	}
	if err := c.receiveAttachments(ts, gd.sender, msg, true, r); err != nil {
		return err
	}
	if err := c.insertMessage(ts.tx, gd.sender, msg); err != nil {
		return err
	}
	r.events = append(r.events, MessageReceived{Message: *msg})
	if fromSelf || !g.member() {
		return nil
	}
	if err := c.enqueueGroupReceipt(ts.tx, gd.group, gd.sender, kindDelivered, gd.id); err != nil {
		return err
	}
	r.queued = true
	return nil
}

// receiveGroupChange applies a change to the group from a member (see
// mergeState), and the writer's name it carries. A member who joins not
// knowing that this account joined too (they accepted at the same time)
// is told so, within the group.
func (c *Client) receiveGroupChange(ts *txState, gd *groupDelivery, m *content, r *received) error {
	me := c.me()
	if m.State == nil || m.Event == nil {
		return nil
	}
	g, err := loadGroup(ts.tx, gd.group)
	if g == nil || err != nil {
		return err
	}
	ns, _, err := mergeState(g.State, m.State, m.Event, gd.sender)
	if errors.Is(err, errGroupRule) {
		c.log.Debug("client: dropped a group change", "err", err)
		return nil
	}
	if err != nil {
		return err
	}
	if err := noteMemberName(ts.tx, gd.sender, m.Name, m.SentAt); err != nil {
		return err
	}
	if err := c.changeGroup(ts, g, ns, m.Event, gd.id, gd.serverTimeMS, r); err != nil {
		return err
	}
	if m.Event.Kind == EventJoined && gd.sender != me.User && g.member() && !m.State.joined(me.User) {
		return c.announceJoin(ts, g, gd.sender)
	}
	return nil
}

// announceJoin tells member, within the group, that this account has
// joined: a change of kind EventJoined that they apply as a join (see
// mergeState), or drop if they knew.
func (c *Client) announceJoin(ts *txState, g *groupRecord, member wire.UserID) error {
	me := c.me()
	a, err := mustAccount(ts.tx)
	if err != nil {
		return err
	}
	m := &content{Kind: kindGroupState, State: g.State, Event: &GroupEvent{Kind: EventJoined, Actor: me.User}, Name: a.ProfileName, SentAt: ts.now}
	if _, err := c.newGroupEntry(ts.tx, wire.NewMessageID(), g.State.ID, member, m, false); err != nil {
		return err
	}
	ts.queued = true
	return nil
}

// changeGroup stores the group's new state ns after the change ev (made
// by ev.Actor, in the message id): this account's standing follows it
// (joined, left, removed: then this device forgets the group's sender
// keys and its messages not sent yet fail), a member gone makes a new
// sender key due, the secrets this account may no longer hold go, and
// the change becomes a line of the group's history (GroupChanged).
func (c *Client) changeGroup(ts *txState, g *groupRecord, ns *groupState, ev *GroupEvent, id wire.MessageID, serverTimeMS int64, r *received) error {
	me := c.me()
	for _, m := range g.State.Members {
		if ns.member(m.User) < 0 {
			g.Rotate = true // only the remaining members get the next key
		}
	}
	g.State = ns
	i := ns.member(me.User)
	switch {
	case i < 0 && (g.Status == GroupJoined || g.Status == GroupInvited):
		g.Status = GroupRemoved
		if ev.Kind == EventLeft && ev.Actor == me.User {
			g.Status = GroupLeft
		}
		if err := c.leftGroup(ts, g.State.ID); err != nil {
			return err
		}
	case i >= 0 && ns.Members[i].Joined && g.Status == GroupInvited:
		g.Status = GroupJoined // another device of this account joined
		if err := ts.tx.Delete(bGroupDue, g.State.ID[:]); err != nil {
			return err
		}
	}
	g.trimSecrets(me.User)
	if err := putGroup(ts.tx, g); err != nil {
		return err
	}
	if err := pruneJoinRequests(ts.tx, ns); err != nil {
		return err
	}
	return c.groupLine(ts, g.State.ID, id, ev, serverTimeMS, r)
}

// leftGroup forgets what this device holds to write and read in the
// group once this account is no longer in it: the sender keys, the
// messages kept for later, a change of the relay's list still due, and
// the entries not sent yet (their messages fail).
func (c *Client) leftGroup(ts *txState, group wire.ConversationID) error {
	if err := forgetGroupKeys(ts.tx, group); err != nil {
		return err
	}
	if err := deletePrefix(ts.tx, bGroupPending, group[:]); err != nil {
		return err
	}
	if err := ts.tx.Delete(bGroupDue, group[:]); err != nil {
		return err
	}
	return c.dropGroupOutbox(ts, group)
}

// dropGroupOutbox removes the group's entries not encrypted yet, failing
// their messages (not_accepted).
func (c *Client) dropGroupOutbox(ts *txState, group wire.ConversationID) error {
	var drop []*outboxEntry
	err := ts.tx.Scan(bOutbox, nil, func(k, v []byte) error {
		e, err := parseOutbox(v)
		if err != nil {
			return err
		}
		if e.Group == group && !e.Encrypted {
			e.seq = seqFromKey(k)
			drop = append(drop, e)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range drop {
		if _, err := c.failEntry(ts.tx, e, wire.CodeNotAccepted); err != nil {
			return err
		}
	}
	return nil
}

// groupLine stores a change of the group as a line of its history (a
// Message with Event, by ev.Actor, read: it counts as nothing unread)
// and reports it (MessageReceived, GroupChanged).
func (c *Client) groupLine(ts *txState, group wire.ConversationID, id wire.MessageID, ev *GroupEvent, serverTimeMS int64, r *received) error {
	at := serverTimeMS
	if at == 0 {
		at = ts.now
	}
	if m, err := c.loadMessage(ts.tx, ev.Actor, id); m != nil || err != nil {
		return err // the same change, told twice
	}
	msg := &Message{
		ID: id, Conversation: group, Author: ev.Actor, Event: ev,
		SentAt: fromMS(at), ServerTime: fromMS(at), State: StateRead,
	}
	if err := c.insertMessage(ts.tx, ev.Actor, msg); err != nil {
		return err
	}
	r.events = append(r.events, MessageReceived{Message: *msg}, GroupChanged{Group: group})
	return nil
}

// takeSecrets takes the group's secrets a member gave this account,
// those the member may give: all of them from an admin or from another
// device of this account, the adders' secret from any member who joined
// when every member may add; and of those, only what this account may
// hold (see entitled).
func (c *Client) takeSecrets(ts *txState, group wire.ConversationID, from wire.UserID, s *groupSecrets, r *received) error {
	me := c.me()
	g, err := loadGroup(ts.tx, group)
	if g == nil || err != nil || !g.member() {
		return err
	}
	var give groupSecrets
	switch {
	case from == me.User || g.State.isAdmin(from):
		give = *s
	case g.State.MembersCanAdd && g.State.joined(from):
		give.Add = s.Add
	}
	was := g.Secrets
	if len(give.Admin) > 0 {
		g.Secrets.Admin = give.Admin
	}
	if len(give.Add) > 0 {
		g.Secrets.Add = give.Add
	}
	if len(give.Link) > 0 {
		g.Secrets.Link = give.Link
	}
	g.trimSecrets(me.User)
	if string(was.marshal()) == string(g.Secrets.marshal()) {
		return nil
	}
	return putGroup(ts.tx, g)
}

// receiveGroupReceipt applies a member's receipt: how far they have got
// with this account's messages to the group (ReadBy), and the messages'
// states once every member they went to has got as far (read receipts
// count as delivery receipts while this user has them off). A read
// receipt from another device of this account marks the messages it
// names read here too.
func (c *Client) receiveGroupReceipt(ts *txState, g *groupRecord, gd *groupDelivery, m *content, r *received) error {
	me := c.me()
	if gd.sender == me.User {
		if m.Kind != kindRead {
			return nil
		}
		for _, ref := range m.Refs {
			msg, err := c.advanceMessage(ts.tx, m.Peer, ref, wire.UserID{}, StateRead)
			if err != nil {
				return err
			}
			if msg != nil {
				r.events = append(r.events, MessageStateChanged{Message: *msg})
			}
		}
		return nil
	}
	state := StateDelivered
	if m.Kind == kindRead {
		hidden, err := readsHidden(ts.tx)
		if err != nil {
			return err
		}
		if !hidden {
			state = StateRead
		}
	}
	for _, ref := range m.Refs {
		if err := c.noteGroupReceipt(ts, g.State.ID, gd.sender, ref, state, r); err != nil {
			return err
		}
	}
	return nil
}

// noteGroupReceipt records that member has got as far as state with this
// account's message id, and moves the message on when every member it
// went to has.
func (c *Client) noteGroupReceipt(ts *txState, group wire.ConversationID, member wire.UserID, id wire.MessageID, state MessageState, r *received) error {
	k := groupReceiptKey(id, member)
	b, err := ts.tx.Get(bGroupReceipts, k)
	if errors.Is(err, store.ErrNotFound) {
		return nil // not a message that went to them
	}
	if err != nil {
		return err
	}
	row, err := parseReceiptRecord(b)
	if err != nil {
		return err
	}
	if rank(state) <= rank(row.State) {
		return nil
	}
	row.State, row.At = state, ts.now
	if err := ts.tx.Put(bGroupReceipts, k, row.marshal()); err != nil {
		return err
	}
	return c.settleGroupMessage(ts, group, id, r)
}

// settleGroupMessage moves this account's message id to the group
// forward to the state every member it went to has reached (once the
// relay has taken it), and reports it (MessageStateChanged) whether or
// not its state moved: how far a member has got (ReadBy) changed.
func (c *Client) settleGroupMessage(ts *txState, group wire.ConversationID, id wire.MessageID, r *received) error {
	me := c.me()
	m, err := c.loadMessage(ts.tx, me.User, id)
	if m == nil || err != nil || m.Conversation != group || !m.Outgoing {
		return err
	}
	least, err := reached(ts.tx, id)
	if err != nil {
		return err
	}
	if rank(least) > rank(m.State) && !unsent(m.State) {
		was := m.State
		m.State, m.Failure = least, 0
		if err := c.putMessage(ts.tx, m, was); err != nil {
			return err
		}
	}
	r.events = append(r.events, MessageStateChanged{Message: *m})
	return nil
}

// reached is the state every member a message of this account went to
// has reached (StateSent, delivered or read); 0 when it went to nobody.
func reached(tx store.Tx, id wire.MessageID) (MessageState, error) {
	least, rows := StateRead, 0
	err := tx.Scan(bGroupReceipts, id[:], func(_, v []byte) error {
		row, err := parseReceiptRecord(v)
		if err != nil {
			return err
		}
		rows++
		if rank(row.State) < rank(least) {
			least = row.State
		}
		return nil
	})
	if rows == 0 {
		return 0, err
	}
	return least, err
}

// groupRejection applies the relay's refusal of a group message for one
// member (they are not on the group's list: they left, were removed or
// have not joined): the message is not theirs to acknowledge, and they
// do not hold this device's sender key.
func (c *Client) groupRejection(ts *txState, g *groupRecord, env *wire.Envelope, r *received) error {
	u := env.Subject
	if u.IsZero() {
		return nil
	}
	if err := deletePrefix(ts.tx, bKeyHolders, append(slices.Clone(g.State.ID[:]), u[:]...)); err != nil {
		return err
	}
	k := groupReceiptKey(env.MessageID, u)
	if _, err := ts.tx.Get(bGroupReceipts, k); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if err := ts.tx.Delete(bGroupReceipts, k); err != nil {
		return err
	}
	return c.settleGroupMessage(ts, g.State.ID, env.MessageID, r)
}

// receiveInvitation applies a group's state sent to this account alone,
// outside the group (as a 1:1 message or a contact request): an
// invitation (EventCreated, or EventAdded naming this account) from a
// member who may add, or the change that removed this account from a
// group, from an admin. A copy of one this account sent from another
// device makes the group known here. An invitation from a contact this
// account allowed is joined at once (by the worker, see groupChores);
// any other waits for AcceptGroup, except one this account asked for
// with the group's invite link, which is joined at once too (invite.go).
func (c *Client) receiveInvitation(ts *txState, in *incoming, r *received) error {
	me := c.me()
	m := in.content
	if m.State == nil || m.Event == nil || m.Group != m.State.ID {
		return nil
	}
	group := m.State.ID
	g, err := loadGroup(ts.tx, group)
	if err != nil {
		return err
	}
	if in.fromSelf {
		if g != nil {
			return nil
		}
		ng := &groupRecord{State: m.State, Status: GroupInvited, Since: ts.now}
		if m.State.joined(me.User) {
			ng.Status = GroupJoined
		}
		if err := c.storeGroup(ts, ng, r); err != nil {
			return err
		}
		return c.replayPending(ts, group, nil, r)
	}
	sender := in.env.Sender
	if in.sender != nil || in.env.Kind == wire.KindMessage {
		// A contact who writes accepts this account (see noteWriter); a
		// stranger's invitation makes no contact request.
		if err := c.noteWriter(ts, in, r, nil); err != nil {
			return err
		}
	}
	ev := m.Event
	if ev.Actor != sender {
		return nil
	}
	if ev.Kind == EventLinkJoined {
		return c.receiveAdmission(ts, in, g, r)
	}
	if ev.Kind == EventRemoved {
		if g == nil || g.Status == GroupLeft || g.Status == GroupRemoved || !slices.Contains(ev.Subjects, me.User) {
			return nil
		}
		ns, err := applyChange(g.State, ev, sender)
		if errors.Is(err, errGroupRule) {
			return nil
		}
		if err != nil {
			return err
		}
		return c.changeGroup(ts, g, ns, ev, in.env.MessageID, in.env.ServerTimeMS, r)
	}
	if !invites(m.State, ev, sender, me.User) {
		return nil
	}
	if g != nil && (g.Status == GroupJoined || (g.Status == GroupInvited && g.State.Version >= m.State.Version)) {
		return nil
	}
	ng := &groupRecord{State: m.State, Status: GroupInvited, InvitedBy: sender, Since: ts.now}
	if g != nil {
		ng.Since = g.Since
	}
	if m.Secrets != nil {
		if m.State.isAdmin(sender) {
			ng.Secrets = *m.Secrets
		} else if m.State.MembersCanAdd {
			ng.Secrets.Add = m.Secrets.Add
		}
	}
	ng.trimSecrets(me.User)
	if err := noteMemberName(ts.tx, sender, m.Name, m.SentAt); err != nil {
		return err
	}
	if err := c.storeGroup(ts, ng, r); err != nil {
		return err
	}
	if err := c.groupLine(ts, group, in.env.MessageID, ev, in.env.ServerTimeMS, r); err != nil {
		return err
	}
	asked, err := answerAsk(ts.tx, group)
	if err != nil {
		return err
	}
	if ct := in.sender; (ct != nil && ct.State == ContactAllowed) || asked {
		if err := ts.tx.Put(bGroupDue, group[:], (&dueRecord{Op: dueJoin}).marshal()); err != nil {
			return err
		}
		r.queued = true
	}
	return c.replayPending(ts, group, nil, r)
}

// invites reports whether s, sent by sender with the change ev, is an
// invitation of self: self is on the list and has not joined, and the
// sender has joined and may add members (an admin, or any member when
// every member may).
func invites(s *groupState, ev *GroupEvent, sender, self wire.UserID) bool {
	switch ev.Kind {
	case EventCreated:
	case EventAdded:
		if !slices.Contains(ev.Subjects, self) {
			return false
		}
	default:
		return false
	}
	i := s.member(self)
	if i < 0 || s.Members[i].Joined || !s.joined(sender) {
		return false
	}
	return s.isAdmin(sender) || s.MembersCanAdd
}

// storeGroup stores a group this device learns of (or a new standing in
// it) with its chat summary, and reports it (GroupChanged).
func (c *Client) storeGroup(ts *txState, g *groupRecord, r *received) error {
	if err := putGroup(ts.tx, g); err != nil {
		return err
	}
	chat, err := c.loadChat(ts.tx, g.State.ID)
	if err != nil {
		return err
	}
	if chat == nil {
		if err := putChat(ts.tx, g.State.ID, &chatRecord{Group: true}); err != nil {
			return err
		}
	}
	r.events = append(r.events, GroupChanged{Group: g.State.ID})
	return nil
}
