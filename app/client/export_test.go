package client

import (
	"context"

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

// SetAfterStore installs a hook that runs after each delivery is stored
// and before it is acknowledged. Set it before Run.
func SetAfterStore(c *Client, fn func(*transport.Conn)) { c.afterStore = fn }

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
