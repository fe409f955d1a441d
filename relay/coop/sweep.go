package coop

import (
	"context"
	"fmt"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// sweepBatch is how many memberships SweepGrace asks for at a time.
const sweepBatch = 100

// SweepGrace lapses the memberships whose grace period ended before now
// (each with a NoticeMembership) and returns how many it lapsed. Several
// processes may sweep at once: each membership lapses once. The lapse
// takes effect at the end of the grace period, so a payment the provider
// made after it, even if its event arrives later, makes the member
// active again.
func (s *Service) SweepGrace(ctx context.Context, now time.Time) (int, error) {
	lapsed := 0
	for {
		batch, err := s.st.GraceEnded(ctx, now, sweepBatch)
		if err != nil {
			return lapsed, fmt.Errorf("coop: grace ended: %w", err)
		}
		progress := false
		for _, m := range batch {
			until := m.GraceUntil
			ok, err := s.relayEvent(ctx, m, "lapse", until, func(cur *Membership) bool {
				if cur.Status != wire.MemberGrace || !cur.GraceUntil.Equal(until) {
					return false
				}
				return cur.setStatus(wire.MemberLapsed, until)
			})
			if err != nil {
				return lapsed, err
			}
			if ok {
				lapsed++
				progress = true
			}
		}
		if len(batch) < sweepBatch || !progress {
			return lapsed, nil
		}
	}
}
