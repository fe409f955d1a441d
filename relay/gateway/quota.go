package gateway

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mutualcoop/mutual/relay/limit"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Quota is what one account may have stored, across all its devices and
// every gateway of the relay, counted in ciphertext bytes (the sum over a
// Send's recipients) and in messages. A person's text messages are small
// (a 4,096-byte text pads to 8 KiB per device); the defaults are far above
// what the heaviest such use sends, and far below what fills a disk. Zero
// fields take the defaults; a negative field turns that limit off.
type Quota struct {
	MessagesPerDay int64   // Sends stored a day; 100,000
	BytesPerDay    int64   // ciphertext bytes stored a day; 256 MiB
	ByteRate       float64 // ciphertext bytes a second, sustained; 256 KiB
	ByteBurst      int64   // ciphertext bytes at once; 4 MiB (a Send is at most 512 KiB)

	// ReadRate and ReadBurst bound the ciphertext bytes of every Send an
	// account's connections are read, stored or refused: past them the
	// gateway reads that account's connections no faster (see
	// throttle). Defaults 1 MiB a second and 8 MiB.
	ReadRate  float64
	ReadBurst int64
}

// Default quota.
const (
	DefaultMessagesPerDay = 100_000
	DefaultBytesPerDay    = 256 << 20
	DefaultByteRate       = 256 << 10
	DefaultByteBurst      = 4 << 20
	DefaultReadRate       = 1 << 20
	DefaultReadBurst      = 8 << 20
)

func (q *Quota) setDefaults() {
	if q.MessagesPerDay == 0 {
		q.MessagesPerDay = DefaultMessagesPerDay
	}
	if q.BytesPerDay == 0 {
		q.BytesPerDay = DefaultBytesPerDay
	}
	if q.ByteRate == 0 {
		q.ByteRate = DefaultByteRate
	}
	if q.ByteBurst == 0 {
		q.ByteBurst = DefaultByteBurst
	}
	if q.ReadRate == 0 {
		q.ReadRate = DefaultReadRate
	}
	if q.ReadBurst == 0 {
		q.ReadBurst = DefaultReadBurst
	}
}

func (q *Quota) validate() error {
	if q.ByteRate > 0 && q.ByteBurst < wire.MaxFrameSize {
		return fmt.Errorf("gateway: quota burst of %d bytes is below one Send (%d bytes)", q.ByteBurst, wire.MaxFrameSize)
	}
	if q.ReadRate > 0 && q.ReadBurst < wire.MaxFrameSize {
		return fmt.Errorf("gateway: read burst of %d bytes is below one Send (%d bytes)", q.ReadBurst, wire.MaxFrameSize)
	}
	return nil
}

// rates returns the quota's limits, each with the key prefix it is kept
// under, in the order they are charged: the burst first, since a flood
// meets it first and is then charged nothing else.
func (q *Quota) rates() []quotaRate {
	var rs []quotaRate
	if q.ByteRate > 0 && q.ByteBurst > 0 {
		rs = append(rs, quotaRate{"sendrate/user/", limit.PerSecond(q.ByteRate, q.ByteBurst), true, "sending too much too fast"})
	}
	if q.BytesPerDay > 0 {
		rs = append(rs, quotaRate{"sendbytes/user/", limit.PerDay(q.BytesPerDay), true, "over the daily quota of bytes"})
	}
	if q.MessagesPerDay > 0 {
		rs = append(rs, quotaRate{"sendmsgs/user/", limit.PerDay(q.MessagesPerDay), false, "over the daily quota of messages"})
	}
	return rs
}

type quotaRate struct {
	prefix string
	rate   limit.Rate
	bytes  bool // charged in bytes, else one per message
	why    string
}

// quotaError is a Send over its account's quota; retry says when it fits.
type quotaError struct {
	why   string
	retry time.Duration
}

func (e *quotaError) Error() string { return e.why }

// sendCost is what a Send stores, in the bytes the quota counts: each
// recipient device's own ciphertext, and a group message's shared
// ciphertext once for each recipient user, whose inbox record holds it.
func sendCost(s *wire.Send) int64 {
	var n int64
	users := make(map[wire.UserID]struct{})
	for i := range s.Recipients {
		n += int64(len(s.Recipients[i].Ciphertext))
		if len(s.Shared) > 0 {
			users[s.Recipients[i].User] = struct{}{}
		}
	}
	return n + int64(len(s.Shared))*int64(len(users))
}

// maxCost is the most a Send may store: past it the quota, or the read
// rate, could never take it (a group message's shared ciphertext counts
// once per member), and it is refused as too large rather than told to
// wait.
func (q *Quota) maxCost() int64 {
	m := int64(math.MaxInt64)
	if q.ByteRate > 0 && q.ByteBurst > 0 {
		m = min(m, q.ByteBurst)
	}
	if q.BytesPerDay > 0 {
		m = min(m, q.BytesPerDay)
	}
	if q.ReadRate > 0 && q.ReadBurst > 0 {
		m = min(m, q.ReadBurst)
	}
	return m
}

// chargeQuota charges a Send of n bytes to the sending account, or
// returns an *quotaError. Each limit is charged in turn, all or nothing: a
// Send refused by a later limit keeps what earlier ones charged, which
// only ever counts against an account already at its limit.
func (c *conn) chargeQuota(ctx context.Context, n int64) error {
	user := c.key.user.String()
	now := c.g.cfg.Now()
	for _, q := range c.g.quota {
		units := int64(1)
		if q.bytes {
			units = n
		}
		ok, retry, err := c.g.cfg.Limits.Take(ctx, q.prefix+user, q.rate, units, now)
		if err != nil {
			return fmt.Errorf("send quota: %w", err)
		}
		if !ok {
			return &quotaError{why: q.why, retry: retry}
		}
	}
	return nil
}

// rejectQuota answers a Send refused by chargeQuota.
func (c *conn) rejectQuota(id uint64, s *wire.Send, err error) {
	var q *quotaError
	if !errors.As(err, &q) {
		c.reply(id, c.errorFrame(err))
		return
	}
	c.reply(id, &wire.Rejected{
		MessageID: s.MessageID, Code: wire.CodeRateLimited,
		Message:      fmt.Sprintf("%s; retry in %v", q.why, q.retry.Round(time.Second)),
		RetryAfterMS: uint64(q.retry.Milliseconds()) + 1,
	})
}
