package gateway

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/wire"
)

// pendingSend is a validated Send with the request ID to answer.
type pendingSend struct {
	id  uint64
	msg *wire.Send
}

// handleSend checks a Send and queues it for the sender goroutine, which
// answers it once the message is durable.
func (c *conn) handleSend(ctx context.Context, id uint64, s *wire.Send) {
	reject := func(code wire.Code, msg string) {
		c.reply(id, &wire.Rejected{MessageID: s.MessageID, Code: code, Message: msg})
	}
	group := s.Kind == wire.KindGroup
	if s.Kind != wire.KindMessage && s.Kind != wire.KindRequest && !group {
		reject(wire.CodeBadKind, "clients send messages, contact requests and group messages only")
		return
	}
	if len(s.Recipients) == 0 {
		reject(wire.CodeBadRequest, "no recipients")
		return
	}
	most := wire.MaxRecipients
	if group {
		most = wire.MaxGroupRecipients
	}
	if len(s.Recipients) > most {
		reject(wire.CodeTooManyRecipients, fmt.Sprintf("at most %d devices in one message", most))
		return
	}
	switch {
	case group && s.Conversation == (wire.ConversationID{}):
		reject(wire.CodeBadRequest, "a group message names its group as its conversation")
		return
	case s.Conversation == wire.CoopConversation:
		reject(wire.CodeBadRequest, "only the relay writes to the co-op's conversation")
		return
	case !group && len(s.Shared) > 0:
		reject(wire.CodeBadRequest, "only a group message has a shared ciphertext")
		return
	}
	cost := sendCost(s)
	if most := c.g.cfg.Quota.maxCost(); cost > most {
		reject(wire.CodeTooLarge, fmt.Sprintf("the message would store %d bytes, at most %d: a group message's shared ciphertext is stored once for each recipient user", cost, most))
		return
	}
	if !c.throttle(ctx, cost) {
		return // the connection is closing
	}
	if c.g.disk.full() {
		c.reply(id, &wire.Rejected{MessageID: s.MessageID, Code: wire.CodeUnavailable, Message: "the relay's disk is full; retry later", RetryAfterMS: uint64(diskRetry.Milliseconds())})
		return
	}
	if s.Kind == wire.KindRequest && c.requestTooLarge(s) {
		reject(wire.CodeTooLarge, "a contact request is one short first message")
		return
	}
	if !c.limitSend(ctx, id, s) {
		return
	}
	// Every device of every recipient user must be there, exactly once:
	// otherwise a device would silently miss the message. Only a group
	// message with a shared ciphertext may leave a device's own part
	// empty.
	byUser := make(map[wire.UserID][]wire.DeviceID)
	var users []wire.UserID
	for _, r := range s.Recipients {
		if r.User.IsZero() || r.Device == 0 || (len(r.Ciphertext) == 0 && len(s.Shared) == 0) {
			reject(wire.CodeBadRequest, "recipient without user, device or ciphertext")
			return
		}
		if r.User == c.key.user && r.Device == c.key.device {
			reject(wire.CodeBadRequest, "a device does not send to itself")
			return
		}
		if _, seen := byUser[r.User]; !seen {
			users = append(users, r.User)
		}
		byUser[r.User] = append(byUser[r.User], r.Device)
	}
	others := len(users)
	if _, self := byUser[c.key.user]; self {
		others--
	}
	if s.Kind == wire.KindRequest && others != 1 {
		reject(wire.CodeBadRequest, "a contact request goes to exactly one other user")
		return
	}
	if group {
		joined, err := c.joinedGroup(ctx, s.Conversation)
		if err != nil {
			c.reply(id, c.errorFrame(err))
			return
		}
		if !joined {
			// What the router would do, without storing anything.
			reject(wire.CodeNotAccepted, "you have not joined this group")
			return
		}
	}
	devices, err := c.g.devices.getMany(ctx, c.g.dir, users)
	if err != nil {
		c.reply(id, c.errorFrame(err))
		return
	}
	for _, u := range users {
		have := devices[u]
		if u == c.key.user {
			have = slices.DeleteFunc(slices.Clone(have), func(d wire.DeviceID) bool { return d == c.key.device })
		}
		if len(have) == 0 {
			if u == c.key.user {
				// The sender named other devices of its own, and has none.
				c.reply(id, &wire.Rejected{MessageID: s.MessageID, Code: wire.CodeStaleDevices, Message: "you have no other devices", User: u})
				return
			}
			code, err := c.noDevices(ctx, u)
			if err != nil {
				c.reply(id, c.errorFrame(err))
				return
			}
			if code == wire.CodeNoDevices {
				c.reply(id, &wire.Rejected{MessageID: s.MessageID, Code: code, Message: "the user has no device signed in", User: u})
				return
			}
			reject(code, "no such user")
			return
		}
		got := slices.Clone(byUser[u])
		slices.Sort(got)
		if !slices.Equal(got, have) {
			c.reply(id, &wire.Rejected{MessageID: s.MessageID, Code: wire.CodeStaleDevices, Message: "the user's devices have changed", User: u, Devices: have})
			return
		}
	}
	// The sender's other devices receive their copy through the same
	// path; if the sender left them out entirely they must be told.
	if _, self := byUser[c.key.user]; !self {
		have, err := c.g.devices.approved(ctx, c.g.dir, c.key.user)
		if err != nil {
			c.reply(id, c.errorFrame(err))
			return
		}
		if len(have) > 1 {
			others := slices.DeleteFunc(slices.Clone(have), func(d wire.DeviceID) bool { return d == c.key.device })
			c.reply(id, &wire.Rejected{MessageID: s.MessageID, Code: wire.CodeStaleDevices, Message: "include your other devices", User: c.key.user, Devices: others})
			return
		}
	}
	if s.Kind == wire.KindMessage {
		u, err := c.refuser(ctx, users)
		if err != nil {
			c.reply(id, c.errorFrame(err))
			return
		}
		if !u.IsZero() {
			// What the router would say, without storing anything.
			c.reply(id, &wire.Rejected{MessageID: s.MessageID, Code: wire.CodeNotAccepted, Message: "the recipient has not accepted you", User: u})
			return
		}
	}
	if err := c.chargeQuota(ctx, cost); err != nil {
		c.rejectQuota(id, s, err)
		return
	}
	c.sendq <- &pendingSend{id: id, msg: s}
}

// appendRetry is the wait suggested to a Send the bus failed to store.
const appendRetry = time.Second

// maxSendBatch bounds how many queued Sends share one bus append.
const maxSendBatch = 64

// sender makes queued Sends durable, several at a time, and answers each
// with Accepted. It ends when the reader closes sendq, after draining it.
func (c *conn) sender() {
	batch := make([]*pendingSend, 0, maxSendBatch)
	for first := range c.sendq {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < maxSendBatch {
			select {
			case p, ok := <-c.sendq:
				if !ok {
					break gather
				}
				batch = append(batch, p)
			default:
				break gather
			}
		}
		c.appendBatch(batch)
	}
}

func (c *conn) appendBatch(batch []*pendingSend) {
	now := c.g.cfg.Now()
	key := c.key.user[:]
	msgs := make([]bus.Message, len(batch))
	for i, p := range batch {
		rec := bus.Parcel{
			MessageID: p.msg.MessageID, Conversation: p.msg.Conversation,
			Sender: c.key.user, SenderDevice: c.key.device, // stamped here, never from the frame
			ServerTimeMS: now.UnixMilli(), Kind: p.msg.Kind, Recipients: p.msg.Recipients, Shared: p.msg.Shared,
			Silent: p.msg.Silent,
		}
		msgs[i] = bus.Message{Topic: bus.InTopic, Key: key, Value: bus.AppendParcel(nil, &rec)}
	}
	// The append is not tied to the connection: once started it completes
	// (or fails) even if the client goes away, and the client's retry is
	// deduplicated by message ID.
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	err := c.g.bus.Append(ctx, msgs...)
	cancel()
	if err != nil {
		c.g.cfg.Logger.Warn("gateway: append to in failed", "err", err, "messages", len(batch))
		for _, p := range batch {
			c.reply(p.id, &wire.Rejected{MessageID: p.msg.MessageID, Code: wire.CodeUnavailable, Message: "not stored; retry", RetryAfterMS: uint64(appendRetry.Milliseconds())})
		}
		return
	}
	if m := c.g.cfg.Metrics.Accepted; m != nil {
		m(len(batch), c.g.cfg.Now().Sub(now))
	}
	for _, p := range batch {
		c.reply(p.id, &wire.Accepted{MessageID: p.msg.MessageID, ServerTimeMS: now.UnixMilli()})
	}
}
