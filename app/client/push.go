package client

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Notifications (Web Push). The browser subscribes this device with the
// push service of its maker, under the relay's key (PushKey, from the
// Welcome), and the app hands the subscription to SetPushSubscription.
// The client keeps it in bPush with the chats muted here (MuteChat), and
// sends both to the relay (wire.SetPush) on every connection and whenever
// either changes, with the conversations whose mute has not ended; when a
// mute ends, it sends the list again. The relay then pushes to this device
// while it is not connected, for a message whose Send was not silent, in
// a conversation that is not muted: the push says only which
// conversation, encrypted to the subscription's keys.
//
// Mutes are kept whether or not there is a subscription, so that a chat
// muted before notifications were turned on stays muted.

// MuteForever is the end of a mute that does not end: MuteChat(ctx, conv,
// MuteForever).
var MuteForever = time.Date(9999, time.December, 31, 0, 0, 0, 0, time.UTC)

// PushSubscription is this device's Web Push subscription, as the
// browser's PushManager gives it.
type PushSubscription struct {
	Endpoint string // the push service's URL for this device (https)
	P256dh   []byte // the subscription's public key: 65 bytes, an uncompressed P-256 point
	Auth     []byte // the subscription's authentication secret: 16 bytes
}

// Keys of bPush.
var (
	kPushSub = []byte("sub") // → pushRecord
	kPushKey = []byte("key") // → the relay's push key, as the last Welcome gave it
)

// pushMutePrefix starts the key of a mute: 'm' || conversation (16) →
// when it ends (Unix ms, 8).
const pushMutePrefix = 'm'

func muteKey(conv wire.ConversationID) []byte {
	return append([]byte{pushMutePrefix}, conv[:]...)
}

// pushRecord is this device's subscription as the relay should have it:
//
//	{1 endpoint, 2 p256dh, 3 auth, 4 revision: counts the changes of the
//	 subscription and the mutes, 5 the revision the relay answered, 6 the
//	 first end of a mute sent with it (Unix ms; 0: none)}
//
// An empty endpoint is a subscription to remove at the relay: the record
// is deleted once the relay has answered.
type pushRecord struct {
	Endpoint string
	P256dh   []byte
	Auth     []byte
	Rev      uint64
	SentRev  uint64
	NextEnd  int64
}

// sent reports whether the relay has answered the latest change.
func (r *pushRecord) sent() bool { return r.SentRev == r.Rev }

func (r *pushRecord) marshal() []byte {
	e := newEnc()
	e.string(1, r.Endpoint)
	e.bytes(2, r.P256dh)
	e.bytes(3, r.Auth)
	e.uint(4, r.Rev)
	e.uint(5, r.SentRev)
	e.sint(6, r.NextEnd)
	return e.b
}

func parsePush(b []byte) (*pushRecord, error) {
	r := new(pushRecord)
	err := decodeRecord(b, func(f field) (err error) {
		switch f.num {
		case 1:
			r.Endpoint, err = f.string(wire.MaxPushEndpoint)
		case 2:
			r.P256dh, err = f.copyBytes(wire.PushKeyLen)
		case 3:
			r.Auth, err = f.copyBytes(wire.PushAuthLen)
		case 4:
			r.Rev, err = f.uint64()
		case 5:
			r.SentRev, err = f.uint64()
		case 6:
			r.NextEnd, err = f.sint64()
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("push record: %w", err)
	}
	return r, nil
}

// loadPush reads the subscription record; nil if there is none.
func loadPush(tx store.Tx) (*pushRecord, error) {
	b, err := tx.Get(bPush, kPushSub)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parsePush(b)
}

// markUnsent notes that the mutes changed: the relay is to be told.
func markUnsent(tx store.Tx) error {
	r, err := loadPush(tx)
	if r == nil || err != nil {
		return err
	}
	r.Rev++
	return tx.Put(bPush, kPushSub, r.marshal())
}

// readMutes returns the mutes that have not ended at now.
func readMutes(tx store.Tx, now time.Time) (map[wire.ConversationID]time.Time, error) {
	mutes := make(map[wire.ConversationID]time.Time)
	err := tx.Scan(bPush, []byte{pushMutePrefix}, func(k, v []byte) error {
		if len(k) != 1+16 || len(v) != 8 {
			return fmt.Errorf("%w: a mute of %d bytes", errMalformed, len(v))
		}
		until := time.UnixMilli(int64(binary.BigEndian.Uint64(v)))
		if until.After(now) {
			var conv wire.ConversationID
			copy(conv[:], k[1:])
			mutes[conv] = until
		}
		return nil
	})
	return mutes, err
}

// setMuted fills in the chats' Muted from the mutes kept in tx.
func setMuted(tx store.Tx, chats []Chat, now time.Time) error {
	mutes, err := readMutes(tx, now)
	if err != nil || len(mutes) == 0 {
		return err
	}
	for i := range chats {
		conv := chats[i].Contact.Conversation
		if chats[i].Group != nil {
			conv = chats[i].Group.ID
		}
		chats[i].Muted = mutes[conv]
	}
	return nil
}

// PushKey is the relay's key for Web Push subscriptions (its VAPID
// public key, 65 bytes), as the relay last said; nil when it sends no
// pushes or has not said yet.
func (c *Client) PushKey() []byte {
	var key []byte
	_ = c.st.View(context.Background(), func(tx store.Tx) error {
		b, err := tx.Get(bPush, kPushKey)
		if err == nil {
			key = bytes.Clone(b)
		}
		return nil
	})
	return key
}

// notePushKey keeps the push key of a Welcome.
func (c *Client) notePushKey(ctx context.Context, key []byte) error {
	if bytes.Equal(c.PushKey(), key) {
		return nil
	}
	err := c.st.Update(ctx, func(tx store.Tx) error {
		if len(key) == 0 {
			return tx.Delete(bPush, kPushKey)
		}
		return tx.Put(bPush, kPushKey, bytes.Clone(key))
	})
	if err != nil {
		return fmt.Errorf("push key: %w", err)
	}
	return nil
}

// SetPushSubscription sets this device's Web Push subscription, or
// removes it (nil). It is stored and sent to the relay now if connected
// (the relay's refusal is returned: an endpoint it does not allow, a
// malformed key), and on every connection.
func (c *Client) SetPushSubscription(ctx context.Context, s *PushSubscription) error {
	if _, err := c.registered(); err != nil {
		return err
	}
	rec := &pushRecord{}
	if s != nil {
		if s.Endpoint == "" || len(s.Endpoint) > wire.MaxPushEndpoint || len(s.P256dh) != wire.PushKeyLen || len(s.Auth) != wire.PushAuthLen {
			return ErrBadPushSubscription
		}
		rec = &pushRecord{Endpoint: s.Endpoint, P256dh: bytes.Clone(s.P256dh), Auth: bytes.Clone(s.Auth)}
	}
	err := c.st.Update(ctx, func(tx store.Tx) error {
		old, err := loadPush(tx)
		if err != nil || (old == nil && s == nil) {
			return err // nothing the relay has to forget
		}
		if old != nil {
			rec.Rev, rec.SentRev = old.Rev+1, old.SentRev
		} else {
			rec.Rev = 1
		}
		return tx.Put(bPush, kPushSub, rec.marshal())
	})
	if err != nil {
		return fmt.Errorf("set push subscription: %w", err)
	}
	return c.pushNow(ctx)
}

// PushSubscribed reports whether this device has a Web Push subscription.
func (c *Client) PushSubscribed(ctx context.Context) (bool, error) {
	var on bool
	err := c.st.View(ctx, func(tx store.Tx) error {
		r, err := loadPush(tx)
		on = r != nil && r.Endpoint != ""
		return err
	})
	if err != nil {
		return false, fmt.Errorf("push subscription: %w", err)
	}
	return on, nil
}

// MuteChat mutes the conversation's notifications until then (MuteForever:
// until unmuted), or unmutes it (zero, or a time past). It works offline;
// the relay is told now if connected, else on the next connection.
func (c *Client) MuteChat(ctx context.Context, conv wire.ConversationID, until time.Time) error {
	if _, err := c.registered(); err != nil {
		return err
	}
	err := c.st.Update(ctx, func(tx store.Tx) error {
		if until.IsZero() || !until.After(c.clock()) {
			if err := tx.Delete(bPush, muteKey(conv)); err != nil {
				return err
			}
		} else if err := tx.Put(bPush, muteKey(conv), binary.BigEndian.AppendUint64(nil, uint64(until.UnixMilli()))); err != nil {
			return err
		}
		return markUnsent(tx)
	})
	if err != nil {
		return fmt.Errorf("mute chat: %w", err)
	}
	return c.pushNow(ctx)
}

// MutedUntil returns when the conversation's mute ends: zero if it is not
// muted, MuteForever if it is until unmuted.
func (c *Client) MutedUntil(ctx context.Context, conv wire.ConversationID) (time.Time, error) {
	var until time.Time
	err := c.st.View(ctx, func(tx store.Tx) error {
		b, err := tx.Get(bPush, muteKey(conv))
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if len(b) != 8 {
			return fmt.Errorf("%w: a mute of %d bytes", errMalformed, len(b))
		}
		if t := time.UnixMilli(int64(binary.BigEndian.Uint64(b))); t.After(c.clock()) {
			until = t
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("muted until: %w", err)
	}
	return until, nil
}

// pushNow sends the subscription to the relay if the device is connected
// and the relay has not answered this state yet.
func (c *Client) pushNow(ctx context.Context) error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return nil
	}
	_, err := c.syncPush(ctx, conn, false)
	return err
}

// ErrBadPushSubscription: a subscription without an endpoint, or whose
// keys are not of the lengths Web Push uses.
var ErrBadPushSubscription = errors.New("client: malformed push subscription")

// pushSync serialises SetPush: each one sends the state stored when it
// is sent, so the last one the relay gets is the newest.
type pushSync struct{ mu sync.Mutex }

// syncPush sends the subscription and the mutes not ended to the relay
// when it has not answered them yet, or always (on a new connection),
// and returns how long until a mute it sent ends (0: none): then they
// are sent again. A relay that sends no pushes is told nothing. The
// relay's refusal is returned; it is not asked again before the next
// change or connection.
func (c *Client) syncPush(ctx context.Context, conn *transport.Conn, always bool) (time.Duration, error) {
	c.push.mu.Lock()
	defer c.push.mu.Unlock()
	now := c.clock()
	var rec *pushRecord
	var mutes map[wire.ConversationID]time.Time
	err := c.st.View(ctx, func(tx store.Tx) (err error) {
		if rec, err = loadPush(tx); rec == nil || err != nil {
			return err
		}
		mutes, err = readMutes(tx, now)
		return err
	})
	if err != nil || rec == nil || len(c.PushKey()) == 0 {
		return 0, err
	}
	due := rec.NextEnd != 0 && !now.Before(time.UnixMilli(rec.NextEnd))
	if rec.sent() && !always && !due {
		return time.UnixMilli(rec.NextEnd).Sub(now), nil
	}
	set := &wire.SetPush{Endpoint: rec.Endpoint, P256dh: rec.P256dh, Auth: rec.Auth}
	var next int64
	if rec.Endpoint != "" {
		for conv, until := range mutes {
			if len(set.Muted) == wire.MaxMuted {
				break
			}
			set.Muted = append(set.Muted, conv)
			if ms := until.UnixMilli(); next == 0 || ms < next {
				next = ms
			}
		}
	}
	_, err = transport.Call[*wire.OK](ctx, conn, set)
	if err != nil && !isRelayError(err) {
		return 0, err
	}
	uerr := c.st.Update(ctx, func(tx store.Tx) error {
		cur, err := loadPush(tx)
		if cur == nil || err != nil || cur.SentRev > rec.Rev {
			return err
		}
		if cur.Endpoint == "" && cur.Rev == rec.Rev {
			return tx.Delete(bPush, kPushSub)
		}
		// A change made meanwhile has a later revision: it is still to
		// send.
		cur.SentRev, cur.NextEnd = rec.Rev, next
		return tx.Put(bPush, kPushSub, cur.marshal())
	})
	if uerr != nil {
		return 0, fmt.Errorf("push subscription: %w", uerr)
	}
	if err != nil {
		return 0, fmt.Errorf("push subscription: %w", err)
	}
	if next == 0 {
		return 0, nil
	}
	return time.UnixMilli(next).Sub(now), nil
}

// silent reports whether content of kind k goes without waking its
// recipients (wire.Send.Silent: the relay pushes nothing for it): what
// only keeps devices in step, never what a person reads. Text, group
// changes (an invitation among them) and requests to join a group wake
// them, and so do kinds this build does not know.
func (k contentKind) silent() bool {
	switch k {
	case kindDelivered, kindRead, kindProfile, kindContacts, kindSenderKey, kindGroups:
		return true
	}
	return false
}
