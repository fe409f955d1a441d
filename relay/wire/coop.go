package wire

import (
	"errors"
	"fmt"

	"github.com/mutualcoop/mutual/internal/pb"
)

// The co-op's frames: a device asks about the co-op (its figures, this
// account's membership and roles), starts or cancels a membership, and
// operators enter costs and grant roles. Co-op notices reach devices as
// envelopes of KindCoop that the relay writes and signs (CoopNotice).
// docs/protocol.md "The co-op" has the whole.

// Bounds of the co-op's frames.
const (
	MaxCoopText      = 200  // bytes of a plan, provider, category or month
	MaxCoopNote      = 1000 // bytes of a cost's note or a notice's text
	MaxCoopMonths    = 120  // months of history in a CoopInfo
	MaxCoopItems     = 50   // plans, providers, roles or cost lines in one list
	MaxCoopURL       = 2048 // bytes of a checkout URL
	MaxCoopNotice    = 4096 // bytes of an encoded notice
	CoopSignatureLen = 64   // an Ed25519 signature
	CoopKeyLen       = 32   // an Ed25519 public key
)

// CoopOp is what a Coop frame asks for.
type CoopOp uint32

const (
	// CoopStatus asks for the co-op's figures and this account's
	// membership. Answer: CoopInfo.
	CoopStatus CoopOp = 1
	// CoopJoin starts a membership: Provider and Plan name the way to pay.
	// Answer: CoopCheckout (the provider's page), or Error (not_found for
	// an unknown provider or plan, exists when the account is a member
	// already, rate_limited, unavailable when the provider cannot be
	// reached).
	CoopJoin CoopOp = 2
	// CoopCancel cancels this account's membership at its provider.
	// Answer: CoopInfo, or Error (not_found when there is none).
	CoopCancel CoopOp = 3
	// CoopSetCost records one line of the co-op's costs for Month (an
	// operator only): Category, Amount (minor units of the co-op's
	// currency; 0 removes the line) and Note. Answer: CoopInfo, or Error
	// (forbidden, bad_request).
	CoopSetCost CoopOp = 4
	// CoopGrant grants Role to the account of Address, or revokes it with
	// Revoke (an operator only; only the operator and contributor roles).
	// Answer: OK, or Error (forbidden, not_found, bad_request).
	CoopGrant CoopOp = 5
	// CoopNotices turns this account's yearly co-op notices off (Off) or
	// on. Answer: CoopInfo.
	CoopNotices CoopOp = 6
)

// CoopRole is a role in the co-op.
type CoopRole uint32

const (
	RoleMember      CoopRole = 1 // pays dues (from the membership; never granted)
	RoleOperator    CoopRole = 2 // looks after the infrastructure
	RoleContributor CoopRole = 3 // had code merged lately, or works on the project
)

func (r CoopRole) String() string {
	switch r {
	case RoleMember:
		return "member"
	case RoleOperator:
		return "operator"
	case RoleContributor:
		return "contributor"
	}
	return fmt.Sprintf("role(%d)", uint32(r))
}

// MemberStatus is where a membership stands.
type MemberStatus uint32

const (
	MemberNone     MemberStatus = 0 // never a member
	MemberPending  MemberStatus = 1 // a checkout was started, nothing paid yet
	MemberActive   MemberStatus = 2 // the subscription is paid
	MemberGrace    MemberStatus = 3 // a payment failed; still a member until GraceUntil
	MemberLapsed   MemberStatus = 4 // payments failed past the grace period
	MemberCanceled MemberStatus = 5 // cancelled, by the member or at the provider
)

func (s MemberStatus) String() string {
	switch s {
	case MemberNone:
		return "none"
	case MemberPending:
		return "pending"
	case MemberActive:
		return "active"
	case MemberGrace:
		return "grace"
	case MemberLapsed:
		return "lapsed"
	case MemberCanceled:
		return "canceled"
	}
	return fmt.Sprintf("status(%d)", uint32(s))
}

// Paying says whether the status counts as a paying member (active, or
// in grace).
func (s MemberStatus) Paying() bool { return s == MemberActive || s == MemberGrace }

// Coop is a device's request about the co-op (see CoopOp).
type Coop struct {
	Op       CoopOp
	Provider string   // CoopJoin
	Plan     string   // CoopJoin
	Month    string   // CoopSetCost: "2026-12"
	Category string   // CoopSetCost
	Amount   int64    // CoopSetCost: minor units
	Note     string   // CoopSetCost
	Address  string   // CoopGrant: the account's address as typed
	Role     CoopRole // CoopGrant
	Revoke   bool     // CoopGrant
	Off      bool     // CoopNotices
}

func (*Coop) Type() Type { return TypeCoop }

func (m *Coop) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.Uint(1, uint64(m.Op))
	e.String(2, m.Provider)
	e.String(3, m.Plan)
	e.String(4, m.Month)
	e.String(5, m.Category)
	e.Sint(6, m.Amount)
	e.String(7, m.Note)
	e.String(8, m.Address)
	e.Uint(9, uint64(m.Role))
	e.Bool(10, m.Revoke)
	e.Bool(11, m.Off)
	return e
}

func (m *Coop) decode(b []byte) error {
	err := pb.ForEach(b, func(f pb.Field) (err error) {
		var u uint32
		switch f.Num {
		case 1:
			u, err = f.Uint32()
			m.Op = CoopOp(u)
		case 2:
			m.Provider, err = f.String(MaxCoopText)
		case 3:
			m.Plan, err = f.String(MaxCoopText)
		case 4:
			m.Month, err = f.String(MaxCoopText)
		case 5:
			m.Category, err = f.String(MaxCoopText)
		case 6:
			m.Amount, err = f.Sint64()
		case 7:
			m.Note, err = f.String(MaxCoopNote)
		case 8:
			m.Address, err = f.String(MaxAddress)
		case 9:
			u, err = f.Uint32()
			m.Role = CoopRole(u)
		case 10:
			m.Revoke, err = f.Bool()
		case 11:
			m.Off, err = f.Bool()
		}
		return err
	})
	if err != nil {
		return err
	}
	if m.Op < CoopStatus || m.Op > CoopNotices {
		return fmt.Errorf("%w: coop op %d", ErrMalformed, m.Op)
	}
	return nil
}

// CoopPlan is a way to pay dues the co-op offers.
type CoopPlan struct {
	Name     string // "monthly"
	Amount   int64  // minor units per Interval
	Currency string // ISO 4217, upper case
	Interval string // "month" or "year"
}

// CoopCost is one line of a month's costs.
type CoopCost struct {
	Category string // "infrastructure", "sms", "email", "staff", ...
	Amount   int64  // minor units
	Note     string
}

// CoopMonth is the co-op's figures for one calendar month (UTC).
type CoopMonth struct {
	Month       string // "2026-12"
	ActiveUsers int64  // accounts with a device connected in the month
	Members     int64  // paying members (active or in grace) at the month's end, or now
	Dues        int64  // dues received in the month, minor units
	Costs       []CoopCost
}

// TotalCosts is the sum of the month's cost lines.
func (m *CoopMonth) TotalCosts() int64 {
	var t int64
	for _, c := range m.Costs {
		t += c.Amount
	}
	return t
}

// CostPerUser is the month's costs divided among its active users, in
// minor units (rounded to nearest); 0 without users.
func (m *CoopMonth) CostPerUser() int64 {
	if m.ActiveUsers <= 0 {
		return 0
	}
	return (m.TotalCosts() + m.ActiveUsers/2) / m.ActiveUsers
}

// UsersPerMember is how many active users each paying member supports
// (active users ÷ paying members, rounded to nearest); 0 without
// members.
func (m *CoopMonth) UsersPerMember() int64 {
	if m.Members <= 0 {
		return 0
	}
	return (m.ActiveUsers + m.Members/2) / m.Members
}

// Coverage is the share of the month's costs that dues cover, in whole
// percent (rounded down); -1 when the month has no costs.
func (m *CoopMonth) Coverage() int64 {
	t := m.TotalCosts()
	if t <= 0 {
		return -1
	}
	return m.Dues * 100 / t
}

// CoopMembership is this account's membership as CoopInfo tells it.
type CoopMembership struct {
	Status        MemberStatus
	Provider      string
	Plan          string
	Amount        int64
	Currency      string
	NextPaymentMS int64 // 0 when unknown
	PaidThroughMS int64
	GraceUntilMS  int64 // MemberGrace: until when
}

// CoopInfo answers Coop: the co-op's figures, newest month first (the
// current month first), and this account's membership and roles.
type CoopInfo struct {
	Name       string // the co-op's name
	Currency   string // of costs and dues
	Providers  []string
	Plans      []CoopPlan
	Months     []CoopMonth
	Membership CoopMembership
	Roles      []CoopRole
	NoticesOff bool
}

func (*CoopInfo) Type() Type { return TypeCoopInfo }

func (m *CoopInfo) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.String(1, m.Name)
	e.String(2, m.Currency)
	for _, p := range m.Providers {
		e.String(3, p)
	}
	for i := range m.Plans {
		p := &m.Plans[i]
		e.Message(4, func(b []byte) []byte {
			e := pb.Encoder(b)
			e.String(1, p.Name)
			e.Sint(2, p.Amount)
			e.String(3, p.Currency)
			e.String(4, p.Interval)
			return e
		})
	}
	for i := range m.Months {
		mo := &m.Months[i]
		e.Message(5, func(b []byte) []byte { return appendCoopMonth(b, mo) })
	}
	e.Message(6, func(b []byte) []byte {
		s := &m.Membership
		e := pb.Encoder(b)
		e.Uint(1, uint64(s.Status))
		e.String(2, s.Provider)
		e.String(3, s.Plan)
		e.Sint(4, s.Amount)
		e.String(5, s.Currency)
		e.Sint(6, s.NextPaymentMS)
		e.Sint(7, s.PaidThroughMS)
		e.Sint(8, s.GraceUntilMS)
		return e
	})
	for _, r := range m.Roles {
		e.Uint(7, uint64(r))
	}
	e.Bool(8, m.NoticesOff)
	return e
}

func appendCoopMonth(b []byte, m *CoopMonth) []byte {
	e := pb.Encoder(b)
	e.String(1, m.Month)
	e.Sint(2, m.ActiveUsers)
	e.Sint(3, m.Members)
	e.Sint(4, m.Dues)
	for i := range m.Costs {
		c := &m.Costs[i]
		e.Message(5, func(b []byte) []byte {
			e := pb.Encoder(b)
			e.String(1, c.Category)
			e.Sint(2, c.Amount)
			e.String(3, c.Note)
			return e
		})
	}
	return e
}

var errCoopList = errors.New("too many entries")

func (m *CoopInfo) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			m.Name, err = f.String(MaxCoopText)
		case 2:
			m.Currency, err = f.String(MaxCoopText)
		case 3:
			if len(m.Providers) >= MaxCoopItems {
				return fmt.Errorf("%w: providers: %w", ErrMalformed, errCoopList)
			}
			var s string
			s, err = f.String(MaxCoopText)
			m.Providers = append(m.Providers, s)
		case 4:
			if len(m.Plans) >= MaxCoopItems {
				return fmt.Errorf("%w: plans: %w", ErrMalformed, errCoopList)
			}
			var p CoopPlan
			err = decodeSub(f, func(f pb.Field) (err error) {
				switch f.Num {
				case 1:
					p.Name, err = f.String(MaxCoopText)
				case 2:
					p.Amount, err = f.Sint64()
				case 3:
					p.Currency, err = f.String(MaxCoopText)
				case 4:
					p.Interval, err = f.String(MaxCoopText)
				}
				return err
			})
			m.Plans = append(m.Plans, p)
		case 5:
			if len(m.Months) >= MaxCoopMonths {
				return fmt.Errorf("%w: months: %w", ErrMalformed, errCoopList)
			}
			var mo CoopMonth
			err = decodeCoopMonth(f, &mo)
			m.Months = append(m.Months, mo)
		case 6:
			s := &m.Membership
			err = decodeSub(f, func(f pb.Field) (err error) {
				switch f.Num {
				case 1:
					var u uint32
					u, err = f.Uint32()
					s.Status = MemberStatus(u)
				case 2:
					s.Provider, err = f.String(MaxCoopText)
				case 3:
					s.Plan, err = f.String(MaxCoopText)
				case 4:
					s.Amount, err = f.Sint64()
				case 5:
					s.Currency, err = f.String(MaxCoopText)
				case 6:
					s.NextPaymentMS, err = f.Sint64()
				case 7:
					s.PaidThroughMS, err = f.Sint64()
				case 8:
					s.GraceUntilMS, err = f.Sint64()
				}
				return err
			})
		case 7:
			if len(m.Roles) >= MaxCoopItems {
				return fmt.Errorf("%w: roles: %w", ErrMalformed, errCoopList)
			}
			var u uint32
			u, err = f.Uint32()
			m.Roles = append(m.Roles, CoopRole(u))
		case 8:
			m.NoticesOff, err = f.Bool()
		}
		return err
	})
}

func decodeCoopMonth(f pb.Field, mo *CoopMonth) error {
	return decodeSub(f, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			mo.Month, err = f.String(MaxCoopText)
		case 2:
			mo.ActiveUsers, err = f.Sint64()
		case 3:
			mo.Members, err = f.Sint64()
		case 4:
			mo.Dues, err = f.Sint64()
		case 5:
			if len(mo.Costs) >= MaxCoopItems {
				return fmt.Errorf("%w: costs: %w", ErrMalformed, errCoopList)
			}
			var c CoopCost
			err = decodeSub(f, func(f pb.Field) (err error) {
				switch f.Num {
				case 1:
					c.Category, err = f.String(MaxCoopText)
				case 2:
					c.Amount, err = f.Sint64()
				case 3:
					c.Note, err = f.String(MaxCoopNote)
				}
				return err
			})
			mo.Costs = append(mo.Costs, c)
		}
		return err
	})
}

// decodeSub decodes an embedded message field with fn.
func decodeSub(f pb.Field, fn func(pb.Field) error) error {
	b, err := f.ByteSlice()
	if err != nil {
		return err
	}
	return pb.ForEach(b, fn)
}

// CoopCheckout answers CoopJoin: the provider's page where the person
// pays (Stripe Checkout, or GoCardless's billing request flow). The
// membership is pending until the provider tells the relay it is paid.
type CoopCheckout struct {
	URL string
}

func (*CoopCheckout) Type() Type { return TypeCoopCheckout }

func (m *CoopCheckout) appendTo(b []byte) []byte {
	e := pb.Encoder(b)
	e.String(1, m.URL)
	return e
}

func (m *CoopCheckout) decode(b []byte) error {
	return pb.ForEach(b, func(f pb.Field) (err error) {
		if f.Num == 1 {
			m.URL, err = f.String(MaxCoopURL)
		}
		return err
	})
}

// CoopConversation is the conversation of co-op notices: envelopes of
// KindCoop carry it, and no client may send to it.
var CoopConversation = ConversationID{0xc0, 0x0b}

// CoopNoticeKind is what a co-op notice says.
type CoopNoticeKind uint32

const (
	// NoticeDues: a member's dues were paid; Amount and Currency, and
	// what they support (Supports users; CostPerUser a month) in Month.
	NoticeDues CoopNoticeKind = 1
	// NoticeDegrees: the yearly notice. Distance is the number of
	// contacts between the user and the nearest paying member (0: the
	// user is one; -1: no path), in Year.
	NoticeDegrees CoopNoticeKind = 2
	// NoticeMembership: the membership's status changed to Status
	// (grace, lapsed, canceled, active again).
	NoticeMembership CoopNoticeKind = 3
)

// CoopNotice is a notice from the co-op to one user. The relay writes
// it, not a person; it is not end-to-end encrypted. Text is the notice
// in English as the relay wrote it; clients may word it from the fields.
type CoopNotice struct {
	ID          MessageID // derived from what the notice is about: sent twice, it is dropped as a duplicate
	Kind        CoopNoticeKind
	TimeMS      int64
	Text        string
	Amount      int64 // NoticeDues
	Currency    string
	Supports    int64  // NoticeDues: active users per paying member
	CostPerUser int64  // NoticeDues: minor units a month
	Month       string // NoticeDues
	Distance    int64  // NoticeDegrees
	Year        uint32 // NoticeDegrees
	Status      MemberStatus
}

// AppendCoopNotice encodes n.
func AppendCoopNotice(b []byte, n *CoopNotice) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, n.ID[:])
	e.Uint(2, uint64(n.Kind))
	e.Sint(3, n.TimeMS)
	e.String(4, n.Text)
	e.Sint(5, n.Amount)
	e.String(6, n.Currency)
	e.Sint(7, n.Supports)
	e.Sint(8, n.CostPerUser)
	e.String(9, n.Month)
	e.Sint(10, n.Distance)
	e.Uint(11, uint64(n.Year))
	e.Uint(12, uint64(n.Status))
	return e
}

// DecodeCoopNotice decodes a notice encoded by AppendCoopNotice.
func DecodeCoopNotice(b []byte) (*CoopNotice, error) {
	if len(b) > MaxCoopNotice {
		return nil, fmt.Errorf("%w: coop notice of %d bytes", ErrMalformed, len(b))
	}
	n := new(CoopNotice)
	err := pb.ForEach(b, func(f pb.Field) (err error) {
		var u uint32
		switch f.Num {
		case 1:
			err = f.FixedBytes(n.ID[:])
		case 2:
			u, err = f.Uint32()
			n.Kind = CoopNoticeKind(u)
		case 3:
			n.TimeMS, err = f.Sint64()
		case 4:
			n.Text, err = f.String(MaxCoopNote)
		case 5:
			n.Amount, err = f.Sint64()
		case 6:
			n.Currency, err = f.String(MaxCoopText)
		case 7:
			n.Supports, err = f.Sint64()
		case 8:
			n.CostPerUser, err = f.Sint64()
		case 9:
			n.Month, err = f.String(MaxCoopText)
		case 10:
			n.Distance, err = f.Sint64()
		case 11:
			n.Year, err = f.Uint32()
		case 12:
			u, err = f.Uint32()
			n.Status = MemberStatus(u)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// CoopSignedContext is what a co-op notice's signature covers before
// the recipient's user ID and the notice's bytes: Ed25519 over
// CoopSignedContext || user ID (16 bytes) || notice, with the relay's
// co-op key (Welcome.CoopKey). Binding the user keeps a notice from being
// replayed into another user's inbox.
const CoopSignedContext = "mutual coop notice v1\x00"

// CoopSignedMessage returns the bytes a notice's signature covers.
func CoopSignedMessage(user UserID, notice []byte) []byte {
	b := make([]byte, 0, len(CoopSignedContext)+len(user)+len(notice))
	b = append(b, CoopSignedContext...)
	b = append(b, user[:]...)
	return append(b, notice...)
}

// AppendSignedCoopNotice encodes a notice's bytes with their signature:
// what a KindCoop envelope's Shared holds.
func AppendSignedCoopNotice(b, notice, sig []byte) []byte {
	e := pb.Encoder(b)
	e.Bytes(1, notice)
	e.Bytes(2, sig)
	return e
}

// DecodeSignedCoopNotice splits a KindCoop envelope's Shared into the
// notice's bytes and the signature, without checking the signature.
func DecodeSignedCoopNotice(b []byte) (notice, sig []byte, err error) {
	err = pb.ForEach(b, func(f pb.Field) (err error) {
		switch f.Num {
		case 1:
			notice, err = f.Bytes(MaxCoopNotice)
		case 2:
			sig, err = f.Bytes(CoopSignatureLen)
		}
		return err
	})
	if err == nil && (notice == nil || len(sig) != CoopSignatureLen) {
		err = fmt.Errorf("%w: signed coop notice without notice or signature", ErrMalformed)
	}
	return notice, sig, err
}
