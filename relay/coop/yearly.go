package coop

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/mutualcoop/mutual/relay/coop/degrees"
	"github.com/mutualcoop/mutual/relay/wire"
)

// DueDay is the day of the year, from 0 (1 January) to 364, of user's
// yearly notice when the co-op does not fix one day for all
// (Config.NoticeDay): the first 8 bytes of SHA-256("mutual yearly" ||
// user ID), big-endian, modulo 365. It spreads the notices over the
// year, and a user's day stays the same every year.
func DueDay(user wire.UserID) int {
	h := sha256.New()
	h.Write([]byte("mutual yearly"))
	h.Write(user[:])
	return int(binary.BigEndian.Uint64(h.Sum(nil)[:8]) % 365)
}

// Yearly writes the yearly notice to every user whose day (DueDay, or
// Config.NoticeDay) is now's or earlier in now's year (UTC), who has not
// had this year's and has not turned the notices off: their distance in
// contacts from the nearest paying member (0: they are one; -1: no path
// leads to one). It returns how many notices it wrote.
//
// Each notice is written (Notify) before it is recorded
// (Store.NoteYearly), with an ID derived from the user and the year: a
// run stopped between the two writes the same notice again the next
// time, and clients keep one. Only when some user is due does Yearly read
// every mutual contact to compute the distances; the graph takes about 4
// bytes per pair and a few dozen per user for the run.
func (s *Service) Yearly(ctx context.Context, now time.Time) (sent int, err error) {
	now = now.UTC()
	year, today := now.Year(), now.YearDay()-1
	dueDay := DueDay
	if s.cfg.NoticeDay != "" {
		md, err := time.Parse("01-02", s.cfg.NoticeDay)
		if err != nil {
			return 0, fmt.Errorf("coop: notice day %q: want MM-DD", s.cfg.NoticeDay)
		}
		day := time.Date(year, md.Month(), md.Day(), 0, 0, 0, 0, time.UTC).YearDay() - 1
		dueDay = func(wire.UserID) int { return day }
	}

	idx := degrees.NewIndex(0)
	if err := s.st.Users(ctx, idx.Add); err != nil {
		return 0, fmt.Errorf("coop: yearly notices: users: %w", err)
	}
	var due []uint32
	for i := range uint32(idx.Len()) {
		u := idx.ID(i)
		if dueDay(u) > today {
			continue
		}
		done, err := s.st.YearlySent(ctx, u, year)
		if err != nil {
			return 0, fmt.Errorf("coop: yearly notices: %w", err)
		}
		if done {
			continue
		}
		off, err := s.st.NoticesOff(ctx, u)
		if err != nil {
			return 0, fmt.Errorf("coop: yearly notices: %w", err)
		}
		if !off {
			due = append(due, i)
		}
	}
	if len(due) == 0 {
		return 0, nil
	}

	dist, err := s.distances(ctx, idx)
	if err != nil {
		return 0, fmt.Errorf("coop: yearly notices: %w", err)
	}
	key := strconv.Itoa(year)
	for _, i := range due {
		u, d := idx.ID(i), dist[i]
		n := &wire.CoopNotice{
			ID:       NoticeID(wire.NoticeDegrees, u, key),
			Kind:     wire.NoticeDegrees,
			TimeMS:   now.UnixMilli(),
			Text:     s.degreesText(d),
			Distance: int64(d),
			Year:     uint32(year),
		}
		if err := s.Notify(ctx, u, n); err != nil {
			return sent, err
		}
		if _, err := s.st.NoteYearly(ctx, u, year, int(d)); err != nil {
			return sent, fmt.Errorf("coop: yearly notice: %w", err)
		}
		sent++
	}
	return sent, nil
}

// distances computes the distance of every user of idx from the nearest
// paying member.
func (s *Service) distances(ctx context.Context, idx *degrees.Index) ([]int32, error) {
	b := degrees.NewBuilder(idx)
	if err := s.st.MutualContacts(ctx, b.Add); err != nil {
		return nil, fmt.Errorf("contacts: %w", err)
	}
	g := b.Graph()
	var members []uint32
	err := s.st.PayingMembers(ctx, func(u wire.UserID) error {
		if i, ok := idx.Lookup(u); ok {
			members = append(members, i)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return g.Distances(members), nil
}

// degreesText is the yearly notice's text for a distance.
func (s *Service) degreesText(d int32) string {
	name := s.cfg.Name
	switch {
	case d == 0:
		return fmt.Sprintf("Thank you for paying for %s: you are one of its members.", name)
	case d == 1:
		return fmt.Sprintf("You are 1 contact away from someone who pays for %s. %[1]s is run by its members: join them.", name)
	case d > 1:
		return fmt.Sprintf("You are %d contacts away from someone who pays for %s. %[2]s is run by its members: join them.", d, name)
	}
	return fmt.Sprintf("None of your contacts, or their contacts, pays for %s yet. %[1]s is run by its members: you could be the first.", name)
}
