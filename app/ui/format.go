package ui

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mutualcoop/mutual/relay/wire"
)

// calendarDays returns how many calendar days t is before now, in now's
// location: 0 the same day, 1 the day before, negative for later days.
func calendarDays(t, now time.Time) int {
	t = t.In(now.Location())
	y, m, d := t.Date()
	day := time.Date(y, m, d, 12, 0, 0, 0, now.Location())
	y, m, d = now.Date()
	today := time.Date(y, m, d, 12, 0, 0, 0, now.Location())
	// Noon to noon, rounded: daylight saving changes move it by an hour.
	return int(math.Round(today.Sub(day).Hours() / 24))
}

// chatTime is the time shown beside a chat in the list: the clock time
// today, the weekday within the last week, otherwise the date.
func chatTime(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(now.Location())
	switch days := calendarDays(t, now); {
	case days == 0:
		return t.Format("15:04")
	case days > 0 && days < 7:
		return t.Format("Mon")
	case t.Year() == now.Year():
		return t.Format("2 Jan")
	default:
		return t.Format("2 Jan 2006")
	}
}

// dayLabel is the text of the separator above the first message of a day.
func dayLabel(t, now time.Time) string {
	t = t.In(now.Location())
	switch days := calendarDays(t, now); {
	case days == 0:
		return "Today"
	case days == 1:
		return "Yesterday"
	case days > 1 && days < 7:
		return t.Format("Monday")
	case t.Year() == now.Year():
		return t.Format("Monday, 2 January")
	default:
		return t.Format("2 January 2006")
	}
}

// clock is the time of a message, HH:MM.
func clock(t, now time.Time) string {
	return t.In(now.Location()).Format("15:04")
}

// sameDay reports whether a and b fall on the same calendar day in loc.
func sameDay(a, b time.Time, loc *time.Location) bool {
	ya, ma, da := a.In(loc).Date()
	yb, mb, db := b.In(loc).Date()
	return ya == yb && ma == mb && da == db
}

// preview is the one-line excerpt of a message shown in the chats list:
// whitespace collapsed, at most max characters.
func preview(text string, max int) string {
	s := strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)[:max-1]
	return strings.TrimRightFunc(string(r), unicode.IsSpace) + "…"
}

// unreadBadge is the count shown on a chat with unread messages.
func unreadBadge(n int) string {
	if n > 99 {
		return "99+"
	}
	return strconv.Itoa(n)
}

// initials are the one or two letters of a name shown in its avatar.
func initials(name string) string {
	name = strings.TrimPrefix(name, "email:")
	if at := strings.IndexByte(name, '@'); at > 0 {
		name = name[:at]
	}
	var out []rune
	for _, w := range strings.FieldsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || r == '.' || r == '_'
	}) {
		r, _ := utf8.DecodeRuneInString(w)
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			out = append(out, unicode.ToUpper(r))
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// avatarHue gives each user a stable colour for their avatar.
func avatarHue(u wire.UserID) int {
	return (int(u[0])<<8 | int(u[1])) % 360
}

// waitText says how long to wait, rounded up: "30 seconds", "2 minutes".
func waitText(d time.Duration) string {
	unit := func(n int64, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + one + "s"
	}
	switch {
	case d <= time.Second:
		return "a moment"
	case d < time.Minute:
		return unit(int64((d+time.Second-1)/time.Second), "second")
	case d < time.Hour:
		return unit(int64((d+time.Minute-1)/time.Minute), "minute")
	default:
		return unit(int64((d+time.Hour-1)/time.Hour), "hour")
	}
}
