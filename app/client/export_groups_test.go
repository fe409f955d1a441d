package client

import (
	"context"
	"slices"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/crypto/senderkey"
	"github.com/mutualcoop/mutual/relay/wire"
)

// SetBeforeSend installs a hook that runs before each Send of an outbox
// entry, with it. Set it before Run.
func SetBeforeSend(c *Client, fn func(*wire.Send)) { c.beforeSend = fn }

// SenderKeyRecords returns every sender key record the device holds for
// the group, encoded: what a member could keep after leaving.
func SenderKeyRecords(ctx context.Context, c *Client, group wire.ConversationID) ([][]byte, error) {
	var out [][]byte
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bSenderKeys, group[:], func(_, v []byte) error {
			out = append(out, slices.Clone(v))
			return nil
		})
	})
	return out, err
}

// OpensWith reports whether any of the records decrypts the shared part
// of a group message.
func OpensWith(records [][]byte, shared []byte) bool {
	for _, b := range records {
		r, err := senderkey.ParseRecord(b)
		if err != nil {
			continue
		}
		if _, err := r.Decrypt(shared); err == nil {
			return true
		}
	}
	return false
}
