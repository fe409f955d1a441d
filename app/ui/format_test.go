package ui

import (
	"testing"
	"time"
	_ "time/tzdata" // Europe/Paris, wherever the tests run

	"github.com/mutualcoop/mutual/relay/wire"
)

func TestChatTime(t *testing.T) {
	loc := time.FixedZone("test", 2*3600)
	now := time.Date(2026, 3, 12, 15, 4, 0, 0, loc) // a Thursday
	for _, tc := range []struct {
		name string
		t    time.Time
		want string
	}{
		{"zero", time.Time{}, ""},
		{"today", time.Date(2026, 3, 12, 9, 5, 0, 0, loc), "09:05"},
		{"today in UTC", time.Date(2026, 3, 11, 23, 30, 0, 0, time.UTC), "01:30"},
		{"yesterday", time.Date(2026, 3, 11, 23, 59, 0, 0, loc), "Wed"},
		{"six days ago", time.Date(2026, 3, 6, 8, 0, 0, 0, loc), "Fri"},
		{"a week ago", time.Date(2026, 3, 5, 8, 0, 0, 0, loc), "5 Mar"},
		{"this year", time.Date(2026, 1, 2, 8, 0, 0, 0, loc), "2 Jan"},
		{"last year", time.Date(2025, 12, 30, 8, 0, 0, 0, loc), "30 Dec 2025"},
		{"tomorrow (clock skew)", time.Date(2026, 3, 13, 8, 0, 0, 0, loc), "13 Mar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := chatTime(tc.t, now); got != tc.want {
				t.Errorf("chatTime = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestDayLabel(t *testing.T) {
	loc := time.FixedZone("test", -5*3600)
	now := time.Date(2026, 3, 12, 0, 30, 0, 0, loc)
	for _, tc := range []struct {
		name string
		t    time.Time
		want string
	}{
		{"today", time.Date(2026, 3, 12, 0, 1, 0, 0, loc), "Today"},
		{"yesterday late", time.Date(2026, 3, 11, 23, 59, 0, 0, loc), "Yesterday"},
		{"three days ago", time.Date(2026, 3, 9, 12, 0, 0, 0, loc), "Monday"},
		{"earlier this year", time.Date(2026, 2, 1, 12, 0, 0, 0, loc), "Sunday, 1 February"},
		{"another year", time.Date(2024, 2, 29, 12, 0, 0, 0, loc), "29 February 2024"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dayLabel(tc.t, now); got != tc.want {
				t.Errorf("dayLabel = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCalendarDaysAcrossDaylightSaving(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 30, 0, 10, 0, 0, loc) // the day after the change
	then := time.Date(2026, 3, 28, 23, 50, 0, 0, loc)
	if got := calendarDays(then, now); got != 2 {
		t.Errorf("calendarDays = %d, want 2", got)
	}
}

func TestPreview(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		max        int
		want       string
	}{
		{"short", "hello", 10, "hello"},
		{"whitespace collapsed", "  hello\n\n  world\t!  ", 20, "hello world !"},
		{"cut", "abcdefghij", 5, "abcd…"},
		{"cut at a space", "abc defgh", 5, "abc…"},
		{"runes, not bytes", "ééééé", 5, "ééééé"},
		{"runes cut", "éééééé", 5, "éééé…"},
		{"empty", " \n ", 5, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := preview(tc.text, tc.max); got != tc.want {
				t.Errorf("preview(%q, %d) = %q, want %q", tc.text, tc.max, got, tc.want)
			}
		})
	}
}

func TestInitials(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"Alice Martin", "AM"},
		{"alice", "A"},
		{"email:bob.smith@example.org", "BS"},
		{"jean-luc picard", "JP"},
		{"3447af6c", "3"},
		{"élodie", "É"},
		{"  ", "?"},
		{"😀", "?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := initials(tc.name); got != tc.want {
				t.Errorf("initials(%q) = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
}

func TestUnreadBadge(t *testing.T) {
	for n, want := range map[int]string{1: "1", 42: "42", 99: "99", 100: "99+", 10000: "99+"} {
		if got := unreadBadge(n); got != want {
			t.Errorf("unreadBadge(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAvatarHue(t *testing.T) {
	var a, b wire.UserID
	a[0], a[1] = 0xff, 0xff
	if h := avatarHue(a); h < 0 || h >= 360 {
		t.Errorf("hue %d out of range", h)
	}
	if avatarHue(a) != avatarHue(a) || avatarHue(a) == avatarHue(b) {
		t.Error("hue is not stable per user")
	}
}

func TestWaitText(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "a moment"},
		{time.Second, "a moment"},
		{1500 * time.Millisecond, "2 seconds"},
		{59 * time.Second, "59 seconds"},
		{time.Minute, "1 minute"},
		{61 * time.Second, "2 minutes"},
		{90 * time.Minute, "2 hours"},
	} {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got := waitText(tc.d); got != tc.want {
				t.Errorf("waitText(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
