package client

import (
	"context"

	"github.com/mutualcoop/mutual/app/store"
)

// PushSynced reports whether the relay has answered the latest change of
// the push subscription and mutes (true too when there is none).
func PushSynced(ctx context.Context, c *Client) (bool, error) {
	synced := true
	err := c.st.View(ctx, func(tx store.Tx) error {
		r, err := loadPush(tx)
		if r != nil {
			synced = r.sent()
		}
		return err
	})
	return synced, err
}
