package gateway

import (
	"time"

	"golang.org/x/time/rate"
)

// bucket is a token bucket of one connection: rate tokens a second, up to
// burst, full at the start. Its clock is the time passed to take, so that
// tests can drive it with Config.Now.
type bucket struct {
	lim *rate.Limiter
}

func newBucket(perSecond float64, burst int) *bucket {
	return &bucket{lim: rate.NewLimiter(rate.Limit(perSecond), burst)}
}

// take takes one token at now, or says how long until one is available.
func (b *bucket) take(now time.Time) (ok bool, wait time.Duration) {
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	return false, time.Duration((1 - b.lim.TokensAt(now)) / float64(b.lim.Limit()) * float64(time.Second))
}
