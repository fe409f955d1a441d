package gateway

import (
	"context"
	"time"

	"github.com/mutualcoop/mutual/relay/limit"
)

// Fairness between senders. A Send costs the relay the reading and
// checking of its bytes even when it is refused (a message to strangers,
// an account over its quota), and a flooding client does not wait for
// refusals. So every Send's ciphertext is charged, before anything else,
// to its account's read rate (Quota.ReadRate, across its devices and the
// gateways); once that is spent the connection's reader waits before it
// reads on. The client's frames then queue in its own socket, not in the
// relay, and one account takes no more of the relay than that rate,
// whatever it sends; everyone else's messages go on at once. The rate is
// four times the quota's, so that a person retrying after a refusal never
// waits here.

const readPrefix = "sendread/user/"

// throttle waits until the sending account may have n more bytes read. It
// returns false if the connection is closing meanwhile.
func (c *conn) throttle(ctx context.Context, n int64) bool {
	q := &c.g.cfg.Quota
	if q.ReadRate <= 0 || q.ReadBurst <= 0 {
		return true
	}
	r := limit.PerSecond(q.ReadRate, q.ReadBurst)
	key := readPrefix + c.key.user.String()
	for {
		ok, retry, err := c.g.cfg.Limits.Take(ctx, key, r, n, c.g.cfg.Now())
		if ok || err != nil {
			// A store that fails throttles nothing: the quota still
			// refuses what would be stored.
			return true
		}
		t := time.NewTimer(retry)
		select {
		case <-t.C:
		case <-c.kickCh:
			t.Stop()
			return false
		}
	}
}
