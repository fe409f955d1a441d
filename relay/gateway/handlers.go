package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/wire"
)

// requestTimeout bounds the directory work of one request.
const requestTimeout = 10 * time.Second

// handle runs one frame. It returns false when the connection must end
// (the close code is already set).
func (c *conn) handle(f wire.Frame) bool {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if run, keep := c.checkDevice(ctx, f.ID); !run {
		return keep
	}
	if run, keep := c.checkHeld(f); !run {
		return keep
	}
	switch b := f.Body.(type) {
	case *wire.Register:
		token, err := c.g.accounts.Request(ctx, b.Address, c.ip)
		c.replyErr(f.ID, err, &wire.CodeSent{Token: token})
	case *wire.Verify:
		return c.handleVerify(ctx, f.ID, b)
	case *wire.Auth:
		return c.handleAuth(ctx, f.ID, b)
	case *wire.PublishKeys:
		c.handlePublishKeys(ctx, f.ID, b)
	case *wire.FetchBundles:
		c.handleFetchBundles(ctx, f.ID, b)
	case *wire.Lookup:
		if !c.limitLookup(ctx, f.ID) {
			break
		}
		u, err := c.g.accounts.Lookup(ctx, b.Address)
		c.replyErr(f.ID, err, &wire.Found{User: u})
	case *wire.Send:
		c.handleSend(ctx, f.ID, b)
	case *wire.Ack:
		c.handleAck(b)
	case *wire.SetContact:
		c.handleSetContact(ctx, f.ID, b)
	case *wire.ListContacts:
		c.handleListContacts(ctx, f.ID)
	case *wire.ListDevices:
		c.handleListDevices(ctx, f.ID)
	case *wire.RemoveDevice:
		c.handleRemoveDevice(ctx, f.ID, b)
	case *wire.SetGroup:
		c.handleSetGroup(ctx, f.ID, b)
	case *wire.Upload:
		c.handleUpload(ctx, f.ID, b)
	case *wire.Coop:
		c.handleCoop(ctx, f.ID, b)
	case *wire.SetPush:
		c.handleSetPush(ctx, f.ID, b)
	case *wire.Link:
		c.handleLink(ctx, f.ID, b)
	case *wire.FetchLink:
		c.handleFetchLink(ctx, f.ID, b)
	case *wire.LinkDevice:
		c.handleLinkDevice(ctx, f.ID, b)
	case *wire.ApproveDevice:
		c.handleApproveDevice(ctx, f.ID, b)
	default:
		c.kick(wire.CloseUnknownFrame, fmt.Sprintf("unexpected %s", f.Body.Type()))
		return false
	}
	return true
}

// replyErr answers with ok when err is nil and with the error otherwise.
func (c *conn) replyErr(id uint64, err error, ok wire.Body) {
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	c.reply(id, ok)
}

func (c *conn) handleVerify(ctx context.Context, id uint64, v *wire.Verify) bool {
	user, created, err := c.g.accounts.Verify(ctx, v.Address, v.Code, v.Token, c.ip)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return true
	}
	inbox := bus.InboxTopic(user)
	if err := c.g.bus.CreateTopic(ctx, inbox, 1); err != nil {
		c.reply(id, c.errorFrame(fmt.Errorf("create inbox: %w", err)))
		return true
	}
	devs, err := c.g.devices.get(ctx, c.g.dir, user)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return true
	}
	if len(devs) >= wire.MaxDevices {
		c.reply(id, &wire.Error{Code: wire.CodeBadRequest, Message: fmt.Sprintf("an account has at most %d devices: remove one first", wire.MaxDevices)})
		return true
	}
	// A new device starts at the end of the inbox: older records carry
	// nothing encrypted for it.
	_, next, err := c.g.bus.Bounds(ctx, inbox, 0)
	if err != nil {
		c.reply(id, c.errorFrame(fmt.Errorf("inbox bounds: %w", err)))
		return true
	}
	cred, hash := c.g.accounts.NewCredential()
	now := c.g.cfg.Now()
	nd := directory.NewDevice{Name: v.DeviceName, CredHash: hash, Offset: next}
	if !c.g.cfg.NoHold {
		nd.HoldUntil, nd.ActiveSince = now.Add(c.g.cfg.HoldFor), now.Add(-c.g.cfg.ActiveWithin)
	}
	dev, err := c.g.dir.AddVerifiedDevice(ctx, user, nd)
	if err != nil {
		c.reply(id, c.errorFrame(fmt.Errorf("add device: %w", err)))
		return true
	}
	c.g.devices.forget(user)
	k := devKey{user, dev.ID}
	reply := &wire.Verified{User: user, Device: dev.ID, Credential: cred, Created: created}
	if dev.Held() {
		c.hold(dev.PendingUntil)
		reply.PendingUntilMS = dev.PendingUntil.UnixMilli()
	}
	c.authenticate(k, next, id, reply)
	if dev.Held() {
		c.g.announcePending(ctx, k)
	}
	return true
}

func (c *conn) handleAuth(ctx context.Context, id uint64, a *wire.Auth) bool {
	r := c.g.cfg.Rates
	if !c.limit(ctx, id, c.perNet("auth", r.NetAuth)) {
		return true
	}
	d, err := c.g.dir.Device(ctx, a.User, a.Device)
	if errors.Is(err, directory.ErrNotFound) || (err == nil && !c.g.accounts.CheckCredential(a.Credential, d.CredHash)) {
		if m := c.g.cfg.Metrics.AuthFailures; m != nil {
			m()
		}
		c.kick(wire.CloseAuthFailed, "authentication failed")
		return false
	}
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return true
	}
	// Counted once the credential is checked: a stranger naming the
	// account cannot spend its sign-ins.
	if !c.limit(ctx, id, charge{key: "auth/user/" + a.User.String(), rate: r.Auth}) {
		return true
	}
	counts, err := c.g.dir.PrekeyCounts(ctx, a.User, a.Device)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return true
	}
	if d, err = c.endHoldIfDue(ctx, d); err != nil {
		c.reply(id, c.errorFrame(err))
		return true
	}
	welcome := &wire.Welcome{
		User: a.User, Device: a.Device, ServerTimeMS: c.g.cfg.Now().UnixMilli(),
		OneTimeLeft: uint32(counts.OneTime), KEMOneTimeLeft: uint32(counts.KEMOneTime),
		CoopKey: c.g.coopKey(), PushKey: c.g.pushKey(),
	}
	if d.Held() {
		c.hold(d.PendingUntil)
		welcome.PendingUntilMS = d.PendingUntil.UnixMilli()
	}
	c.authenticate(devKey{a.User, a.Device}, d.Offset, id, welcome)
	return true
}

// authenticate binds the connection to a device, answers request id with
// reply, and starts delivery from the device's committed offset (none to
// a held device). The binding comes before the answer, so that a
// connection the device opens once it has the answer replaces this one,
// never the reverse; delivery starts after it, so that the answer comes
// first.
func (c *conn) authenticate(k devKey, stored int64, id uint64, reply wire.Body) {
	c.state = stateAuthed
	c.bindDevice(k, stored, id, reply)
}

// bindDevice is authenticate but for the reader's state, which the
// reader sets itself when a link's waiter calls this (links.go).
func (c *conn) bindDevice(k devKey, stored int64, id uint64, reply wire.Body) {
	c.startSession()
	c.key = k
	c.isAuthed.Store(true)
	c.authenticated() // before the answer: the client may open another connection on reading it
	c.g.bind(c)
	c.markPresent()
	c.reply(id, reply)
	c.g.coopConnected(k.user)
	if c.held.Load() {
		return
	}
	from := c.resumeAt(k, stored)
	ctx, cancel := context.WithCancel(context.Background())
	c.stopDelivery = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.deliver(ctx, from)
	}()
}

// resumeAt is where delivery to k starts: the newest of the offset read
// from the directory at sign-in and the one acknowledged here. When this
// gateway holds none, the directory is read again: the read at sign-in
// may have come just before the previous connection's last offsets were
// written and dropped from memory, and starting from it would deliver
// again what the device already has.
func (c *conn) resumeAt(k devKey, stored int64) int64 {
	from, held := c.g.offsets.get(k, stored)
	if held {
		return from
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if d, err := c.g.dir.Device(ctx, k.user, k.device); err == nil {
		from = max(from, d.Offset)
	}
	return from
}

func (c *conn) handlePublishKeys(ctx context.Context, id uint64, p *wire.PublishKeys) {
	if !c.limit(ctx, id, c.perUser("publish-keys", c.g.cfg.Rates.PublishKeys)) {
		return
	}
	k := directory.Keys{Identity: p.Identity, Signed: dirPrekey(p.Signed), KEMLastResort: dirPrekey(p.KEMLastResort)}
	if v := p.Vouch; v != nil {
		k.Vouch = &directory.Vouch{Device: v.Device, Signature: v.Signature}
	}
	for i := range p.OneTime {
		k.OneTime = append(k.OneTime, *dirPrekey(&p.OneTime[i]))
	}
	for i := range p.KEMOneTime {
		k.KEMOneTime = append(k.KEMOneTime, *dirPrekey(&p.KEMOneTime[i]))
	}
	for _, pk := range slices.Concat(k.OneTime, k.KEMOneTime) {
		if len(pk.Public) == 0 {
			c.reply(id, &wire.Error{Code: wire.CodeBadRequest, Message: "prekey without a public key"})
			return
		}
	}
	if len(k.OneTime)+len(k.KEMOneTime) > 0 {
		have, err := c.g.dir.PrekeyCounts(ctx, c.key.user, c.key.device)
		if err != nil {
			c.reply(id, c.errorFrame(err))
			return
		}
		if have.OneTime+len(k.OneTime) > maxPrekeyPool || have.KEMOneTime+len(k.KEMOneTime) > maxPrekeyPool {
			c.reply(id, &wire.Error{Code: wire.CodeTooLarge, Message: fmt.Sprintf("at most %d one-time prekeys of each kind", maxPrekeyPool)})
			return
		}
	}
	c.replyErr(id, c.g.dir.PublishKeys(ctx, c.key.user, c.key.device, k), &wire.OK{})
}

// maxPrekeyPool bounds each of a device's one-time prekey pools.
const maxPrekeyPool = 1000

func dirPrekey(p *wire.Prekey) *directory.Prekey {
	if p == nil {
		return nil
	}
	return &directory.Prekey{ID: p.ID, Public: p.Public, Signature: p.Signature}
}

func wirePrekey(p directory.Prekey) wire.Prekey {
	return wire.Prekey{ID: p.ID, Public: p.Public, Signature: p.Signature}
}

func (c *conn) handleFetchBundles(ctx context.Context, id uint64, fb *wire.FetchBundles) {
	if !c.limitFetch(ctx, id, fb.User) {
		return
	}
	devs, err := c.g.dir.Devices(ctx, fb.User)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	// Nothing is sent to a held device: no session with it either.
	devs = slices.DeleteFunc(devs, directory.Device.Held)
	if len(devs) == 0 {
		code, err := c.noDevices(ctx, fb.User)
		if err != nil {
			c.reply(id, c.errorFrame(err))
			return
		}
		msg := "no such user"
		if code == wire.CodeNoDevices {
			msg = "the user has no device signed in"
		}
		c.reply(id, &wire.Error{Code: code, Message: msg})
		return
	}
	reply := &wire.Bundles{User: fb.User}
	for _, d := range devs {
		if d.User == c.key.user && d.ID == c.key.device {
			continue // never a session with oneself
		}
		b, took, err := c.claimBundle(ctx, fb.User, d.ID)
		if errors.Is(err, directory.ErrNoPrekeys) {
			continue
		}
		if err != nil {
			c.reply(id, c.errorFrame(err))
			return
		}
		wb := wire.Bundle{Device: b.Device, Identity: b.Identity, Signed: wirePrekey(b.Signed), KEM: wirePrekey(b.KEM), KEMLastResort: b.KEMIsLastResort}
		if v := b.Vouch; v != nil {
			wb.Vouch = &wire.Vouch{Device: v.Device, Signature: v.Signature}
		}
		if b.OneTime != nil {
			p := wirePrekey(*b.OneTime)
			wb.OneTime = &p
		}
		reply.Bundles = append(reply.Bundles, wb)
		if took {
			c.g.notifyPrekeys(ctx, devKey{fb.User, d.ID})
		}
	}
	if len(reply.Bundles) == 0 {
		c.reply(id, &wire.Error{Code: wire.CodeNoPrekeys, Message: "the user's devices have published no keys"})
		return
	}
	c.reply(id, reply)
}

// noDevices says why a user has no devices: not_found when there is no
// such user, no_devices when the account exists but every device of it
// signed out (it may sign in again on a new one).
func (c *conn) noDevices(ctx context.Context, u wire.UserID) (wire.Code, error) {
	_, err := c.g.dir.UserCreated(ctx, u)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return wire.CodeNotFound, nil
	case err != nil:
		return 0, fmt.Errorf("account of a user without devices: %w", err)
	}
	return wire.CodeNoDevices, nil
}

// notifyPrekeys tells a device connected here that its one-time prekeys
// run low. A device elsewhere learns it from Welcome when it connects.
func (g *Gateway) notifyPrekeys(ctx context.Context, k devKey) {
	owner := g.local(k)
	if owner == nil {
		return
	}
	counts, err := g.dir.PrekeyCounts(ctx, k.user, k.device)
	if err != nil || (counts.OneTime >= g.cfg.PrekeyLow && counts.KEMOneTime >= g.cfg.PrekeyLow) {
		return
	}
	owner.notify(&wire.Notice{Kind: wire.NoticePrekeysLow, OneTimeLeft: uint32(counts.OneTime), KEMOneTimeLeft: uint32(counts.KEMOneTime)})
}

func (c *conn) handleSetContact(ctx context.Context, id uint64, s *wire.SetContact) {
	if !c.limit(ctx, id, c.perUser("set-contact", c.g.cfg.Rates.SetContact)) {
		return
	}
	if s.User == c.key.user || s.User.IsZero() {
		c.reply(id, &wire.Error{Code: wire.CodeBadRequest, Message: "not a contact"})
		return
	}
	var st directory.ContactState
	switch s.State {
	case wire.ContactNone:
		st = directory.None
	case wire.ContactAllowed:
		st = directory.Allowed
	case wire.ContactBlocked:
		st = directory.Blocked
	default:
		c.reply(id, &wire.Error{Code: wire.CodeBadRequest, Message: "unknown contact state"})
		return
	}
	err := c.g.dir.SetContact(ctx, c.key.user, s.User, st, c.g.cfg.MaxContacts)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		c.reply(id, &wire.Error{Code: wire.CodeNotFound, Message: "no such user"})
		return
	case errors.Is(err, directory.ErrFull):
		c.reply(id, &wire.Error{Code: wire.CodeTooLarge, Message: fmt.Sprintf("at most %d contacts: remove one first", c.g.cfg.MaxContacts)})
		return
	case err != nil:
		c.reply(id, c.errorFrame(err))
		return
	}
	c.g.contacts.forget(c.key.user, s.User)
	if f := c.g.cfg.OnContactChange; f != nil {
		f(c.key.user, s.User)
	}
	c.reply(id, &wire.OK{})
}

func (c *conn) handleListContacts(ctx context.Context, id uint64) {
	if !c.limit(ctx, id, c.perUser("list-contacts", c.g.cfg.Rates.ListContacts)) {
		return
	}
	list, err := c.g.dir.Contacts(ctx, c.key.user, wire.MaxListEntries)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	reply := &wire.Contacts{}
	for _, ct := range list {
		reply.Entries = append(reply.Entries, wire.ContactEntry{User: ct.User, State: wire.ContactState(ct.State), UpdatedMS: ct.Updated.UnixMilli()})
	}
	c.reply(id, reply)
}

func (c *conn) handleListDevices(ctx context.Context, id uint64) {
	if !c.limit(ctx, id, c.perUser("list-devices", c.g.cfg.Rates.ListDevices)) {
		return
	}
	devs, err := c.g.dir.Devices(ctx, c.key.user)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	reply := &wire.Devices{}
	for _, d := range devs {
		info := wire.DeviceInfo{ID: d.ID, Name: d.Name, CreatedMS: d.Created.UnixMilli(), LastSeenMS: d.LastSeen.UnixMilli(), Linked: d.Linked}
		if d.Held() {
			info.PendingUntilMS = d.PendingUntil.UnixMilli()
		}
		reply.Devices = append(reply.Devices, info)
	}
	c.reply(id, reply)
}

func (c *conn) handleRemoveDevice(ctx context.Context, id uint64, r *wire.RemoveDevice) {
	if !c.limit(ctx, id, c.perUser("remove-device", c.g.cfg.Rates.RemoveDevice)) {
		return
	}
	c.removeDevice(ctx, id, r.Device)
}

func (c *conn) handleAck(a *wire.Ack) {
	off := min(a.Offset, c.lastSent.Load())
	if off <= c.acked.Load() {
		return
	}
	c.acked.Store(off)
	c.g.offsets.note(c.key, off+1, c.g.cfg.Now())
	select {
	case c.ackSignal <- struct{}{}:
	default:
	}
}
