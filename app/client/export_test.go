package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/app/transport"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Credentials returns the device's relay credential, for tests that speak
// to the relay as this device.
func Credentials(c *Client) (wire.UserID, wire.DeviceID, []byte) {
	me := c.me()
	return me.User, me.Device, me.Credential
}

// SealOutbox encrypts the queued entries that need no bundle (their
// sessions exist) and returns every encrypted entry as the Send that
// would go to the relay. Run must not be running.
func SealOutbox(ctx context.Context, c *Client) ([]*wire.Send, error) {
	var entries []*outboxEntry
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bOutbox, nil, func(k, v []byte) error {
			e, err := parseOutbox(v)
			if err == nil {
				e.seq = seqFromKey(k)
				entries = append(entries, e)
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	var out []*wire.Send
	for _, e := range entries {
		if !e.Encrypted {
			if _, err := c.prepare(ctx, nil, e); err != nil {
				return nil, err
			}
		}
		if e.Encrypted {
			out = append(out, &wire.Send{MessageID: e.MessageID, Conversation: e.Conversation, Kind: e.Kind, Recipients: e.Recipients})
		}
	}
	return out, nil
}

// SetAfterStore installs a hook that runs after each batch of deliveries
// is stored and before it is acknowledged. Set it before Run.
func SetAfterStore(c *Client, fn func(*transport.Conn)) { c.afterStore = fn }

// SetAfterAck installs a hook that runs after each Ack is sent, with its
// offset. Set it before Run.
func SetAfterAck(c *Client, fn func(offset int64)) { c.afterAck = fn }

// SignedPreKeyIDs lists the signed prekeys the device keeps.
func SignedPreKeyIDs(ctx context.Context, c *Client) ([]uint32, error) {
	var ids []uint32
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bSigned, nil, func(k, _ []byte) error {
			ids = append(ids, uint32(seqFromKey(k)))
			return nil
		})
	})
	return ids, err
}

// OneTimePrekeys counts the one-time EC and KEM prekeys the device keeps.
func OneTimePrekeys(ctx context.Context, c *Client) (ec, kem int, err error) {
	err = c.st.View(ctx, func(tx store.Tx) error {
		if err := tx.Scan(bPreKeys, nil, func(_, _ []byte) error { ec++; return nil }); err != nil {
			return err
		}
		return tx.Scan(bKEM, nil, func(k, _ []byte) error {
			pk, err := loadKEM(tx, uint32(seqFromKey(k)))
			if err == nil && !pk.LastResort {
				kem++
			}
			return err
		})
	})
	return ec, kem, err
}

// CheckChats compares every stored conversation summary with one
// computed afresh from the contacts and the messages.
func CheckChats(ctx context.Context, c *Client) error {
	me := c.me()
	return c.st.View(ctx, func(tx store.Tx) error {
		want, err := summarize(tx, me.User)
		if err != nil {
			return err
		}
		n := 0
		err = tx.Scan(bChats, nil, func(k, v []byte) error {
			n++
			var conv wire.ConversationID
			copy(conv[:], k)
			w := want[conv]
			if w == nil {
				return fmt.Errorf("chat %x: stored, but there is nothing to sum up", k)
			}
			got, err := parseChat(v, me.User)
			if err != nil {
				return err
			}
			// A group's or the co-op's chat says so; its messages do not.
			w.Group, w.Coop = got.Group, got.Coop
			if !bytes.Equal(got.marshal(), w.marshal()) {
				return fmt.Errorf("chat %x: stored %+v (last %+v), want %+v (last %+v)", k, got, got.Last, w, w.Last)
			}
			return nil
		})
		if err == nil && n != len(want) {
			err = fmt.Errorf("%d chats stored, want %d", n, len(want))
		}
		return err
	})
}

// QueuedProfiles lists the users a profile waits in the outbox for.
func QueuedProfiles(ctx context.Context, c *Client) ([]wire.UserID, error) {
	var out []wire.UserID
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bOutbox, nil, func(_, v []byte) error {
			e, err := parseOutbox(v)
			if err == nil && e.ContentKind == kindProfile {
				out = append(out, e.Peer)
			}
			return err
		})
	})
	return out, err
}

// SealProfileRequest encrypts a profile with name for the devices of
// user whose bundles are given, as a contact request, which no client
// sends (profiles go as plain messages to contacts), and returns the
// Send. Run must not be running.
func SealProfileRequest(ctx context.Context, c *Client, user wire.UserID, name string, bundles []wire.Bundle) (*wire.Send, error) {
	return seal(ctx, c, user, &content{Kind: kindProfile, Name: name, SentAt: c.now().UnixMilli()}, wire.KindRequest, bundles)
}

// SealContent encrypts a content of kind, with text, for the devices of
// user whose bundles are given (their sessions are set up if there are
// none), as an envelope of kind wk, and returns the Send: content this
// client does not send, such as a kind it does not know. Run must not be
// running.
func SealContent(ctx context.Context, c *Client, user wire.UserID, kind uint32, text string, wk wire.Kind, bundles []wire.Bundle) (*wire.Send, error) {
	return seal(ctx, c, user, &content{Kind: contentKind(kind), Text: text, SentAt: c.now().UnixMilli()}, wk, bundles)
}

func seal(ctx context.Context, c *Client, user wire.UserID, m *content, wk wire.Kind, bundles []wire.Bundle) (*wire.Send, error) {
	var send *wire.Send
	err := c.update(ctx, func(ts *txState) error {
		m.Peer = user
		padded, err := sealContent(m)
		if err != nil {
			return err
		}
		seq, err := nextOutboxSeq(ts.tx)
		if err != nil {
			return err
		}
		e := &outboxEntry{
			seq: seq, MessageID: wire.NewMessageID(), Conversation: DirectConversation(c.me().User, user), Peer: user,
			ContentKind: m.Kind, Padded: padded, Kind: wk,
		}
		if err := ts.tx.Put(bOutbox, seqKey(seq), e.marshal()); err != nil {
			return err
		}
		var devices []wire.DeviceID
		for _, b := range bundles {
			devices = append(devices, b.Device)
		}
		if out, err := c.planAndSeal(ctx, ts, e, bundles, target{user, devices}); err != nil || out != outcomeReady {
			return fmt.Errorf("seal: outcome %d, %w", out, err)
		}
		send = &wire.Send{MessageID: e.MessageID, Conversation: e.Conversation, Kind: e.Kind, Recipients: e.Recipients}
		return ts.tx.Delete(bOutbox, seqKey(seq))
	})
	return send, err
}

// Seen reports whether the device has read the message id from sender
// (stored it, applied it or dropped it).
func Seen(ctx context.Context, c *Client, sender wire.UserID, id wire.MessageID) (bool, error) {
	seen := false
	err := c.st.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get(bSeen, authoredKey(sender, id))
		if err == nil {
			seen = true
		} else if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return err
	})
	return seen, err
}

// SeenFrom counts the messages and receipts from sender the device has
// read (see Seen).
func SeenFrom(ctx context.Context, c *Client, sender wire.UserID) (int, error) {
	n := 0
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bSeen, sender[:], func(_, _ []byte) error { n++; return nil })
	})
	return n, err
}

// SetAfterLookup installs a hook that runs after each Lookup of an
// address a contact gave, with the relay's answer. Set it before Run.
func SetAfterLookup(c *Client, fn func(err error)) { c.afterLookup = fn }

// SealClaim encrypts a text that says it comes from address (which a
// client puts only its own account's address in) for the devices of user
// whose bundles are given, as a contact request, and returns the Send.
// Run must not be running.
func SealClaim(ctx context.Context, c *Client, user wire.UserID, text, address string, bundles []wire.Bundle) (*wire.Send, error) {
	return seal(ctx, c, user, &content{Kind: kindText, Text: text, Address: address, SentAt: c.now().UnixMilli()}, wire.KindRequest, bundles)
}
