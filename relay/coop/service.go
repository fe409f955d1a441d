package coop

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mutualcoop/mutual/relay/bus"
	"github.com/mutualcoop/mutual/relay/wire"
)

// Bus is what the co-op needs of the bus: appending notices to users'
// inboxes.
type Bus interface {
	Append(ctx context.Context, msgs ...bus.Message) error
}

// Metrics receives the co-op's events. Nil fields are skipped.
type Metrics struct {
	Webhook  func(provider ProviderName, outcome string) // "applied", "duplicate", "bad_signature", "malformed", "failed"
	Notice   func(kind wire.CoopNoticeKind)              // notices written
	Checkout func(provider ProviderName, ok bool)        // checkouts created or failed
}

// Config configures a Service. Zero fields take the defaults noted.
type Config struct {
	Name      string // the co-op's name; "Mutual"
	Currency  string // of costs and dues, ISO 4217; "GBP"
	Plans     []Plan
	Providers []Provider // those configured; none: joining is unavailable
	// PublicURL is where the web app is served (https://example.org):
	// checkouts return to PublicURL + "/co-op".
	PublicURL string
	// Grace is how long a member stays one after a failed payment; 14
	// days.
	Grace time.Duration
	// ContributorWindow is how recent a merged commit makes a
	// contributor; 90 days.
	ContributorWindow time.Duration
	// NoticeDay fixes the yearly notice's day ("12-01": 1 December);
	// empty spreads users over the year by a hash of their ID.
	NoticeDay string
	// Accounts finds the account of an address for CoopGrant; nil: no
	// grant by address (not_found).
	Accounts Accounts
	Now      func() time.Time // time.Now
	Logger   *slog.Logger
	Metrics  Metrics
}

// Service is the co-op's side of the relay. Every process of a relay
// (gateways, the webhook endpoints) may run one over the same Store;
// one of them runs Run.
type Service struct {
	st   Store
	bus  Bus
	cfg  Config
	key  ed25519.PrivateKey
	pub  ed25519.PublicKey
	prov map[ProviderName]Provider

	// active is the set of users whose connection this process counted
	// in activeMonth (Connected).
	activeMu    sync.Mutex
	activeMonth string
	active      map[wire.UserID]struct{}

	// members caches the live count of paying members (Figures).
	membersMu sync.Mutex
	members   int64
	membersAt time.Time // zero: stale
}

// New returns a Service over st and b, loading the relay's co-op key (or
// creating it, the first time).
func New(ctx context.Context, st Store, b Bus, cfg Config) (*Service, error) {
	if cfg.Name == "" {
		cfg.Name = "Mutual"
	}
	if cfg.Currency == "" {
		cfg.Currency = "GBP"
	}
	if cfg.Grace == 0 {
		cfg.Grace = 14 * 24 * time.Hour
	}
	if cfg.ContributorWindow == 0 {
		cfg.ContributorWindow = 90 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	seed, err := st.CoopKey(ctx, func() ([]byte, error) {
		seed := make([]byte, ed25519.SeedSize)
		_, err := rand.Read(seed)
		return seed, err
	})
	if err != nil {
		return nil, fmt.Errorf("coop: signing key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errors.New("coop: stored signing key has the wrong size")
	}
	key := ed25519.NewKeyFromSeed(seed)
	s := &Service{st: st, bus: b, cfg: cfg, key: key, pub: key.Public().(ed25519.PublicKey), prov: map[ProviderName]Provider{}}
	for _, p := range cfg.Providers {
		s.prov[p.Name()] = p
	}
	return s, nil
}

// Key is the public key that signs co-op notices (Welcome.CoopKey).
func (s *Service) Key() ed25519.PublicKey { return s.pub }

// Notify signs n for user and appends it to the user's inbox: every
// device of the user receives it as an envelope of wire.KindCoop. n.ID
// must be derived from what the notice is about, so that a notice
// written twice (a retry after a crash) is one notice to clients.
func (s *Service) Notify(ctx context.Context, user wire.UserID, n *wire.CoopNotice) error {
	if n.TimeMS == 0 {
		n.TimeMS = s.cfg.Now().UnixMilli()
	}
	body := wire.AppendCoopNotice(nil, n)
	sig := ed25519.Sign(s.key, wire.CoopSignedMessage(user, body))
	p := &bus.Parcel{
		MessageID:    n.ID,
		Conversation: wire.CoopConversation,
		ServerTimeMS: n.TimeMS,
		Kind:         wire.KindCoop,
		Shared:       wire.AppendSignedCoopNotice(nil, body, sig),
	}
	err := s.bus.Append(ctx, bus.Message{Topic: bus.InboxTopic(user), Value: bus.AppendParcel(nil, p)})
	if err != nil {
		return fmt.Errorf("coop: notice to inbox: %w", err)
	}
	if f := s.cfg.Metrics.Notice; f != nil {
		f(n.Kind)
	}
	return nil
}

// NoticeID derives a notice's message ID from what it is about (its kind
// and a key: the payment's ID, the year), so that writing it twice makes
// one notice.
func NoticeID(kind wire.CoopNoticeKind, user wire.UserID, key string) wire.MessageID {
	return noticeID(kind, user, key)
}

func noticeID(kind wire.CoopNoticeKind, user wire.UserID, key string) wire.MessageID {
	h := sha256.New()
	h.Write([]byte("mutual coop notice id\x00"))
	h.Write([]byte{byte(kind >> 24), byte(kind >> 16), byte(kind >> 8), byte(kind)})
	h.Write(user[:])
	h.Write([]byte(key))
	var id wire.MessageID
	copy(id[:], h.Sum(nil))
	return id
}
