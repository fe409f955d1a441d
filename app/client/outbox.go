package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/crypto/keys"
	"github.com/mutualcoop/mutual/crypto/pqxdh"
	"github.com/mutualcoop/mutual/crypto/session"
	"github.com/mutualcoop/mutual/relay/wire"
)

// The outbox sends stored entries in order. An entry is encrypted once,
// in the transaction that stores the advanced sessions with it, and its
// bytes are then sent unchanged with the same message ID until the relay
// accepts them: a message key is never used for two different
// ciphertexts, and a resend after a lost Accepted is a duplicate the
// receivers drop. When the relay answers stale_devices, ciphertexts for
// removed devices are dropped and new devices get their own (their
// sessions set up from fetched bundles); the others stay as they were.
//
// An entry (outboxEntry, in the outbox bucket by sequence number) is in
// one of three states:
//
//	queued  stored, not encrypted: the padded content (Encrypted false)
//	sealed  encrypted: the envelope kind and one ciphertext per device
//	        (Encrypted true), sent as it is from then on
//	gone    deleted from the outbox
//
// The first four moves below happen in the transactions of the calls
// named; the worker (flushOutbox) makes the others:
//
//	from    on                                      to      and
//	        newEntry (Send, a receipt, a profile)   queued  stored with its cause
//	queued  receipts of its kind to its peer        queued  they join it (enqueueReceipt)
//	queued  a newer profile (SetProfileName)        gone
//	queued  Block or Remove (dropOutbox)            gone    its message fails
//	queued  a profile its peer no longer gets       gone
//	queued  sealed for every device (prepare)       sealed  with the advanced sessions
//	queued  no such user (FetchBundles not_found)   gone    its message fails
//	queued  no device (FetchBundles no_devices)     queued  waiting: tried again later (see below)
//	queued  too large for one frame                 gone    its message fails (too_large)
//	queued  encryption failed, or no bundles yet    queued  retried after retryDelay
//	sealed  Accepted                                gone    its message is sent; a request noted
//	sealed  Rejected stale_devices                  sealed  ciphertexts fixed (fixDevices)
//	sealed  rate_limited, unavailable, internal,    sealed  retried after retryDelay
//	        no_prekeys
//	sealed  Rejected no_devices                     sealed  waiting: tried again later (see below)
//	sealed  refused otherwise                       gone    its message fails with the code
//
// Queued or sealed, an entry is held (it stays as it is) while its peer
// or this account has an identity key the user has not accepted (until
// AcceptIdentity), and while a contact request to its peer waits for an
// answer (until they write, or requestWindow passes). An entry held or
// retried holds back the later entries to the same peer. Only the worker
// removes a sealed entry.
//
// When the relay says the peer has no device signed in (no_devices: they
// signed out of every device), the entry waits for them to sign in again
// (awayState) and its message is StateWaiting, and so are the later
// entries to them. It is tried again on every new connection and, while
// connected, after awayDelay: a minute, doubling up to an hour. A try
// that needs the peer's bundles (no session with them yet) costs one of
// the relay's lookups (500 a day per account), so FetchBundles is asked
// for a waiting entry at most once every awayFetchGap whatever the
// connections do; tries with a session are Sends and cost no lookup. An
// entry that has waited waitRetention fails with no_devices, its message
// with it: by then a message the relay had taken would have expired from
// their inbox unread. When the relay answers otherwise (bundles of a new
// device, stale_devices), the entry goes on as any other and its message
// is Sending again.
//
// Each stage of sending an entry returns an outcome (outcomeDone: gone;
// outcomeHeld, outcomeRetry: it stays and waits; outcomeReady: on to the
// next stage), and an error only when it failed: the store or the
// connection, or, in the transaction that encrypts, anything that rolls
// that transaction back (sealFailed turns those into outcomes).

// retryDelay is the wait before trying entries again that the relay
// could not take (rate limits, devices without keys).
const retryDelay = 2 * time.Second

// requestWindow is how long after the relay accepted a contact request
// the next one may go to the same person. The relay lets one through per
// sender and recipient in a window of its own setting (a day by
// default); a client cannot know it, so it assumes the default.
const requestWindow = 24 * time.Hour

// maxRounds bounds the stale_devices corrections of one entry in one
// flush.
const maxRounds = 4

// waitRetention is how long an entry waits for its peer to have a device
// signed in before its message fails: the relay keeps a message in an
// inbox 30 days (its default retention; the relay does not announce its
// own), and a message it took would be gone unread by then too.
const waitRetention = 30 * 24 * time.Hour

// awayFirst and awayMax bound the wait between two tries of an entry
// whose peer has no device signed in (see awayDelay).
const (
	awayFirst = time.Minute
	awayMax   = time.Hour
)

// awayFetchGap is the least time between two FetchBundles for an entry
// whose peer has no device signed in: at most four a day per waiting
// peer.
const awayFetchGap = 6 * time.Hour

// awayDelay is the wait after the nth no_devices answer in a row:
// awayFirst doubled n-1 times, at most awayMax.
func awayDelay(n uint32) time.Duration {
	d := awayFirst
	for i := uint32(1); i < n && d < awayMax; i++ {
		d *= 2
	}
	return min(d, awayMax)
}

// outcome is where an outbox entry stands after a stage of sending it.
type outcome int

const (
	// outcomeReady: the stage is done; the entry goes on to the next
	// (checked, encrypted or fixed, it may go to the relay).
	outcomeReady outcome = iota
	// outcomeDone: the entry is gone: accepted or refused for good by
	// the relay, failed or dropped before it was sent, or removed
	// meanwhile. The next entry to the same peer may go.
	outcomeDone
	// outcomeHeld: the entry waits until the worker is woken (see
	// mustWait), and so do the later entries to the same peer.
	outcomeHeld
	// outcomeRetry: the entry is tried again after retryDelay; the later
	// entries to the same peer wait for it.
	outcomeRetry
	// outcomeAway: the peer has no device signed in; the entry waits
	// until its Away.NextTry or the next connection, and the later
	// entries to the same peer wait with it (see awayState).
	outcomeAway
)

// flushOutbox tries every entry once, in order, keeping each
// conversation's order: after an entry that must wait, the later entries
// of the same conversation wait too. fresh says that the connection is
// new: entries waiting for their peer to have a device are tried then
// even before their time. It returns when to try again (0 if nothing
// waits for time) or a connection or store error.
func (c *Client) flushOutbox(ctx context.Context, conn *transport.Conn, fresh bool) (time.Duration, error) {
	var entries []*outboxEntry
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bOutbox, nil, func(k, v []byte) error {
			e, err := parseOutbox(v)
			if err != nil {
				return err
			}
			e.seq = seqFromKey(k)
			entries = append(entries, e)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("load outbox: %w", err)
	}
	waiting := map[[16]byte]bool{}
	away := map[[16]byte]bool{} // peers without a device signed in
	var retry time.Duration
	soonest := func(d time.Duration) {
		d = max(d, time.Millisecond)
		if retry == 0 || d < retry {
			retry = d
		}
	}
	now := c.now()
	for _, e := range entries {
		lane := e.lane()
		if away[lane] {
			if err := c.stillAway(ctx, e, now); err != nil {
				return 0, err
			}
			continue
		}
		if waiting[lane] {
			continue
		}
		if next := fromMS(e.Away.NextTry); e.Away.waiting() && !fresh && now.Before(next) {
			away[lane] = true
			soonest(next.Sub(now))
			continue
		}
		out, wait, err := c.mustWait(ctx, e)
		if err == nil && out == outcomeReady {
			out, err = c.deliver(ctx, conn, e)
		}
		if err != nil {
			return 0, err
		}
		switch out {
		case outcomeHeld:
			waiting[lane] = true
			if wait > 0 {
				soonest(wait)
			}
		case outcomeRetry:
			waiting[lane] = true
			soonest(retryDelay)
		case outcomeAway:
			away[lane] = true
			soonest(fromMS(e.Away.NextTry).Sub(now))
		}
	}
	return retry, nil
}

// stillAway deals with an entry behind one whose peer has no device
// signed in, without asking the relay: it waits too (its message shows
// as waiting), or fails once it has waited waitRetention.
func (c *Client) stillAway(ctx context.Context, e *outboxEntry, now time.Time) error {
	if e.Away.waiting() && now.Before(fromMS(e.Away.Since).Add(waitRetention)) {
		return nil // noted already
	}
	_, err := c.away(ctx, e, false, false)
	return err
}

// away records that e's peer has no device signed in, as the relay said
// (asked; fetched: in answer to FetchBundles) or as an earlier entry to
// them found: the entry waits, its message shows as waiting, and, when
// the relay was asked, the next try is set (awayDelay; awayFetchGap after
// a FetchBundles). An entry that has waited waitRetention is dropped and
// its message fails with no_devices (outcomeDone).
func (c *Client) away(ctx context.Context, e *outboxEntry, asked, fetched bool) (outcome, error) {
	me := c.me()
	var out outcome
	var changed *Message
	err := c.st.Update(ctx, func(tx store.Tx) error {
		out, changed = outcomeAway, nil
		cur, err := loadEntry(tx, e.seq)
		if cur == nil || err != nil {
			out = outcomeDone
			return err
		}
		now := c.now()
		a := cur.Away
		if !a.waiting() {
			a = awayState{Since: unixMS(now)}
		}
		if !now.Before(fromMS(a.Since).Add(waitRetention)) {
			out = outcomeDone
			changed, err = c.failEntry(tx, cur, wire.CodeNoDevices)
			return err
		}
		if asked {
			a.Tries++
			wait := awayDelay(a.Tries)
			if fetched {
				a.Fetched = unixMS(now)
				wait = max(wait, awayFetchGap)
			}
			a.NextTry = unixMS(now.Add(wait))
		}
		cur.Away = a
		if err := tx.Put(bOutbox, seqKey(e.seq), cur.marshal()); err != nil {
			return err
		}
		e.Away = a
		if cur.ContentKind != kindText {
			return nil
		}
		m, err := c.loadMessage(tx, me.User, cur.MessageID)
		if m == nil || err != nil || m.State != StateSending {
			return err
		}
		m.State = StateWaiting
		changed = m
		return c.putMessage(tx, m, StateSending)
	})
	if err != nil {
		return 0, fmt.Errorf("record a message waiting for a device: %w", err)
	}
	if changed != nil {
		c.emit(MessageStateChanged{Message: *changed})
	}
	return out, nil
}

// resume ends the wait of an entry whose peer has a device signed in
// again (the relay handed out their bundles, or listed their devices):
// its message is sending again, until the relay takes it.
func (c *Client) resume(ctx context.Context, e *outboxEntry) error {
	if !e.Away.waiting() {
		return nil
	}
	me := c.me()
	var changed *Message
	err := c.st.Update(ctx, func(tx store.Tx) error {
		changed = nil
		cur, err := loadEntry(tx, e.seq)
		if cur == nil || err != nil {
			return err
		}
		cur.Away = awayState{}
		if err := tx.Put(bOutbox, seqKey(e.seq), cur.marshal()); err != nil {
			return err
		}
		if cur.ContentKind != kindText {
			return nil
		}
		m, err := c.loadMessage(tx, me.User, cur.MessageID)
		if m == nil || err != nil || m.State != StateWaiting {
			return err
		}
		m.State = StateSending
		changed = m
		return c.putMessage(tx, m, StateWaiting)
	})
	if err != nil {
		return fmt.Errorf("record a device signed in again: %w", err)
	}
	e.Away = awayState{}
	if changed != nil {
		c.emit(MessageStateChanged{Message: *changed})
	}
	return nil
}

// mustWait returns outcomeHeld if the entry must wait, with how long at
// most (0: until something wakes the worker): for the user to accept an
// identity change (AcceptIdentity wakes it), or for the peer to accept
// the contact request that went to them (their first message wakes it),
// at most until requestWindow has passed and another request may go.
// Otherwise it returns outcomeReady.
func (c *Client) mustWait(ctx context.Context, e *outboxEntry) (outcome, time.Duration, error) {
	me := c.me()
	var out outcome
	var wait time.Duration
	if e.shared() {
		return outcomeReady, 0, nil // held, if need be, as it is sealed (see plan)
	}
	err := c.st.View(ctx, func(tx store.Tx) error {
		out, wait = outcomeReady, 0
		hold, err := unverified(tx, e.Peer, me.User)
		if err != nil {
			return err
		}
		if hold != nil {
			out = outcomeHeld
			return nil
		}
		if e.inGroup() {
			return nil // within a group: no contact request to wait for
		}
		ct, err := getContact(tx, me.User, e.Peer)
		if err != nil {
			return err
		}
		if wait = requestWait(ct, c.now()); wait > 0 {
			out = outcomeHeld
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("check outbox entry: %w", err)
	}
	return out, wait, nil
}

// requestWait is how long messages to ct wait for them to accept the
// contact request that went: 0 when nothing waits (they accepted, no
// request is pending, or requestWindow has passed since the relay took
// it, so the next message may go as a request again).
func requestWait(ct *Contact, now time.Time) time.Duration {
	if ct == nil || ct.State != ContactAllowed || !ct.AwaitingAcceptance() {
		return 0
	}
	return max(ct.RequestSent.Add(requestWindow).Sub(now), 0)
}

// lane is what an entry keeps its order within: its group, or its peer.
// An entry that must wait holds back the later entries of its lane only.
func (e *outboxEntry) lane() [16]byte {
	if e.inGroup() {
		return e.Group
	}
	return e.Peer
}

// seqFromKey reads a big-endian key (seqKey, idKey) back.
func seqFromKey(k []byte) uint64 {
	var n uint64
	for _, b := range k {
		n = n<<8 | uint64(b)
	}
	return n
}

// deliver encrypts (if needed) and sends one entry that need not wait
// (see mustWait) until the relay accepts or refuses it: outcomeDone, or
// outcomeHeld or outcomeRetry if it must wait after all.
func (c *Client) deliver(ctx context.Context, conn *transport.Conn, e *outboxEntry) (outcome, error) {
	rounds := maxRounds
	if e.shared() {
		rounds = maxGroupRounds
	}
	for range rounds {
		if !e.Encrypted {
			if out, err := c.prepare(ctx, conn, e); err != nil || out != outcomeReady {
				return out, err
			}
		}
		if len(e.Pre) > 0 {
			if out, err := c.sendPre(ctx, conn, e); err != nil || out != outcomeReady {
				return out, err
			}
		}
		send := &wire.Send{
			MessageID: e.MessageID, Conversation: e.Conversation, Kind: e.Kind, Recipients: e.Recipients, Shared: e.Shared,
			Silent: e.ContentKind.silent(),
		}
		if c.beforeSend != nil {
			c.beforeSend(send)
		}
		reply, err := conn.Request(ctx, send)
		if err != nil {
			var we *wire.Error
			if !errors.As(err, &we) {
				return 0, err
			}
			return c.refused(ctx, e, we.Code)
		}
		switch r := reply.(type) {
		case *wire.Accepted:
			if err := c.accepted(ctx, e, r); err != nil {
				return 0, err
			}
			return outcomeDone, nil
		case *wire.Rejected:
			if r.Code != wire.CodeStaleDevices {
				return c.refused(ctx, e, r.Code)
			}
			if e.shared() {
				if out, err := c.fixGroupDevices(ctx, conn, e, r.User, r.Devices); err != nil || out != outcomeReady {
					return out, err
				}
				continue
			}
			if r.User == e.Peer {
				if err := c.resume(ctx, e); err != nil {
					return 0, err
				}
			}
			if out, err := c.fixDevices(ctx, conn, e, r.User, r.Devices); err != nil || out != outcomeReady {
				return out, err
			}
		default:
			return 0, &transport.UnexpectedReplyError{Request: wire.TypeSend, Reply: reply.Type()}
		}
	}
	return outcomeRetry, nil
}

// refused handles a refusal of the whole message: retried if it is
// temporary, else the message fails.
func (c *Client) refused(ctx context.Context, e *outboxEntry, code wire.Code) (outcome, error) {
	switch code {
	case wire.CodeRateLimited, wire.CodeUnavailable, wire.CodeInternal, wire.CodeNoPrekeys:
		return outcomeRetry, nil
	case wire.CodeNotAccepted:
		if e.inGroup() {
			break // this account is not on the group's list: the message fails
		}
		if err := c.notAccepted(ctx, e); err != nil {
			return 0, err
		}
		return outcomeDone, nil
	case wire.CodeNoDevices:
		return c.away(ctx, e, true, false)
	}
	if err := c.failed(ctx, e, code); err != nil {
		return 0, err
	}
	return outcomeDone, nil
}

// notAccepted handles a message the relay refused at once because its
// peer has not accepted this account: as the same refusal delivered
// later by the relay's router (receiveRejection), the message fails and
// what follows goes as a contact request again.
func (c *Client) notAccepted(ctx context.Context, e *outboxEntry) error {
	var r received
	err := c.update(ctx, func(ts *txState) error {
		r = received{}
		if err := ts.tx.Delete(bOutbox, seqKey(e.seq)); err != nil {
			return err
		}
		env := &wire.Envelope{
			MessageID: e.MessageID, Sender: c.me().User, ServerTimeMS: ts.now,
			Kind: wire.KindRejected, Code: wire.CodeNotAccepted, Subject: e.Peer,
		}
		return c.receiveRejection(ts, env, &r)
	})
	if err != nil {
		return fmt.Errorf("record refused message: %w", err)
	}
	for _, ev := range r.events {
		c.emit(ev)
	}
	if r.queued {
		c.poke()
	}
	return nil
}

// prepare sets up missing sessions and encrypts the entry for every
// device of its peer and this account's other devices (only the latter
// for an entry to this account itself, see prepareOwn). A text that goes
// as a contact request carries the account's address (claims.go).
func (c *Client) prepare(ctx context.Context, conn *transport.Conn, e *outboxEntry) (outcome, error) {
	me := c.me()
	if e.shared() {
		return c.prepareGroup(ctx, conn, e)
	}
	if e.Peer == me.User {
		return c.prepareOwn(ctx, conn, e)
	}
	var peerDevs, ownDevs []wire.DeviceID
	var hold *IdentityChangedError
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		if hold, err = unverified(tx, e.Peer, me.User); hold != nil || err != nil {
			return err
		}
		if peerDevs, err = sessionDevices(tx, e.Peer); err != nil {
			return err
		}
		ownDevs, err = sessionDevices(tx, me.User)
		ownDevs = slices.DeleteFunc(ownDevs, func(d wire.DeviceID) bool { return d == me.Device })
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prepare message: %w", err)
	}
	if hold != nil {
		return outcomeHeld, nil
	}
	var bundles []wire.Bundle
	if len(peerDevs) == 0 {
		b, out, err := c.fetchBundles(ctx, conn, e, e.Peer)
		if err != nil || out != outcomeReady {
			return out, err
		}
		bundles = b
		for _, b := range bundles {
			peerDevs = append(peerDevs, b.Device)
		}
	}
	var out outcome
	err = c.update(ctx, func(ts *txState) error {
		ct, err := getContact(ts.tx, me.User, e.Peer)
		if err != nil {
			return err
		}
		// Read the entry again: receipts may have joined it since the
		// outbox was read (enqueueReceipt), and once it is encrypted
		// here nothing joins it any more.
		cur, err := loadEntry(ts.tx, e.seq)
		if err != nil {
			return err
		}
		if cur == nil {
			out = outcomeDone // removed meanwhile (Block, Remove, a newer profile)
			return nil
		}
		e.Padded = cur.Padded
		if e.ContentKind == kindProfile && (ct == nil || !sharesProfile(ct)) {
			// No longer theirs to have (see sharesProfile).
			out = outcomeDone
			return ts.tx.Delete(bOutbox, seqKey(e.seq))
		}
		e.Kind = wire.KindRequest
		switch {
		case e.inGroup():
			e.Kind = wire.KindGroup // within a group: members need not be contacts
		case ct != nil && ct.Accepted:
			e.Kind = wire.KindMessage
		}
		if e.Kind == wire.KindRequest && e.ContentKind == kindText {
			if e.Padded, err = c.withOwnAddress(e.Padded); err != nil {
				return err
			}
		}
		e.Recipients = nil
		out, err = c.planAndSeal(ctx, ts, e, bundles, target{e.Peer, peerDevs}, target{me.User, ownDevs})
		return err
	})
	if err != nil {
		return c.sealFailed(ctx, e, err)
	}
	return out, nil
}

// loadEntry reads the outbox entry seq; nil if it is gone.
func loadEntry(tx store.Tx, seq uint64) (*outboxEntry, error) {
	v, err := tx.Get(bOutbox, seqKey(seq))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e, err := parseOutbox(v)
	if err != nil {
		return nil, err
	}
	e.seq = seq
	return e, nil
}

// sealFailed turns a failure of the transaction that encrypts an entry
// (rolled back: nothing of it is stored) into the entry's outcome: a
// session whose identity key the user has not accepted holds it
// (session.ErrUntrusted); a message too large for one frame fails; any
// other failure is reported (a Failure event) and retried.
func (c *Client) sealFailed(ctx context.Context, e *outboxEntry, err error) (outcome, error) {
	if errors.Is(err, session.ErrUntrusted) {
		return outcomeHeld, nil
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if errors.Is(err, errTooLarge) {
		if err := c.failed(ctx, e, wire.CodeTooLarge); err != nil {
			return 0, err
		}
		return outcomeDone, nil
	}
	e.Encrypted, e.Recipients = false, nil
	c.emit(Failure{Err: fmt.Errorf("encrypt message %s: %w", e.MessageID, err)})
	return outcomeRetry, nil
}

var errTooLarge = errors.New("message too large for one frame")

// commitEntry stores an encrypted entry after checking that it fits in a
// frame. The caller has found the entry in this transaction, so it is
// still there.
func commitEntry(tx store.Tx, e *outboxEntry) error {
	send := &wire.Send{MessageID: e.MessageID, Conversation: e.Conversation, Kind: e.Kind, Recipients: e.Recipients, Silent: e.ContentKind.silent()}
	if len(wire.Encode(wire.Frame{ID: 1 << 62, Body: send})) > wire.MaxFrameSize {
		return errTooLarge
	}
	e.Encrypted = true
	return tx.Put(bOutbox, seqKey(e.seq), e.marshal())
}

// sealPlan is what encrypting an entry for some devices of one user
// takes: sessions to set up from bundles, then an encryption per device.
type sealPlan struct {
	user   wire.UserID
	need   []wire.DeviceID
	setups []sessionSetup
}

type sessionSetup struct {
	addr   session.Address
	bundle *pqxdh.Bundle
}

// plan lists the devices of user the entry has no ciphertext for, and
// the sessions to set up for those without one, recording their identity
// keys (see recordIdentity). It returns outcomeHeld for a key that is
// new on a known account or changed: then nothing may be set up until
// the user accepts it, but the records are kept (the caller commits
// them).
func (c *Client) plan(ctx context.Context, ts *txState, e *outboxEntry, user wire.UserID, devices []wire.DeviceID, bundles []wire.Bundle) (*sealPlan, outcome, error) {
	settled, err := listed(ts.tx, user)
	if err != nil {
		return nil, 0, err
	}
	out := outcomeReady
	p := &sealPlan{user: user}
	for _, d := range devices {
		if hasRecipient(e, user, d) {
			continue
		}
		p.need = append(p.need, d)
		addr := sessionAddress(user, d)
		ok, err := ts.sessions.HasSession(ctx, addr)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			continue
		}
		i := slices.IndexFunc(bundles, func(b wire.Bundle) bool { return b.Device == d })
		if i < 0 {
			return nil, 0, fmt.Errorf("no bundle for device %d", d)
		}
		pb, err := BundleFromWire(&bundles[i])
		if err != nil {
			return nil, 0, err
		}
		status, err := c.recordIdentity(ts, user, d, pb.IdentityKey, !settled, &bundles[i])
		if err != nil {
			return nil, 0, err
		}
		if status != identityTrusted {
			out = outcomeHeld
		}
		p.setups = append(p.setups, sessionSetup{addr, pb})
	}
	return p, out, nil
}

// seal carries out a plan: sessions first, then one ciphertext per
// device. Each Encrypt stores the advanced session in the transaction. A
// session whose identity key the user has not accepted fails with
// session.ErrUntrusted, which rolls the transaction back (see
// sealFailed).
func (c *Client) seal(ctx context.Context, ts *txState, e *outboxEntry, p *sealPlan) error {
	for _, s := range p.setups {
		if err := ts.sessions.ProcessBundle(ctx, s.addr, s.bundle); err != nil {
			return fmt.Errorf("set up session with device %d: %w", s.addr.DeviceID, err)
		}
	}
	for _, d := range p.need {
		ct, err := ts.sessions.Encrypt(ctx, sessionAddress(p.user, d), e.Padded)
		if err != nil {
			return fmt.Errorf("encrypt for device %d: %w", d, err)
		}
		e.Recipients = append(e.Recipients, wire.Recipient{User: p.user, Device: d, Ciphertext: appendCiphertext(nil, ct)})
	}
	return nil
}

// planAndSeal plans for each (user, devices) pair; if any plan is held it
// returns outcomeHeld, and only the identity records are committed;
// otherwise it seals them all and stores the entry, sealed
// (outcomeReady).
func (c *Client) planAndSeal(ctx context.Context, ts *txState, e *outboxEntry, bundles []wire.Bundle, targets ...target) (outcome, error) {
	var plans []*sealPlan
	out := outcomeReady
	for _, t := range targets {
		p, pout, err := c.plan(ctx, ts, e, t.user, t.devices, bundles)
		if err != nil {
			return 0, err
		}
		if pout == outcomeHeld {
			out = outcomeHeld
		}
		plans = append(plans, p)
	}
	if out == outcomeHeld {
		return outcomeHeld, nil
	}
	for _, p := range plans {
		if err := c.seal(ctx, ts, e, p); err != nil {
			return 0, err
		}
	}
	if err := commitEntry(ts.tx, e); err != nil {
		return 0, err
	}
	return outcomeReady, nil
}

type target struct {
	user    wire.UserID
	devices []wire.DeviceID
}

func hasRecipient(e *outboxEntry, u wire.UserID, d wire.DeviceID) bool {
	return slices.ContainsFunc(e.Recipients, func(r wire.Recipient) bool { return r.User == u && r.Device == d })
}

// bundleFromWire converts a bundle as the relay hands it out (formats in
// the package documentation) to the form PQXDH takes, and verifies its
// signatures.
func BundleFromWire(b *wire.Bundle) (*pqxdh.Bundle, error) {
	ik, err := keys.NewPublicKey(b.Identity)
	if err != nil {
		return nil, fmt.Errorf("bundle identity key: %w", err)
	}
	spk, err := keys.NewPublicKey(b.Signed.Public)
	if err != nil {
		return nil, fmt.Errorf("bundle signed prekey: %w", err)
	}
	pb := &pqxdh.Bundle{
		DeviceID: uint32(b.Device), IdentityKey: ik,
		SignedPreKeyID: b.Signed.ID, SignedPreKey: spk, SignedPreKeySignature: b.Signed.Signature,
	}
	if b.OneTime != nil {
		pk, err := keys.NewPublicKey(b.OneTime.Public)
		if err != nil {
			return nil, fmt.Errorf("bundle one-time prekey: %w", err)
		}
		pb.HasPreKey, pb.PreKeyID, pb.PreKey = true, b.OneTime.ID, pk
	}
	if len(b.KEM.Public) > 0 {
		kk, err := keys.NewKEMPublicKey(b.KEM.Public)
		if err != nil {
			return nil, fmt.Errorf("bundle kem prekey: %w", err)
		}
		pb.KEMPreKeyID, pb.KEMPreKey, pb.KEMPreKeySignature = b.KEM.ID, kk, b.KEM.Signature
	}
	if err := pb.Verify(); err != nil {
		return nil, err
	}
	return pb, nil
}

// fetchBundles asks the relay for user's bundles (outcomeReady); a
// refusal becomes an outcome for the entry: a peer the relay does not
// know fails it (outcomeDone), a peer without a device signed in makes
// it wait (outcomeAway), anything else is retried. For an entry waiting
// for its peer's device, the relay is asked at most once every
// awayFetchGap.
func (c *Client) fetchBundles(ctx context.Context, conn *transport.Conn, e *outboxEntry, user wire.UserID) ([]wire.Bundle, outcome, error) {
	peer := user == e.Peer
	if a := e.Away; peer && a.waiting() && a.Fetched != 0 && c.now().Before(fromMS(a.Fetched).Add(awayFetchGap)) {
		return nil, outcomeAway, nil
	}
	b, err := transport.Call[*wire.Bundles](ctx, conn, &wire.FetchBundles{User: user})
	if err != nil {
		var we *wire.Error
		if !errors.As(err, &we) {
			return nil, 0, err
		}
		switch {
		case we.Code == wire.CodeNotFound && peer:
			if err := c.failed(ctx, e, we.Code); err != nil {
				return nil, 0, err
			}
			return nil, outcomeDone, nil
		case we.Code == wire.CodeNoDevices && peer:
			out, err := c.away(ctx, e, true, true)
			return nil, out, err
		}
		return nil, outcomeRetry, nil
	}
	if peer {
		if err := c.resume(ctx, e); err != nil {
			return nil, 0, err
		}
	}
	return b.Bundles, outcomeReady, nil
}

// fixDevices brings the entry's recipients for user in line with the
// relay's device list: ciphertexts (and sessions) of removed devices go,
// new devices get theirs (outcomeReady: it may be sent again).
func (c *Client) fixDevices(ctx context.Context, conn *transport.Conn, e *outboxEntry, user wire.UserID, devices []wire.DeviceID) (outcome, error) {
	me := c.me()
	if user != e.Peer && user != me.User {
		return outcomeRetry, nil
	}
	want := slices.DeleteFunc(slices.Clone(devices), func(d wire.DeviceID) bool { return user == me.User && d == me.Device })
	var missing []wire.DeviceID // devices without a session
	var out outcome
	err := c.update(ctx, func(ts *txState) error {
		missing = nil
		if cur, err := loadEntry(ts.tx, e.seq); cur == nil || err != nil {
			out = outcomeDone
			return err
		}
		kept := e.Recipients[:0:0]
		for _, r := range e.Recipients {
			if r.User != user || slices.Contains(want, r.Device) {
				kept = append(kept, r)
			}
		}
		e.Recipients = kept
		have, err := sessionDevices(ts.tx, user)
		if err != nil {
			return err
		}
		for _, d := range have {
			if !slices.Contains(want, d) {
				if err := forgetDevice(ts.tx, user, d); err != nil {
					return err
				}
			}
		}
		for _, d := range want {
			if !slices.Contains(have, d) {
				missing = append(missing, d)
			}
		}
		if len(missing) > 0 {
			out = outcomeReady
			return nil // bundles first
		}
		out, err = c.planAndSeal(ctx, ts, e, nil, target{user, want})
		return err
	})
	if err != nil {
		return c.sealFailed(ctx, e, err)
	}
	if out != outcomeReady || len(missing) == 0 {
		return out, nil
	}
	bundles, out, err := c.fetchBundles(ctx, conn, e, user)
	if err != nil || out != outcomeReady {
		return out, err
	}
	for _, d := range missing {
		if !slices.ContainsFunc(bundles, func(b wire.Bundle) bool { return b.Device == d }) {
			return outcomeRetry, nil // that device has not published keys yet
		}
	}
	err = c.update(ctx, func(ts *txState) error {
		if cur, err := loadEntry(ts.tx, e.seq); cur == nil || err != nil {
			out = outcomeDone
			return err
		}
		var err error
		out, err = c.planAndSeal(ctx, ts, e, bundles, target{user, want})
		return err
	})
	if err != nil {
		return c.sealFailed(ctx, e, err)
	}
	return out, nil
}

// forgetDevice drops the session of a device the relay no longer lists
// and marks its identity removed.
func forgetDevice(tx store.Tx, u wire.UserID, d wire.DeviceID) error {
	if err := tx.Delete(bSessions, deviceKey(u, d)); err != nil {
		return err
	}
	rec, err := getIdentity(tx, u, d)
	if rec == nil || err != nil {
		return err
	}
	rec.Status = identityRemoved
	return tx.Put(bIdentities, deviceKey(u, d), rec.marshal())
}

// sessionDevices lists the devices of u this device has a session with.
func sessionDevices(tx store.Tx, u wire.UserID) ([]wire.DeviceID, error) {
	var out []wire.DeviceID
	err := tx.Scan(bSessions, u[:], func(k, _ []byte) error {
		if _, d, ok := deviceFromKey(k); ok {
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// unverified returns an *IdentityChangedError if the peer (or this
// account) has identity keys the user has not accepted.
func unverified(tx store.Tx, users ...wire.UserID) (*IdentityChangedError, error) {
	for _, u := range users {
		var devs []wire.DeviceID
		err := tx.Scan(bIdentities, u[:], func(k, v []byte) error {
			_, d, ok := deviceFromKey(k)
			if !ok {
				return nil // the listed marker
			}
			r, err := parseIdentity(v)
			if err != nil {
				return err
			}
			if r.Status == identityUnverified || r.Status == identityUnchecked {
				devs = append(devs, d)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(devs) > 0 {
			return &IdentityChangedError{Contact: u, Devices: devs}, nil
		}
	}
	return nil, nil
}

// accepted records the relay's Accepted: the entry goes, the message is
// sent, and a contact request is noted with the contact (later messages
// wait for their answer).
func (c *Client) accepted(ctx context.Context, e *outboxEntry, a *wire.Accepted) error {
	me := c.me()
	var changed *Message
	err := c.update(ctx, func(ts *txState) error {
		tx := ts.tx
		changed = nil
		if err := tx.Delete(bOutbox, seqKey(e.seq)); err != nil {
			return err
		}
		var m *Message
		if e.ContentKind == kindText && !e.replayed() {
			var err error
			if m, err = c.loadMessage(tx, me.User, e.MessageID); err != nil {
				return err
			}
		}
		// The relay checked that the entry named every device of the
		// peer (of every member): their device lists are settled.
		if err := markRecipientsListed(tx, e, me.User); err != nil {
			return err
		}
		// The router's refusal of this very request can be stored before
		// its Accepted (they come by different paths): then nothing waits
		// for an answer.
		if e.Kind == wire.KindRequest && (m == nil || m.State != StateFailed) {
			at := fromMS(a.ServerTimeMS)
			if at.IsZero() {
				at = fromMS(ts.now)
			}
			if err := c.noteRequest(ts, e.Peer, at); err != nil {
				return err
			}
		}
		if m == nil {
			return nil
		}
		was := m.State
		m.ServerTime = fromMS(a.ServerTimeMS)
		if unsent(m.State) {
			m.State = StateSent
		}
		if e.shared() {
			if err := settleAccepted(tx, m); err != nil {
				return err
			}
		}
		changed = m
		return c.putMessage(tx, m, was)
	})
	if err != nil {
		return fmt.Errorf("record accepted message: %w", err)
	}
	if changed != nil {
		c.emit(MessageStateChanged{Message: *changed})
	}
	return nil
}

// failed drops the entry and marks its message failed with code.
func (c *Client) failed(ctx context.Context, e *outboxEntry, code wire.Code) error {
	var changed *Message
	err := c.st.Update(ctx, func(tx store.Tx) (err error) {
		changed, err = c.failEntry(tx, e, code)
		return err
	})
	if err != nil {
		return fmt.Errorf("record failed message: %w", err)
	}
	if changed != nil {
		c.emit(MessageStateChanged{Message: *changed})
	}
	return nil
}

// failEntry drops the entry in tx and marks its message, if it still
// waits for the relay, failed with code; it returns the message if it
// changed.
func (c *Client) failEntry(tx store.Tx, e *outboxEntry, code wire.Code) (*Message, error) {
	if err := tx.Delete(bOutbox, seqKey(e.seq)); err != nil {
		return nil, err
	}
	if e.ContentKind != kindText {
		return nil, nil
	}
	m, err := c.loadMessage(tx, c.me().User, e.MessageID)
	if m == nil || err != nil || !unsent(m.State) {
		return nil, err
	}
	was := m.State
	m.State, m.Failure = StateFailed, code
	return m, c.putMessage(tx, m, was)
}

// Unsent counts what this device has still to send to the relay and can
// send now: the entries of its outbox (messages, receipts, profiles,
// changes to groups) and the changes of groups' member lists due
// (joining, leaving). Run sends them; a client that runs only for a while
// (the command-line client) waits for it to reach 0 before it stops. An
// entry that waits for someone (an answer to a contact request, a safety
// number to accept, a device to sign in), and the later entries of its
// conversation, are not counted.
func (c *Client) Unsent(ctx context.Context) (int, error) {
	me, err := c.registered()
	if err != nil {
		return 0, err
	}
	n := 0
	err = c.st.View(ctx, func(tx store.Tx) error {
		n = 0
		held := map[[16]byte]bool{}
		var entries []*outboxEntry
		err := tx.Scan(bOutbox, nil, func(_, v []byte) error {
			e, err := parseOutbox(v)
			entries = append(entries, e)
			return err
		})
		if err != nil {
			return err
		}
		for _, e := range entries {
			lane := e.lane()
			if held[lane] {
				continue
			}
			wait := e.Away.waiting()
			if !wait && !e.shared() {
				hold, err := unverified(tx, e.Peer, me.User)
				if err != nil {
					return err
				}
				wait = hold != nil
				if !wait && !e.inGroup() {
					ct, err := getContact(tx, me.User, e.Peer)
					if err != nil {
						return err
					}
					wait = requestWait(ct, c.now()) > 0
				}
			}
			if wait {
				held[lane] = true
				continue
			}
			n++
		}
		if err := c.countUploads(tx, &n); err != nil {
			return err
		}
		return tx.Scan(bGroupDue, nil, func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		return 0, fmt.Errorf("unsent: %w", err)
	}
	return n, nil
}
