package client

import (
	"context"
	"time"

	"github.com/mutualcoop/mutual/app/store"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Away is how the outbox entry of a message waits for its peer to have a
// device signed in (see awayState); the zero value: it does not.
type Away struct {
	Since, NextTry, Fetched time.Time
	Tries                   uint32
}

// AwayOf returns how the outbox entry of message id waits; ok is false
// when the message has no entry.
func AwayOf(ctx context.Context, c *Client, id wire.MessageID) (a Away, ok bool, err error) {
	err = c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(bOutbox, nil, func(_, v []byte) error {
			e, err := parseOutbox(v)
			if err != nil || e.MessageID != id {
				return err
			}
			ok = true
			a = Away{Since: fromMS(e.Away.Since), NextTry: fromMS(e.Away.NextTry), Fetched: fromMS(e.Away.Fetched), Tries: e.Away.Tries}
			return nil
		})
	})
	return a, ok, err
}
