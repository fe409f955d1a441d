package client

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/senderkey"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Sending to a group. A group entry of the outbox (Group set, no peer)
// goes to every member who joined, as this device's state says, and to
// the account's other devices, in one Send of kind group:
//
//   - its content is encrypted once, with this device's sender key for
//     the group (senderkey.Record.Encrypt), into the Send's shared part;
//   - every device of those users is named, with an empty ciphertext,
//     except a device that has not had this device's current sender key
//     (bKeyHolders) or that is due the group's secrets (the entry's
//     Secrets, or its first sender key): it gets its own part, a content
//     of kind senderKey encrypted pairwise (the Double Ratchet session,
//     set up from fetched bundles for members without one) with the
//     distribution message taken before the shared part was encrypted,
//     and the secrets it may hold;
//   - when a member left or was removed (groupRecord.Rotate), a new
//     sender key is made first (senderkey.Generate), so that only the
//     remaining members' devices get it;
//   - it is kept for the members invited who have not joined
//     (keepForInvited), who get it when they join (groupreplay.go).
//
// All of it happens in the transaction that stores the advanced sender
// key, the sessions and the sealed entry, as for any entry. If the own
// parts do not fit one frame with the rest, they go first, in Sends of
// kind group without a shared part (the entry's pre-sends), each until
// the relay accepts it. On stale_devices, a removed device's part goes
// (and its session), and a new device gets its own part with the stored
// distribution message, from which it can read this very message on.
// Entries within a group (to one member: receipts) are sealed as 1:1
// entries are, with the kind group.

// maxGroupRounds bounds the stale_devices corrections of one group entry
// in one flush: each names one user.
const maxGroupRounds = 32

// newGroupEntry puts m at the end of the outbox for the group: to every
// member (peer zero) or within it to peer alone. secrets says that the
// recipients get the group's secrets they may hold.
func (c *Client) newGroupEntry(tx store.Tx, id wire.MessageID, group wire.ConversationID, peer wire.UserID, m *content, secrets bool) (uint64, error) {
	m.Group, m.Peer = group, peer
	padded, err := sealContent(m)
	if err != nil {
		return 0, err
	}
	seq, err := nextOutboxSeq(tx)
	if err != nil {
		return 0, err
	}
	e := &outboxEntry{
		MessageID: id, Conversation: group, Peer: peer, ContentKind: m.Kind, Padded: padded,
		Group: group, Secrets: secrets,
	}
	return seq, tx.Put(bOutbox, seqKey(seq), e.marshal())
}

// sendable reports whether this device may still send the group's
// entries: it is a member, or it is leaving and the entries written
// before it left go first.
func sendable(tx store.Tx, g *groupRecord) (bool, error) {
	if g.member() {
		return true, nil
	}
	d, err := loadDue(tx, g.State.ID)
	return d != nil && d.Op == dueLeave, err
}

// prepareGroup seals a group entry (see the comment above): outcomeReady
// once it is stored sealed, outcomeDone if it is gone (or the group is
// no longer this account's), or the outcome of waiting.
func (c *Client) prepareGroup(ctx context.Context, conn *transport.Conn, e *outboxEntry) (outcome, error) {
	me := c.me()
	devs := map[wire.UserID][]wire.DeviceID{}
	var users, fetch []wire.UserID
	invited := map[wire.UserID]bool{}
	gone := false
	err := c.st.View(ctx, func(tx store.Tx) error {
		g, err := loadGroup(tx, e.Group)
		if err != nil {
			return err
		}
		ok := false
		if g != nil {
			if ok, err = sendable(tx, g); err != nil {
				return err
			}
		}
		if !ok {
			gone = true
			return nil
		}
		users = recipientsOf(g.State, me.User)
		if c.ownJoin(e) {
			// Members who joined at the same time as this account may
			// not be known to have joined yet: the relay gives it to
			// whoever has.
			for _, m := range g.State.Members {
				if !m.Joined && m.User != me.User {
					users = append(users, m.User)
					invited[m.User] = true
				}
			}
		}
		for _, u := range users {
			d, err := sessionDevices(tx, u)
			if err != nil {
				return err
			}
			if len(d) == 0 {
				fetch = append(fetch, u)
			}
			devs[u] = d
		}
		own, err := sessionDevices(tx, me.User)
		devs[me.User] = slices.DeleteFunc(own, func(d wire.DeviceID) bool { return d == me.Device })
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prepare group message: %w", err)
	}
	if gone {
		if err := c.failed(ctx, e, wire.CodeNotAccepted); err != nil {
			return 0, err
		}
		return outcomeDone, nil
	}
	bundles := map[wire.UserID][]wire.Bundle{}
	for _, u := range fetch {
		b, out, err := c.memberBundles(ctx, conn, u, invited[u])
		if err != nil || out != outcomeReady {
			return out, err
		}
		bundles[u] = b
		devs[u] = nil
		for _, x := range b {
			devs[u] = append(devs[u], x.Device)
		}
	}
	var out outcome
	nobody := false
	err = c.update(ctx, func(ts *txState) error {
		nobody = false
		cur, err := loadEntry(ts.tx, e.seq)
		if err != nil {
			return err
		}
		g, err := loadGroup(ts.tx, e.Group)
		if cur == nil || g == nil || err != nil {
			out = outcomeDone
			return err
		}
		e.Padded, e.Recipients, e.Pre, e.Kind = cur.Padded, nil, nil, wire.KindGroup
		var targets []target
		for _, u := range append(users, me.User) {
			if len(devs[u]) > 0 {
				targets = append(targets, target{u, devs[u]})
			}
		}
		if len(targets) == 0 {
			nobody = true // (no member has joined yet, and this account has no other device)
			return c.keepForInvited(ts, e, g)
		}
		plans, pout, err := c.planAll(ctx, ts, e, bundles, targets)
		if err != nil || pout == outcomeHeld {
			out = pout
			return err
		}
		if err := c.keepForInvited(ts, e, g); err != nil {
			return err
		}
		own, chain, err := c.ownSenderKey(ts, g)
		if err != nil {
			return err
		}
		dm, err := own.Distribution()
		if err != nil {
			return err
		}
		e.Dist = dm.Marshal()
		if e.Shared, err = own.Encrypt(e.Padded, c.cfg.Rand); err != nil {
			return fmt.Errorf("encrypt with the sender key: %w", err)
		}
		if err := putSenderKey(ts.tx, e.Group, me.User, me.Device, own); err != nil {
			return err
		}
		if err := c.sealGroup(ctx, ts, e, g, chain, plans, &e.Recipients, false); err != nil {
			return err
		}
		if frameSize(groupSend(e)) > wire.MaxFrameSize {
			// The own parts go ahead, in Sends that must give every
			// device they name a part.
			if err := c.fillParts(ctx, ts, e); err != nil {
				return err
			}
		}
		if err := c.noteRecipients(ts.tx, e); err != nil {
			return err
		}
		out = outcomeReady
		return commitGroupEntry(ts.tx, e)
	})
	if err != nil {
		return c.sealFailed(ctx, e, err)
	}
	if nobody {
		// Nobody else to send to: nothing goes, and a text is as sent
		// as it can be.
		if err := c.accepted(ctx, e, &wire.Accepted{MessageID: e.MessageID}); err != nil {
			return 0, err
		}
		return outcomeDone, nil
	}
	return out, nil
}

// ownSenderKey returns this device's sender key for the group, made anew
// if there is none or one is due (a member left or was removed), and its
// chain ID.
func (c *Client) ownSenderKey(ts *txState, g *groupRecord) (*senderkey.Record, uint32, error) {
	me := c.me()
	own, ok, err := loadSenderKey(ts.tx, g.State.ID, me.User, me.Device)
	if err != nil {
		return nil, 0, err
	}
	if ok && !g.Rotate && own.ChainID() != 0 {
		return own, own.ChainID(), nil
	}
	if own, err = senderkey.Generate(c.cfg.Rand); err != nil {
		return nil, 0, err
	}
	g.Rotate = false
	if err := putGroup(ts.tx, g); err != nil {
		return nil, 0, err
	}
	return own, own.ChainID(), nil
}

// planAll plans the sessions every target needs (see plan); outcomeHeld
// if any identity key must be accepted first.
func (c *Client) planAll(ctx context.Context, ts *txState, e *outboxEntry, bundles map[wire.UserID][]wire.Bundle, targets []target) ([]*sealPlan, outcome, error) {
	var plans []*sealPlan
	out := outcomeReady
	for _, t := range targets {
		p, pout, err := c.plan(ctx, ts, e, t.user, t.devices, bundles[t.user])
		if err != nil {
			return nil, 0, err
		}
		if pout == outcomeHeld {
			out = outcomeHeld
		}
		plans = append(plans, p)
	}
	return plans, out, nil
}

// sealGroup carries out the plans for a group entry: sessions first, then
// each device's entry in rs, with its own part when it needs one, or
// always when must (groupPart).
func (c *Client) sealGroup(ctx context.Context, ts *txState, e *outboxEntry, g *groupRecord, chain uint32, plans []*sealPlan, rs *[]wire.Recipient, must bool) error {
	a, err := mustAccount(ts.tx)
	if err != nil {
		return err
	}
	for _, p := range plans {
		for _, s := range p.setups {
			if err := ts.sessions.ProcessBundle(ctx, s.addr, s.bundle); err != nil {
				return fmt.Errorf("set up session with device %d: %w", s.addr.DeviceID, err)
			}
		}
		for _, d := range p.need {
			part, err := c.groupPart(ctx, ts, e, g, chain, a.ProfileName, p.user, d, must)
			if err != nil {
				return err
			}
			*rs = append(*rs, wire.Recipient{User: p.user, Device: d, Ciphertext: part})
		}
	}
	return nil
}

// groupPart is device d of u's own part of a group entry: nil when it
// holds this device's sender key of chain already, is due no secrets and
// need not have a part (must); otherwise a content of kind senderKey (the
// distribution message when it lacks the key, the group's secrets it may
// hold when the entry gives them or it gets its first key, this
// account's profile name) encrypted for it alone. The device is noted as
// holding the key.
func (c *Client) groupPart(ctx context.Context, ts *txState, e *outboxEntry, g *groupRecord, chain uint32, name string, u wire.UserID, d wire.DeviceID, must bool) ([]byte, error) {
	me := c.me()
	held, err := holds(ts.tx, e.Group, u, d, chain)
	if err != nil {
		return nil, err
	}
	sec := g.Secrets
	if u != me.User {
		sec = g.State.entitled(g.Secrets, u)
	}
	give := (e.Secrets || !held) && !sec.empty()
	if held && !give && !must {
		return nil, nil
	}
	m := &content{Kind: kindSenderKey, Group: e.Group, SentAt: ts.now, Name: name}
	if !held {
		m.SenderKey = e.Dist
		if err := markHolder(ts.tx, e.Group, u, d, chain); err != nil {
			return nil, err
		}
	}
	if give {
		m.Secrets = &sec
	}
	padded, err := sealContent(m)
	if err != nil {
		return nil, err
	}
	ct, err := ts.sessions.Encrypt(ctx, sessionAddress(u, d), padded)
	if err != nil {
		return nil, fmt.Errorf("encrypt for device %d: %w", d, err)
	}
	return appendCiphertext(nil, ct), nil
}

// fillParts gives a part (this account's name alone) to every device of
// e without one whose user has a device with one: such users' devices go
// in pre-sends, where each device named must have a part.
func (c *Client) fillParts(ctx context.Context, ts *txState, e *outboxEntry) error {
	a, err := mustAccount(ts.tx)
	if err != nil {
		return err
	}
	with := map[wire.UserID]bool{}
	for _, r := range e.Recipients {
		if len(r.Ciphertext) > 0 {
			with[r.User] = true
		}
	}
	for i, r := range e.Recipients {
		if len(r.Ciphertext) > 0 || !with[r.User] {
			continue
		}
		padded, err := sealContent(&content{Kind: kindSenderKey, Group: e.Group, SentAt: ts.now, Name: a.ProfileName})
		if err != nil {
			return err
		}
		ct, err := ts.sessions.Encrypt(ctx, sessionAddress(r.User, r.Device), padded)
		if err != nil {
			return fmt.Errorf("encrypt for device %d: %w", r.Device, err)
		}
		e.Recipients[i].Ciphertext = appendCiphertext(nil, ct)
	}
	return nil
}

// ownJoin reports whether e is this account's own joining of its group,
// which goes to every member on the list.
func (c *Client) ownJoin(e *outboxEntry) bool {
	if e.ContentKind != kindGroupState {
		return false
	}
	m, err := openContent(e.Padded)
	return err == nil && m.Event != nil && m.Event.Kind == EventJoined && m.Event.Actor == c.me().User
}

// groupSend is the Send of a sealed group entry.
func groupSend(e *outboxEntry) *wire.Send {
	return &wire.Send{MessageID: e.MessageID, Conversation: e.Conversation, Kind: e.Kind, Recipients: e.Recipients, Shared: e.Shared, Silent: e.ContentKind.silent()}
}

func frameSize(s *wire.Send) int { return len(wire.Encode(wire.Frame{ID: 1 << 62, Body: s})) }

// commitGroupEntry stores a sealed group entry. If it does not fit one
// frame, the devices' own parts move to pre-sends (each user's devices
// together, as a Send must name every device of a user; fillParts gave
// each a part), which go first, and the entry keeps every device with an
// empty part.
func commitGroupEntry(tx store.Tx, e *outboxEntry) error {
	e.Encrypted = true
	if frameSize(groupSend(e)) <= wire.MaxFrameSize {
		return tx.Put(bOutbox, seqKey(e.seq), e.marshal())
	}
	withPart := map[wire.UserID]bool{}
	var order []wire.UserID
	for _, r := range e.Recipients {
		if len(r.Ciphertext) > 0 && !withPart[r.User] {
			withPart[r.User] = true
			order = append(order, r.User)
		}
	}
	byUser := map[wire.UserID][]wire.Recipient{}
	for _, r := range e.Recipients {
		if withPart[r.User] {
			byUser[r.User] = append(byUser[r.User], r)
		}
	}
	for i := range e.Recipients {
		e.Recipients[i].Ciphertext = nil
	}
	if frameSize(groupSend(e)) > wire.MaxFrameSize {
		return errTooLarge
	}
	var cur *preSend
	for _, u := range order {
		rs := byUser[u]
		if cur != nil {
			s := &wire.Send{MessageID: cur.MessageID, Conversation: e.Conversation, Kind: wire.KindGroup, Recipients: append(slices.Clone(cur.Recipients), rs...), Silent: e.ContentKind.silent()}
			if frameSize(s) <= wire.MaxFrameSize {
				cur.Recipients = s.Recipients
				continue
			}
		}
		e.Pre = append(e.Pre, preSend{MessageID: wire.NewMessageID(), Recipients: rs})
		cur = &e.Pre[len(e.Pre)-1]
		s := &wire.Send{MessageID: cur.MessageID, Conversation: e.Conversation, Kind: wire.KindGroup, Recipients: rs, Silent: e.ContentKind.silent()}
		if frameSize(s) > wire.MaxFrameSize {
			return errTooLarge
		}
	}
	return tx.Put(bOutbox, seqKey(e.seq), e.marshal())
}

// memberBundles fetches a member's bundles: outcomeReady with none for a
// member the relay does not know or who has no device signed in (nothing
// can go to them), or, when soft (a member who may not have joined), for
// any refusal; outcomeRetry for any other refusal.
func (c *Client) memberBundles(ctx context.Context, conn *transport.Conn, u wire.UserID, soft bool) ([]wire.Bundle, outcome, error) {
	b, err := transport.Call[*wire.Bundles](ctx, conn, &wire.FetchBundles{User: u})
	if err != nil {
		var we *wire.Error
		if !errors.As(err, &we) {
			return nil, 0, err
		}
		if soft || we.Code == wire.CodeNotFound || we.Code == wire.CodeNoDevices {
			return nil, outcomeReady, nil
		}
		return nil, outcomeRetry, nil
	}
	return b.Bundles, outcomeReady, nil
}

// sendPre sends the pre-sends of a sealed group entry, in order, each
// until the relay accepts it (then it is dropped from the stored entry).
// outcomeReady when none is left.
func (c *Client) sendPre(ctx context.Context, conn *transport.Conn, e *outboxEntry) (outcome, error) {
	rounds := 0
	for len(e.Pre) > 0 {
		p := &e.Pre[0]
		reply, err := conn.Request(ctx, &wire.Send{MessageID: p.MessageID, Conversation: e.Conversation, Kind: wire.KindGroup, Recipients: p.Recipients, Silent: e.ContentKind.silent()})
		if err != nil {
			var we *wire.Error
			if !errors.As(err, &we) {
				return 0, err
			}
			return c.refused(ctx, e, we.Code)
		}
		switch r := reply.(type) {
		case *wire.Accepted:
			var out outcome
			err := c.st.Update(ctx, func(tx store.Tx) error {
				out = outcomeReady
				cur, err := loadEntry(tx, e.seq)
				if cur == nil || err != nil {
					out = outcomeDone
					return err
				}
				e.Pre = e.Pre[1:]
				return tx.Put(bOutbox, seqKey(e.seq), e.marshal())
			})
			if err != nil || out != outcomeReady {
				return out, err
			}
		case *wire.Rejected:
			if r.Code != wire.CodeStaleDevices {
				return c.refused(ctx, e, r.Code)
			}
			if rounds++; rounds > maxGroupRounds {
				return outcomeRetry, nil
			}
			if out, err := c.fixGroupDevices(ctx, conn, e, r.User, r.Devices); err != nil || out != outcomeReady {
				return out, err
			}
		default:
			return 0, &transport.UnexpectedReplyError{Request: wire.TypeSend, Reply: reply.Type()}
		}
	}
	return outcomeReady, nil
}

// fixGroupDevices brings the devices of user in the Send of a sealed
// group entry in flight (its first pre-send, or the entry itself once
// they are gone) in line with the relay's list. A removed device's entry
// goes, with its session; a new device gets its own part (groupPart, with
// the distribution message stored in the entry). outcomeReady: it may be
// sent again.
func (c *Client) fixGroupDevices(ctx context.Context, conn *transport.Conn, e *outboxEntry, user wire.UserID, devices []wire.DeviceID) (outcome, error) {
	me := c.me()
	want := slices.DeleteFunc(slices.Clone(devices), func(d wire.DeviceID) bool { return user == me.User && d == me.Device })
	var bundles []wire.Bundle
	for range 2 {
		var missing bool
		var out outcome
		err := c.update(ctx, func(ts *txState) error {
			missing = false
			cur, err := loadEntry(ts.tx, e.seq)
			if err != nil {
				return err
			}
			g, err := loadGroup(ts.tx, e.Group)
			if cur == nil || g == nil || err != nil {
				out = outcomeDone
				return err
			}
			rs := inFlight(e)
			kept := (*rs)[:0:0]
			for _, r := range *rs {
				if r.User != user || slices.Contains(want, r.Device) {
					kept = append(kept, r)
				}
			}
			*rs = kept
			have, err := sessionDevices(ts.tx, user)
			if err != nil {
				return err
			}
			for _, d := range have {
				if !slices.Contains(want, d) {
					if err := forgetDevice(ts.tx, user, d); err != nil {
						return err
					}
					if err := ts.tx.Delete(bKeyHolders, senderKeyKey(e.Group, user, d)); err != nil {
						return err
					}
				}
			}
			for _, d := range want {
				if !slices.Contains(have, d) && !slices.ContainsFunc(bundles, func(b wire.Bundle) bool { return b.Device == d }) {
					missing = true
				}
			}
			if missing {
				out = outcomeReady
				return nil // bundles first
			}
			view := &outboxEntry{Recipients: *rs}
			p, pout, err := c.plan(ctx, ts, view, user, want, bundles)
			if err != nil || pout == outcomeHeld {
				out = pout
				return err
			}
			dm, err := senderkey.ParseDistributionMessage(e.Dist)
			if err != nil {
				return err
			}
			if err := c.sealGroup(ctx, ts, e, g, dm.ChainID, []*sealPlan{p}, rs, len(e.Pre) > 0); err != nil {
				return err
			}
			out = outcomeReady
			send := groupSend(e)
			if len(e.Pre) > 0 {
				send = &wire.Send{MessageID: e.Pre[0].MessageID, Conversation: e.Conversation, Kind: wire.KindGroup, Recipients: e.Pre[0].Recipients, Silent: e.ContentKind.silent()}
			}
			if frameSize(send) > wire.MaxFrameSize {
				return errTooLarge
			}
			return ts.tx.Put(bOutbox, seqKey(e.seq), e.marshal())
		})
		if err != nil {
			return c.sealFailed(ctx, e, err)
		}
		if !missing || out != outcomeReady {
			return out, nil
		}
		b, out, err := c.memberBundles(ctx, conn, user, false)
		if err != nil || out != outcomeReady {
			return out, err
		}
		for _, d := range want {
			if !slices.ContainsFunc(b, func(x wire.Bundle) bool { return x.Device == d }) {
				return outcomeRetry, nil // that device has not published keys yet
			}
		}
		bundles = b
	}
	return outcomeRetry, nil
}

// inFlight is the recipient list of the Send of a group entry that goes
// next: its first pre-send, or the entry itself once they are gone.
func inFlight(e *outboxEntry) *[]wire.Recipient {
	if len(e.Pre) > 0 {
		return &e.Pre[0].Recipients
	}
	return &e.Recipients
}

// markRecipientsListed records, in the transaction of the relay's
// Accepted of an entry, that the device lists of the users it named are
// settled (the relay checked that it named each one's every device).
func markRecipientsListed(tx store.Tx, e *outboxEntry, self wire.UserID) error {
	if !e.inGroup() {
		return markListed(tx, e.Peer)
	}
	for i, r := range e.Recipients {
		if r.User == self || slices.ContainsFunc(e.Recipients[:i], func(x wire.Recipient) bool { return x.User == r.User }) {
			continue
		}
		if err := markListed(tx, r.User); err != nil {
			return err
		}
	}
	return nil
}

// settleAccepted moves a group text the relay has just taken (m, now
// Sent) on to what the members' receipts, which may have come first, say.
func settleAccepted(tx store.Tx, m *Message) error {
	least, err := reached(tx, m.ID)
	if err == nil && rank(least) > rank(m.State) {
		m.State = least
	}
	return err
}

// noteRecipients records, in the transaction that seals a group text,
// that each member it goes to has it (StateSent) until their receipts
// say more (ReadBy): before it goes, as their receipts may come back
// before the relay's Accepted.
func (c *Client) noteRecipients(tx store.Tx, e *outboxEntry) error {
	if e.ContentKind != kindText {
		return nil
	}
	me := c.me()
	for _, r := range e.Recipients {
		if r.User == me.User {
			continue
		}
		k := groupReceiptKey(e.MessageID, r.User)
		if _, err := tx.Get(bGroupReceipts, k); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.Put(bGroupReceipts, k, (&receiptRecord{State: StateSent}).marshal()); err != nil {
			return err
		}
	}
	return nil
}
