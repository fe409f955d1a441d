package coop

import (
	"context"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

// activeTimeout bounds how long Connected waits for the store.
const activeTimeout = 5 * time.Second

// Connected counts user as active this month (UTC). The gateway calls it
// on every authenticated connection; the store is asked at most once
// per user per month by this process (a set of the users it counted,
// emptied when the month changes), and never for longer than a few
// seconds. A failure is logged, and the next connection tries again.
func (s *Service) Connected(ctx context.Context, user wire.UserID) {
	month := s.cfg.Now().UTC().Format(monthLayout)
	s.activeMu.Lock()
	if s.activeMonth != month {
		s.activeMonth, s.active = month, make(map[wire.UserID]struct{})
	}
	_, seen := s.active[user]
	s.active[user] = struct{}{}
	s.activeMu.Unlock()
	if seen {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, activeTimeout)
	defer cancel()
	if _, err := s.st.NoteActive(ctx, user, month); err != nil {
		s.activeMu.Lock()
		if s.activeMonth == month {
			delete(s.active, user)
		}
		s.activeMu.Unlock()
		s.cfg.Logger.Warn("coop: active user not counted", "err", err)
	}
}
