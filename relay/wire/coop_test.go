package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"reflect"
	"testing"
)

func sampleCoopInfo() *CoopInfo {
	return &CoopInfo{
		Name:      "Mutual",
		Currency:  "GBP",
		Providers: []string{"stripe", "gocardless"},
		Plans:     []CoopPlan{{Name: "monthly", Amount: 1000, Currency: "GBP", Interval: "month"}, {Name: "yearly", Amount: 10_000, Currency: "GBP", Interval: "year"}},
		Months: []CoopMonth{
			{Month: "2026-12", ActiveUsers: 1200, Members: 40, Dues: 40_000, Costs: []CoopCost{{Category: "infrastructure", Amount: 30_000, Note: "servers"}, {Category: "sms", Amount: 5000}}},
			{Month: "2026-11", ActiveUsers: 1100, Members: 38},
		},
		Membership: CoopMembership{Status: MemberGrace, Provider: "stripe", Plan: "monthly", Amount: 1000, Currency: "GBP", NextPaymentMS: 3, PaidThroughMS: 2, GraceUntilMS: 4},
		Roles:      []CoopRole{RoleMember, RoleOperator},
		NoticesOff: true,
	}
}

func sampleCoopNotice() *CoopNotice {
	return &CoopNotice{
		ID: MessageID{0xc0, 1}, Kind: NoticeDues, TimeMS: 1_800_000_000_000,
		Text:   "Your £10.00 this month supports about 30 people on Mutual",
		Amount: 1000, Currency: "GBP", Supports: 30, CostPerUser: 29, Month: "2026-12",
		Distance: -1, Year: 2026, Status: MemberActive,
	}
}

// sampleSignedNotice is a KindCoop envelope's Shared for user, signed
// with a key derived from a fixed seed.
func sampleSignedNotice(user UserID) []byte {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	body := AppendCoopNotice(nil, sampleCoopNotice())
	return AppendSignedCoopNotice(nil, body, ed25519.Sign(key, CoopSignedMessage(user, body)))
}

func TestCoopNoticeRoundTrip(t *testing.T) {
	for name, n := range map[string]*CoopNotice{
		"dues":       sampleCoopNotice(),
		"degrees":    {ID: MessageID{2}, Kind: NoticeDegrees, TimeMS: 5, Text: "You are 2 contacts away", Distance: 2, Year: 2027},
		"no path":    {ID: MessageID{3}, Kind: NoticeDegrees, Distance: -1, Year: 2027},
		"membership": {ID: MessageID{4}, Kind: NoticeMembership, Status: MemberLapsed},
	} {
		t.Run(name, func(t *testing.T) {
			b := AppendCoopNotice(nil, n)
			got, err := DecodeCoopNotice(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, n) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, n)
			}
			if again := AppendCoopNotice(nil, got); !bytes.Equal(again, b) {
				t.Fatal("re-encoding differs")
			}
		})
	}
}

func TestSignedCoopNotice(t *testing.T) {
	user := UserID{1, 2, 3}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	shared := sampleSignedNotice(user)
	body, sig, err := DecodeSignedCoopNotice(shared)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, AppendCoopNotice(nil, sampleCoopNotice())) {
		t.Fatal("notice bytes changed")
	}
	pub := key.Public().(ed25519.PublicKey)
	if !ed25519.Verify(pub, CoopSignedMessage(user, body), sig) {
		t.Fatal("signature does not verify for its user")
	}
	if ed25519.Verify(pub, CoopSignedMessage(UserID{9}, body), sig) {
		t.Fatal("signature verifies for another user")
	}
	for name, b := range map[string][]byte{
		"empty":        nil,
		"no signature": AppendSignedCoopNotice(nil, body, nil),
		"short sig":    AppendSignedCoopNotice(nil, body, sig[:63]),
		"long notice":  AppendSignedCoopNotice(nil, make([]byte, MaxCoopNotice+1), sig),
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := DecodeSignedCoopNotice(b); !errors.Is(err, ErrMalformed) {
				t.Fatal("accepted")
			}
		})
	}
}

func TestCoopFrameBounds(t *testing.T) {
	for name, c := range map[string]*Coop{
		"op zero":    {},
		"op unknown": {Op: CoopNotices + 1},
		"long plan":  {Op: CoopJoin, Plan: string(make([]byte, MaxCoopText+1))},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := DecodeFrame(Encode(Frame{ID: 1, Body: c})); err == nil {
				t.Fatal("decoded")
			}
		})
	}
	many := &CoopInfo{}
	for range MaxCoopItems + 1 {
		many.Providers = append(many.Providers, "p")
	}
	if _, err := DecodeFrame(Encode(Frame{ID: 1, Body: many})); err == nil {
		t.Fatal("decoded too many providers")
	}
}

func TestCoopMonthFigures(t *testing.T) {
	m := sampleCoopInfo().Months[0]
	if got := m.TotalCosts(); got != 35_000 {
		t.Errorf("TotalCosts = %d", got)
	}
	if got := m.CostPerUser(); got != 29 { // 35,000 / 1,200 = 29.17
		t.Errorf("CostPerUser = %d", got)
	}
	if got := m.UsersPerMember(); got != 30 {
		t.Errorf("UsersPerMember = %d", got)
	}
	if got := m.Coverage(); got != 114 {
		t.Errorf("Coverage = %d", got)
	}
	empty := CoopMonth{}
	if empty.CostPerUser() != 0 || empty.UsersPerMember() != 0 || empty.Coverage() != -1 {
		t.Errorf("empty month: %d %d %d", empty.CostPerUser(), empty.UsersPerMember(), empty.Coverage())
	}
}

func FuzzDecodeCoopNotice(f *testing.F) {
	f.Add(sampleSignedNotice(UserID{1}))
	f.Add(AppendCoopNotice(nil, sampleCoopNotice()))
	f.Fuzz(func(t *testing.T, b []byte) {
		if body, _, err := DecodeSignedCoopNotice(b); err == nil {
			b = body
		}
		n, err := DecodeCoopNotice(b)
		if err != nil {
			return
		}
		again, err := DecodeCoopNotice(AppendCoopNotice(nil, n))
		if err != nil || !reflect.DeepEqual(again, n) {
			t.Fatalf("unstable: %+v vs %+v (%v)", again, n, err)
		}
	})
}
