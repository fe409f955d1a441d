// Package coop is the co-op's side of the relay: memberships paid
// through a provider (Stripe, GoCardless), the roles of operators and
// contributors, the co-op's monthly figures (active users, members, dues,
// costs), and the notices the relay writes to users: a member's "your
// dues support N people", and once a year each user's distance from the
// nearest paying member.
//
// What is stored about a member: the link from their account to an
// opaque membership reference, the provider's customer and subscription
// IDs, the plan, the status and its dates, and each payment's amount and
// month. Never their address, name or payment details: those stay with
// the provider. docs/coop.md has the whole.
package coop

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/mutualcoop/mutual/relay/wire"
)

var (
	// ErrNotFound: no such membership, role or record.
	ErrNotFound = errors.New("coop: not found")
	// ErrBadSignature: a webhook's signature is missing, wrong or stale.
	// Nothing of its body was parsed.
	ErrBadSignature = errors.New("coop: bad webhook signature")
	// ErrProvider: the provider refused a request or could not be
	// reached.
	ErrProvider = errors.New("coop: provider error")
	// ErrForbidden: the account lacks the role the request needs.
	ErrForbidden = errors.New("coop: forbidden")
	// ErrExists: the account is a paying member already.
	ErrExists = errors.New("coop: already a member")
	// ErrInvalid: a request's fields are out of range.
	ErrInvalid = errors.New("coop: invalid request")
)

// ProviderName names a payment provider.
type ProviderName string

const (
	Stripe     ProviderName = "stripe"
	GoCardless ProviderName = "gocardless"
)

// Plan is a way to pay dues, as the co-op configures it.
type Plan = wire.CoopPlan

// Membership is one account's membership.
type Membership struct {
	User wire.UserID
	// Reference is the opaque membership reference given to the
	// provider (Stripe's client_reference_id and metadata, GoCardless's
	// metadata): random, unique, never derived from the account or its
	// address.
	Reference    string
	Provider     ProviderName
	Plan         string
	Amount       int64 // minor units per interval
	Currency     string
	Customer     string // the provider's customer ID
	Subscription string // the provider's subscription ID
	Mandate      string // GoCardless: the Direct Debit mandate
	Status       wire.MemberStatus
	// StatusAt is the provider's time of the event that set Status: an
	// older event arriving later does not undo a newer one.
	StatusAt    time.Time
	PaidThrough time.Time // the end of the period the latest payment covers
	GraceUntil  time.Time // MemberGrace: until when
	NextPayment time.Time
	Created     time.Time
	Updated     time.Time
}

// EventType is what a provider's event means for a membership.
type EventType int

const (
	// EventIgnored: an event of no concern; recorded so it is not
	// processed twice, nothing else.
	EventIgnored EventType = iota
	// EventCheckoutCompleted: the person finished the provider's page.
	// Customer, and Subscription (Stripe) or Mandate (GoCardless), are
	// set; the membership is linked by Reference.
	EventCheckoutCompleted
	// EventSubscriptionActive: the subscription exists and is in good
	// standing (created, or active again).
	EventSubscriptionActive
	// EventPaymentSucceeded: a payment (Payment: the invoice or payment
	// ID) of Amount in Currency was received, covering until PeriodEnd.
	EventPaymentSucceeded
	// EventPaymentFailed: a payment failed; the member is in grace.
	EventPaymentFailed
	// EventSubscriptionCanceled: the subscription ended.
	EventSubscriptionCanceled
)

// Event is a provider's webhook event, as the provider's package reads
// it: only what a membership needs.
type Event struct {
	Provider     ProviderName
	ID           string // the provider's event ID: each is applied once
	Created      time.Time
	Type         EventType
	Reference    string // the membership reference, when the event carries it
	Customer     string
	Subscription string
	Mandate      string
	Payment      string // EventPaymentSucceeded: invoice or payment ID
	Amount       int64  // minor units
	Currency     string
	PeriodEnd    time.Time // EventPaymentSucceeded: paid through
	NextPayment  time.Time // when the provider says the next charge is, if it does
}

// Dues is one payment received.
type Dues struct {
	Provider ProviderName
	Payment  string // the provider's invoice or payment ID: unique per provider
	User     wire.UserID
	Month    string // "2026-12", UTC, of PaidAt
	Amount   int64
	Currency string
	PaidAt   time.Time
}

// Cost is one line of a month's costs.
type Cost struct {
	Month    string // "2026-12"
	Category string
	Amount   int64 // minor units of the co-op's currency
	Note     string
	By       wire.UserID // the operator who entered it (zero: the server's command line)
	Updated  time.Time
}

// RoleGrant is a role held by an account.
type RoleGrant struct {
	User    wire.UserID
	Role    wire.CoopRole // RoleOperator or RoleContributor
	By      wire.UserID   // zero: the server's command line or an import
	Granted time.Time
	// LastContributed is, for a contributor imported from git, the time
	// of their latest commit merged into the main branch; zero for a
	// manual grant (a full-time worker), which does not expire.
	LastContributed time.Time
}

// MonthCounts is what the store counts for one month.
type MonthCounts struct {
	Month       string
	ActiveUsers int64 // accounts with a device connected in the month
	Members     int64 // paying members at the month's last change
	Dues        int64 // sum of Dues.Amount paid in the month
}

// Store keeps the co-op's records in the directory's database
// (directory/sqlite, directory/postgres). Each method is one transaction.
type Store interface {
	// CreateMembership stores a new pending membership (the start of a
	// checkout). A membership of the same user that is not paying is
	// replaced; a paying one is kept and ErrExists returned (the caller
	// checks Membership first; this settles checkouts started at once).
	CreateMembership(ctx context.Context, m Membership) error
	// Membership returns the user's membership, or ErrNotFound.
	Membership(ctx context.Context, user wire.UserID) (Membership, error)
	// ApplyEvent applies a provider's event exactly once: in one
	// transaction it records ev.ID (if the provider's event was recorded
	// already it returns applied false and changes nothing), finds the
	// membership the event is about (by Reference, else Subscription,
	// else Mandate, else Customer; none: fn gets nil), calls fn, and
	// stores what fn changed: the membership, and a Dues row (a payment
	// recorded already is not counted twice). The month's member count
	// is updated with it.
	ApplyEvent(ctx context.Context, ev Event, fn func(m *Membership) (changed bool, dues *Dues, err error)) (applied bool, err error)
	// UpdateMembership stores m (by user), updating the month's member
	// count.
	UpdateMembership(ctx context.Context, m Membership) error
	// GraceEnded returns up to limit memberships in grace whose
	// GraceUntil is before now.
	GraceEnded(ctx context.Context, now time.Time, limit int) ([]Membership, error)
	// PayingMembers calls fn with the user of every paying membership
	// (active or in grace), streaming.
	PayingMembers(ctx context.Context, fn func(wire.UserID) error) error

	// SetRole grants (on) or revokes a role. Granting a role held
	// already keeps its first grant.
	SetRole(ctx context.Context, g RoleGrant, on bool) error
	// NoteContribution records that user contributed at at: a
	// contributor role held, LastContributed the latest of at and what
	// was recorded. A manual grant (LastContributed zero) stays one.
	NoteContribution(ctx context.Context, user wire.UserID, at time.Time) error
	// Roles returns the roles user holds (operator, contributor),
	// whatever LastContributed says: the caller applies the window.
	Roles(ctx context.Context, user wire.UserID) ([]RoleGrant, error)
	// RoleHolders returns every grant of role.
	RoleHolders(ctx context.Context, role wire.CoopRole) ([]RoleGrant, error)

	// SetCost stores a cost line (by month and category); an Amount of
	// 0 removes it.
	SetCost(ctx context.Context, c Cost) error
	// Costs returns the cost lines of the months from..to ("2026-01",
	// inclusive), by month then category.
	Costs(ctx context.Context, from, to string) ([]Cost, error)

	// NoteActive records that user had a device connected in month
	// ("2026-12"): the account keeps its last active month, and the
	// month's count of active users goes up by one the first time in a
	// month. It reports whether this was the first time.
	NoteActive(ctx context.Context, user wire.UserID, month string) (first bool, err error)
	// Months returns the counts of the months from..to that have any,
	// newest first.
	Months(ctx context.Context, from, to string) ([]MonthCounts, error)

	// SetNoticesOff records whether user turned the yearly notices off.
	SetNoticesOff(ctx context.Context, user wire.UserID, off bool) error
	// NoticesOff says whether user turned the yearly notices off.
	NoticesOff(ctx context.Context, user wire.UserID) (bool, error)
	// NoteYearly records the yearly notice of year to user with its
	// distance, and reports whether it is new (false: recorded before).
	NoteYearly(ctx context.Context, user wire.UserID, year int, distance int) (first bool, err error)
	// YearlySent says whether user's notice of year was recorded.
	YearlySent(ctx context.Context, user wire.UserID, year int) (bool, error)

	// Users calls fn with every account's user ID, streaming.
	Users(ctx context.Context, fn func(wire.UserID) error) error
	// MutualContacts calls fn with every pair of users who have each
	// allowed the other, in both orders, ordered by a then b, streaming
	// (a cursor on PostgreSQL: the whole table is never in memory).
	MutualContacts(ctx context.Context, fn func(a, b wire.UserID) error) error

	// CoopKey returns the relay's co-op signing key (an Ed25519 seed),
	// creating it with create the first time: every process of a relay
	// gets the same one.
	CoopKey(ctx context.Context, create func() ([]byte, error)) ([]byte, error)
}

// Provider is a payment provider: it creates checkouts and cancels
// subscriptions through the provider's API, and verifies and reads the
// provider's webhooks.
type Provider interface {
	Name() ProviderName
	// Checkout creates the provider's page where the person pays plan,
	// carrying the membership reference ref (and nothing about the
	// person), returning to returnURL when done and cancelURL when they
	// give up. It returns the page's URL and the provider's ID of the
	// checkout.
	Checkout(ctx context.Context, ref string, plan Plan, returnURL, cancelURL string) (url string, err error)
	// Activate completes a membership after EventCheckoutCompleted, when
	// the provider needs it (GoCardless: create the subscription on the
	// mandate); it returns the subscription ID. Stripe returns
	// m.Subscription as it is.
	Activate(ctx context.Context, m Membership, plan Plan) (subscription string, err error)
	// Cancel cancels the membership's subscription at the provider.
	Cancel(ctx context.Context, m Membership) error
	// Events verifies a webhook (its headers and raw body, in constant
	// time, before parsing anything: ErrBadSignature) and returns its
	// events.
	Events(h http.Header, body []byte, now time.Time) ([]Event, error)
	// BadSignatureStatus is the HTTP status to answer a webhook whose
	// signature fails (Stripe: 400; GoCardless: 498).
	BadSignatureStatus() int
}
