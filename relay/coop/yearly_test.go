package coop_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/coop"
	"github.com/mutualcoop/mutual/relay/directory"
	"github.com/mutualcoop/mutual/relay/directory/sqlite"
	"github.com/mutualcoop/mutual/relay/wire"
)

// yearlyStore is a directory that keeps the co-op's records: what the
// tests need to make accounts and contacts.
type yearlyStore interface {
	coop.Store
	CreateAccount(ctx context.Context, addrHash []byte, id wire.UserID) (wire.UserID, bool, error)
	SetContact(ctx context.Context, owner, other wire.UserID, state directory.ContactState, max int) error
}

func openSQLite(t *testing.T) yearlyStore {
	t.Helper()
	d, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "directory.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestYearlySQLite(t *testing.T) { testYearly(t, openSQLite) }

func TestYearlyRestartSQLite(t *testing.T) { testYearlyRestart(t, openSQLite) }

func TestYearlyDaySQLite(t *testing.T) { testYearlyDay(t, openSQLite) }

// recorder is a bus that keeps what is appended. With failAfter set, the
// append after that many fails once it has stored its message, as a bus
// may when it loses its connection before the acknowledgement.
type recorder struct {
	mu        sync.Mutex
	msgs      []bus.Message
	failAfter int // -1: never
}

var errBusDown = errors.New("bus down")

func (r *recorder) Append(_ context.Context, msgs ...bus.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAfter >= 0 && len(r.msgs) > r.failAfter {
		return errBusDown
	}
	r.msgs = append(r.msgs, msgs...)
	if r.failAfter >= 0 && len(r.msgs) > r.failAfter {
		return errBusDown
	}
	return nil
}

// received is a notice as a client gets it.
type received struct {
	user wire.UserID
	n    *wire.CoopNotice
}

// notices decodes what r got, checking each parcel as a client checks
// the envelope it gets: a KindCoop parcel from no one, in the co-op's
// conversation, whose notice is signed for its inbox's user with key.
func (r *recorder) notices(t *testing.T, key ed25519.PublicKey) []received {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, m := range r.msgs {
		user, err := wire.ParseUserID(strings.TrimPrefix(m.Topic, "u."))
		if err != nil || bus.InboxTopic(user) != m.Topic {
			t.Fatalf("notice to topic %q, not an inbox", m.Topic)
		}
		p, err := bus.DecodeParcel(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != wire.KindCoop || p.Conversation != wire.CoopConversation || !p.Sender.IsZero() {
			t.Fatalf("parcel of kind %d in %v from %v", p.Kind, p.Conversation, p.Sender)
		}
		body, sig, err := wire.DecodeSignedCoopNotice(p.Shared)
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(key, wire.CoopSignedMessage(user, body), sig) {
			t.Fatalf("notice to %v: bad signature", user)
		}
		n, err := wire.DecodeCoopNotice(body)
		if err != nil {
			t.Fatal(err)
		}
		if n.ID != p.MessageID {
			t.Fatalf("notice %v in a parcel of ID %v", n.ID, p.MessageID)
		}
		out = append(out, received{user, n})
	}
	return out
}

// smallGraph is a relay with known distances: a member m, a at 1 contact
// from m, b at 2, c at 3, p at 4 (p's membership is only pending), l
// lapsed with no contacts, y and z who know only each other, x with no
// contacts, q who allowed m without m allowing q, and o at 1 who turned
// the notices off.
type smallGraph struct {
	users map[string]wire.UserID
	want  map[string]int // distances of those who get a notice
}

func newSmallGraph(t *testing.T, st yearlyStore) *smallGraph {
	t.Helper()
	ctx := context.Background()
	g := &smallGraph{users: map[string]wire.UserID{}}
	for _, name := range []string{"m", "a", "b", "c", "p", "l", "y", "z", "x", "q", "o"} {
		addr := make([]byte, 32)
		rand.Read(addr)
		u, _, err := st.CreateAccount(ctx, addr, wire.NewUserID())
		if err != nil {
			t.Fatal(err)
		}
		g.users[name] = u
	}
	allow := func(a, b string) {
		t.Helper()
		if err := st.SetContact(ctx, g.users[a], g.users[b], directory.Allowed, 100); err != nil {
			t.Fatal(err)
		}
	}
	for _, pair := range []string{"ma", "ab", "bc", "cp", "yz", "mo"} {
		allow(pair[:1], pair[1:])
		allow(pair[1:], pair[:1])
	}
	allow("q", "m")
	for name, status := range map[string]wire.MemberStatus{"m": wire.MemberActive, "p": wire.MemberPending, "l": wire.MemberLapsed} {
		ref := make([]byte, 16)
		rand.Read(ref)
		err := st.CreateMembership(ctx, coop.Membership{
			User: g.users[name], Provider: coop.Stripe, Plan: "monthly", Amount: 1000, Currency: "GBP", Status: status,
			Reference: "m_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(ref)),
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetNoticesOff(ctx, g.users["o"], true); err != nil {
		t.Fatal(err)
	}
	g.want = map[string]int{"m": 0, "a": 1, "b": 2, "c": 3, "p": 4, "l": -1, "y": -1, "z": -1, "x": -1, "q": -1}
	return g
}

func (g *smallGraph) name(u wire.UserID) string {
	for name, v := range g.users {
		if v == u {
			return name
		}
	}
	return u.String()
}

// texts are the yearly notice's texts by distance.
var texts = map[int]string{
	0:  "Thank you for paying for Mutual: you are one of its members.",
	1:  "You are 1 contact away from someone who pays for Mutual. Mutual is run by its members: join them.",
	2:  "You are 2 contacts away from someone who pays for Mutual. Mutual is run by its members: join them.",
	3:  "You are 3 contacts away from someone who pays for Mutual. Mutual is run by its members: join them.",
	4:  "You are 4 contacts away from someone who pays for Mutual. Mutual is run by its members: join them.",
	-1: "None of your contacts, or their contacts, pays for Mutual yet. Mutual is run by its members: you could be the first.",
}

// check verifies that got holds one notice of year for each user g
// wants one for, with its distance and text, and returns the notices
// of each user.
func (g *smallGraph) check(t *testing.T, got []received, year int, now time.Time) map[string][]*wire.CoopNotice {
	t.Helper()
	by := map[string][]*wire.CoopNotice{}
	for _, r := range got {
		name := g.name(r.user)
		n := r.n
		by[name] = append(by[name], n)
		want, ok := g.want[name]
		if !ok {
			t.Errorf("%s got a notice", name)
			continue
		}
		if n.Kind != wire.NoticeDegrees || n.Year != uint32(year) || n.Distance != int64(want) || n.Text != texts[want] {
			t.Errorf("%s got kind %d, year %d, distance %d, %q; want year %d, distance %d, %q",
				name, n.Kind, n.Year, n.Distance, n.Text, year, want, texts[want])
		}
		if n.ID != coop.NoticeID(wire.NoticeDegrees, r.user, fmt.Sprint(year)) {
			t.Errorf("%s's notice has ID %v", name, n.ID)
		}
		if n.TimeMS != now.UnixMilli() {
			t.Errorf("%s's notice is of %d, want %d", name, n.TimeMS, now.UnixMilli())
		}
	}
	for name := range g.want {
		if len(by[name]) == 0 {
			t.Errorf("%s got no notice", name)
		}
	}
	return by
}

func newService(t *testing.T, st coop.Store, b coop.Bus, cfg coop.Config) *coop.Service {
	t.Helper()
	s, err := coop.New(context.Background(), st, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// lastDay is the last day of 2026: every user's day has come.
var lastDay = time.Date(2026, 12, 31, 9, 0, 0, 0, time.UTC)

// testYearly: each user gets one notice with their distance, once a year.
func testYearly(t *testing.T, open func(*testing.T) yearlyStore) {
	ctx := context.Background()
	st := open(t)
	g := newSmallGraph(t, st)
	b := &recorder{failAfter: -1}
	s := newService(t, st, b, coop.Config{})

	sent, err := s.Yearly(ctx, lastDay)
	if err != nil {
		t.Fatal(err)
	}
	if sent != len(g.want) {
		t.Errorf("sent %d notices, want %d", sent, len(g.want))
	}
	for name, ns := range g.check(t, b.notices(t, s.Key()), 2026, lastDay) {
		if len(ns) != 1 {
			t.Errorf("%s got %d notices", name, len(ns))
		}
	}
	for name := range g.want {
		if done, err := st.YearlySent(ctx, g.users[name], 2026); err != nil || !done {
			t.Errorf("%s's notice of 2026 recorded: %v, %v", name, done, err)
		}
	}

	// Again the same year, a day later or the same day: nothing.
	b.msgs = nil
	for _, now := range []time.Time{lastDay, lastDay.Add(12 * time.Hour)} {
		if sent, err := s.Yearly(ctx, now); err != nil || sent != 0 {
			t.Fatalf("second run of 2026: %d sent, %v", sent, err)
		}
	}
	if len(b.msgs) != 0 {
		t.Fatalf("second run of 2026 appended %d notices", len(b.msgs))
	}

	// The next year, on the last day again: everyone again, with new IDs.
	next := lastDay.AddDate(1, 0, 0)
	sent, err = s.Yearly(ctx, next)
	if err != nil || sent != len(g.want) {
		t.Fatalf("run of 2027: %d sent, %v; want %d", sent, err, len(g.want))
	}
	for name, ns := range g.check(t, b.notices(t, s.Key()), 2027, next) {
		if len(ns) != 1 {
			t.Errorf("%s got %d notices in 2027", name, len(ns))
		}
	}
}

// testYearlyRestart: a run that stops half way (the bus fails) is taken
// up by the next process, and no one gets two notices but the one whose
// append went through without being recorded, who gets the same one
// twice: a duplicate clients drop.
func testYearlyRestart(t *testing.T, open func(*testing.T) yearlyStore) {
	ctx := context.Background()
	st := open(t)
	g := newSmallGraph(t, st)
	for k := range len(g.want) {
		t.Run(fmt.Sprintf("after %d", k), func(t *testing.T) {
			year := 2030 + k // each case in a year of its own
			now := time.Date(year, 12, 31, 9, 0, 0, 0, time.UTC)

			first := &recorder{failAfter: k}
			s1 := newService(t, st, first, coop.Config{})
			sent1, err := s1.Yearly(ctx, now)
			if !errors.Is(err, errBusDown) {
				t.Fatalf("run with the bus failing after %d appends: %d sent, %v", k, sent1, err)
			}
			if sent1 != k {
				t.Errorf("run stopped after %d notices, say %d", k, sent1)
			}

			second := &recorder{failAfter: -1}
			s2 := newService(t, st, second, coop.Config{}) // as after a restart
			if !s2.Key().Equal(s1.Key()) {
				t.Fatal("the co-op key changed with the process")
			}
			sent2, err := s2.Yearly(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			if sent1+sent2 != len(g.want) {
				t.Errorf("%d + %d notices sent, want %d", sent1, sent2, len(g.want))
			}

			all := append(first.notices(t, s1.Key()), second.notices(t, s2.Key())...)
			twice := 0
			for name, ns := range g.check(t, all, year, now) {
				ids := map[wire.MessageID]bool{}
				for _, n := range ns {
					ids[n.ID] = true
				}
				if len(ids) != 1 {
					t.Errorf("%s got %d different notices", name, len(ids))
				}
				if len(ns) > 1 {
					twice++
				}
			}
			if twice != 1 {
				t.Errorf("%d users got their notice twice, want 1 (the one appended when the bus failed)", twice)
			}

			if sent, err := s2.Yearly(ctx, now); err != nil || sent != 0 {
				t.Errorf("run after the recovery: %d sent, %v", sent, err)
			}
		})
	}
}

// testYearlyDay: a user's notice comes on their day (DueDay) or later in
// the year, or on the co-op's day when it sets one; the contacts are read
// only when someone is due.
func testYearlyDay(t *testing.T, open func(*testing.T) yearlyStore) {
	ctx := context.Background()
	st := &countingStore{yearlyStore: open(t)}
	g := newSmallGraph(t, st)
	days := map[string]int{}
	for name := range g.want {
		days[name] = coop.DueDay(g.users[name])
	}
	order := slices.Sorted(maps.Values(days))

	b := &recorder{failAfter: -1}
	s := newService(t, st, b, coop.Config{})
	jan1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if order[0] > 0 {
		if sent, err := s.Yearly(ctx, jan1.AddDate(0, 0, order[0]-1)); err != nil || sent != 0 {
			t.Fatalf("the day before the first user's: %d sent, %v", sent, err)
		}
		if st.contacts != 0 {
			t.Errorf("contacts read %d times with no one due", st.contacts)
		}
	}
	// On the middle user's day (late that day), those whose day it is or
	// was.
	mid := jan1.AddDate(0, 0, order[len(order)/2]).Add(23 * time.Hour)
	sent, err := s.Yearly(ctx, mid)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for name, d := range days {
		if d <= order[len(order)/2] {
			want = append(want, name)
		}
	}
	var got []string
	for _, r := range b.notices(t, s.Key()) {
		got = append(got, g.name(r.user))
	}
	slices.Sort(want)
	slices.Sort(got)
	if sent != len(want) || !slices.Equal(got, want) {
		t.Errorf("on day %d: %d sent, to %v; want %v", mid.YearDay()-1, sent, got, want)
	}
	if st.contacts != 1 {
		t.Errorf("contacts read %d times, want 1", st.contacts)
	}

	// A day set by the co-op: 15 June for everyone.
	fixed := newService(t, st, b, coop.Config{NoticeDay: "06-15"})
	b.msgs = nil
	if sent, err := fixed.Yearly(ctx, time.Date(2027, 6, 14, 23, 59, 0, 0, time.UTC)); err != nil || sent != 0 {
		t.Fatalf("14 June with the day set to 15 June: %d sent, %v", sent, err)
	}
	if sent, err := fixed.Yearly(ctx, time.Date(2027, 6, 15, 0, 0, 0, 0, time.UTC)); err != nil || sent != len(g.want) {
		t.Fatalf("15 June: %d sent, %v; want %d", sent, err, len(g.want))
	}

	bad := newService(t, st, b, coop.Config{NoticeDay: "15-06"})
	if _, err := bad.Yearly(ctx, lastDay); err == nil {
		t.Error("a notice day of month 15 accepted")
	}
}

// countingStore counts the reads of every mutual contact.
type countingStore struct {
	yearlyStore
	contacts int
}

func (s *countingStore) MutualContacts(ctx context.Context, fn func(a, b wire.UserID) error) error {
	s.contacts++
	return s.yearlyStore.MutualContacts(ctx, fn)
}

func TestDueDay(t *testing.T) {
	// Known answers, computed with Python's hashlib.
	for _, tt := range []struct {
		user string
		day  int
	}{
		{"00000000000000000000000000000000", 41},
		{"01000000000000000000000000000000", 287},
		{"ffffffffffffffffffffffffffffffff", 32},
		{"000102030405060708090a0b0c0d0e0f", 153},
	} {
		u, err := wire.ParseUserID(tt.user)
		if err != nil {
			t.Fatal(err)
		}
		if d := coop.DueDay(u); d != tt.day {
			t.Errorf("DueDay(%s) = %d, want %d", tt.user, d, tt.day)
		}
	}
	seen := map[int]bool{}
	for i := range 2000 {
		var u wire.UserID
		u[0], u[1] = byte(i), byte(i>>8)
		d := coop.DueDay(u)
		if d < 0 || d > 364 {
			t.Fatalf("DueDay %d out of the year", d)
		}
		if coop.DueDay(u) != d {
			t.Fatal("DueDay changed")
		}
		seen[d] = true
	}
	if len(seen) < 300 {
		t.Errorf("2,000 users on %d days of 365", len(seen))
	}
}
