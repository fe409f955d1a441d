package directory

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/mutualcoop/mutual/relay/limit"
)

// MaxLimitKey is the longest rate-limit key a directory stores.
const MaxLimitKey = 256

// LimitCharge is one Take of a directory's limit store in the terms its
// SQL uses: every bucket is a row (key, tat_ns) holding the theoretical
// arrival time in Unix nanoseconds, and a Take that fits sets it to
// max(tat_ns, Now) + Cost, which it may only when that is at most Now +
// Window. This is limit.Step's arithmetic, in integers.
type LimitCharge struct {
	Now    int64 // Unix nanoseconds
	Cost   int64 // n units of Every
	Window int64 // Burst units of Every: how far ahead of now a bucket may run
}

// PlanTake checks a Take for a directory store. When the table need not be
// asked (the rate is off, or n is more than the burst and never fits), it
// returns done with the answer; otherwise the charge to apply. Errors wrap
// ErrInvalid.
func PlanTake(key string, r limit.Rate, n int64, now time.Time) (c LimitCharge, done, ok bool, retry time.Duration, err error) {
	switch {
	case key == "" || len(key) > MaxLimitKey:
		return c, false, false, 0, fmt.Errorf("%w: rate-limit key of %d bytes", ErrInvalid, len(key))
	case n < 0:
		return c, false, false, 0, fmt.Errorf("%w: negative charge %d", ErrInvalid, n)
	}
	if r.Off() || n > r.Burst {
		ok, _, retry := limit.Step(time.Time{}, r, n, now)
		return c, true, ok, retry, nil
	}
	if r.Burst > math.MaxInt64/4/int64(r.Every) {
		return c, false, false, 0, fmt.Errorf("%w: rate of %d every %v overflows", ErrInvalid, r.Burst, r.Every)
	}
	return LimitCharge{Now: now.UnixNano(), Cost: n * int64(r.Every), Window: r.Burst * int64(r.Every)}, false, false, 0, nil
}

// Refused is the wait of a Take the table refused, from the bucket's
// stored time (tatNS; found false when the row is gone): limit.Step says
// how long until the charge fits.
func Refused(tatNS int64, found bool, r limit.Rate, n int64, now time.Time) time.Duration {
	if !found {
		return 0
	}
	_, _, retry := limit.Step(time.Unix(0, tatNS), r, n, now)
	return retry
}

// Rate-limit rows whose time is this far in the past are pruned: a row
// in the past is a full bucket, the same as none, and the slack keeps a
// gateway whose clock runs ahead from pruning a bucket another still
// counts in.
const (
	LimitPruneSlack = time.Minute
	LimitPruneEvery = 10 * time.Second // how often each process prunes ...
	LimitPruneBatch = 1000             // ... at most this many rows, or again at once when it found that many
)

// PruneSchedule says when a limit store prunes next. It is safe for
// concurrent use: of the Takes that find pruning due, one prunes.
type PruneSchedule struct {
	next atomic.Int64 // Unix nanoseconds
}

// Due reports whether pruning is due at now, and claims it if so: the
// caller prunes, then calls Done.
func (s *PruneSchedule) Due(now time.Time) bool {
	next := s.next.Load()
	t := now.UnixNano()
	return t >= next && s.next.CompareAndSwap(next, t+int64(LimitPruneEvery))
}

// Done records a prune at now that deleted n rows: a full batch means more
// are waiting, so the next Take prunes again.
func (s *PruneSchedule) Done(now time.Time, n int64) {
	if n >= LimitPruneBatch {
		s.next.Store(now.UnixNano())
	}
}

// PruneBefore is the stored time before which rows are pruned at now.
func PruneBefore(now time.Time) int64 { return now.Add(-LimitPruneSlack).UnixNano() }
